"""``SparseTensor`` and ``IndexedSlices``: the engine's two sparse values.

Representation (why it is not TF's): plans are compiled per feed signature with concrete
shapes (``graph/plan.py``), so a tensor whose size depends on the data (TF's ``indices``
``[nnz, 2]`` / ``values`` ``[nnz]``) would recompile at every new ``nnz``. Inside the
engine a rank-2 SparseTensor is therefore stored ROW-PADDED:

* ``cols``: int64 ``[B, L]``, the column of each stored value, ``-1`` in a padding slot;
* ``padded_values``: ``[B, L]`` of the value dtype (``0`` / ``''`` in padding slots);
* ``dense_shape``: int64 ``[2]``.

``L`` is the slot count of the longest row; fed values round it up to a power of two, so
a plan compiles once per ``(B, L)`` and a stream of batches meets only a few ``L``.
Feature columns over dense ``[B, k]`` inputs (``''`` / ``-1`` missing) are this form
already (``L = k``, no copy). TF's ``indices`` / ``values`` exist at the edges:
``Session.run`` returns a :class:`SparseTensorValue` (row-major, TF's order) and feeding a
``SparseTensorValue`` to a :func:`~estcore.graph.ops.sparse_ops.sparse_placeholder`
converts it. In the graph ``st.indices`` / ``st.values`` are not tensors (their sizes are
data-dependent): the sparse ops (``sparse_ops``) and ``map_values`` work on the padded
parts.

``IndexedSlices`` is a sparse gradient: ``values [n, ...]`` rows for ``indices [n]`` of a
``dense_shape`` tensor (TF's); an index of ``-1`` marks a padding row that contributes
nothing. It converts to a dense tensor when something needs one (``_as_tensor``).

Must not: register ops (``graph/ops/sparse_ops.py`` does); run anything.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.shapes import TensorShape, tf1_shape, user_shape

__all__ = ["SparseTensor", "SparseTensorValue", "IndexedSlices", "IndexedSlicesValue",
           "is_sparse", "pad_value", "unpad_value", "round_slots"]

SparseTensorValue = collections.namedtuple("SparseTensorValue",
                                           ("indices", "values", "dense_shape"))
IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue",
                                            ("values", "indices", "dense_shape"))


def is_sparse(x: Any) -> bool:
    return isinstance(x, SparseTensor)


def round_slots(n: int) -> int:
    """The slot count for a longest row of ``n`` values: the next power of two (>= 1)."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def _fill_for(values: np.ndarray):
    return "" if values.dtype == object else 0


def pad_value(value, dtype=None, slots: int | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF's ``(indices, values, dense_shape)`` as padded ``(cols, values, dense_shape)``.

    Args:
        value: a SparseTensorValue or a ``(indices, values, dense_shape)`` triple
            (indices ``[nnz, 2]`` ints, values ``[nnz]``, dense_shape ``[2]``).
        dtype: the value numpy dtype (default: ``values``' own).
        slots: the padded width ``L`` (default: :func:`round_slots` of the longest row).

    Raises:
        ValueError: not rank 2, mismatched lengths, or an index outside dense_shape.
    """
    try:
        indices, values, dense_shape = value
    except (TypeError, ValueError):
        raise TypeError("A sparse value must be a SparseTensorValue or an (indices, values, "
                        f"dense_shape) triple. Received: {type(value).__name__}") from None
    ds = np.asarray(dense_shape, np.int64).reshape(-1)
    if ds.size != 2:
        raise ValueError("estcore SparseTensors have rank 2 ([batch, columns]); `dense_shape` "
                         f"must have 2 entries. Received: dense_shape={ds.tolist()}")
    idx = np.asarray(indices, np.int64)
    if idx.size == 0:
        idx = idx.reshape(0, 2)
    if idx.ndim != 2 or idx.shape[1] != 2:
        raise ValueError(f"`indices` must have shape [nnz, 2]. Received shape {idx.shape}")
    vals = np.asarray(values, dtype=object if dtype is object else dtype)
    if vals.dtype.kind in "US":
        vals = vals.astype(object)
    vals = vals.reshape(-1)
    if vals.shape[0] != idx.shape[0]:
        raise ValueError(f"`values` has {vals.shape[0]} entries for {idx.shape[0]} indices.")
    b, w = int(ds[0]), int(ds[1])
    if idx.shape[0] and (idx.min() < 0 or idx[:, 0].max() >= b or idx[:, 1].max() >= w):
        raise ValueError(f"an index of `indices` is outside dense_shape {ds.tolist()}.")
    order = np.lexsort((idx[:, 1], idx[:, 0]))
    idx, vals = idx[order], vals[order]
    counts = np.bincount(idx[:, 0], minlength=b) if b else np.zeros(0, np.int64)
    longest = int(counts.max()) if counts.size else 0
    L = round_slots(longest) if slots is None else int(slots)
    if L < longest:
        raise ValueError(f"a row has {longest} values, more than the {L} slots given.")
    cols = np.full((b, L), -1, np.int64)
    out = np.full((b, L), _fill_for(vals), vals.dtype)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if b else counts
    pos = np.arange(idx.shape[0]) - np.repeat(starts, counts)
    cols[idx[:, 0], pos] = idx[:, 1]
    out[idx[:, 0], pos] = vals
    return cols, out, ds


def unpad_value(cols: np.ndarray, values: np.ndarray, dense_shape: np.ndarray
                ) -> SparseTensorValue:
    """Padded parts back to TF's SparseTensorValue (row-major order, TF's canonical one)."""
    mask = cols >= 0
    rows = np.nonzero(mask)[0].astype(np.int64)
    c = cols[mask]
    v = values[mask]
    order = np.lexsort((c, rows))
    indices = np.stack([rows[order], c[order]], axis=1) if rows.size else \
        np.zeros((0, 2), np.int64)
    return SparseTensorValue(indices, v[order], np.asarray(dense_shape, np.int64).copy())


class SparseTensor:
    """A rank-2 sparse tensor (TF's ``tf.SparseTensor``), row-padded in the engine.

    ``SparseTensor(indices, values, dense_shape)`` takes TF's arguments as values known
    when the graph is built (numpy arrays, lists, constants); data that changes per step
    is fed through ``sparse_placeholder``. See the module docstring for the layout.

    Attributes:
        dtype: the value dtype.
        dense_shape: int64 ``[2]`` tensor.
        shape: the static TensorShape ``[B, W]`` (``None`` where unknown).
        cols: int64 ``[B, L]`` column of each slot (``-1``: padding).
        padded_values: ``[B, L]`` values (padding slots hold 0 / ``''``).
    """

    __slots__ = ("cols", "padded_values", "dense_shape", "_shape", "__weakref__")

    def __init__(self, indices, values, dense_shape):
        from estcore.graph.ops.core import constant, constant_value  # local: import cycle

        parts = []
        for name, x in (("indices", indices), ("values", values), ("dense_shape", dense_shape)):
            if hasattr(x, "_as_tensor"):
                v = constant_value(x._as_tensor())
                if v is None:
                    raise TypeError(
                        f"tf.SparseTensor({name}=...) got the tensor '{x._as_tensor().name}' "
                        "whose value is not known when the graph is built. estcore stores "
                        "SparseTensors row-padded; feed per-step sparse data through "
                        "sparse_placeholder, or build it with tf.sparse.from_dense.")
                x = v
            parts.append(x)
        vdtype = getattr(values, "dtype", None)
        vdtype = vdtype.np if isinstance(vdtype, dt.DType) else None
        cols, vals, ds = pad_value(parts, dtype=vdtype, slots=None)
        if vals.dtype.kind == "f" and vdtype is None and not isinstance(values, np.ndarray):
            vals = vals.astype(np.float32)
        self._init(constant(cols, dt.int64), constant(vals), constant(ds, dt.int64),
                   TensorShape([int(ds[0]), int(ds[1])]))

    @classmethod
    def from_parts(cls, cols, padded_values, dense_shape, shape=None) -> SparseTensor:
        """A SparseTensor from its padded parts (tensors; see the module docstring)."""
        st = cls.__new__(cls)
        if shape is None:
            shape = TensorShape([cols.shape[0] if cols.shape.rank else None, None])
        st._init(cols, padded_values, dense_shape, shape)
        return st

    @classmethod
    def from_value(cls, value) -> SparseTensor:
        """Constants for a SparseTensorValue (or an ``(indices, values, dense_shape)``)."""
        return cls(*value)

    def _init(self, cols, padded_values, dense_shape, shape):
        if cols.dtype is not dt.int64:
            raise TypeError(f"SparseTensor cols must be int64, got {cols.dtype.name}")
        self.cols = cols
        self.padded_values = padded_values
        self.dense_shape = dense_shape
        self._shape = shape

    # ---------------------------------------------------------------- TF's attributes
    @property
    def dtype(self):
        return self.padded_values.dtype

    @property
    def shape(self) -> TensorShape:
        return user_shape(self._shape)

    def get_shape(self) -> TensorShape:
        """The static shape, TF1 style: an unknown dimension is ``Dimension(None)``."""
        return tf1_shape(self._shape)

    @property
    def graph(self):
        return self.cols.graph

    @property
    def op(self):
        return self.padded_values.op

    @property
    def name(self) -> str:
        return self.padded_values.name

    def _filled(self):
        from estcore.graph.ops import math_ops  # local: the op modules import this one
        return math_ops.greater_equal(self.cols, 0)

    @property
    def indices(self):
        """int64 ``[nnz, 2]``: ``(row, column)`` of each value, in the order of
        :attr:`values`. ``nnz`` is known only when the graph runs (a data-dependent shape:
        the ops after it are planned per run)."""
        from estcore.graph.ops import array_ops, dynamic_ops  # local: import cycle
        filled = self._filled()
        rows = dynamic_ops.where_indices(filled)[:, :1]
        cols = array_ops.expand_dims(dynamic_ops.boolean_mask(self.cols, filled), 1)
        return array_ops.concat([rows, cols], 1)

    @property
    def values(self):
        """``[nnz]`` values, row by row and within a row in the order they were stored
        (TF's order for ``string_split``, parsed ``VarLenFeature``s and canonically ordered
        ``indices``); e.g. ``tf.string_split([line]).values`` is the line's tokens. ``nnz``
        is known only when the graph runs. Gradients flow to :attr:`padded_values`."""
        from estcore.graph.ops import dynamic_ops  # local: import cycle
        return dynamic_ops.boolean_mask(self.padded_values, self._filled())

    def eval(self, feed_dict=None, session=None):
        from estcore.graph.session import get_default_session  # local: import cycle
        return (session or get_default_session()).run(self, feed_dict=feed_dict)

    # ---------------------------------------------------------------- Session protocol
    def _estcore_components(self) -> tuple:
        return (self.cols, self.padded_values, self.dense_shape)

    @staticmethod
    def _estcore_rebuild(arrays) -> SparseTensorValue:
        return unpad_value(*arrays)

    def _estcore_feed_value(self, value) -> list:
        """A fed SparseTensorValue (or triple) as ``[cols, padded values, dense_shape]``."""
        if isinstance(value, SparseTensor):
            raise TypeError("The value of a feed cannot be a SparseTensor; feed a "
                            "SparseTensorValue (indices, values, dense_shape).")
        np_dtype = object if self.dtype.is_string else self.dtype.np
        cols, vals, ds = pad_value(value, dtype=np_dtype)
        return [cols, vals, ds]

    def __repr__(self) -> str:
        return (f"SparseTensor(indices=<padded cols {self.cols.name}>, values=<padded "
                f"{self.padded_values.name}>, dense_shape={self.dense_shape.name}, "
                f"dtype={self.dtype.name})")


class IndexedSlices:
    """Sparse rows of a dense tensor (TF's ``tf.IndexedSlices``): a sparse gradient.

    Attributes:
        values: ``[n, ...]`` rows.
        indices: int ``[n]`` row numbers; ``-1`` marks a row that contributes nothing.
        dense_shape: the dense tensor's shape (an int64 ``[rank]`` tensor) or None.
        dense_like: a tensor with the dense shape (used to densify), or None.
    """

    __slots__ = ("values", "indices", "dense_shape", "dense_like", "_dense", "__weakref__")

    def __init__(self, values, indices, dense_shape=None, dense_like=None):
        self.values = values
        self.indices = indices
        self.dense_shape = dense_shape
        self.dense_like = dense_like
        self._dense = None

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def graph(self):
        return self.values.graph

    @property
    def name(self) -> str:
        return self.values.name

    @property
    def op(self):
        return self.values.op

    @property
    def shape(self) -> TensorShape:
        if self.dense_like is not None:
            return self.dense_like.shape
        return TensorShape(None)

    def _as_tensor(self):
        """The dense tensor (rows summed at their indices; built once)."""
        if self._dense is None:
            from estcore.graph.ops import sparse_ops  # local: import cycle (ops import this)
            self._dense = sparse_ops.indexed_slices_to_dense(self)
        return self._dense

    def __repr__(self) -> str:
        return (f"IndexedSlices(indices={self.indices.name}, values={self.values.name}, "
                f"dtype={self.dtype.name})")
