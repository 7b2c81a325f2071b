"""Iteration: :class:`DatasetIterator` (Python, numpy values, resumable) and TF1's
:class:`Iterator` (``make_one_shot_iterator`` / ``make_initializable_iterator``,
``Iterator.from_structure`` / ``from_string_handle``).

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
the declared structure: the element spec, or ``from_structure``'s ``output_shapes``)
that pulls the next element of the iterator's pass when run: in a plain Session they
raise ``OutOfRangeError`` after the last element (TF's behaviour). An initializer op
(``initializer``, ``make_initializer(ds)``) is a ``PyFunc`` whose inputs are the
Dataset's fed tensors (:func:`fed_sources`): running it binds their values and starts
a new pass. ``string_handle()`` is a scalar string naming the iterator in a registry of
live iterators; a ``from_string_handle`` iterator's ``get_next`` takes the fed handle
as its input and pulls from the iterator it names (each iterator keeps its own pass,
as TF's iterator resources). Values are checked against the declared shapes only where
those know more than the Dataset's (TF's ``Incompatible shapes at component i``).

The ``get_next()`` tensors of Dataset-backed iterators are also recorded in the graph
collection :data:`estcore.inputs.source.GET_NEXT_COLLECTION`: an Estimator whose
input_fn returns them feeds its placeholders from a pass of its own (resumable, on the
C stream where possible) instead of running the node.

Must not: start threads itself (the C stream does); import the Estimator.
"""

from __future__ import annotations

import itertools
import json
import weakref
from collections.abc import Iterator as _PyIterator
from typing import Any

import numpy as np

from estcore.data import fast
from estcore.data.node import Node
from estcore.data.options import Options
from estcore.data.shuffle import ShuffleNode
from estcore.data.sources import FedSlicesNode
from estcore.data.structure import (
    chunk_len,
    cut,
    flatten_up_to,
    is_sparse_spec,
    legacy_classes,
    legacy_shapes,
    legacy_structure,
    legacy_types,
    pack,
)
from estcore.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from estcore.graph import dtypes as dt
from estcore.graph.ir import get_default_graph
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.script_ops import py_func
from estcore.graph.shapes import as_shape
from estcore.graph.sparse_tensor import SparseTensor, pad_value
from estcore.inputs.resume import take_resume_state
from estcore.inputs.shard import current_shard
from estcore.inputs.source import GET_NEXT_COLLECTION, GetNextRecord
from estcore.inputs.views import views_allowed
from estcore.nest import assert_same_structure, flatten, is_nested, packer

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


def fed_sources(node: Node) -> list[Any]:
    """What an initializer of ``node``'s pipeline binds (each once, in pipeline order):
    the sources of fed graph tensors (:class:`~estcore.data.sources.FedSlicesNode`) and
    the arguments given as such tensors (:class:`~estcore.data.fed.FedArg`). Each has
    ``tensors``, ``convert(values)`` and ``commit(converted)``."""
    out: list[Any] = []
    stack = [node]
    while stack:
        n = stack.pop()
        for f in ((n,) if isinstance(n, FedSlicesNode) else n.fed_args):
            if all(f is not m for m in out):
                out.append(f)
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


def _nodes(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.inputs))
    return out


def _dims(shape: Any) -> str:
    """A shape as TF's runtime messages write it: ``[?,2]``."""
    if getattr(shape, "rank", 0) is None:
        return "<unknown>"
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"


def _narrower(declared: list, actual: list) -> bool:
    """True when a declared shape knows a dimension (or rank) the actual spec does not:
    then values must be checked against the declared shapes."""
    for d, a in zip(declared, actual, strict=True):
        if d.shape.rank is None:
            continue
        if a.shape.rank is None:
            return True
        if any(x is not None and y is None
               for x, y in zip(d.shape.as_list(), a.shape.as_list(), strict=True)):
            return True
    return False


_NOT_INITIALIZED = ("GetNext() failed because the iterator has not been initialized. Ensure "
                    "that you have run the initializer operation for this iterator before "
                    "getting the next element.")

# string_handle() values of the live iterators (an iterator lives as long as a graph
# node that uses it: get_next, string_handle, an initializer)
_HANDLES: weakref.WeakValueDictionary[bytes, Iterator] = weakref.WeakValueDictionary()
_handle_ids = itertools.count()


def _lookup(value: Any) -> Iterator:
    """The iterator whose ``string_handle()`` value ``value`` is (a fed scalar string)."""
    h = np.asarray(value)
    if h.ndim:
        raise InvalidArgumentError(f"string_handle must be a scalar; got shape {list(h.shape)}")
    h = h.item()
    if isinstance(h, str):
        h = h.encode()
    target = _HANDLES.get(h) if isinstance(h, bytes) else None
    if target is None:
        raise InvalidArgumentError(f"Could not parse string_handle as a valid ResourceHandle: "
                                   f"{h!r} is not the string_handle() value of an iterator")
    return target


class Iterator:
    """TF1's ``tf.data.Iterator`` (see the module docstring).

    Made by ``Dataset.make_one_shot_iterator()`` / ``make_initializable_iterator()``
    (bound to that Dataset), by :meth:`from_structure` (reinitializable: each
    :meth:`make_initializer` op switches it to a Dataset of its structure) or by
    :meth:`from_string_handle` (feedable: each run reads the iterator whose
    :meth:`string_handle` value is fed). ``get_next()``'s types and static shapes are
    the declared structure's (the Dataset's element spec for the first kind).
    """

    def __init__(self, structure: Any, *, node: Node | None = None,
                 options: Options | None = None, initializable: bool = False,
                 handle: Any = None):
        self._structure = structure  # declared: get_next's types and shapes
        self._specs = flatten(structure)
        self._sparse = [is_sparse_spec(s) for s in self._specs]
        self._tree = structure if is_nested(structure) else None
        self._node = node  # the Dataset read (from_structure: the last one initialized)
        self._options = options
        self._switchable = node is None and handle is None  # from_structure
        self._needs_init = initializable or node is None  # a pull before it: an error
        self._handle_tensor = handle  # from_string_handle: the tensor fed with handles
        self._check_shapes = False  # the Dataset's shapes know less than the declared
        self._checked: dict[bytes, bool] = {}  # handle of a target -> its values checked
        self._element: Any = None
        self._pass: DatasetIterator | None = None
        self._bound: list = []  # (fed source, value) its initializer bound
        self._initializer = None
        self._handle = f"estcore.data.Iterator:{next(_handle_ids)}".encode()
        _HANDLES[self._handle] = self
        if node is not None and initializable:  # in the graph the iterator is made in,
            self._initializer = self._initializer_op(node, options, "MakeIterator")  # as TF

    # ------------------------------------------------------------------ TF1 constructors

    @staticmethod
    def from_structure(output_types: Any, output_shapes: Any = None, shared_name: Any = None,
                       output_classes: Any = None) -> Iterator:
        """TF1's reinitializable iterator: of a structure, not of a Dataset.

        Args:
            output_types: the element's DTypes (a tuple / dict / namedtuple of them).
            output_shapes: its shapes up to ``output_types``' structure (a list is one
                shape: ``([None, 2], [None])``); None: unknown. ``get_next()`` has them.
            shared_name: accepted; unused (one process).
            output_classes: ``Tensor`` / ``SparseTensor`` per component; None: Tensor.

        Returns:
            An Iterator whose :meth:`make_initializer` ``(dataset)`` ops start a pass of
            ``dataset`` (types equal, shapes compatible, else TypeError / ValueError as
            TF); ``get_next()`` before one has run raises FailedPreconditionError.
        """
        return Iterator(legacy_structure(output_types, output_shapes, output_classes))

    @staticmethod
    def from_string_handle(string_handle: Any, output_types: Any, output_shapes: Any = None,
                           output_classes: Any = None) -> Iterator:
        """TF1's feedable iterator: each run reads the iterator whose handle is fed.

        Args:
            string_handle: a scalar ``tf.string`` tensor (a placeholder) fed with the
                value of another iterator's ``sess.run(it.string_handle())``.
            output_types, output_shapes, output_classes: as :meth:`from_structure`.

        Returns:
            An Iterator whose ``get_next()`` pulls the next element of the fed iterator
            (each iterator keeps its own position). A fed iterator whose types or static
            shapes do not fit, or a value that is no handle, raises InvalidArgumentError.
        """
        if hasattr(string_handle, "_as_tensor"):
            tensor = string_handle._as_tensor()
            if tensor.dtype is not dt.string:
                raise ValueError(f"Tensor conversion requested dtype string for Tensor with "
                                 f"dtype {tensor.dtype.name}: {tensor!r}")
        else:
            tensor = convert_to_tensor(string_handle, dt.string)
        structure = legacy_structure(output_types, output_shapes, output_classes)
        return Iterator(structure, handle=tensor)

    # ------------------------------------------------------------------ description

    @property
    def element_spec(self) -> Any:
        return self._structure

    @property
    def output_types(self) -> Any:
        return legacy_types(self._structure)

    @property
    def output_shapes(self) -> Any:
        return legacy_shapes(self._structure)

    @property
    def output_classes(self) -> Any:
        return legacy_classes(self._structure)

    # ------------------------------------------------------------------ ops

    @property
    def initializer(self) -> Any:
        """The op that (re)starts the pass (``make_initializable_iterator()`` only)."""
        if self._initializer is None:
            raise ValueError(
                "The iterator does not have an initializer. This means it was likely created "
                "using `tf.data.Dataset.make_one_shot_iterator()`. For an initializable "
                "iterator, use `tf.data.Dataset.make_initializable_iterator()` instead.")
        return self._initializer

    def make_initializer(self, dataset: Any, name: str | None = None) -> Any:
        """An op that starts a pass of ``dataset`` in this iterator (TF1).

        Running it binds the values of the Dataset's fed tensors (``feed_dict``) first,
        as ``initializer`` does; running it again restarts the pass.

        Raises:
            TypeError / ValueError: ``dataset``'s structure, types, classes or shapes do
                not fit this iterator's (TF's checks and messages, naming both).
        """
        node = getattr(dataset, "_node", None)
        if not isinstance(node, Node):
            raise TypeError("make_initializer: `dataset` must be a tf.data.Dataset. "
                            f"Received: {type(dataset).__name__}")
        self._check_dataset(node.structure)
        return self._initializer_op(node, dataset.options(), name or "make_initializer")

    def _check_dataset(self, structure: Any) -> None:
        theirs = legacy_types(structure)
        assert_same_structure(self.output_types, theirs)  # TypeError / ValueError
        if any(a is not b for a, b in zip(flatten(self.output_classes),
                                           flatten(legacy_classes(structure)), strict=True)):
            raise TypeError(f"Expected output classes {self.output_classes!r} but got dataset "
                            f"with output class {legacy_classes(structure)!r}.")
        if any(a is not b for a, b in zip(flatten(self.output_types), flatten(theirs),
                                           strict=True)):
            raise TypeError(f"Expected output types {self.output_types!r} but got dataset with "
                            f"output types {theirs!r}.")
        if not all(a.shape.is_compatible_with(b.shape)
                   for a, b in zip(self._specs, flatten(structure), strict=True)):
            raise TypeError(f"Expected output shapes compatible with {self.output_shapes!r} "
                            "but got dataset with output shapes "
                            f"{legacy_shapes(structure)!r}.")

    def _initializer_op(self, node: Node, options: Options | None, name: str) -> Any:
        fed = fed_sources(node)
        inputs = [t for f in fed for t in f.tensors]  # the Session computes their values
        handle = self._handle_tensor

        def initialize(*values: Any) -> None:
            target = self
            if handle is not None:  # from_string_handle: the fed iterator
                target = _lookup(values[0])
                values = values[1:]
                if [s.dtype for s in target._specs] != [s.dtype for s in node.flat_specs]:
                    raise InvalidArgumentError(
                        "make_initializer: the dataset's types do not match those of the "
                        f"iterator the handle names: {target.output_types!r}")
            target._restart(node, options, fed, list(values))

        return py_func(initialize, ([handle] if handle is not None else []) + inputs, [],
                       name=name)

    def _restart(self, node: Node, options: Options | None, fed: list, values: list) -> None:
        """Bind the fed values (all checked before any is set, so a bad one leaves the
        iterator as it was, as TF), then start a new pass of ``node``."""
        converted = []
        for f in fed:
            k = len(f.tensors)
            converted.append(f.convert(values[:k]))
            values = values[k:]
        for f, value in zip(fed, converted, strict=True):
            f.commit(value)
        # this iterator's values: bound again before each of its elements, so another
        # iterator of the same Dataset initialized with other values does not change
        # this pass (TF captures them per iterator)
        self._bound = list(zip(fed, converted, strict=True))
        for n in _nodes(node):
            n.check_args()
        new = DatasetIterator(node, options or Options())
        if self._pass is not None:
            self._pass.close()
        self._node, self._options, self._pass = node, options, new
        self._check_shapes = _narrower(self._specs, node.flat_specs)

    def string_handle(self, name: str | None = None) -> Any:
        """A scalar string tensor: this iterator's handle, to feed a
        :meth:`from_string_handle` iterator with (``sess.run`` it once)."""
        if self._handle_tensor is not None:
            out = py_func(lambda h: np.array(_lookup(h)._handle, dtype=object),
                          [self._handle_tensor], dt.string, name=name or "IteratorToStringHandle")
        else:
            out = py_func(lambda: np.array(self._handle, dtype=object), [], dt.string,
                          name=name or "IteratorToStringHandle")
        out.set_shape([])
        return out

    def get_next(self, name: str | None = None) -> Any:
        """Tensors of the next element (the same ones on every call, as TF's values).

        Running them in a Session pulls the next element of this iterator's pass
        (``OutOfRangeError`` after the last one); the Estimator feeds them from a
        pass of its own instead (see the module docstring).
        """
        if self._element is None:
            dtypes = [d for s, sp in zip(self._specs, self._sparse, strict=True)
                      for d in ((dt.int64, s.dtype, dt.int64) if sp else (s.dtype,))]
            if self._handle_tensor is not None:
                outs = py_func(self._pull_by_handle, [self._handle_tensor], dtypes,
                               name=name or "IteratorGetNext")
            else:
                outs = py_func(self._pull, [], dtypes, name=name or "IteratorGetNext")
            outs = [outs] if not isinstance(outs, list) else outs
            tensors = []
            for s, sp in zip(self._specs, self._sparse, strict=True):
                if sp:  # a SparseTensor from its padded parts (cols, values, dense_shape)
                    cols, vals, shape = outs[:3]
                    outs = outs[3:]
                    tensors.append(SparseTensor.from_parts(cols, vals, shape, shape=s.shape))
                    continue
                outs[0].set_shape(s.shape)
                tensors.append(outs.pop(0))
            if self._handle_tensor is None:  # an Estimator can read its Dataset
                get_default_graph().add_to_collection(GET_NEXT_COLLECTION, GetNextRecord(
                    list(tensors), self.start))
            self._element = tensors[0] if self._tree is None else pack(self._tree, tensors)
        return self._element

    # ------------------------------------------------------------------ running

    def _next_element(self) -> Any:
        if self._pass is None:
            if self._needs_init:
                raise FailedPreconditionError(_NOT_INITIALIZED)
            self._pass = DatasetIterator(self._node, self._options)
        for f, value in self._bound:
            f.commit(value)
        return next(self._pass)  # StopIteration: PyFunc raises OutOfRangeError

    def _leaves(self, element: Any) -> list:
        if any(self._sparse):  # a SparseTensorValue (a namedtuple) is one leaf
            return flatten_up_to(self._structure, element)
        return flatten(element) if self._tree is not None else [element]

    def _outputs(self, leaves: list, check: bool) -> list:
        if check:
            for i, (v, spec) in enumerate(zip(leaves, self._specs, strict=True)):
                if not spec.is_sparse and not spec.shape.is_compatible_with(
                        as_shape(np.shape(v))):
                    raise InvalidArgumentError(
                        f"Incompatible shapes at component {i}: expected {_dims(spec.shape)} "
                        f"but got {_dims(np.shape(v))}.")
        if not any(self._sparse):
            return leaves
        out = []
        for v, sp in zip(leaves, self._sparse, strict=True):
            out.extend(pad_value(v) if sp else (v,))
        return out

    def _pull(self) -> list:
        return self._outputs(self._leaves(self._next_element()), self._check_shapes)

    def _pull_by_handle(self, handle: Any) -> list:
        target = _lookup(handle)
        check = self._checked.get(target._handle)
        if check is None:
            check = self._checked[target._handle] = self._fits(target)
        element = target._next_element()
        return self._outputs(target._leaves(element), check or target._check_shapes)

    def _fits(self, target: Iterator) -> bool:
        """Checks ``target`` (a fed iterator) as TF's IteratorFromStringHandle does;
        True when its values need a check against this iterator's shapes."""
        mine, theirs = self._specs, target._specs
        if len(mine) != len(theirs):
            raise InvalidArgumentError(f"Number of components does not match: expected "
                                       f"{len(mine)} types but got {len(theirs)}.")
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            if a.dtype is not b.dtype or a.is_sparse != b.is_sparse:
                raise InvalidArgumentError(f"Data type mismatch at component {i}: expected "
                                           f"{a.dtype.name} but got {b.dtype.name}.")
            if not a.shape.is_compatible_with(b.shape):
                raise InvalidArgumentError(f"Incompatible shapes at component {i}: expected "
                                           f"{_dims(a.shape)} but got {_dims(b.shape)}.")
        return _narrower(mine, theirs)

    def start(self) -> Any:
        """A new pass of the dataset (what the Estimator feeds ``get_next`` from).

        For a dataset with fed tensors, and for a :meth:`from_structure` iterator, the
        passes the initializer starts instead (the Estimator reads them after a hook
        has run the initializer)."""
        if self._switchable or fed_sources(self._node):
            return _InitializedPasses(self)
        return DatasetIterator(self._node, self._options)


class _InitializedPasses:
    """The elements of the pass an iterator's initializer op (``initializer``, or a
    ``make_initializer`` op of a ``from_structure`` iterator) last started (TF1's
    feed-at-initialization pattern under an Estimator: a hook runs the initializer in
    ``after_create_session``; running it again restarts the pass)."""

    def __init__(self, iterator: Iterator):
        self._it = iterator
        self.element_spec = iterator.element_spec

    def __iter__(self) -> _InitializedPasses:
        return self

    def __next__(self) -> Any:
        it = self._it
        if it._pass is None:
            raise FailedPreconditionError(
                _NOT_INITIALIZED[:-1] + " (e.g. in a SessionRunHook's after_create_session, "
                "with a feed_dict for the placeholders).")
        return next(it._pass)

    def get_state(self) -> dict[str, Any]:
        if self._it._pass is None:
            raise FailedPreconditionError("the iterator has not been initialized")
        return self._it._pass.get_state()

    def close(self) -> None:
        if self._it._pass is not None:
            self._it._pass.close()
