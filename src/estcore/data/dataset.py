"""``Dataset``: TF's ``tf.data.Dataset`` API (TF1 names and argument orders).

A Dataset is an immutable description (a :class:`~estcore.data.node.Node` graph);
every method returns a new Dataset. Iterating one (``for x in ds``, ``iter(ds)``,
``make_one_shot_iterator``, an Estimator's input_fn) starts a pass: in-memory
``from_tensor_slices -> [shuffle] -> [repeat] -> batch -> [repeat]`` pipelines run on
the C input stream (:mod:`estcore.data.fast`), everything else on chunks in numpy
(:mod:`estcore.data.transforms`). Python iteration yields numpy values (arrays, numpy
scalars, ``bytes`` for strings) in the element's structure.

Seeds: ``shuffle(seed=None)`` takes the seed of the enclosing
:func:`estcore.inputs.seed_scope` when the Dataset is built (the Estimator enters one
around ``input_fn`` with its ``tf_random_seed``), else fresh entropy.

Graph tensors whose value is not known while the Dataset is built (TF1's placeholders,
or values computed from them or from variables) are taken where TF1 programs feed them
at iterator initialization: ``from_tensor_slices`` / ``from_tensors`` components and
the scalar arguments of ``range``, ``batch``, ``padded_batch``, ``shuffle``
(``buffer_size``), ``repeat``, ``take``, ``skip``, ``shard``, ``enumerate`` and
``prefetch`` (see :mod:`estcore.data.fed`). A constant tensor is used as its value.

Must not: run user functions itself (``mapping.py``), start threads (``fast.py``), or
import the Estimator.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.data import file_cache, iterators, mapping, shuffle, sources, transforms
from estcore.data.fed import (
    BATCH_SIZE,
    any_value,
    at_least,
    bool_or_fed,
    graph_tensor,
    int_arg,
    int_or_fed,
    nonzero_step,
)
from estcore.data.node import INFINITE, Node
from estcore.data.options import Options
from estcore.data.structure import (
    TensorSpec,
    flatten_up_to,
    flatten_value,
    is_sparse_spec,
    legacy_classes,
    legacy_shapes,
    legacy_structure,
    legacy_types,
    map_up_to,
    pack,
    to_array,
)
from estcore.errors import InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape
from estcore.inputs.seed import current_seed
from estcore.io.gfile import glob
from estcore.nest import flatten, is_nested, map_structure

__all__ = ["Dataset", "AUTOTUNE", "map_mode"]

AUTOTUNE = -1


def _seed(seed: Any, node: Node) -> int:
    """A shuffle's 64-bit seed: the given one, else one derived from the seed scope and
    the pipeline below the shuffle (two shuffles of one pipeline differ), else entropy."""
    if seed is not None:
        return int_arg("seed", seed) & (2**64 - 1)
    scoped = current_seed()
    if scoped is not None:
        salt = zlib.crc32(repr(node.describe()).encode())
        ss = np.random.SeedSequence([scoped & (2**64 - 1), salt])
        return int(ss.generate_state(1, np.uint64)[0])
    return int.from_bytes(os.urandom(8), "little")


def _as_node(ds: Any, what: str) -> Node:
    node = getattr(ds, "_node", None)
    if not isinstance(node, Node):
        raise invalid(what, "a Dataset", ds, TypeError)
    return node


class Dataset:
    """A sequence of elements (TF's ``tf.data.Dataset``); see the module docstring."""

    def __init__(self, node: Node, options: Options | None = None):
        self._node = node
        self._options = options or Options()

    def _wrap(self, node: Node) -> Dataset:
        return Dataset(node, self._options)

    # ------------------------------------------------------------------ sources

    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """Elements are the slices of ``tensors`` along their first dimension.

        Args:
            tensors: an array-like (numpy array, list, pandas Series; a DataFrame is one
                2-D array, pass ``dict(df)`` for one leaf per column), or a tuple / dict /
                namedtuple of them (lists inside are arrays, as in tf.data). Every leaf
                has the same first dimension ``N``. Numpy arrays are not copied. Leaves
                may be graph tensors with no value yet (TF1's placeholders): the values
                fed when ``make_initializable_iterator().initializer`` runs are sliced
                (each run of the initializer starts a pass over the newly fed arrays).

        Returns:
            A Dataset of ``N`` elements; leaf ``i`` of element ``j`` is ``leaf_i[j]``
            (dtype kept; Python ints -> int32, floats -> float32, str -> bytes).
        """
        fed = _with_graph_tensors(tensors, "from_tensor_slices")
        if fed is not None:  # TF1's placeholders, fed by an initializable iterator
            return Dataset(sources.FedSlicesNode(fed if is_nested(fed) else None,
                                                 flatten(fed)))
        tree, leaves = flatten_value(tensors, "from_tensor_slices")
        return Dataset(sources.SlicesNode(tree, leaves))

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """One element: ``tensors`` (graph tensors with no value yet are fed when an
        initializable iterator's initializer runs, as in ``from_tensor_slices``)."""
        fed_tree = _with_graph_tensors(tensors, "from_tensors")
        if fed_tree is not None:
            return Dataset(sources.FedTensorsNode(fed_tree if is_nested(fed_tree) else None,
                                                  flatten(fed_tree)))
        tree, leaves = flatten_value(tensors, "from_tensors")
        return Dataset(sources.TensorsNode(tree, leaves))

    @staticmethod
    def range(*args: Any, output_type: Any = dt.int64) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as scalars of ``output_type``."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range takes 1 to 3 positional arguments, got {len(args)}")
        names = ("start", "stop", "step") if len(args) > 1 else ("stop",)
        ints = [int_or_fed(n, a, check=nonzero_step if n == "step" else any_value)
                for n, a in zip(names, args, strict=False)]
        if len(ints) == 1:
            ints = [0, ints[0]]
        if len(ints) == 2:
            ints.append(1)
        return Dataset(sources.RangeNode(*ints, dt.as_dtype(output_type)))

    @staticmethod
    def from_generator(generator: Callable, output_types: Any = None, output_shapes: Any = None,
                       args: Any = None, output_signature: Any = None) -> Dataset:
        """Elements yielded by ``generator(*args)``, of the declared types and shapes."""
        if not callable(generator):
            raise invalid("generator", "a callable returning an iterable", generator, TypeError)
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("from_generator: give either output_signature or "
                                "output_types/output_shapes, not both")
            structure = output_signature
        else:
            if output_types is None:
                raise TypeError("from_generator: `output_types` (or `output_signature`) is "
                                "required")
            # shapes are read up to the types' structure: ([None], []) is two shapes
            structure = legacy_structure(output_types, output_shapes)
        gen_args = tuple(args) if args is not None else ()
        return Dataset(sources.GeneratorNode(generator, structure, gen_args))

    @staticmethod
    def zip(datasets: Any) -> Dataset:
        """Elements are the structure ``datasets`` of the datasets' elements."""
        nodes = [_as_node(d, "datasets") for d in flatten(datasets)]
        if not is_nested(datasets):
            return Dataset(nodes[0])
        return Dataset(sources.ZipNode(datasets, nodes))

    @staticmethod
    def list_files(file_pattern: Any, shuffle: bool | None = None, seed: Any = None) -> Dataset:
        """File names matching ``file_pattern`` (a glob or a list of globs), as strings.

        As in TF, ``shuffle=None`` means True (a new order per pass) and no match raises.
        """
        patterns = [file_pattern] if isinstance(file_pattern, (str, bytes)) else \
            list(np.asarray(file_pattern).reshape(-1))
        names: list[str] = []
        for p in patterns:
            p = p.decode() if isinstance(p, bytes) else str(p)
            names.extend(glob(p))
        if not names:
            raise_not_found(file_pattern)
        ds = Dataset.from_tensor_slices(np.array(sorted(set(names)), dtype=object))
        if shuffle is None or shuffle:
            ds = ds.shuffle(len(names), seed=seed)
        return ds

    # ------------------------------------------------------------------ transformations

    def map(self, map_func: Callable, num_parallel_calls: Any = None,
            deterministic: Any = None) -> Dataset:
        """Elements are ``map_func(element)`` (see :mod:`estcore.data.mapping`).

        Args:
            map_func: a TF1 graph function of the element's tensors (a tuple element is
                unpacked into positional arguments), returning a tensor or a structure
                of tensors / values; or a numpy function (run per element).
            num_parallel_calls, deterministic: accepted (AUTOTUNE too); unused.

        Returns:
            A Dataset of the results; ``map_mode(ds)`` tells how it runs.
        """
        if not callable(map_func):
            raise invalid("map_func", "a callable", map_func, TypeError)
        return self._wrap(mapping.MapNode(self._node, map_func))

    def filter(self, predicate: Callable) -> Dataset:
        """Keeps the elements for which ``predicate`` returns True (a scalar bool)."""
        if not callable(predicate):
            raise invalid("predicate", "a callable", predicate, TypeError)
        keep, how = mapping.make_filter(self._node, predicate)
        node = transforms.FilterNode(self._node, keep)
        node.how = how
        return self._wrap(node)

    def shuffle(self, buffer_size: Any, seed: Any = None,
                reshuffle_each_iteration: bool = True) -> Dataset:
        """TF's buffer shuffle (:mod:`estcore.data.shuffle`).

        Args:
            buffer_size: elements in the buffer (>= 1); ``>=`` the number of elements
                gives a uniform permutation per pass. A graph tensor (int64 scalar) is
                fed when an initializable iterator's initializer runs.
            seed: int; None takes the seed scope's (the Estimator's ``tf_random_seed``)
                at construction, else fresh entropy.
            reshuffle_each_iteration: a new order for every pass (repeat epoch, new
                iterator); False repeats the first pass's order.
        """
        b = int_or_fed("buffer_size", buffer_size,
                        check=at_least(1, "buffer_size must be greater than zero."))
        if type(b) is int and (b == AUTOTUNE or b < 1):
            raise invalid("buffer_size", "a positive int", buffer_size)
        return self._wrap(shuffle.ShuffleNode(self._node, b, _seed(seed, self._node),
                                              bool(reshuffle_each_iteration)))

    def repeat(self, count: Any = None) -> Dataset:
        """``count`` passes (None or -1: forever; a fed tensor: negative is forever)."""
        c = -1 if count is None else int_or_fed("count", count, -1)
        return self._wrap(transforms.RepeatNode(self._node, c))

    def batch(self, batch_size: Any, drop_remainder: bool = False,
              num_parallel_calls: Any = None, deterministic: Any = None) -> Dataset:
        """Consecutive elements stacked into batches.

        Args:
            batch_size: elements per batch (>= 1), or a graph tensor (an int64 scalar
                placeholder) fed when an initializable iterator's initializer runs.
            drop_remainder: drop a last batch with fewer elements (its static batch
                dimension is then ``batch_size``, else None); a bool or a fed tensor.

        Returns:
            A Dataset whose leaves have shape ``[batch, *element_shape]``; elements of
            one batch must have equal shapes (else use ``padded_batch``). The static
            batch dimension is None when ``batch_size`` or ``drop_remainder`` is fed.
        """
        b = int_or_fed("batch_size", batch_size, 1, BATCH_SIZE)
        drop = bool_or_fed("drop_remainder", drop_remainder)
        self._no_sparse("batch")
        return self._wrap(transforms.BatchNode(self._node, b, drop))

    def padded_batch(self, batch_size: Any, padded_shapes: Any = None,
                     padding_values: Any = None, drop_remainder: bool = False) -> Dataset:
        """Batches of elements padded to ``padded_shapes`` (None dims: the batch's max).

        Args:
            batch_size, drop_remainder: as :meth:`batch` (fed tensors too).
            padded_shapes: one shape per component, up to the element's structure (a
                list is one shape: ``([None], [])`` for ``(vector, scalar)`` elements);
                None: the components' shapes.
            padding_values: one scalar per component, up to the element's structure;
                None: 0 or ``b""``.

        Raises:
            TypeError / ValueError: ``padded_shapes`` or ``padding_values`` lack the
                element's structure, or a padded shape does not fit its component's
                rank or known sizes (TF's messages).
        """
        b = int_or_fed("batch_size", batch_size, 1, BATCH_SIZE)
        drop = bool_or_fed("drop_remainder", drop_remainder)
        self._no_sparse("padded_batch")
        structure = self._node.structure
        specs = self._node.flat_specs
        if padded_shapes is None:
            shapes = [s.shape for s in specs]
        else:
            shapes = flatten_up_to(structure, map_up_to(structure, lambda _s, p: as_shape(p),
                                                        padded_shapes))
        for p, spec in zip(shapes, specs, strict=True):
            if not _padded_shape_fits(p, spec.shape):
                raise ValueError(f"The padded shape {fmt_shape(p)} is not compatible with the "
                                 f"shape {fmt_shape(spec.shape)} of the corresponding input "
                                 "component.")
        if padding_values is None:
            values = [None] * len(specs)
        else:
            values = flatten_up_to(structure, map_up_to(structure, lambda _s, v: v,
                                                        padding_values))
        scalars = []
        for v in values:
            if v is not None:
                v = to_array(v, "padding_values")
                if v.ndim:
                    raise invalid("padding_values", "scalars (one per component)", v)
                v = v.item()
            scalars.append(v)
        values = scalars
        return self._wrap(transforms.PaddedBatchNode(self._node, b, shapes, values, drop))

    def unbatch(self) -> Dataset:
        """Splits each element along its first dimension into elements."""
        self._no_sparse("unbatch")
        return self._wrap(transforms.UnbatchNode(self._node))

    def take(self, count: Any) -> Dataset:
        """The first ``count`` elements (-1: all; a fed tensor: negative is all)."""
        return self._wrap(transforms.TakeNode(self._node, int_or_fed("count", count, -1)))

    def skip(self, count: Any) -> Dataset:
        """All but the first ``count`` elements (-1: skips them all; a fed tensor:
        negative skips them all)."""
        return self._wrap(transforms.SkipNode(self._node, int_or_fed("count", count, -1)))

    def shard(self, num_shards: Any, index: Any) -> Dataset:
        """Every ``num_shards``-th element, starting at ``index`` (ints, or fed tensors
        checked when the initializer runs)."""
        n = int_or_fed("num_shards", num_shards, 1, at_least(
            1, "Number of shards must be greater than zero (currently num_shards = {v})."))
        i = int_or_fed("index", index, 0)
        if type(n) is int and type(i) is int and i >= n:
            raise invalid("index", f"less than num_shards={n}", index)
        return self._wrap(transforms.ShardNode(self._node, n, i))

    def enumerate(self, start: Any = 0) -> Dataset:
        """Elements are ``(index, element)`` with int64 indices from ``start``."""
        return self._wrap(transforms.EnumerateNode(self._node, int_or_fed("start", start)))

    def concatenate(self, dataset: Dataset) -> Dataset:
        """The elements of this dataset, then those of ``dataset``."""
        return self._wrap(sources.ConcatenateNode(self._node, _as_node(dataset, "dataset")))

    def flat_map(self, map_func: Callable) -> Dataset:
        """Elements of the datasets ``map_func(element)`` returns, in order.

        ``map_func`` is called per element with numpy values and must return a Dataset.
        """
        make, structure = self._sub_datasets(map_func, "flat_map")
        return self._wrap(transforms.FlatMapNode(self._node, make, structure))

    def interleave(self, map_func: Callable, cycle_length: Any = None, block_length: Any = None,
                   num_parallel_calls: Any = None, deterministic: Any = None) -> Dataset:
        """TF's interleave of the datasets ``map_func(element)`` returns (see flat_map).

        ``cycle_length`` None or AUTOTUNE: the number of CPU cores this process may run
        on, as TF (so the order depends on the machine, as in TF)."""
        if cycle_length is None or cycle_length == AUTOTUNE:
            cycle = len(os.sched_getaffinity(0))  # TF: the schedulable CPU cores
        else:
            cycle = int_arg("cycle_length", cycle_length, 1)
        block = 1 if block_length is None else int_arg("block_length", block_length, 1)
        make, structure = self._sub_datasets(map_func, "interleave")
        return self._wrap(transforms.InterleaveNode(self._node, make, structure, cycle, block))

    def _sub_datasets(self, fn: Callable, what: str) -> tuple[Callable, Any]:
        if not callable(fn):
            raise invalid("map_func", "a callable returning a Dataset", fn, TypeError)
        tree = self._node.structure if is_nested(self._node.structure) else None
        seen: dict[str, Any] = {}

        def make(leaves: list) -> Node:
            out = mapping.call_with_element(fn, pack(tree, leaves))
            node = getattr(out, "_node", None)
            if not isinstance(node, Node):
                raise TypeError(f"{what}: `map_func` must return a Dataset. Received: "
                                f"{type(out).__name__}")
            if "structure" in seen and [s.dtype for s in node.flat_specs] != \
                    [s.dtype for s in flatten(seen["structure"])]:
                raise TypeError(f"{what}: `map_func` returned datasets of different types")
            return node

        first = None
        for chunk in self._node.chunks():
            if chunk[0].shape[0]:
                first = [a[0] for a in chunk]
                break
        if first is None:
            structure = TensorSpec(None, dt.float32)
        else:
            probe = make(first)
            structure = map_structure(lambda s: TensorSpec(TensorShape(None)
                                                           if s.shape.rank is None else
                                                           TensorShape([None] * s.shape.rank),
                                                           s.dtype), probe.structure)
        seen["structure"] = structure
        return make, structure

    def ignore_errors(self, log_warning: bool = False) -> Dataset:
        """Leaves out the elements whose production raises (TF's ``ignore_errors``): a
        map / filter function failing on an element (e.g. ``decode_csv`` on a malformed
        line), and a file reader's error, which ends that file. Other errors raise."""
        return self._wrap(transforms.IgnoreErrorsNode(self._node, bool(log_warning)))

    def cache(self, filename: str = "") -> Dataset:
        """Elements of the first complete pass, replayed by every later pass.

        Args:
            filename: '' keeps them in memory; a path writes them to
                ``<filename>.data`` and ``<filename>.index`` (estcore's format, see
                :mod:`estcore.data.file_cache`) at the end of the first complete pass,
                and every later pass, in this program or another, reads those files. A
                pass that stops early leaves no cache (as TF).
        """
        if not isinstance(filename, (str, os.PathLike)):
            raise invalid("filename", "a str", filename, TypeError)
        filename = os.fspath(filename)
        if filename:
            self._no_sparse("cache(filename)")
            return self._wrap(file_cache.FileCacheNode(self._node, filename))
        return self._wrap(transforms.CacheNode(self._node))

    def prefetch(self, buffer_size: Any) -> Dataset:
        """Accepted for TF compatibility (AUTOTUNE too); see PrefetchNode."""
        b = int_or_fed("buffer_size", buffer_size, AUTOTUNE, at_least(
            AUTOTUNE, "buffer_size must be >= 0 or set buffer_size to be -1 for auto-tuning"))
        return self._wrap(transforms.PrefetchNode(self._node, b))

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        """``transformation_func(self)``, which must return a Dataset."""
        out = transformation_func(self)
        _as_node(out, "the result of transformation_func")
        return out

    def with_options(self, options: Options) -> Dataset:
        """This dataset with ``options`` (estcore reads ``threading.private_threadpool_size``:
        the C stream's worker threads)."""
        if not isinstance(options, Options):
            raise invalid("options", "a tf.data.Options", options, TypeError)
        merged = self._options.merge(options)
        merged.num_threads()  # a bad private_threadpool_size fails here, not at iteration
        return Dataset(self._node, merged)

    def options(self) -> Options:
        return self._options

    def _no_sparse(self, what: str) -> None:
        if any(is_sparse_spec(s) for s in self._node.flat_specs):
            raise ValueError(
                f"{what}: this Dataset has SparseTensor components {self.element_spec}; "
                "estcore's SparseTensors have rank 2, so their elements are already batches: "
                "batch the serialized records first, then map parse_example over the "
                "batches (ds.batch(n).map(lambda s: parse_example(s, features)))")

    # ------------------------------------------------------------------ description

    @property
    def element_spec(self) -> Any:
        """The element structure with :class:`TensorSpec` leaves."""
        return self._node.structure

    @property
    def output_shapes(self) -> Any:
        return legacy_shapes(self._node.structure)

    @property
    def output_types(self) -> Any:
        return legacy_types(self._node.structure)

    @property
    def output_classes(self) -> Any:
        return legacy_classes(self._node.structure)

    def cardinality(self) -> int:
        """Number of elements, ``-1`` (infinite) or ``-2`` (unknown)."""
        return self._node.cardinality()

    def __len__(self) -> int:
        c = self._node.cardinality()
        if c == INFINITE:
            raise TypeError("The dataset is infinite.")
        if c < 0:
            raise TypeError("The dataset length is unknown.")
        return c

    def __repr__(self) -> str:
        return f"<Dataset element_spec={self.element_spec!r}>"

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[Any]:
        return iterators.DatasetIterator(self._node, self._options)

    def as_numpy_iterator(self) -> Iterator[Any]:
        return iter(self)

    def make_one_shot_iterator(self) -> iterators.Iterator:
        """TF1: an iterator whose ``get_next()`` tensors yield this dataset once.

        Raises:
            ValueError: the dataset holds graph tensors with no value yet (placeholders,
                values computed from them or from variables): only an initializable
                iterator can feed them, as in TF.
        """
        fed = iterators.fed_sources(self._node)
        if fed:
            names = ", ".join(t.name for n in fed for t in n.tensors)
            raise ValueError(f"Failed to capture the graph tensors {names} (placeholders, or "
                             "values computed from them or from variables) in a one-shot "
                             "iterator: use make_initializable_iterator() and feed them when "
                             "running iterator.initializer")
        return iterators.Iterator(self._node.structure, node=self._node, options=self._options)

    def make_initializable_iterator(self, shared_name: str | None = None) -> iterators.Iterator:
        """TF1: like make_one_shot_iterator, restarted by running ``iterator.initializer``
        (which first binds the values of the Dataset's fed tensors from its feed_dict)."""
        return iterators.Iterator(self._node.structure, node=self._node, options=self._options,
                                  initializable=True)


def _isgraph_tensor(value: Any) -> bool:
    return graph_tensor(value) is not None


def _with_graph_tensors(value: Any, what: str) -> Any:
    """``value`` with graph tensors kept and other leaves as arrays (tf.data's structure
    rule: tuples and dicts are structure), or None when it holds no graph tensor."""
    found = []

    def walk(v: Any, where: str, convert: bool) -> Any:
        if isinstance(v, dict):
            return {k: walk(x, f"{where}[{k!r}]", convert) for k, x in v.items()}
        if isinstance(v, tuple):
            items = [walk(x, f"{where}[{i}]", convert) for i, x in enumerate(v)]
            return type(v)(*items) if hasattr(v, "_fields") else tuple(items)
        if _isgraph_tensor(v):
            found.append(v)
            return v._as_tensor()
        return to_array(v, where) if convert else v

    walk(value, what, False)
    return walk(value, what, True) if found else None


def _padded_shape_fits(padded: TensorShape, shape: TensorShape) -> bool:
    """TF's check of a padded shape against its component's static shape: same rank,
    and no known padded size below a known component size."""
    if padded.rank is None or shape.rank is None:
        return True
    if padded.rank != shape.rank:
        return False
    return all(p is None or s is None or p >= s
               for p, s in zip(padded.as_list(), shape.as_list(), strict=True))


def raise_not_found(pattern: Any) -> None:
    raise InvalidArgumentError(f"Expected 'tf.Tensor(False, shape=(), dtype=bool)' to be true. "
                               f"No files matched pattern: {pattern}")


def map_mode(dataset: Dataset) -> str:
    """How the last ``map``/``filter`` of ``dataset`` runs: ``"vectorized"``,
    ``"per_element"`` or ``"numpy"`` (see :mod:`estcore.data.mapping`)."""
    node = dataset._node
    while node is not None:
        how = getattr(node, "how", None)
        if how is not None:
            return how
        node = node.inputs[0] if node.inputs else None
    raise ValueError("map_mode: the dataset has no map or filter")

