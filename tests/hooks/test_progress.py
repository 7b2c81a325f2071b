"""ProgressBarHook and its switches, in process (the pty test shows the real screen)."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from estcore.estimator.inputs import numpy_input_fn
from estcore.hooks import progress
from estcore.hooks.progress import ProgressBarHook, batches_left, progress_enabled
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunContext
from estcore.inputs import shard_scope


@pytest.mark.smoke
@pytest.mark.parametrize("value, expected", [("0", False), ("off", False), ("1", True),
                                             ("TRUE", True), ("", False)])
def test_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("ESTCORE_PROGRESS", value)
    assert progress_enabled() is expected  # pytest's stderr is not a terminal


@pytest.mark.smoke
def test_environment_variable_typo_is_an_error(monkeypatch):
    monkeypatch.setenv("ESTCORE_PROGRESS", "maybe")
    with pytest.raises(ValueError, match="ESTCORE_PROGRESS must be 0 or 1.*'maybe'"):
        progress_enabled()


@pytest.mark.smoke
def test_batches_left_of_a_finite_numpy_stream():
    x = np.zeros((101, 2), np.float32)
    stream = numpy_input_fn({"x": x}, batch_size=10, num_epochs=2, shuffle=False)()
    try:
        assert batches_left(stream) == 21  # 202 rows in batches of 10, across epochs
        next(stream)
        next(stream)
        assert batches_left(stream) == 19
        assert batches_left(stream, num_shards=2) == 9  # 202 rows, global batches of 20
    finally:
        stream.close()
    endless = numpy_input_fn({"x": x}, batch_size=10, num_epochs=None, shuffle=False)()
    try:
        assert batches_left(endless) is None
    finally:
        endless.close()
    assert batches_left(None) is None
    assert batches_left([1, 2, 3]) == 3
    assert batches_left(iter([1, 2])) is None


def test_batches_left_under_a_shard_scope():
    x = np.zeros((100, 2), np.float32)
    with shard_scope(1, 4):
        stream = numpy_input_fn({"x": x}, batch_size=5, num_epochs=1, shuffle=False)()
    try:
        assert batches_left(stream, num_shards=4) == 5
    finally:
        stream.close()


@pytest.mark.smoke
def test_total_is_the_smallest_known_bound():
    x = np.zeros((30, 2), np.float32)
    stream = numpy_input_fn({"x": x}, batch_size=10, num_epochs=1, shuffle=False)()
    try:
        assert ProgressBarHook("train", 100, stream=stream).total == 3
        assert ProgressBarHook("train", 2, stream=stream).total == 2
        assert ProgressBarHook("train", None, stream=stream).total == 3
    finally:
        stream.close()
    assert ProgressBarHook("train").total is None


def _forced_bar(monkeypatch, total):
    err = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    hook = ProgressBarHook("train", total)
    hook.after_create_session(None, None)
    return hook, err


def test_last_step_is_due_and_the_bar_ends_full(monkeypatch):
    hook, err = _forced_bar(monkeypatch, 5)
    assert hook.next_due().iteration == 4  # the last run is shown even within 0.1 s
    hook.after_run(SessionRunContext(SessionRunArgs(None), None, 4), None)
    hook.end(None)
    assert "5/5" in err.getvalue()
    hook.close()  # idempotent


def test_console_handlers_print_through_the_bar_while_it_is_shown(monkeypatch):
    root = logging.getLogger()
    err = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    handler = logging.StreamHandler(err)
    monkeypatch.setattr(root, "handlers", [handler])
    file_like = logging.getLogger("estcore")
    before = list(file_like.handlers)
    hook = ProgressBarHook("train", 3)
    hook.after_create_session(None, None)
    assert handler not in root.handlers  # replaced by tqdm's while the bar is shown
    assert file_like.handlers == before  # no console handler there: left alone
    hook.close()
    assert root.handlers == [handler]
