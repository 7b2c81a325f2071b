"""Source nodes: in-memory slices, single tensors, ranges, generators, zip, concatenate.

``from_tensor_slices`` data is held as numpy arrays (no copy for numpy input) and
handed out as chunks of up to :data:`~estcore.data.node.CHUNK_ROWS` elements (views).
A generator is pulled one element at a time (it is Python by nature); its elements are
converted to arrays of the declared dtypes and checked against the declared shapes.

Must not: loop over the elements of an in-memory source in Python; shuffle or batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore.data.fed import FedArg, describe_arg, fed_args, is_bound, value_of
from estcore.data.node import CHUNK_ROWS, INFINITE, UNKNOWN, Node
from estcore.data.structure import (
    Chunk,
    TensorSpec,
    box,
    chunk_len,
    cut,
    flatten_up_to,
    is_sparse_spec,
    join,
    legacy_types,
    map_up_to,
    most_specific,
    pack,
    spec_for,
    to_array,
)
from estcore.errors import FailedPreconditionError, InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.shapes import as_shape, fmt_shape
from estcore.graph.sparse_tensor import SparseTensorValue
from estcore.nest import assert_same_structure, map_structure

__all__ = ["SlicesNode", "FedSlicesNode", "FedTensorsNode", "TensorsNode", "RangeNode",
           "GeneratorNode", "ZipNode", "ConcatenateNode"]


def _structure_of(structure: Any, specs: list[TensorSpec]) -> Any:
    return specs[0] if structure is None else pack(structure, specs)


class SlicesNode(Node):
    """Elements are the rows of arrays with a common first dimension."""

    def __init__(self, structure: Any, arrays: list[np.ndarray]):
        for a in arrays:
            if a.ndim == 0:
                raise ValueError("from_tensor_slices: every component must have at least one "
                                 f"dimension to slice; got a scalar of dtype {a.dtype}")
        rows = {a.shape[0] for a in arrays}
        if len(rows) != 1:
            shapes = [list(a.shape) for a in arrays]
            raise ValueError("from_tensor_slices: all components must have the same size in "
                             f"the first dimension. Received shapes {shapes}")
        self.arrays = arrays
        self.num_rows = rows.pop()
        self.tree = structure
        super().__init__(_structure_of(structure, [spec_for(a, True) for a in arrays]))

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, self.num_rows, CHUNK_ROWS):
            yield cut(self.arrays, start, start + CHUNK_ROWS)

    def cardinality(self) -> int:
        return self.num_rows

    def describe(self) -> list:
        return ["slices", self.num_rows, [[a.dtype.str, list(a.shape[1:])] for a in self.arrays]]


class FedSlicesNode(SlicesNode):
    """``from_tensor_slices`` of graph tensors with no value at build time (TF1's
    placeholders fed when an initializable iterator's initializer runs).

    ``leaves`` are arrays (constants) or symbolic tensors (``tensors`` lists those, in
    leaf order). The element spec comes from their static shapes and dtypes. The
    initializer computes ``tensors`` and binds their values (:meth:`convert` checks
    them, :meth:`commit` sets the arrays a pass reads; the protocol of
    :mod:`estcore.data.fed`); a pass started before any binding raises
    FailedPreconditionError. Binding again (re-running the initializer) replaces the
    arrays for the passes started after (a chunk pass started before keeps its arrays;
    the binding is the Dataset's, shared by every iterator of it, as TF's placeholders
    are the graph's).
    """

    slices = True  # FedTensorsNode: False (the values are the one element)

    def __init__(self, structure: Any, leaves: list):
        self.leaves = leaves
        self.tensors = [t for t in leaves if not isinstance(t, np.ndarray)]
        what = "from_tensor_slices" if self.slices else "from_tensors"
        specs = []
        for leaf in leaves:
            if isinstance(leaf, np.ndarray):
                if self.slices and leaf.ndim == 0:
                    raise ValueError(f"{what}: every component must have at least one "
                                     f"dimension to slice; got a scalar of dtype {leaf.dtype}")
                specs.append(spec_for(leaf, self.slices))
                continue
            shape = leaf.shape
            if not self.slices:
                specs.append(TensorSpec(shape, leaf.dtype))
                continue
            if shape.rank == 0:
                raise ValueError(f"{what}: the tensor '{leaf.name}' is a scalar; every "
                                 "component must have at least one dimension to slice")
            inner = shape[1:] if shape.rank is not None else None
            specs.append(TensorSpec(inner, leaf.dtype))
        self.arrays = []
        self.num_rows = 0
        self.bound = False
        self.tree = structure
        Node.__init__(self, _structure_of(structure, specs))

    def convert(self, values: list) -> list[np.ndarray]:
        """The source arrays for the values of ``tensors`` (in that order), checked."""
        what = "from_tensor_slices" if self.slices else "from_tensors"
        it = iter(values)
        arrays = []
        for leaf, spec in zip(self.leaves, self.flat_specs, strict=True):
            if isinstance(leaf, np.ndarray):
                arrays.append(leaf if self.slices else leaf[None])
                continue
            a = to_array(next(it), f"the value fed for '{leaf.name}'", spec.dtype)
            shape = (a.shape[1:] if a.ndim else None) if self.slices else a.shape
            if shape is None or not spec.shape.is_compatible_with(as_shape(shape)):
                raise InvalidArgumentError(
                    f"{what}: the value fed for '{leaf.name}' has shape "
                    f"{list(a.shape)}, which does not fit the tensor's shape "
                    f"{fmt_shape(leaf.shape)}")
            arrays.append(a if self.slices else a[None])
        rows = {a.shape[0] for a in arrays}
        if len(rows) != 1:
            raise InvalidArgumentError(
                f"{what}: all components must have the same size in the first "
                f"dimension. Received shapes {[list(a.shape) for a in arrays]}")
        return arrays

    def commit(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays
        self.num_rows = arrays[0].shape[0]
        self.bound = True

    def chunks(self) -> Iterator[Chunk]:
        if not self.bound:
            names = ", ".join(f"'{t.name}'" for t in self.tensors)
            what = "slices" if self.slices else "holds"
            raise FailedPreconditionError(
                f"This Dataset {what} graph tensors ({names}) that get their values when an "
                "initializable iterator's initializer runs: call "
                "dataset.make_initializable_iterator() and run iterator.initializer with a "
                "feed_dict for them before reading elements")
        arrays, rows = self.arrays, self.num_rows  # a pass keeps the arrays it started on
        for start in range(0, rows, CHUNK_ROWS):
            yield cut(arrays, start, start + CHUNK_ROWS)

    def cardinality(self) -> int:
        if not self.slices:
            return 1
        return self.num_rows if self.bound else UNKNOWN

    def describe(self) -> list:
        return ["fed_slices" if self.slices else "fed_tensors", [t.name for t in self.tensors],
                [[s.dtype.name, str(s.shape)] for s in self.flat_specs]]


class FedTensorsNode(FedSlicesNode):
    """``from_tensors`` of graph tensors with no value at build time: one element, the
    values bound by the initializer (held as arrays with a leading axis of 1, so a pass
    is a one-row slices pass)."""

    slices = False


class TensorsNode(Node):
    """One element: the given values."""

    def __init__(self, structure: Any, arrays: list[np.ndarray]):
        self.arrays = [a[None] for a in arrays]
        super().__init__(_structure_of(structure, [spec_for(a, False) for a in arrays]))

    def chunks(self) -> Iterator[Chunk]:
        yield list(self.arrays)

    def cardinality(self) -> int:
        return 1

    def describe(self) -> list:
        return ["tensors", [[a.dtype.str, list(a.shape)] for a in self.arrays]]


class RangeNode(Node):
    """``range(start, stop, step)`` as int64 (or ``output_type``) scalars; the bounds
    may be FedArgs (read when a pass starts)."""

    def __init__(self, start: int | FedArg, stop: int | FedArg, step: int | FedArg,
                 dtype: dt.DType):
        if step == 0:
            raise ValueError("range: `step` must not be 0")
        self._args = (start, stop, step)
        self.fed_args = fed_args(*self._args)
        self.dtype = dtype
        super().__init__(TensorSpec([], dtype))

    @property
    def args(self) -> tuple[int, int, int]:
        return tuple(value_of(a) for a in self._args)  # type: ignore[return-value]

    def chunks(self) -> Iterator[Chunk]:
        start, stop, step = self.args
        span = CHUNK_ROWS * step
        a = start
        while (a < stop) if step > 0 else (a > stop):
            b = min(a + span, stop) if step > 0 else max(a + span, stop)
            yield [np.arange(a, b, step, dtype=self.dtype.np)]
            a = b

    def cardinality(self) -> int:
        if not is_bound(*self.fed_args):
            return UNKNOWN
        return len(range(*self.args))

    def describe(self) -> list:
        return ["range", [describe_arg(a) for a in self._args], self.dtype.name]


class GeneratorNode(Node):
    """Elements from a Python generator function, checked against the declared types."""

    def __init__(self, generator: Callable, structure: Any, args: tuple):
        self.generator = generator
        self.args = args
        super().__init__(structure)

    def chunks(self) -> Iterator[Chunk]:
        specs = self.flat_specs
        for n, value in enumerate(self.generator(*self.args)):
            try:  # tf.data's rule: a list is a leaf; a SparseTensorValue at a leaf too
                leaves = flatten_up_to(self.structure, map_up_to(self.structure, _keep, value))
            except (ValueError, TypeError) as exc:
                raise TypeError(f"from_generator: element {n} does not match the declared "
                                f"structure {legacy_types(self.structure)!r}: {exc}") from None
            out = []
            for j, (v, spec) in enumerate(zip(leaves, specs, strict=True)):
                if is_sparse_spec(spec):
                    out.append(box(_sparse_value(v, spec, n, j))[None])
                    continue
                a = to_array(v, f"from_generator element {n}", spec.dtype)
                if not spec.shape.is_compatible_with(as_shape(a.shape)):
                    raise ValueError(
                        f"from_generator: element {n}, component {j} has shape "
                        f"{list(a.shape)}, which is not compatible with the declared "
                        f"shape {fmt_shape(spec.shape)}")
                out.append(a[None])
            yield out

    def describe(self) -> list:
        return ["generator", getattr(self.generator, "__qualname__", "?")]


def _keep(_spec: Any, value: Any) -> Any:
    return value


def _sparse_value(value: Any, spec: TensorSpec, n: int, j: int) -> SparseTensorValue:
    """A generator's SparseTensorValue (or ``(indices, values, dense_shape)``) checked
    against its SparseTensorSpec (rank 2, dtype, shape)."""
    what = f"from_generator: element {n}, component {j}"
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise TypeError(f"{what} is declared sparse: expected a SparseTensorValue(indices, "
                        f"values, dense_shape), got {type(value).__name__}")
    indices, values, dense_shape = value
    ds = np.asarray(dense_shape, np.int64).reshape(-1)
    idx = np.asarray(indices, np.int64)
    if idx.size == 0:
        idx = idx.reshape(0, 2)
    if idx.ndim != 2 or idx.shape[1] != 2:
        raise ValueError(f"{what}: `indices` must have shape [nnz, 2]; got {list(idx.shape)}")
    vals = to_array(values, what, spec.dtype).reshape(-1)
    if ds.size != 2 or not spec.shape.is_compatible_with(as_shape(ds.tolist())):
        raise ValueError(f"{what} has dense_shape {ds.tolist()}, which is not compatible with "
                         f"the declared shape {fmt_shape(spec.shape)} (estcore SparseTensors "
                         "have rank 2)")
    if idx.shape[0] != vals.shape[0]:
        raise ValueError(f"{what} has {vals.shape[0]} values for {idx.shape[0]} indices")
    return SparseTensorValue(idx, vals, ds)


class ZipNode(Node):
    """Elements are tuples (or the given structure) of the inputs' elements."""

    def __init__(self, structure: Any, nodes: list[Node]):
        self.inputs = tuple(nodes)
        self.tree = structure
        super().__init__(pack(structure, [n.structure for n in nodes]))

    def chunks(self) -> Iterator[Chunk]:
        iters = [n.chunks() for n in self.inputs]
        pending: list[Chunk | None] = [None] * len(iters)
        while True:
            for i, it in enumerate(iters):
                if pending[i] is None or chunk_len(pending[i]) == 0:
                    nxt = next(it, None)
                    if nxt is None:
                        return
                    pending[i] = nxt
            k = min(chunk_len(c) for c in pending)
            out: Chunk = []
            for i, c in enumerate(pending):
                out.extend(cut(c, 0, k))
                pending[i] = cut(c, k)
            yield out

    def cardinality(self) -> int:
        cards = [n.cardinality() for n in self.inputs]
        known = [c for c in cards if c >= 0]
        if known:
            return min(known)
        return UNKNOWN if UNKNOWN in cards else INFINITE


class ConcatenateNode(Node):
    """The elements of ``a`` then those of ``b`` (same structure and dtypes)."""

    def __init__(self, a: Node, b: Node):
        try:
            assert_same_structure(a.structure, b.structure)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"concatenate: the datasets have different structures: {exc}") \
                from None
        for sa, sb in zip(a.flat_specs, b.flat_specs, strict=True):
            if sa.dtype is not sb.dtype:
                raise TypeError(f"concatenate: incompatible dtypes {sa.dtype.name} and "
                                f"{sb.dtype.name}")
        self.inputs = (a, b)
        super().__init__(map_structure(
            lambda x, y: TensorSpec(most_specific(x.shape, y.shape), x.dtype),
            a.structure, b.structure))

    def chunks(self) -> Iterator[Chunk]:
        yield from self.inputs[0].chunks()
        yield from self.inputs[1].chunks()

    def cardinality(self) -> int:
        a, b = (n.cardinality() for n in self.inputs)
        if INFINITE in (a, b):
            return INFINITE
        return UNKNOWN if UNKNOWN in (a, b) else a + b


def rows_of(chunks: list[Chunk]) -> Chunk:
    """All rows of some chunks as one chunk."""
    return join(chunks)
