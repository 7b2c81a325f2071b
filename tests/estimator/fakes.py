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
