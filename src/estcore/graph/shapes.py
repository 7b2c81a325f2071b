"""Static shapes: :class:`TensorShape` (``None`` for an unknown dimension or rank).

Shapes here are what is known while tracing. The plan compiler reruns the same
shape rules with fully known shapes once the feed shapes are known.

Must not: import any other estcore module, or know dtypes or ops (the op rows in
``graph/ops/`` use these shapes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["TensorShape", "TF1TensorShape", "Dimension", "UNKNOWN_DIMENSION", "dimension_value",
           "as_shape", "fmt_shape", "broadcast_static", "tf1_shape", "set_v1_shapes",
           "v1_shapes", "user_shape"]


def _dim_result(value: Any) -> Any:
    if value is None or value is NotImplemented:
        return value
    return Dimension(value) if isinstance(value, int) and value >= 0 else value


class Dimension(int):
    """A dimension of a :class:`TensorShape` (TF1's ``Dimension``): an ``int`` that also
    has TF1's ``.value``; ``Dimension(None)`` is :data:`UNKNOWN_DIMENSION`.

    ``shape[i]`` and iteration give a ``Dimension`` for a known size and ``None`` for
    an unknown one; ``get_shape()[i]`` gives TF1's ``Dimension(None)`` there instead (see
    :class:`TF1TensorShape` and docs/compat.md). Arithmetic with ints keeps a
    ``Dimension``; with ``None`` it gives ``None`` and with ``Dimension(None)`` it gives
    ``Dimension(None)``, as an unknown TF1 dimension would.
    """

    def __new__(cls, value: Any):
        value = getattr(value, "value", value)
        if value is None:
            return UNKNOWN_DIMENSION
        return super().__new__(cls, value)

    __slots__ = ()

    @property
    def value(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"Dimension({int(self)})"

    def __str__(self) -> str:
        return str(int(self))

    def _op(self, other: Any, fn: Any) -> Any:
        if other is None:
            return None
        if other is UNKNOWN_DIMENSION:
            return UNKNOWN_DIMENSION
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return _dim_result(fn(int(self), int(other)))

    def __add__(self, other: Any) -> Any:
        return self._op(other, int.__add__)

    def __radd__(self, other: Any) -> Any:
        return self._op(other, lambda a, b: b + a)

    def __sub__(self, other: Any) -> Any:
        return self._op(other, int.__sub__)

    def __rsub__(self, other: Any) -> Any:
        return self._op(other, lambda a, b: b - a)

    def __mul__(self, other: Any) -> Any:
        return self._op(other, int.__mul__)

    def __rmul__(self, other: Any) -> Any:
        return self._op(other, lambda a, b: b * a)

    def __floordiv__(self, other: Any) -> Any:
        return self._op(other, int.__floordiv__)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._op(other, lambda a, b: b // a)

    def __mod__(self, other: Any) -> Any:
        return self._op(other, int.__mod__)

    def __reduce__(self) -> Any:
        return (Dimension, (int(self),))

    def is_compatible_with(self, other: Any) -> bool:
        """TF1: unknown, or the same size."""
        other = getattr(other, "value", other)
        return other is None or int(self) == int(other)

    def assert_is_compatible_with(self, other: Any) -> None:
        """Raise ValueError unless :meth:`is_compatible_with` ``other``."""
        if not self.is_compatible_with(other):
            raise ValueError(f"Dimensions {self} and {other} are not compatible")

    def merge_with(self, other: Any) -> Dimension:
        """This size, checked compatible with ``other`` (TF1)."""
        self.assert_is_compatible_with(other)
        return self


class _UnknownDimension:
    """TF1's ``Dimension(None)``: ``.value`` is None, arithmetic with ints or dimensions
    stays unknown, ``==`` / ``!=`` give None (unknown), ``int()`` is a TypeError."""

    __slots__ = ()
    value = None

    def __repr__(self) -> str:
        return "Dimension(None)"

    def __str__(self) -> str:
        return "?"

    def __reduce__(self) -> Any:
        return (Dimension, (None,))

    def __hash__(self) -> int:
        return hash(None)

    def __int__(self) -> int:
        raise TypeError("Cannot convert an unknown Dimension (Dimension(None)) to an int")

    __index__ = __int__

    def _unknown(self, other: Any) -> Any:
        if other is None or isinstance(other, (int, _UnknownDimension)) \
                and not isinstance(other, bool):
            return self
        return NotImplemented

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _unknown
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _unknown

    def __eq__(self, other: Any) -> Any:   # TF1: unknown compared with anything is None
        return None

    def __ne__(self, other: Any) -> Any:
        return None

    def is_compatible_with(self, other: Any) -> bool:
        return True

    def merge_with(self, other: Any) -> Any:
        return Dimension(other)

    def assert_is_compatible_with(self, other: Any) -> None:
        return None


UNKNOWN_DIMENSION = _UnknownDimension()


def dimension_value(dimension: Any) -> int | None:
    """The size of a dimension as an int, or None when unknown (TF's
    ``tf.compat.dimension_value``): accepts a :class:`Dimension`, an int or None."""
    value = getattr(dimension, "value", dimension)
    return None if value is None else int(value)


class TensorShape:
    """The static shape of a tensor.

    ``TensorShape(None)`` has unknown rank; otherwise ``dims`` is a tuple of
    ``int`` (known) or ``None`` (unknown) entries. Indexing and iteration give a
    :class:`Dimension` (an ``int`` with TF1's ``.value``) or ``None``; ``as_list()`` gives
    a list of ints and Nones.
    """

    __slots__ = ("_dims",)

    def __init__(self, dims: Iterable[Any] | None):
        if dims is None:
            self._dims = None
        else:
            if isinstance(dims, (str, bytes)):
                raise TypeError(f"a shape must be a list of dimensions (ints or None), not a "
                                f"string. Received: {dims!r}")
            out = []
            for d in dims:
                d = getattr(d, "value", d)
                if d is None:
                    out.append(None)
                    continue
                try:
                    di = int(d)
                except (TypeError, ValueError):
                    raise TypeError(f"a shape dimension must be a non-negative int or None. "
                                    f"Received: {d!r} in {dims!r}") from None
                if di != d or di < 0:
                    raise ValueError("a shape dimension must be a non-negative int or None. "
                                     f"Received: {d!r}")
                out.append(di)
            self._dims = tuple(out)

    @property
    def dims(self) -> tuple | None:
        """The dimensions: a tuple of ints (known) and Nones (unknown), or None for an
        unknown rank."""
        return self._dims

    @property
    def rank(self) -> int | None:
        return None if self._dims is None else len(self._dims)

    ndims = rank

    def as_list(self) -> list:
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def is_fully_defined(self) -> bool:
        return self._dims is not None and all(d is not None for d in self._dims)

    def num_elements(self) -> int | None:
        if not self.is_fully_defined():
            return None
        n = 1
        for d in self._dims:
            n *= d
        return n

    def is_compatible_with(self, other: Any) -> bool:
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return True
        if len(self._dims) != len(other._dims):
            return False
        return all(a is None or b is None or a == b
                   for a, b in zip(self._dims, other._dims, strict=True))

    def merge_with(self, other: Any) -> TensorShape:
        other = as_shape(other)
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"shapes {fmt_shape(self)} and {fmt_shape(other)} are not compatible")
        return TensorShape(a if a is not None else b
                           for a, b in zip(self._dims, other._dims, strict=True))

    def concatenate(self, other: Any) -> TensorShape:
        """This shape's dimensions followed by ``other``'s (unknown rank if either is)."""
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(self._dims + other._dims)

    def assert_has_rank(self, rank: int) -> None:
        """Raise ValueError unless the rank is unknown or ``rank``."""
        if self._dims is not None and len(self._dims) != rank:
            raise ValueError(f"Shape {fmt_shape(self)} must have rank {rank}")

    def with_rank(self, rank: int) -> TensorShape:
        """This shape with rank ``rank`` (unknown rank: ``rank`` unknown dimensions)."""
        self.assert_has_rank(rank)
        return type(self)([None] * rank) if self._dims is None else self

    def with_rank_at_least(self, rank: int) -> TensorShape:
        """This shape, checked to have at least ``rank`` dimensions (when known)."""
        if self._dims is not None and len(self._dims) < rank:
            raise ValueError(f"Shape {fmt_shape(self)} must have rank at least {rank}")
        return self

    def with_rank_at_most(self, rank: int) -> TensorShape:
        """This shape, checked to have at most ``rank`` dimensions (when known)."""
        if self._dims is not None and len(self._dims) > rank:
            raise ValueError(f"Shape {fmt_shape(self)} must have rank at most {rank}")
        return self

    def assert_same_rank(self, other: Any) -> None:
        """Raise ValueError when both ranks are known and differ."""
        other = as_shape(other)
        if self._dims is not None and other._dims is not None \
                and len(self._dims) != len(other._dims):
            raise ValueError(f"Shapes {fmt_shape(self)} and {fmt_shape(other)} must have "
                             "the same rank")

    def assert_is_compatible_with(self, other: Any) -> None:
        """Raise ValueError unless :meth:`is_compatible_with` ``other``."""
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {fmt_shape(self)} and {fmt_shape(as_shape(other))} "
                             "are incompatible")

    def assert_is_fully_defined(self) -> None:
        """Raise ValueError unless every dimension is known."""
        if not self.is_fully_defined():
            raise ValueError(f"Shape {fmt_shape(self)} is not fully defined")

    def __len__(self) -> int:
        if self._dims is None:
            raise ValueError("Cannot take the length of a shape with unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return (None if d is None else Dimension(d) for d in self._dims)

    def __getitem__(self, key):
        if self._dims is None:
            if isinstance(key, slice):
                return TensorShape(None)
            return None
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        d = self._dims[key]
        return None if d is None else Dimension(d)

    def __eq__(self, other: Any) -> bool:
        try:
            other = as_shape(other)
        except (TypeError, ValueError):
            return NotImplemented
        return self._dims == other._dims

    def __hash__(self) -> int:
        return hash(self._dims)

    def __reduce__(self) -> Any:
        return (type(self), (self._dims,))

    def __repr__(self) -> str:
        return f"TensorShape({None if self._dims is None else list(self._dims)})"

    def __str__(self) -> str:
        return fmt_shape(self)


class TF1TensorShape(TensorShape):
    """A shape as TF1 shows it (``get_shape()``, and ``.shape`` under v1 shapes): a
    :class:`TensorShape` whose dimensions index and iterate as :class:`Dimension` s,
    unknown ones as TF1's ``Dimension(None)`` (so ``x.get_shape()[0].value`` is None, as in
    TF1), and whose ``dims`` is a list of them. ``as_list()``, equality and ``rank`` are the
    plain shape's; :func:`as_shape` turns it back into a plain :class:`TensorShape`."""

    __slots__ = ()

    @property
    def dims(self) -> list | None:
        """TF1's ``dims``: a list of :class:`Dimension` (``Dimension(None)`` when unknown),
        or None for an unknown rank."""
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    def __iter__(self):
        return (Dimension(d) for d in super().__iter__())

    def __getitem__(self, key):
        got = super().__getitem__(key)
        if isinstance(got, TensorShape):
            return TF1TensorShape(got._dims)
        return Dimension(got)


def tf1_shape(shape: TensorShape) -> TF1TensorShape:
    """``shape`` as ``get_shape()`` gives it (:class:`TF1TensorShape`)."""
    return TF1TensorShape(shape._dims)


# ---------------------------------------------------------------- v1 / v2 shapes
# TF's process-wide switch (tf.compat.v1.disable_v2_tensorshape / enable_v2_tensorshape):
# with v1 shapes, ``.shape`` of a tensor, variable or sparse tensor is what ``get_shape()``
# gives. Only code outside estcore sees it: estcore's own modules are written against the
# v2 shape (``shape[i] is None``) and keep reading that whichever mode the program picked.
_V1_SHAPES = [False]
_OWN = "estcore."


def set_v1_shapes(enabled: bool) -> None:
    """Turn v1 shapes on (TF's ``disable_v2_tensorshape``) or off (the default)."""
    _V1_SHAPES[0] = bool(enabled)


def v1_shapes() -> bool:
    """Whether v1 shapes are on (see :func:`set_v1_shapes`)."""
    return _V1_SHAPES[0]


def user_shape(shape: TensorShape) -> TensorShape:
    """What a ``.shape`` property returns: ``shape`` itself, or under v1 shapes, for a
    caller outside estcore, ``shape`` as :class:`TF1TensorShape`.

    Call it directly from the property (it looks at the property's caller's module).
    """
    if not _V1_SHAPES[0]:
        return shape
    caller = sys._getframe(2).f_globals.get("__name__", "")
    if caller.startswith(_OWN):
        return shape
    return TF1TensorShape(shape._dims)


def as_shape(value: Any) -> TensorShape:
    """Convert a TensorShape, list/tuple of dims, int or None to a :class:`TensorShape` (a
    :class:`TF1TensorShape` becomes a plain one)."""
    if isinstance(value, TensorShape):
        return value if type(value) is TensorShape else TensorShape(value._dims)
    if value is None:
        return TensorShape(None)
    if isinstance(value, int):
        return TensorShape([value])
    return TensorShape(value)


def fmt_shape(shape: Any) -> str:
    """``(None, 784)`` style text for error messages."""
    dims = shape._dims if isinstance(shape, TensorShape) else tuple(shape)
    if dims is None:
        return "<unknown>"
    if len(dims) == 1:
        return f"({dims[0]},)"
    return "(" + ", ".join(str(d) for d in dims) + ")"


def broadcast_static(a: TensorShape, b: TensorShape) -> TensorShape | None:
    """numpy broadcasting of two static shapes; ``None`` when they cannot broadcast."""
    if a._dims is None or b._dims is None:
        return TensorShape(None)
    da, db = a._dims, b._dims
    n = max(len(da), len(db))
    da = (1,) * (n - len(da)) + da
    db = (1,) * (n - len(db)) + db
    out = []
    for x, y in zip(da, db, strict=False):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            return None
    return TensorShape(out)
