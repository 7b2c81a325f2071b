"""A clock the test moves, a fake session over a real graph's tensors, and a plain
training loop, for the hook tests."""

from __future__ import annotations

import numpy as np

from estcore.estimator.monitored_session import MonitoredSession


class Clock:
    """A clock the test moves (time bounds become deterministic)."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeSession:
    """Runs fetch structures of ``model``'s tensors against a tiny mutable state.

    The global step is read before the train op increments it (stale reads, as in
    TF when both are fetched together); ``losses`` gives the loss per step (default
    ``1 / (step + 1)``); ``extra`` maps more tensors to values or callables. Like
    estcore's Session it has ``graph`` and ``variable_storage`` (the global step's
    live array), so the hooked session follows the hooks' schedule.
    """

    def __init__(self, model, losses=None, start_step=0):
        self.model = model
        self.graph = model.graph
        self._step = np.array(start_step, np.int64)
        self.losses = losses
        self.calls = []
        self.extra = {}

    @property
    def step(self) -> int:
        return int(self._step)

    def variable_storage(self, variable):
        assert variable is self.model.gs
        return self._step.view()

    def _value(self, x):
        m = self.model
        if x is m.gs:
            return np.int64(self.step)
        if x is m.loss:
            if self.losses is None:
                return 1.0 / (self.step + 1)
            return self.losses[min(self.step, len(self.losses) - 1)]
        if x is m.train:
            self._train = True
            return None
        if x in self.extra:
            v = self.extra[x]
            return v() if callable(v) else v
        raise KeyError(f"unknown fetch {x!r}")

    def _walk(self, f):
        if isinstance(f, dict):
            return {k: self._walk(v) for k, v in f.items()}
        if isinstance(f, (list, tuple)):
            return type(f)(self._walk(v) for v in f)
        if f is None:
            return None
        return self._value(f)

    def run(self, fetches, feed_dict=None):
        self._train = False
        self.calls.append((fetches, feed_dict))
        out = self._walk(fetches)
        if self._train:
            self._step += 1
        return out

    def get_variable_values(self):
        return {"global_step": np.int64(self.step), "w": np.full(2, float(self.step))}


def train_loop(session, hooks, max_iters=1000, per_step=None):
    """``run([train, loss])`` until a hook stops (``per_step(n)`` before each run);
    returns the number of runs."""
    m = session.model
    with MonitoredSession(lambda: session, hooks) as sess:
        n = 0
        while not sess.should_stop() and n < max_iters:
            if per_step:
                per_step(n)
            sess.run([m.train, m.loss])
            n += 1
    return n
