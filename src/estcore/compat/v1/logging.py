"""``tf.logging``: TF 1.x's logging module on Python logging (logger ``tensorflow``).

As in TF1, messages of ``tf.logging.info(...)`` go to the logger named ``tensorflow``,
which gets its own stderr handler (``INFO:tensorflow:...``), and
``tf.logging.set_verbosity(tf.logging.INFO)`` also sets estcore's own logger (``estcore``),
so the Estimator's INFO lines (``Saving checkpoints ...``, ``loss = ...``) appear on stderr
as they did under TF1. A thin adapter on :mod:`estcore.logging`.

Must not: configure the root logger.
"""

from __future__ import annotations

import sys
from typing import Any

from estcore import logging as _ec_logging
from estcore.compat.v1._namespace import missing

__all__ = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "set_verbosity", "get_verbosity",
           "log", "debug", "info", "warning", "warn", "error", "fatal", "vlog",
           "log_every_n", "log_first_n", "log_if", "flush", "TaskLevelStatusMessage"]

DEBUG = _ec_logging.DEBUG
INFO = _ec_logging.INFO
WARN = _ec_logging.WARN
ERROR = _ec_logging.ERROR
FATAL = _ec_logging.FATAL

_NAME = "tensorflow"
_logger = _ec_logging.get_logger(_NAME)
_ec_logging.install_stderr_handler(_logger)   # TF1: the handler exists from import on

__getattr__ = missing("tf.logging")


def set_verbosity(v: int | str) -> None:
    """Show messages at level ``v`` and above, from user code and from estcore.

    Args:
        v: ``tf.logging.DEBUG`` / ``INFO`` / ``WARN`` / ``ERROR`` / ``FATAL``, or the
            level's name as TF takes it (``"INFO"``, ``"WARN"``: the upper-case names
            Python logging registers; a command-line ``--verbosity INFO`` passes as is).

    Raises:
        ValueError: ``v`` is a string that names no level (``"info"``, ``"20"``).
        TypeError: ``v`` is neither an int nor a string.
    """
    _ec_logging.set_verbosity(v, _NAME)
    _ec_logging.set_verbosity(v)


def get_verbosity() -> int:
    """The ``tensorflow`` logger's effective level (WARN until :func:`set_verbosity`)."""
    return _logger.getEffectiveLevel()


def log(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.log(level, msg, *args, **kwargs)


def debug(msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.debug(msg, *args, **kwargs)


def info(msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.info(msg, *args, **kwargs)


def warning(msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.warning(msg, *args, **kwargs)


warn = warning


def error(msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.error(msg, *args, **kwargs)


def fatal(msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.critical(msg, *args, **kwargs)


def vlog(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    _logger.log(level, msg, *args, **kwargs)


def log_every_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Log on the 1st, (n+1)th, ... call from the same line."""
    _ec_logging.log_every_n(level, msg, n, *args, logger_name=_NAME,
                              caller_depth=2)


def log_first_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Log the first ``n`` calls from the same line."""
    _ec_logging.log_first_n(level, msg, n, *args, logger_name=_NAME,
                              caller_depth=2)


def log_if(level: int, msg: Any, condition: Any, *args: Any) -> None:
    _ec_logging.log_if(level, msg, condition, *args, logger_name=_NAME)


def flush() -> None:
    for h in _logger.handlers:
        h.flush()
    sys.stderr.flush()


def TaskLevelStatusMessage(msg: Any) -> None:  # noqa: N802 - TF1 name
    error(msg)
