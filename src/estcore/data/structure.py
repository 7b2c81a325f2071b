"""Element structures of a Dataset: :class:`TensorSpec`, value conversion, chunks.

A Dataset's *element* is a nested structure (tuples, dicts, namedtuples; see
:mod:`estcore.nest`) of arrays. Internally every Dataset moves *chunks*: the flat list
of an element's leaves with every leaf stacked along a new leading axis (``k >= 1``
consecutive elements, all of the same per-element shapes). Helpers here build, cut and
join chunks; they never loop over elements in Python.

Strings are numpy ``object`` arrays of ``bytes`` (TF's ``tf.string``). Python scalars
and lists follow TF's conversion: ``int`` -> int32, ``float`` -> float32, ``bool`` ->
bool, ``str`` / ``bytes`` -> string; numpy arrays keep their dtype.

TF1's legacy description of a structure (``output_types`` / ``output_shapes`` /
``output_classes``) is read with tf.data's nesting rule, where tuples, namedtuples and
dicts are structure and a list is a leaf (``[None, 2]`` is one shape): shapes and
classes are taken *up to* the structure of the types (:func:`map_up_to`,
:func:`legacy_structure`), so ``output_shapes=([None], [])`` gives two shapes.

Must not: know any Dataset node, run graphs or start streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops.core import constant_value
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.graph.sparse_tensor import SparseTensor
from estcore.graph.tensor import Tensor
from estcore.nest import flatten, is_nested, map_structure, pack_sequence_as

__all__ = ["TensorSpec", "SparseTensorSpec", "is_sparse_spec", "box", "to_array", "flatten_value",
           "spec_for", "Chunk", "chunk_len", "cut", "join", "element_at", "stack_elements",
           "most_specific", "is_batched_spec", "flatten_up_to", "map_up_to", "legacy_structure",
           "legacy_types", "legacy_shapes", "legacy_classes"]

Chunk = list  # list[np.ndarray], one per leaf, equal leading length


class TensorSpec:
    """The type of one leaf of a Dataset element (TF's ``tf.TensorSpec``).

    Attributes:
        shape: a :class:`~estcore.TensorShape` (``None`` for unknown dimensions).
        dtype: an estcore ``DType`` (``float32``, ``int64``, ``string``, ...).
        name: optional name (unused by estcore's pipeline).
    """

    __slots__ = ("shape", "dtype", "name")
    is_sparse = False  # SparseTensorSpec: True (read by estcore.inputs without an import)

    def __init__(self, shape: Any, dtype: Any = dt.float32, name: str | None = None):
        self.shape = as_shape(shape)
        self.dtype = dt.as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, other: Any) -> bool:
        return (isinstance(other, TensorSpec) and self.dtype is other.dtype
                and self.shape.is_compatible_with(other.shape))

    def _key(self) -> tuple:
        dims = None if self.shape.rank is None else tuple(self.shape.as_list())
        return (self.dtype.name, dims)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TensorSpec(shape={fmt_shape(self.shape)}, dtype=tf.{self.dtype.name}, " \
               f"name={self.name!r})"


class SparseTensorSpec(TensorSpec):
    """The type of a SparseTensor leaf (TF's ``tf.SparseTensorSpec``): rank 2
    ``[rows, columns]`` (estcore's SparseTensors). In a chunk such a leaf is an object
    array holding one ``SparseTensorValue`` per element (see :func:`box`)."""

    __slots__ = ()
    is_sparse = True

    def __repr__(self) -> str:
        dims = None if self.shape.rank is None else self.shape.as_list()
        return f"SparseTensorSpec(TensorShape({dims}), tf.{self.dtype.name})"

    def _key(self) -> tuple:
        return ("sparse", *super()._key())


def is_sparse_spec(spec: Any) -> bool:
    return isinstance(spec, SparseTensorSpec)


def box(value: Any) -> np.ndarray:
    """A 0-d object array holding ``value`` (a SparseTensorValue as one chunk entry)."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def flatten_up_to(structure: Any, value: Any) -> list:
    """The leaves of ``value`` at the leaves of ``structure`` (an element spec): a
    SparseTensorValue (a namedtuple) stays one leaf where the spec has a leaf."""
    if isinstance(structure, TensorSpec) or not is_nested(structure):
        return [value]
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in flatten_up_to(structure[k], value[k])]
    return [x for s, v in zip(structure, value, strict=True) for x in flatten_up_to(s, v)]


def _np_dtype(d: dt.DType) -> np.dtype:
    return np.dtype(object) if d.is_string else np.dtype(d.np)


def to_array(value: Any, what: str, dtype: dt.DType | None = None) -> np.ndarray:
    """One leaf as an ndarray with TF's dtype rules (strings as object arrays of bytes).

    Raises:
        TypeError: the value cannot be a tensor (ragged lists, mixed types, None).
    """
    if value is None:
        raise TypeError(f"{what}: None is not a valid tensor value (TF raises the same); "
                        "drop the entry or use a placeholder value")
    if hasattr(value, "_as_tensor"):  # a symbolic tensor: only constants have a value
        known = constant_value(value._as_tensor())
        if known is None:
            raise TypeError(
                f"{what}: the tensor '{value._as_tensor().name}' has no value while the "
                "Dataset is built (a placeholder or a computed tensor); estcore Datasets "
                "hold numpy values: pass the arrays themselves (only from_tensor_slices "
                "takes placeholders, fed when an initializable iterator's initializer runs)")
        value = known
    if isinstance(value, np.ndarray) and value.dtype.kind not in "USOT":
        arr = value
    elif hasattr(value, "to_numpy") and not isinstance(value, np.generic):  # pandas
        arr = np.asarray(value.to_numpy())
    else:
        try:
            arr = np.asarray(value)
        except ValueError as exc:  # ragged nesting
            raise TypeError(f"{what}: cannot convert {type(value).__name__} to a tensor "
                            f"(lists must be rectangular): {exc}") from None
        if not isinstance(value, (np.ndarray, np.generic)):
            if arr.dtype == np.float64:
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iu" and arr.dtype != np.int32:
                if arr.size == 0 or (arr.min() >= -2**31 and arr.max() < 2**31):
                    arr = arr.astype(np.int32)
                else:
                    arr = arr.astype(np.int64)
    if arr.dtype.kind in "USOT":
        arr = _bytes_array(arr, what)
    if dtype is not None:
        want = _np_dtype(dtype)
        if arr.dtype != want:
            if dtype.is_string or arr.dtype == object:
                raise TypeError(f"{what}: expected dtype {dtype.name}, got values of dtype "
                                f"{dt.as_dtype(arr.dtype).name}")
            arr = arr.astype(want)
    return arr


def _bytes_array(arr: np.ndarray, what: str) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    flat_in = arr.reshape(-1)
    flat_out = out.reshape(-1)
    for i, v in enumerate(flat_in.tolist()):  # strings: one conversion per value
        if isinstance(v, str):
            v = v.encode("utf-8")
        elif isinstance(v, (bytes, np.bytes_)):
            v = bytes(v)
        elif v is None or (isinstance(v, float) and v != v):
            raise TypeError(f"{what}: missing value (None/NaN) in a string column; fill it "
                            "first (e.g. DataFrame.fillna(''))")
        else:
            raise TypeError(f"{what}: mixed types in a string tensor: {type(v).__name__}")
        flat_out[i] = v
    return out


def _leaves_as_arrays(value: Any, what: str) -> Any:
    """``value`` with every leaf (lists included, as tf.data reads them) an ndarray."""
    if isinstance(value, dict):
        return {k: _leaves_as_arrays(v, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, tuple):
        items = [_leaves_as_arrays(v, f"{what}[{i}]") for i, v in enumerate(value)]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return to_array(value, what)


def flatten_value(value: Any, what: str) -> tuple[Any, list[np.ndarray]]:
    """``(structure, leaves)`` of a Python value: tuples/dicts are structure, lists and
    arrays leaves (tf.data's rule); a pandas Series is its values, a DataFrame one 2-D
    array (as in TF; pass ``dict(df)`` for one leaf per column)."""
    if not isinstance(value, (tuple, dict)):
        return None, [to_array(value, what)]
    tree = _leaves_as_arrays(value, what)
    return tree, flatten(tree)


def spec_for(arr: np.ndarray, drop_leading: bool) -> TensorSpec:
    shape = arr.shape[1:] if drop_leading else arr.shape
    return TensorSpec(shape, dt.as_dtype(arr.dtype))


def pack(structure: Any, leaves: Sequence[Any]) -> Any:
    """Rebuild an element from its leaves (``structure`` None: a single leaf)."""
    if structure is None:
        return leaves[0]
    return pack_sequence_as(structure, list(leaves))


def chunk_len(chunk: Chunk) -> int:
    return int(chunk[0].shape[0])


def cut(chunk: Chunk, start: int, stop: int | None = None) -> Chunk:
    return [a[start:stop] for a in chunk]


def join(chunks: list[Chunk]) -> Chunk:
    """Concatenate chunks along the element axis (one chunk: returned as is)."""
    if len(chunks) == 1:
        return chunks[0]
    return [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]


def element_at(chunk: Chunk, i: int) -> list[Any]:
    return [a[i] for a in chunk]


def stack_elements(elements: list[list[np.ndarray]], what: str) -> Chunk:
    """Stack elements (lists of leaves) into one chunk; shapes must agree."""
    out = []
    for j in range(len(elements[0])):
        parts = [np.asarray(e[j]) for e in elements]
        shape = parts[0].shape
        for p in parts:
            if p.shape != shape:
                raise ValueError(
                    f"{what}: cannot batch tensors with different shapes in component {j}. "
                    f"First element had shape {list(shape)} and another element had shape "
                    f"{list(p.shape)}. Use padded_batch for elements of varying shapes.")
        out.append(np.stack(parts))
    return out


def most_specific(a: TensorShape, b: TensorShape) -> TensorShape:
    """The most specific shape compatible with both (None where they differ)."""
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list(),
                                                              strict=True)])


def is_batched_spec(spec: TensorSpec) -> bool:
    return spec.shape.rank is not None and spec.shape.rank >= 1


# ---------------------------------------------------------------------- TF1's legacy structure


def _is_structure(x: Any) -> bool:
    """tf.data's nesting rule: tuples (namedtuples too) and dicts nest, lists do not."""
    return isinstance(x, (tuple, dict))


def map_up_to(shallow: Any, fn: Callable[[Any, Any], Any], value: Any) -> Any:
    """``fn(leaf, part)`` for each leaf of ``shallow`` and the part of ``value`` at its
    place, in ``shallow``'s structure (tf.data's ``nest.map_structure_up_to``).

    Raises:
        TypeError: ``value`` is not a structure where ``shallow`` is, or a dict where
            ``shallow`` is a tuple (or the reverse); TF's messages.
        ValueError: lengths or dict keys differ (TF's message).
    """
    if not _is_structure(shallow):
        return fn(shallow, value)
    if not _is_structure(value):
        raise TypeError("If shallow structure is a sequence, input must also be a sequence. "
                        f"Input has type: '{type(value).__name__}'.")
    if isinstance(shallow, dict) != isinstance(value, dict):
        raise TypeError("The two structures don't have the same sequence type. Input "
                        f"structure has type '{type(value).__name__}', while shallow "
                        f"structure has type '{type(shallow).__name__}'.")
    if len(value) != len(shallow):
        raise ValueError("The two structures don't have the same sequence length. Input "
                         f"structure has length {len(value)}, while shallow structure has "
                         f"length {len(shallow)}.")
    if isinstance(shallow, dict):
        if set(value) != set(shallow):
            raise ValueError("The two structures don't have the same keys. Input structure "
                             f"has keys {sorted(map(str, value))}, while shallow structure "
                             f"has keys {sorted(map(str, shallow))}.")
        return type(shallow)((k, map_up_to(v, fn, value[k])) for k, v in shallow.items())
    items = [map_up_to(a, fn, b) for a, b in zip(shallow, value, strict=True)]
    return type(shallow)(*items) if hasattr(shallow, "_fields") else tuple(items)


def _legacy_spec(dtype: dt.DType, shape: TensorShape, cls: Any) -> TensorSpec:
    if isinstance(cls, type) and issubclass(cls, SparseTensor):
        if shape.rank is None:
            shape = TensorShape([None, None])
        if shape.rank != 2:
            raise ValueError(f"output_shapes: a SparseTensor component has shape "
                             f"{fmt_shape(shape)}; estcore SparseTensors have rank 2")
        return SparseTensorSpec(shape, dtype)
    if isinstance(cls, type) and issubclass(cls, Tensor):
        return TensorSpec(shape, dtype)
    raise TypeError(f"Could not build a structure for output class "
                    f"{getattr(cls, '__name__', repr(cls))}. Make sure any component class in "
                    "`output_classes` inherits from one of the following classes: "
                    "`tf.sparse.SparseTensor`, `tf.Tensor`.")


def legacy_structure(output_types: Any, output_shapes: Any = None,
                     output_classes: Any = None) -> Any:
    """The element structure (TensorSpec leaves) that TF1's ``output_types``,
    ``output_shapes`` and ``output_classes`` describe (``Iterator.from_structure``,
    ``Dataset.from_generator``).

    Args:
        output_types: a DType (or a name, ``"int64"``) or a tuple / dict / namedtuple
            of them; its structure is the element's.
        output_shapes: None (every shape unknown), or shapes (TensorShapes, lists or
            tuples of dims, None) up to ``output_types``' structure.
        output_classes: None (every component a Tensor), or ``Tensor`` /
            ``SparseTensor`` classes up to that structure.

    Raises:
        TypeError / ValueError: as TF, when shapes or classes lack the types' structure
            or a type or class is not one.
    """
    types = map_up_to(output_types, lambda t, _v: dt.as_dtype(t), output_types)
    flat_types = flatten(types)
    if output_shapes is None:
        shapes = [TensorShape(None)] * len(flat_types)
    else:
        shapes = flatten(map_up_to(types, lambda _t, s: as_shape(s), output_shapes))
    if output_classes is None:
        classes = [Tensor] * len(flat_types)
    else:
        classes = flatten(map_up_to(types, lambda _t, c: c, output_classes))
    specs = [_legacy_spec(t, s, c) for t, s, c in zip(flat_types, shapes, classes, strict=True)]
    return pack(types if is_nested(types) else None, specs)


def legacy_types(structure: Any) -> Any:
    """TF1's ``output_types`` of an element structure."""
    return map_structure(lambda s: s.dtype, structure)


def legacy_shapes(structure: Any) -> Any:
    """TF1's ``output_shapes`` of an element structure."""
    return map_structure(lambda s: s.shape, structure)


def legacy_classes(structure: Any) -> Any:
    """TF1's ``output_classes``: ``SparseTensor`` for a sparse component, else ``Tensor``."""
    return map_structure(lambda s: SparseTensor if is_sparse_spec(s) else Tensor, structure)
