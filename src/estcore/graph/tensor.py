"""Symbolic :class:`Tensor` (one output of an :class:`~estcore.graph.ir.Operation`).

The numpy-like operators live in :class:`TensorOperators`, a mixin shared with
:class:`~estcore.graph.variables.Variable`. They build ops through the op
modules (imported lazily: those modules import this one).

Must not: hold a value (a Tensor is symbolic; ``eval`` asks the default session); import
the op modules at module level (import cycle: they import this one).
"""

from __future__ import annotations

from typing import Any

from estcore.graph.shapes import TensorShape, as_shape, fmt_shape, tf1_shape, user_shape

__all__ = ["Tensor", "TensorOperators"]


def _m():
    from estcore.graph.ops import math_ops  # local: import cycle with math_ops
    return math_ops


class TensorOperators:
    """Operator overloads. ``==`` stays identity, as in TF1 (use ``estcore.equal``)."""

    __slots__ = ()
    # Make numpy hand mixed expressions (ndarray + Tensor) to our reflected operators.
    __array_ufunc__ = None

    def __add__(self, other):
        return _m().add(self, other)

    def __radd__(self, other):
        return _m().add(other, self)

    def __sub__(self, other):
        return _m().subtract(self, other)

    def __rsub__(self, other):
        return _m().subtract(other, self)

    def __mul__(self, other):
        return _m().multiply(self, other)

    def __rmul__(self, other):
        return _m().multiply(other, self)

    def __truediv__(self, other):
        return _m().truediv(self, other)

    def __rtruediv__(self, other):
        return _m().truediv(other, self)

    def __floordiv__(self, other):
        return _m().floordiv(self, other)

    def __rfloordiv__(self, other):
        return _m().floordiv(other, self)

    def __mod__(self, other):
        return _m().mod(self, other)

    def __rmod__(self, other):
        return _m().mod(other, self)

    def __pow__(self, other):
        return _m().pow(self, other)

    def __rpow__(self, other):
        return _m().pow(other, self)

    def __matmul__(self, other):
        return _m().matmul(self, other)

    def __rmatmul__(self, other):
        return _m().matmul(other, self)

    def __neg__(self):
        return _m().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _m().abs(self)

    def __lt__(self, other):
        return _m().less(self, other)

    def __le__(self, other):
        return _m().less_equal(self, other)

    def __gt__(self, other):
        return _m().greater(self, other)

    def __ge__(self, other):
        return _m().greater_equal(self, other)

    def __and__(self, other):
        return _m().logical_and(self, other)

    def __rand__(self, other):
        return _m().logical_and(other, self)

    def __or__(self, other):
        return _m().logical_or(self, other)

    def __ror__(self, other):
        return _m().logical_or(other, self)

    def __xor__(self, other):
        return _m().logical_xor(self, other)

    def __invert__(self):
        return _m().logical_not(self)

    def __getitem__(self, key):
        from estcore.graph.ops import array_ops  # local: import cycle with array_ops
        return array_ops.slice_helper(self, key)

    def __bool__(self):
        raise TypeError("Using a symbolic `estcore.Tensor` as a Python `bool` is not allowed. "
                        "Use `if t is not None:` to test for None, or build the condition "
                        "with estcore.where / logical ops.")

    def __iter__(self):
        shape = self.shape
        if shape.rank is None or shape[0] is None:
            raise TypeError("Cannot iterate over a Tensor whose first dimension is unknown "
                            f"(shape {fmt_shape(shape)}); use estcore.unstack with `num`.")
        from estcore.graph.ops import array_ops  # local: import cycle with array_ops
        return iter(array_ops.unstack(self, num=shape[0]))

    def __len__(self):
        raise TypeError("len() is not defined for a symbolic Tensor; use estcore.shape(t)[0] "
                        "or t.shape[0].")

    def __array__(self, *args, **kwargs):
        raise NotImplementedError(
            f"Cannot convert the symbolic Tensor '{self.name}' to a numpy array: it has no "
            "value until it is run in a Session (sess.run(t)).")


class Tensor(TensorOperators):
    """A symbolic value: output ``value_index`` of node ``op``.

    Attributes:
        op: the producing :class:`~estcore.graph.ir.Operation`.
        value_index: which output of ``op``.
        dtype: the element :class:`~estcore.DType`.
        shape: the static :class:`~estcore.TensorShape` (``None`` for unknown dims).
    """

    __slots__ = ("op", "value_index", "dtype", "_shape", "__weakref__")

    def __init__(self, op, value_index: int, dtype, shape: TensorShape):
        self.op = op
        self.value_index = value_index
        self.dtype = dtype
        self._shape = shape

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self):
        return self.op.graph

    @property
    def shape(self) -> TensorShape:
        return user_shape(self._shape)

    def get_shape(self) -> TensorShape:
        """The static shape, TF1 style: an unknown dimension is ``Dimension(None)``."""
        return tf1_shape(self._shape)

    def set_shape(self, shape: Any) -> None:
        """Refine the static shape (must be compatible with the current one)."""
        shape = as_shape(shape)
        if not self._shape.is_compatible_with(shape):
            raise ValueError(f"Tensor '{self.name}': shape {fmt_shape(self._shape)} is not "
                             f"compatible with the requested shape {fmt_shape(shape)}")
        self._shape = self._shape.merge_with(shape)

    def consumers(self) -> list:
        return [c for c in self.op._consumers if any(t is self for t in c.inputs)]

    def eval(self, feed_dict=None, session=None):
        from estcore.graph.session import get_default_session  # local: import cycle with session
        return (session or get_default_session()).run(self, feed_dict=feed_dict)

    def _as_tensor(self) -> Tensor:
        return self

    def __repr__(self) -> str:
        return (f"<estcore.Tensor '{self.name}' shape={fmt_shape(self._shape)} "
                f"dtype={self.dtype.name}>")
