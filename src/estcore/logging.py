"""estcore's logging: TF's verbosity API on the ``estcore`` logger.

Every estcore module logs to ``logging.getLogger("estcore")`` (or a child). Python's
logging prints nothing below WARNING and nothing at all without a handler, so::

    import estcore.logging
    estcore.logging.set_verbosity(estcore.logging.INFO)

sets the ``estcore`` logger's level and installs ONE stderr handler on it (TF's format,
``INFO:estcore:Saving checkpoints ...``). The handler stays quiet while the root logger
has handlers of its own (``logging.basicConfig``, absl, a test runner): the records reach
those by propagation, so nothing is printed twice. ``estcore.compat.v1``'s ``tf.logging``
is a thin adapter on this module.

Owns: the level constants, ``set_verbosity`` / ``get_verbosity``, the stderr handler and
TF's logging functions (``info``, ``warning``, ``log_every_n``, ...). Must not: configure
the root logger, or any logger other than the one it is asked to.
"""

from __future__ import annotations

import logging as _logging
import sys
import threading
from typing import Any

__all__ = ["DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "set_verbosity",
           "get_verbosity", "get_logger", "install_stderr_handler", "StderrHandler",
           "log", "debug", "info", "warning", "warn", "error", "fatal", "vlog",
           "log_every_n", "log_first_n", "log_if", "flush"]

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARNING
WARNING = _logging.WARNING
ERROR = _logging.ERROR
FATAL = _logging.FATAL

LOGGER_NAME = "estcore"
_FORMAT = "%(levelname)s:%(name)s:%(message)s"   # logging.BASIC_FORMAT, as TF1
_lock = threading.Lock()
_counts: dict[Any, int] = {}


class StderrHandler(_logging.StreamHandler):
    """Writes to the *current* ``sys.stderr`` (redirections made later are honoured),
    and stays quiet while the root logger has handlers (they get the record anyway)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(_logging.Formatter(_FORMAT))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass

    def emit(self, record: _logging.LogRecord) -> None:
        if _logging.getLogger().handlers:
            return
        super().emit(record)


def get_logger(name: str = LOGGER_NAME) -> _logging.Logger:
    """The logger ``name`` (``estcore`` by default)."""
    return _logging.getLogger(name)


def install_stderr_handler(logger: _logging.Logger) -> StderrHandler:
    """Add one :class:`StderrHandler` to ``logger`` unless it has one; return it."""
    with _lock:
        for h in logger.handlers:
            if isinstance(h, StderrHandler):
                return h
        handler = StderrHandler()
        logger.addHandler(handler)
        return handler


def _level_names() -> dict[str, int]:
    """The level names Python's logging knows (its own and any ``addLevelName``)."""
    mapping = getattr(_logging, "getLevelNamesMapping", None)   # Python 3.11+
    if mapping is not None:
        return mapping()
    names = {}
    for level in range(0, 101):
        name = _logging.getLevelName(level)
        if not name.startswith("Level "):
            names[name] = level
    names.update(WARN=WARN, FATAL=FATAL)
    return names


def _check_level(v: Any) -> int:
    """``v`` as an int level: an int, or a registered level name (``"INFO"``), as TF's
    ``set_verbosity`` (Python logging's ``setLevel``) takes; names are case-sensitive."""
    if isinstance(v, str):
        names = _level_names()
        if v in names:
            return names[v]
        hint = f" (level names are upper-case: {v.upper()!r})" if v.upper() in names else ""
        raise ValueError(f"set_verbosity: `v` must be a logging level: an int such as "
                         f"estcore.logging.INFO = {INFO}, or a level name, one of "
                         f"{sorted(names, key=lambda n: (names[n], n))}{hint}. "
                         f"Received: v={v!r}")
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"set_verbosity: `v` must be a logging level: an int such as "
                        f"estcore.logging.INFO = {INFO}, or a level name such as 'INFO'. "
                        f"Received: v={v!r} of type {type(v).__name__}")
    return v


def set_verbosity(v: int | str, logger_name: str = LOGGER_NAME) -> None:
    """Show messages at level ``v`` and above (TF's ``tf.logging.set_verbosity``).

    Args:
        v: a level: ``DEBUG`` (10), ``INFO`` (20), ``WARN`` (30), ``ERROR`` (40),
            ``FATAL`` (50), or its name (``"INFO"``, ``"WARN"``, ``"WARNING"``,
            ``"CRITICAL"``, ... upper-case, as Python logging registers them).
        logger_name: the logger to configure (``estcore``).

    Raises:
        ValueError: ``v`` is a string that names no level.
        TypeError: ``v`` is neither an int nor a string.
    """
    logger = get_logger(logger_name)
    logger.setLevel(_check_level(v))
    install_stderr_handler(logger)


def get_verbosity(logger_name: str = LOGGER_NAME) -> int:
    """The effective level of the logger (WARNING until :func:`set_verbosity`)."""
    return get_logger(logger_name).getEffectiveLevel()


def log(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().debug(msg, *args, **kwargs)


def info(msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().info(msg, *args, **kwargs)


def warning(msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().warning(msg, *args, **kwargs)


warn = warning


def error(msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().error(msg, *args, **kwargs)


def fatal(msg: Any, *args: Any, **kwargs: Any) -> None:
    get_logger().critical(msg, *args, **kwargs)


def vlog(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    """TF's ``vlog``: logs at ``level`` (a Python logging level)."""
    get_logger().log(level, msg, *args, **kwargs)


def _count(key: Any) -> int:
    with _lock:
        n = _counts.get(key, 0)
        _counts[key] = n + 1
        return n


def log_every_n(level: int, msg: Any, n: int, *args: Any, logger_name: str = LOGGER_NAME,
                caller_depth: int = 1) -> None:
    """Log on the 1st, (n+1)th, (2n+1)th ... call from the same line of the caller
    (``caller_depth`` frames up: 1 is the function that calls this one)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"log_every_n: `n` must be a positive int. Received: {n!r}")
    caller = sys._getframe(caller_depth)
    if _count(("every", caller.f_code, caller.f_lineno)) % n == 0:
        get_logger(logger_name).log(level, msg, *args)


def log_first_n(level: int, msg: Any, n: int, *args: Any, logger_name: str = LOGGER_NAME,
                caller_depth: int = 1) -> None:
    """Log only the first ``n`` calls from the same line of the caller."""
    caller = sys._getframe(caller_depth)
    if _count(("first", caller.f_code, caller.f_lineno)) < n:
        get_logger(logger_name).log(level, msg, *args)


def log_if(level: int, msg: Any, condition: Any, *args: Any,
           logger_name: str = LOGGER_NAME) -> None:
    """Log when ``condition`` is true."""
    if condition:
        get_logger(logger_name).log(level, msg, *args)


def flush() -> None:
    """Flush every handler of the logger."""
    for h in get_logger().handlers:
        h.flush()
