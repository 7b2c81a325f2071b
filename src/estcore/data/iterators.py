"""Iteration: :class:`DatasetIterator` (Python, numpy values, resumable) and TF1's
:class:`Iterator` (``make_one_shot_iterator`` / ``make_initializable_iterator``).

A DatasetIterator starts one pass over the pipeline: on the C stream when
:func:`estcore.data.fast.plan` matches (an unshuffled one started inside
:func:`estcore.inputs.views.views_scope`: read-only views of the source arrays, no
stream), else over chunks. It counts the elements it has handed out;
:meth:`DatasetIterator.get_state` is that count plus the pipeline's
fingerprint and shuffle seeds (JSON). A new iterator created inside
:func:`estcore.inputs.resume.resume_scope` with a fitting state continues exactly after
those elements: the C stream starts at that batch, the chunk path replays the pass and
drops them (shuffle seeds and pass counters are restored, so the replay is the same).

Inside :func:`estcore.inputs.shard_scope(i, n)` (the Estimator's data-parallel
training) an iterator yields only elements ``i, i + n, ...`` of the pass: with batched
elements, the n workers together see each batch once.

``Iterator.get_next()`` returns the outputs of one ``PyFunc`` node (static shapes from
the element spec) that pulls the next element of the iterator's pass when run: in a
plain Session they raise ``OutOfRangeError`` after the last element (TF's behaviour);
``initializer`` restarts the pass. They are also recorded in the graph collection
:data:`estcore.inputs.source.GET_NEXT_COLLECTION`: an Estimator whose input_fn returns
them feeds its placeholders from a pass of its own (resumable, on the C stream where
possible) instead of running the node.

Must not: start threads itself (the C stream does); import the Estimator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator as _PyIterator
from typing import Any

from estcore.data import fast
from estcore.data.node import Node
from estcore.data.options import Options
from estcore.data.shuffle import ShuffleNode
from estcore.data.sources import FedSlicesNode
from estcore.data.structure import chunk_len, cut, flatten_up_to, is_sparse_spec, pack
from estcore.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from estcore.graph import dtypes as dt
from estcore.graph.ir import get_default_graph
from estcore.graph.ops.script_ops import py_func
from estcore.graph.sparse_tensor import SparseTensor, pad_value
from estcore.inputs.resume import take_resume_state
from estcore.inputs.shard import current_shard
from estcore.inputs.source import GET_NEXT_COLLECTION, GetNextRecord
from estcore.inputs.views import views_allowed
from estcore.nest import flatten, is_nested, map_structure, packer

__all__ = ["DatasetIterator", "Iterator", "STATE_KIND", "fed_sources"]

STATE_KIND = "estcore.data.Dataset"
STATE_VERSION = 1


def _shuffles(node: Node) -> list[ShuffleNode]:
    out: list[ShuffleNode] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ShuffleNode):
            out.append(n)
        stack.extend(reversed(n.inputs))
    return out


def fed_sources(node: Node) -> list[FedSlicesNode]:
    """The sources of ``node``'s pipeline that slice fed graph tensors (each once)."""
    out: list[FedSlicesNode] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, FedSlicesNode) and all(n is not m for m in out):
            out.append(n)
        stack.extend(reversed(n.inputs))
    return out


def _fingerprint(node: Node) -> str:
    return json.dumps(node.describe(), sort_keys=True, default=str)


class DatasetIterator:
    """One pass over a Dataset, yielding numpy elements (see the module docstring).

    Attributes:
        element_spec: the dataset's element structure.
        resumed: True if it started at a state offered by a resume scope.
    """

    def __init__(self, node: Node, options: Options, *, state: dict | None = None):
        self._node = node
        self.element_spec = node.structure
        self._tree = node.structure if is_nested(node.structure) else None
        self._shuffles = _shuffles(node)
        self.resumed = False
        if state is None:
            state = take_resume_state(self._fits)
            self.resumed = state is not None
        elif not self._fits(state):
            raise InvalidArgumentError("`state` does not match this dataset (another pipeline, "
                                       "or not a DatasetIterator.get_state() dict)")
        start = 0
        if state is not None:
            for sh, (seed, passes) in zip(self._shuffles, state["shuffles"], strict=True):
                sh.seed, sh.passes = seed, passes
            start = state["elements_consumed"]
        self._start_shuffles = [[sh.seed, sh.passes] for sh in self._shuffles]
        self._count = start
        self._plan = fast.plan(node, options, views=views_allowed())
        self.path = ("chunks" if self._plan is None else
                     "views" if self._plan.views else "c_stream")
        self.shard = current_shard()
        if self.shard[1] != 1:
            self._gen = self._sharded(start)
        elif self._plan is not None:
            self._gen = self._plan.batches(start)  # _run's first branch, one generator less
        else:
            self._gen = self._run(start)

    def _fits(self, state: Any) -> bool:
        return (isinstance(state, dict) and state.get("kind") == STATE_KIND
                and state.get("version") == STATE_VERSION
                and state.get("fingerprint") == _fingerprint(self._node)
                and isinstance(state.get("elements_consumed"), int)
                and state["elements_consumed"] >= 0
                and isinstance(state.get("shuffles"), list)
                and len(state["shuffles"]) == len(self._shuffles))

    def _run(self, start: int) -> _PyIterator[Any]:
        tree = self._tree
        if self._plan is not None:
            yield from self._plan.batches(start)  # elements in their structure already
            return
        skip = start
        rebuild = packer(tree)[1] if tree is not None else None  # compiled once per pass
        for chunk in self._node.chunks():
            k = chunk_len(chunk)
            if skip:
                if skip >= k:
                    skip -= k
                    continue
                chunk = cut(chunk, skip)
                k -= skip
                skip = 0
            if tree is None:
                yield from chunk[0]
            elif len(chunk) == 1:
                for value in chunk[0]:
                    yield rebuild([value])
            else:
                for i in range(k):
                    yield rebuild([a[i] for a in chunk])

    def _sharded(self, start: int) -> _PyIterator[Any]:
        """Elements ``index, index + n, ...`` of the pass (data-parallel workers: with
        batches of B, worker i of n gets the rows shard i of numpy_input_fn's global
        batch of ``n * B`` would hold, except at a short end)."""
        index, n = self.shard
        for k, element in enumerate(self._run(start), start):
            if k % n == index:
                self._count = k  # the state counts positions of the whole pass
                yield element

    def __iter__(self) -> DatasetIterator:
        return self

    def __next__(self) -> Any:
        value = next(self._gen)
        self._count += 1
        return value

    def __len__(self) -> int:
        """Elements still to come when the dataset's cardinality is known (the progress
        bar's total); TypeError otherwise."""
        card = self._node.cardinality()
        if card < 0:
            raise TypeError("the number of elements of this dataset is not known")
        index, n = self.shard
        first = self._count + (index - self._count) % n  # the next position this yields
        return max(0, -(-(card - first) // n))

    def get_next(self) -> Any:
        """The next element; raises OutOfRangeError at the end (TF's eager iterator)."""
        try:
            return next(self)
        except StopIteration:
            raise OutOfRangeError("End of sequence") from None

    def get_state(self) -> dict[str, Any]:
        """JSON state: resume with a new iterator of the same pipeline in a resume scope."""
        return {"kind": STATE_KIND, "version": STATE_VERSION,
                "fingerprint": _fingerprint(self._node),
                "elements_consumed": self._count, "batches_consumed": self._count,
                "shuffles": [list(s) for s in self._start_shuffles]}

    def close(self) -> None:
        """Stop the pass (joins the C workers of a C-stream pass)."""
        self._gen.close()


class Iterator:
    """TF1's ``tf.data.Iterator`` of one Dataset (see the module docstring)."""

    def __init__(self, node: Node, options: Options, initializable: bool):
        self._node = node
        self._options = options
        self._initializable = initializable
        self._tensors: list | None = None
        self._structure: Any = None
        self._initializer: Any = None
        self._pass: DatasetIterator | None = None
        self._sparse: list[bool] = []
        self._tree = node.structure if is_nested(node.structure) else None
        self._fed = fed_sources(node)
        if initializable:  # in the graph the iterator is made in, as TF's MakeIterator op
            inputs = [t for n in self._fed for t in n.tensors]  # their feeds reach _restart
            self._initializer = py_func(self._restart, inputs, [], name="MakeIterator")

    @property
    def element_spec(self) -> Any:
        return self._node.structure

    @property
    def output_types(self) -> Any:
        return map_structure(lambda s: s.dtype, self._node.structure)

    @property
    def output_shapes(self) -> Any:
        return map_structure(lambda s: s.shape, self._node.structure)

    @property
    def initializer(self) -> Any:
        """The op that (re)starts the iterator's pass (initializable iterators only)."""
        if not self._initializable:
            raise ValueError("Iterator does not have an initializer: use "
                             "make_initializable_iterator()")
        return self._initializer

    def get_next(self, name: str | None = None) -> Any:
        """Tensors of the next element (the same ones on every call, as TF's values).

        Running them in a Session pulls the next element of this iterator's pass
        (``OutOfRangeError`` after the last one); the Estimator feeds them from a
        pass of its own instead (see the module docstring).
        """
        if self._tensors is None:
            specs = flatten(self._node.structure)
            self._sparse = [is_sparse_spec(s) for s in specs]
            dtypes = [d for s, sp in zip(specs, self._sparse, strict=True)
                      for d in ((dt.int64, s.dtype, dt.int64) if sp else (s.dtype,))]
            outs = py_func(self._pull, [], dtypes, name=name or "IteratorGetNext")
            outs = [outs] if not isinstance(outs, list) else outs
            tensors = []
            for s, sp in zip(specs, self._sparse, strict=True):
                if sp:  # a SparseTensor from its padded parts (cols, values, dense_shape)
                    cols, vals, shape = outs[:3]
                    outs = outs[3:]
                    tensors.append(SparseTensor.from_parts(cols, vals, shape, shape=s.shape))
                    continue
                outs[0].set_shape(s.shape)
                tensors.append(outs.pop(0))
            self._tensors = tensors
            get_default_graph().add_to_collection(GET_NEXT_COLLECTION, GetNextRecord(
                list(self._tensors), self.start))
            tree = self._node.structure if is_nested(self._node.structure) else None
            self._structure = self._tensors[0] if tree is None else pack(tree, self._tensors)
        return self._structure

    def _pull(self) -> list:
        if self._pass is None:
            if self._initializable:
                raise FailedPreconditionError(
                    "GetNext() failed because the iterator has not been initialized. Ensure "
                    "that you have run the initializer operation for this iterator before "
                    "getting the next element.")
            self._pass = self.start()
        element = next(self._pass)  # StopIteration: PyFunc raises OutOfRangeError
        if not any(self._sparse):
            return flatten(element) if self._tree is not None else [element]
        flat = flatten_up_to(self._node.structure, element)
        out = []
        for v, sp in zip(flat, self._sparse, strict=True):
            out.extend(pad_value(v) if sp else (v,))
        return out

    def _restart(self, *fed: Any) -> None:
        if self._pass is not None:
            self._pass.close()
            self._pass = None
        values = list(fed)
        for n in self._fed:  # the initializer's feeds become the sources' arrays
            k = len(n.tensors)
            n.bind(values[:k])
            values = values[k:]
        self._pass = DatasetIterator(self._node, self._options)

    def start(self) -> Any:
        """A new pass of the dataset (what the Estimator feeds ``get_next`` from).

        For a dataset of fed placeholders, the passes the initializer starts instead
        (the Estimator reads them after a hook has run ``initializer``)."""
        if self._fed:
            return _InitializedPasses(self)
        return DatasetIterator(self._node, self._options)


class _InitializedPasses:
    """The elements of the pass an initializable iterator's ``initializer`` last
    started (TF1's feed-at-initialization pattern under an Estimator: a hook runs the
    initializer in ``after_create_session``; running it again restarts the pass)."""

    def __init__(self, iterator: Iterator):
        self._it = iterator
        self.element_spec = iterator.element_spec

    def __iter__(self) -> _InitializedPasses:
        return self

    def __next__(self) -> Any:
        it = self._it
        if it._pass is None:
            raise FailedPreconditionError(
                "GetNext() failed because the iterator has not been initialized. Ensure "
                "that you have run the initializer operation for this iterator before "
                "getting the next element (e.g. in a SessionRunHook's "
                "after_create_session, with a feed_dict for the placeholders).")
        return next(it._pass)

    def get_state(self) -> dict[str, Any]:
        if self._it._pass is None:
            raise FailedPreconditionError("the iterator has not been initialized")
        return self._it._pass.get_state()

    def close(self) -> None:
        if self._it._pass is not None:
            self._it._pass.close()
