"""``map`` and ``filter`` functions: traced once, run vectorised, per element, or on numpy.

A function is called ONCE on placeholders built from the element spec, inside a
private :class:`~estcore.graph.Graph` (TF1's graph functions: the function receives
tensors; a tuple element is unpacked into positional arguments). Then, in this order:

1. ``"vectorized"``: every op that depends on the element has a batching rule
   (:mod:`estcore.data.vectorize`): the rewritten graph runs once per chunk;
2. ``"per_element"``: the traced graph runs once per element (ops without a rule:
   StridedSlice, GatherV2, MatMul, random ops, ...);
3. ``"numpy"``: tracing failed (the function uses numpy or Python control flow on its
   arguments, which symbolic tensors refuse): the function is called per element with
   numpy values, as ``tf.py_function`` would. Its output types come from a first call
   on the first input element it succeeds on (at most :data:`PROBE_ELEMENTS` tried; so
   those elements are read once more), with unknown dimensions.

A vectorised ``decode_csv`` map over ``TextLineDataset`` lines runs as ``"bulk_csv"``
on the reader's buffer (:mod:`estcore.data.csv_map`).

``MapNode.how`` / ``FilterNode``'s runner tell which path was taken (tests and
:func:`estcore.data.map_mode`). ``num_parallel_calls`` is accepted and not needed: the
vectorised path is the parallel one.

Must not: decide batching rules (``vectorize.py``); start threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore.data import csv_map
from estcore.data.node import Node
from estcore.data.structure import (
    Chunk,
    SparseTensorSpec,
    TensorSpec,
    box,
    chunk_len,
    element_at,
    is_sparse_spec,
    pack,
    to_array,
)
from estcore.data.vectorize import NotVectorizable, vectorize
from estcore.graph import dtypes as dt
from estcore.graph.ir import Graph
from estcore.graph.ops.array_ops import placeholder
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.sparse_ops import sparse_placeholder
from estcore.graph.session import Session
from estcore.graph.shapes import TensorShape
from estcore.graph.sparse_tensor import is_sparse
from estcore.graph.tensor import Tensor
from estcore.nest import flatten, is_nested, pack_sequence_as

__all__ = ["MapFunction", "MapNode", "make_filter", "call_with_element", "normalize_result"]

logger = logging.getLogger("estcore")

VECTORIZED, PER_ELEMENT, NUMPY = "vectorized", "per_element", "numpy"
PROBE_ELEMENTS = 64  # numpy path: elements tried for the output types before giving up


def call_with_element(fn: Callable, element: Any) -> Any:
    """TF's calling convention: a tuple element is unpacked into positional arguments."""
    if type(element) is tuple:
        return fn(*element)
    return fn(element)


def normalize_result(result: Any) -> Any:
    """A top-level list returned by a map function is a tuple (TF converts it too)."""
    if type(result) is list:
        return tuple(result)
    return result


class MapFunction:
    """A traced user function over elements of ``structure``.

    Attributes:
        how: ``"vectorized"``, ``"per_element"`` or ``"numpy"``.
        out_structure: the result's structure with :class:`TensorSpec` leaves.
        reason: why the function is not vectorised ('' when it is).
    """

    def __init__(self, fn: Callable, structure: Any, what: str,
                 elements: Callable[[], Iterator[list]]):
        self.fn = fn
        self.structure = structure
        self.what = what
        self.reason = ""
        self._tree: Any = None
        self._element_session: Session | None = None
        self._sparse_out: list[bool] = []
        specs = flatten(structure)
        graph = Graph()
        try:
            with graph.as_default():
                phs = [sparse_placeholder(s.dtype, s.shape, name=f"arg{i}") if is_sparse_spec(s)
                       else placeholder(s.dtype, s.shape, name=f"arg{i}")
                       for i, s in enumerate(specs)]
                result = normalize_result(call_with_element(fn, pack(_tree_of(structure), phs)))
                leaves = [v if is_sparse(v) else convert_to_tensor(v) for v in flatten(result)]
        except Exception as exc:  # noqa: BLE001 - any failure on symbolic tensors: numpy path
            self.reason = f"tracing failed: {type(exc).__name__}: {exc}"
            self._numpy_setup(elements)
            return
        for t in leaves:
            if not isinstance(t, Tensor) and not is_sparse(t) or t.graph is not graph:
                raise ValueError(f"{what}: the function returned a tensor from another graph "
                                 f"({getattr(t, 'name', t)!r}); build every value inside it")
        self._tree = result if is_nested(result) else None
        self._sparse_out = [is_sparse(t) for t in leaves]
        self.out_structure = pack(self._tree, [
            (SparseTensorSpec if is_sparse(t) else TensorSpec)(t.shape, t.dtype) for t in leaves])
        self._graph, self._phs, self._outs = graph, phs, leaves
        try:
            if any(self._sparse_out) or any(map(is_sparse_spec, specs)):
                raise NotVectorizable("SparseTensor inputs or results run per element (one "
                                      "Session run per element: batch records before a "
                                      "parse_example map)")
            g2, bphs, bouts = vectorize(phs, leaves)
        except Exception as exc:  # noqa: BLE001 - no rule, or a rule's graph rejected: per element
            self.reason = str(exc) if isinstance(exc, NotVectorizable) else \
                f"the batched graph failed to build ({type(exc).__name__}: {exc})"
            self.how = PER_ELEMENT
            self._element_session = Session(graph=graph)
            return
        self.how = VECTORIZED
        self._session = Session(graph=g2)
        self._bphs = bphs
        self._bouts = bouts

    def _numpy_setup(self, elements: Callable[[], Iterator[list]]) -> None:
        self.how = NUMPY
        error: Exception | None = None
        for tried, leaves in enumerate(elements()):
            if tried == PROBE_ELEMENTS:
                break
            try:
                result = self._call_numpy(leaves)
                flat = flatten(result)
                if any(isinstance(v, Tensor) for v in flat):
                    raise TypeError("it returned symbolic tensors for numpy arguments")
                arrays = [to_array(v, f"{self.what} result") for v in flat]
            except Exception as exc:  # noqa: BLE001 - try the next element, report the first
                error = error or exc
                continue
            self._tree = result if is_nested(result) else None
            self.out_structure = pack(self._tree, [
                TensorSpec(TensorShape([None] * a.ndim), dt.as_dtype(a.dtype)) for a in arrays])
            return
        if error is not None:
            raise _same_kind(error, f"{self.what}: the function could not be traced on "
                                    f"tensors ({self.reason}) nor run on numpy values "
                                    f"({error})") from error
        self._tree = None  # empty input: the output types cannot be known; any will do
        self.out_structure = TensorSpec(None, dt.float32)

    def _call_numpy(self, leaves: list) -> Any:
        element = pack(_tree_of(self.structure), leaves)
        return normalize_result(call_with_element(self.fn, element))

    # ------------------------------------------------------------------ running

    def run(self, chunk: Chunk) -> list[Chunk]:
        """Outputs for the elements of ``chunk``: chunks of equal-shaped outputs."""
        if self.how == VECTORIZED:
            k = chunk_len(chunk)
            vals = self._session.run([t for t, _ in self._bouts],
                                     feed_dict=dict(zip(self._bphs, chunk, strict=True)))
            out = []
            for v, (_, batched) in zip(vals, self._bouts, strict=True):
                v = np.asarray(v)
                if not batched:
                    v = np.broadcast_to(v, (k,) + v.shape).copy()
                out.append(v)
            return [out]
        return _group(self._one(element_at(chunk, i)) for i in range(chunk_len(chunk)))

    def locate(self, chunk: Chunk, position: int, exc: Exception) -> Exception:
        """The error ``exc`` (raised for the whole chunk) naming the first element it
        comes from: ``element <i> of the input``, counted from the pass's start."""
        where = f"elements {position}..{position + chunk_len(chunk) - 1}"
        if chunk_len(chunk) == 1:
            where = f"element {position}"
        else:
            for i in range(chunk_len(chunk)):
                try:
                    self._one(element_at(chunk, i))
                except Exception as one:  # noqa: BLE001 - this is the element
                    exc, where = one, f"element {position + i}"
                    break
        return _same_kind(exc, f"{self.what}: the function failed on {where} of the input "
                               f"(0-based): {exc}")

    def run_skipping(self, chunk: Chunk) -> list[Chunk]:
        """:meth:`run` element by element, leaving out the elements that raise
        (``ignore_errors``)."""
        rows = []
        for i in range(chunk_len(chunk)):
            try:
                rows.append(self._one(element_at(chunk, i)))
            except Exception:  # noqa: BLE001 - ignore_errors drops any failing element
                continue
        return _group(iter(rows))

    def _one(self, leaves: list) -> list[np.ndarray]:
        if self.how in (PER_ELEMENT, VECTORIZED):
            if self._element_session is None:
                self._element_session = Session(graph=self._graph)
            vals = self._element_session.run(
                self._outs, feed_dict=dict(zip(self._phs, leaves, strict=True)))
            if any(self._sparse_out):  # a SparseTensorValue is one object entry
                return [box(v) if sp else np.asarray(v)
                        for v, sp in zip(vals, self._sparse_out, strict=True)]
            return [np.asarray(v) for v in vals]
        result = self._call_numpy(leaves)
        specs = flatten(self.out_structure)
        got = flatten(result)
        if len(got) != len(specs) or (is_nested(result) != (self._tree is not None)):
            raise TypeError(f"{self.what}: the function returned a different structure for "
                            f"another element: {type(result).__name__} with {len(got)} "
                            f"values, expected {len(specs)}")
        out = []
        for v, s in zip(got, specs, strict=True):
            a = to_array(v, f"{self.what} result")
            if dt.as_dtype(a.dtype) is not s.dtype:
                a = to_array(a, f"{self.what} result", s.dtype)
            out.append(a)
        return out


def _same_kind(exc: Exception, message: str) -> Exception:
    """``exc``'s class with ``message`` where it takes one argument, else a TypeError."""
    try:
        return type(exc)(message)
    except Exception:  # noqa: BLE001 - classes with other constructors
        return TypeError(message)


def _tree_of(structure: Any) -> Any:
    return structure if is_nested(structure) else None


def _group(rows: Iterator[list[np.ndarray]]) -> list[Chunk]:
    """Stack consecutive per-element outputs of equal shapes into chunks."""
    chunks: list[Chunk] = []
    run: list[list[np.ndarray]] = []
    key: tuple | None = None
    for r in rows:
        k = tuple(a.shape for a in r)
        if run and k != key:
            chunks.append([np.stack(col) for col in zip(*run, strict=True)])
            run = []
        run.append(r)
        key = k
    if run:
        chunks.append([np.stack(col) for col in zip(*run, strict=True)])
    return chunks


def _elements(node: Node) -> Callable[[], Iterator[list]]:
    """The elements of a new pass over ``node`` (the numpy path's type probe)."""
    def elements() -> Iterator[list]:
        for chunk in node.chunks():
            for i in range(chunk_len(chunk)):
                yield element_at(chunk, i)
    return elements


class MapNode(Node):
    """Elements are ``fn(element)`` (see the module docstring for how it runs)."""

    tolerant: bool | str = False  # ignore_errors ("log"/"quiet"): failing elements left out

    def __init__(self, up: Node, fn: Callable):
        self.inputs = (up,)
        self.function = MapFunction(fn, up.structure, "map", _elements(up))
        self.how = self.function.how
        self.csv: csv_map.CsvPlan | None = None
        if self.how == VECTORIZED:
            f = self.function
            self.csv = csv_map.match_csv(up, f._phs, f._outs)
            if self.csv is not None:
                self.how = csv_map.BULK_CSV
        super().__init__(self.function.out_structure)

    def chunks(self) -> Iterator[Chunk]:
        if self.csv is not None:
            return csv_map.bulk_chunks(self.inputs[0], self.csv, self.tolerant, self._unfused)
        return self._chunks()

    def _unfused(self, chunk: Chunk, position: int, name: str, line: int) -> Iterator[Chunk]:
        """The unfused outputs of ``chunk`` (lines ``line..`` of file ``name``): a failing
        element raises naming it, the file and the line, or is left out (ignore_errors)."""
        try:
            parts = self.function.run(chunk)
        except Exception as exc:  # noqa: BLE001 - locate (or, tolerant, drop) it
            if not self.tolerant:
                for i in range(chunk_len(chunk)):
                    try:
                        self.function._one(element_at(chunk, i))
                    except Exception as one:  # noqa: BLE001 - this is the element
                        raise _same_kind(one, f"map: the function failed on element "
                                              f"{position + i} of the input (0-based), "
                                              f"{name}: line {line + i}: {one}") from exc
                raise self.function.locate(chunk, position, exc) from exc
            parts = self.function.run_skipping(chunk)
            if self.tolerant == "log":
                left = chunk_len(chunk) - sum(chunk_len(p) for p in parts)
                logger.warning("ignore_errors: %d element(s) of input elements %d..%d left "
                               "out: %s", left, position, position + chunk_len(chunk) - 1, exc)
        yield from parts

    def _chunks(self) -> Iterator[Chunk]:
        run = self.function.run
        position = 0  # elements of the input before this chunk
        for chunk in self.inputs[0].chunks():
            try:
                parts = run(chunk)
            except Exception as exc:  # noqa: BLE001 - locate (or, tolerant, drop) it
                if not self.tolerant:
                    raise self.function.locate(chunk, position, exc) from exc
                parts = self.function.run_skipping(chunk)
                if self.tolerant == "log":
                    left = chunk_len(chunk) - sum(chunk_len(p) for p in parts)
                    logger.warning("ignore_errors: %d element(s) of input elements %d..%d left "
                                   "out: %s", left, position, position + chunk_len(chunk) - 1,
                                   exc)
            position += chunk_len(chunk)
            yield from parts

    def cardinality(self) -> int:
        return self.inputs[0].cardinality()

    def describe(self) -> list:
        return ["map", getattr(self.function.fn, "__qualname__", "?"),
                self.inputs[0].describe()]


def make_filter(up: Node, predicate: Callable) -> tuple[Callable[[Chunk], np.ndarray], str]:
    """``(keep(chunk) -> bool mask, how)`` for a filter predicate."""
    f = MapFunction(predicate, up.structure, "filter", _elements(up))
    spec = f.out_structure
    if is_nested(spec) or spec.dtype is not dt.bool or (spec.shape.rank not in (0, None)):
        raise ValueError("filter: `predicate` must return a scalar boolean tensor. Received: "
                         f"{pack_sequence_as(spec, flatten(spec)) if is_nested(spec) else spec}")

    def keep(chunk: Chunk) -> np.ndarray:
        parts = f.run(chunk)
        mask = np.concatenate([p[0].reshape(-1) for p in parts])
        if mask.shape[0] != chunk_len(chunk):
            raise ValueError("filter: `predicate` must return one boolean per element")
        return mask.astype(bool, copy=False)

    def keep_skipping(chunk: Chunk) -> np.ndarray:
        """ignore_errors: an element whose predicate raises is left out."""
        try:
            return keep(chunk)
        except Exception:  # noqa: BLE001 - decide element by element
            out = np.zeros(chunk_len(chunk), dtype=bool)
            for i in range(chunk_len(chunk)):
                try:
                    out[i] = bool(np.asarray(f.run([a[i:i + 1] for a in chunk])[0][0])
                                  .reshape(-1)[0])
                except Exception:  # noqa: BLE001 - dropped
                    out[i] = False
            return out

    keep.skipping = keep_skipping  # type: ignore[attr-defined]
    return keep, f.how
