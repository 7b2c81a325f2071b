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


@pytest.mark.parametrize("name, level", [
    ("DEBUG", 10), ("INFO", 20), ("WARN", 30), ("WARNING", 30), ("ERROR", 40),
    ("FATAL", 50), ("CRITICAL", 50), ("NOTSET", 0)])
def test_set_verbosity_takes_level_names_as_tf(clean_loggers, name, level):
    # TF passes v to Logger.setLevel, which takes the names Python logging registers.
    eclog.set_verbosity(name)
    assert clean_loggers.level == level


def test_set_verbosity_takes_a_name_registered_with_add_level_name(clean_loggers,
                                                                   monkeypatch):
    monkeypatch.setitem(logging._nameToLevel, "TRACE", 5)
    monkeypatch.setitem(logging._levelToName, 5, "TRACE")
    eclog.set_verbosity("TRACE")
    assert clean_loggers.level == 5


@pytest.mark.parametrize("bad", ["info", "Level 5", "20", "bogus", ""])
def test_set_verbosity_rejects_a_name_of_no_level(clean_loggers, bad):
    # TF: ValueError("Unknown level: 'info'"), from Python logging.
    with pytest.raises(ValueError, match=r"set_verbosity: `v` must be a logging level: an "
                                         r"int such as estcore.logging.INFO = 20, or a level "
                                         r"name, one of \['NOTSET', 'DEBUG', 'INFO'.*"
                                         rf"Received: v={bad!r}$"):
        eclog.set_verbosity(bad)
    assert clean_loggers.level == logging.NOTSET


def test_a_lower_case_level_name_says_names_are_upper_case(clean_loggers):
    with pytest.raises(ValueError, match=r"\(level names are upper-case: 'WARN'\)"):
        eclog.set_verbosity("warn")


@pytest.mark.parametrize("bad", [20.0, None, True, b"INFO"], ids=repr)
def test_set_verbosity_rejects_a_non_level(clean_loggers, bad):
    with pytest.raises(TypeError, match=r"set_verbosity: `v` must be a logging level: an int "
                                        r".* or a level name such as 'INFO'. "
                                        rf"Received: v={bad!r} of type"):
        eclog.set_verbosity(bad)


def test_level_names_without_get_level_names_mapping(monkeypatch):
    """Python 3.10 has no logging.getLevelNamesMapping: the same names, found another way."""
    want = logging.getLevelNamesMapping()
    monkeypatch.delattr(logging, "getLevelNamesMapping")
    assert eclog._level_names() == want


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
