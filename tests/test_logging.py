"""estcore.logging: TF's verbosity API on the ``estcore`` logger, one stderr handler."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys

import pytest

import estcore.logging as eclog

pytestmark = pytest.mark.smoke


@pytest.fixture
def clean_loggers(monkeypatch):
    """No root handlers during the test body (as in a plain script: pytest adds its own
    for each phase) and the estcore logger restored after."""
    lg = logging.getLogger("estcore")
    monkeypatch.setattr(lg, "handlers", [])
    monkeypatch.setattr(lg, "level", logging.NOTSET)
    yield lg


@contextlib.contextmanager
def bare_root():
    """The root logger without handlers (pytest adds its own at the start of each test
    phase, so this runs inside the test body)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


def test_set_verbosity_info_prints_estcore_info_lines_on_stderr(clean_loggers, capsys):
    with bare_root():
        logging.getLogger("estcore").info("before")
        assert capsys.readouterr().err == ""
        eclog.set_verbosity(eclog.INFO)
        logging.getLogger("estcore").info("Saving checkpoints for %d", 7)
    assert capsys.readouterr().err == "INFO:estcore:Saving checkpoints for 7\n"
    assert eclog.get_verbosity() == eclog.INFO


def test_one_handler_however_often_set_verbosity_is_called(clean_loggers, capsys):
    for level in (eclog.INFO, eclog.DEBUG, eclog.INFO):
        eclog.set_verbosity(level)
    assert sum(isinstance(h, eclog.StderrHandler) for h in clean_loggers.handlers) == 1
    with bare_root():
        eclog.info("once")
    assert capsys.readouterr().err.count("once") == 1


def test_quiet_while_the_root_logger_has_a_handler(clean_loggers, capsys):
    eclog.set_verbosity(eclog.INFO)
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    with bare_root():
        logging.getLogger().handlers.append(Keep())
        eclog.info("via root")
    assert seen == ["via root"]
    assert capsys.readouterr().err == ""


def test_set_verbosity_rejects_a_non_level(clean_loggers):
    with pytest.raises(TypeError, match=r"set_verbosity: `v` must be a logging level.*'INFO'"):
        eclog.set_verbosity("INFO")


def test_log_every_n_counts_per_call_site(clean_loggers, capsys):
    eclog.set_verbosity(eclog.INFO)
    with bare_root():
        for i in range(7):
            eclog.log_every_n(eclog.INFO, "tick %d", 3, i)
    assert capsys.readouterr().err.splitlines() == [
        "INFO:estcore:tick 0", "INFO:estcore:tick 3", "INFO:estcore:tick 6"]
    with pytest.raises(ValueError, match="`n` must be a positive int. Received: 0"):
        eclog.log_every_n(eclog.INFO, "x", 0)


def test_in_a_fresh_process_the_estimator_lines_appear_after_set_verbosity():
    code = ("import logging, estcore.logging as l; l.set_verbosity(l.INFO); "
            "logging.getLogger('estcore').info('hello'); "
            "logging.getLogger('estcore').debug('hidden')")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr
    assert err == "INFO:estcore:hello\n"
