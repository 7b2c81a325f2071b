"""Tiny stand-ins for graph tensors / operations, for validation-only tests."""

from __future__ import annotations


class FakeShape:
    def __init__(self, dims):
        self._dims = dims

    @property
    def rank(self):
        return None if self._dims is None else len(self._dims)

    def as_list(self):
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)


class FakeDType:
    def __init__(self, name):
        self.name = name
        self.is_floating = name.startswith("float")


class FakeTensor:
    def __init__(self, name="t:0", shape=(), dtype="float32", graph=None):
        self.name = name
        self.shape = FakeShape(None if shape is None else list(shape))
        self.dtype = FakeDType(dtype)
        self.graph = graph

    def get_shape(self):
        return self.shape

    def __repr__(self):
        return f"<FakeTensor {self.name}>"


class FakeOp:
    def __init__(self, name="train", graph=None):
        self.name = name
        self.graph = graph

    def __repr__(self):
        return f"<FakeOp {self.name}>"


class FakeSession:
    """Runs fetch structures of FakeTensor / FakeOp against a tiny mutable model.

    ``global_step`` is read before the train op increments it (stale reads, as in
    TF when both are fetched together). ``losses`` gives the loss per step.
    """

    def __init__(self, gs_tensor, loss_tensor, train_op, losses=None, start_step=0):
        self.gs_tensor, self.loss_tensor, self.train_op = gs_tensor, loss_tensor, train_op
        self.step = start_step
        self.losses = losses
        self.calls = []
        self.extra = {}

    def _value(self, x):
        if x is self.gs_tensor:
            return self.step
        if x is self.loss_tensor:
            if self.losses is None:
                return 1.0 / (self.step + 1)
            return self.losses[min(self.step, len(self.losses) - 1)]
        if x is self.train_op:
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
            self.step += 1
        return out

    def get_variable_values(self):
        import numpy as np

        return {"global_step": np.int64(self.step), "w": np.full(2, float(self.step))}
