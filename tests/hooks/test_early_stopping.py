"""The early-stopping hooks: they read evaluation results back from event files."""

import pytest

from estcore.hooks.early_stopping import (
    stop_if_higher_hook,
    stop_if_lower_hook,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)
from estcore.summary import FileWriter, scalar_value

from .fakes import Clock, FakeSession, train_loop

pytestmark = pytest.mark.smoke


class FakeEstimator:
    def __init__(self, eval_dir):
        self._eval_dir = eval_dir

    def eval_dir(self, name=None):
        return self._eval_dir


def write_evals(d, results):
    w = FileWriter(str(d))
    for step, metrics in results.items():
        w.add_summary([scalar_value(k, v) for k, v in metrics.items()], step)
    w.close()


@pytest.mark.parametrize("factory, arg, stop_step", [
    (stop_if_higher_hook, dict(metric_name="accuracy", threshold=0.8), 30),
    (stop_if_lower_hook, dict(metric_name="loss", threshold=0.45), 40),
    (stop_if_no_decrease_hook, dict(metric_name="loss", max_steps_without_decrease=20), 60),
    (stop_if_no_increase_hook, dict(metric_name="accuracy", max_steps_without_increase=15), 50),
])
def test_early_stopping(model, tmp_path, estcore_log, factory, arg, stop_step):
    evals = {10: {"loss": 0.9, "accuracy": 0.5}, 20: {"loss": 0.6, "accuracy": 0.7},
             30: {"loss": 0.5, "accuracy": 0.85}, 40: {"loss": 0.4, "accuracy": 0.84},
             50: {"loss": 0.7, "accuracy": 0.83}, 60: {"loss": 0.7, "accuracy": 0.83}}
    eval_dir = tmp_path / "eval"
    session = FakeSession(model)
    hook = factory(FakeEstimator(str(eval_dir)), **arg, run_every_secs=None, run_every_steps=1)

    def write(n):  # an evaluation every 10 steps, as train_and_evaluate would
        if n in evals:
            write_evals(eval_dir, {n: evals[n]})

    train_loop(session, [hook], max_iters=100, per_step=write)
    assert f"Requesting early stopping at global step {stop_step}" in estcore_log()


def test_early_stopping_min_steps_and_args(model, tmp_path):
    write_evals(tmp_path, {10: {"loss": 0.1}})
    hook = stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5, min_steps=20)
    assert hook._should_stop_fn() is False
    hook = stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5)
    assert hook._should_stop_fn() is True
    with pytest.raises(ValueError, match="Only one of run_every_secs and run_every_steps"):
        stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5, run_every_steps=5)
    with pytest.raises(ValueError, match='Metric "acc" not found'):
        stop_if_higher_hook(FakeEstimator(str(tmp_path)), "acc", 0.5)._should_stop_fn()


def test_early_stopping_by_time_checks_on_its_clock(model, tmp_path, estcore_log, monkeypatch):
    """run_every_secs: the predicate is read on the first step, then on the first step
    that starts 60 s after the last reading (TF's timer), at the global step fetched."""
    clock = Clock()
    calls = []
    hook = stop_if_lower_hook(FakeEstimator(str(tmp_path)), "loss", 0.5)
    monkeypatch.setattr(hook._timer, "_clock", clock)
    monkeypatch.setattr(hook, "_should_stop_fn", lambda: calls.append(session.step) or
                        len(calls) == 3)
    session = FakeSession(model)

    def tick(n):
        clock.t += 25

    train_loop(session, [hook], max_iters=100, per_step=tick)
    # readings at t=125 (step 0), 200 (step 3: 125 + 60 reached at 200), 275 (step 6)
    assert calls == [1, 4, 7]
    assert "Requesting early stopping at global step 6" in estcore_log()
