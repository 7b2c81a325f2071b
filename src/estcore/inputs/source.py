"""What an input_fn may return, as one :class:`InputSource` the Estimator's loop reads.

``input_fn()`` may return:

* an input stream (anything with ``element_spec``; estcore's numpy_input_fn):
  iterating it yields ``(features, labels)`` or ``features`` batches;
* a ``Dataset`` (:mod:`estcore.data`; anything with ``make_one_shot_iterator`` and
  ``element_spec``) of batched ``(features, labels)`` or ``features``: one pass is
  started (resumable, see ``estcore.data.iterators``); its end ends the call;
* the ``get_next()`` tensors of a Dataset iterator created inside input_fn (TF1 style;
  found through the graph collection :data:`GET_NEXT_COLLECTION`), in any structure:
  they are fed from a new pass of that iterator's dataset;
* other graph tensors (TF 1.x's ``{'x': tf.constant(X)}, tf.constant(y)``, SparseTensors
  built from data, ops over them): run once per step, in a session of their own over
  the same graph (``run_tensors``, given by the Estimator, makes it), and fed; as in TF,
  each step sees their new values (the same batch for constants), forever;
* any other iterable of batches (a generator, a list of ``(features, labels)``);
* a single batch: ``(features, labels)`` or ``features`` where features is an
  array or a dict of arrays. As in TF (where such values become constant
  tensors), a single batch is fed on every step until ``steps`` ends the call.

A tuple/list of arrays of another length than 2 raises TF's
``input_fn should return (features, labels) as a len 2 tuple.``

Placeholders are built from the stream's ``element_spec`` (or the first batch's
arrays) with an unknown batch dimension; each step feeds the next batch. A Dataset's
pass is started inside :func:`estcore.inputs.views.views_scope`: the batches are only
fed, so an unshuffled in-memory pipeline hands out read-only views, not copies; an
unshuffled numpy_input_fn stream is switched to views for the same reason.
Structures are walked with :mod:`estcore.nest`. This module must not build graphs or
sessions (the Estimator's session setup does, from the :class:`Leaf` descriptions here).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from estcore.inputs.views import views_scope
from estcore.nest import flatten_with_paths, is_nested, pack_sequence_as

__all__ = ["InputSource", "make_input_source", "derive_input_seed", "flatten_structure",
           "Leaf", "GET_NEXT_COLLECTION", "GetNextRecord"]

GET_NEXT_COLLECTION = "estcore_dataset_get_next"


@dataclass(frozen=True)
class GetNextRecord:
    """The tensors one ``Iterator.get_next()`` returned and how to start a pass of its
    dataset (``start()`` returns an iterator of flat-structured elements with
    ``element_spec``, ``get_state``, ``close``)."""

    tensors: list
    start: Callable[[], Any]


@dataclass(frozen=True)
class Leaf:
    """Per-example description of one input array: dtype and shape without batch dim;
    ``sparse``: a SparseTensor ``[batch, *shape]`` fed a SparseTensorValue per batch;
    ``batched=False``: ``shape`` is the whole fed shape (a Dataset's element shape,
    batch dimension included when it has one)."""

    dtype: np.dtype
    shape: tuple
    sparse: bool = False
    batched: bool = True


def _is_batch_part(x: Any) -> bool:
    """An array, or a dict of arrays (one side of a batch)."""
    if isinstance(x, np.ndarray):
        return True
    if isinstance(x, dict):
        return all(isinstance(v, (np.ndarray, np.generic, list, int, float)) for v in x.values())
    return False


def flatten_structure(x: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``[(path, leaf)]`` of a structure in :func:`estcore.nest.flatten` order (dict
    keys sorted), ``None`` leaves left out; a path joins the keys / indices with ``/``."""
    head = (prefix,) if prefix else ()
    return [("/".join(map(str, head + path)), leaf)
            for path, leaf in flatten_with_paths(x) if leaf is not None]


def _spec_leaf(spec: Any, path: str = "") -> Leaf:
    shape = tuple(getattr(spec, "shape", ()) or ())
    dtype = getattr(spec, "dtype", None)
    dtype = getattr(dtype, "as_numpy_dtype", dtype)
    return Leaf(np.dtype(dtype), tuple(None if d is None else int(d) for d in shape[1:]))


def _array_leaf(a: Any, path: str = "") -> Leaf:
    arr = np.asarray(a)
    if arr.ndim == 0:
        where = f" at {path}" if path else ""
        raise ValueError(f"Input arrays must have a batch dimension; got a scalar{where} "
                         f"({a!r}). A Python list or tuple in a batch is read as a structure "
                         "(one entry per element): pass np.asarray(...) for an array.")
    return Leaf(arr.dtype, tuple(arr.shape[1:]))


def _split(element: Any) -> tuple[Any, Any]:
    if isinstance(element, (tuple, list)) and is_nested(element):  # a TensorSpec is a leaf
        if len(element) != 2:
            raise ValueError("input_fn should return (features, labels) as a len 2 tuple.")
        return element[0], element[1]
    return element, None


def _path_text(path: tuple) -> str:
    return "".join(f"[{p!r}]" for p in path)


def _map(structure: Any, fn: Callable[[Any, str], Any], path: str = "") -> Any:
    """``fn(leaf, path)`` over the leaves of a structure, ``None`` kept as is; ``path``
    names the leaf for messages (``features['x'][0]``)."""
    return pack_sequence_as(structure, [
        None if leaf is None else fn(leaf, path + _path_text(where))
        for where, leaf in flatten_with_paths(structure)])


class InputSource:
    """Batches from whatever input_fn returned.

    Attributes:
        features_spec / labels_spec: structures of :class:`Leaf` (labels None when
            the input has no labels).
        stream: the input stream object, if any (for ``close()`` / ``get_state()``).
    """

    def __init__(self, features_spec: Any, labels_spec: Any, batches: Iterator[Any],
                 stream: Any = None, repeats_forever: bool = False):
        self.features_spec = features_spec
        self.labels_spec = labels_spec
        self._batches = batches
        self.stream = stream
        self.repeats_forever = repeats_forever

    def next_batch(self) -> tuple[Any, Any]:
        """The next ``(features, labels)``; raises StopIteration / OutOfRangeError at the end."""
        element = next(self._batches)
        if type(element) is tuple and len(element) == 2 and type(element[0]) is dict:
            return element  # the common form, without a call (the per-step path)
        return _split(element)

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()
        gen_close = getattr(self._batches, "close", None)
        if gen_close is not None:
            gen_close()


def _dataset_leaf(spec: Any, path: str = "") -> Leaf:
    """A Dataset component as its placeholder's description: the element shape as is
    (TF: a batched Dataset's model sees ``[None, ...]``, an unbatched one's the element
    shapes with no batch dimension); a SparseTensor keeps its ``[batch, columns]``."""
    shape = spec.shape
    where = f" at {path}" if path else ""
    if shape.rank is None:
        raise ValueError(f"input_fn returned a Dataset with a component{where} of unknown "
                         "rank (e.g. a py_func result): give it a shape in the map function "
                         "(tensor.set_shape(...) or reshape); the Estimator builds its "
                         "placeholders from the Dataset's element_spec.")
    dtype = np.dtype(object) if spec.dtype.is_string else np.dtype(spec.dtype.as_numpy_dtype)
    if getattr(spec, "is_sparse", False):
        return Leaf(dtype, tuple(shape.as_list()[1:]), sparse=True)
    return Leaf(dtype, tuple(shape.as_list()), batched=False)


def _leaves_up_to(spec: Any, value: Any) -> list:
    """The leaves of an element at the leaves of its spec (a SparseTensorValue, a
    namedtuple, stays one leaf)."""
    if not is_nested(spec):
        return [value]
    if isinstance(spec, dict):
        return [x for k in sorted(spec) for x in _leaves_up_to(spec[k], value[k])]
    return [x for s, v in zip(spec, value, strict=True) for x in _leaves_up_to(s, v)]


def _dataset_source(iterator: Any) -> InputSource:
    f_spec, l_spec = _split(iterator.element_spec)
    return InputSource(_map(f_spec, _dataset_leaf, "features"),
                       _map(l_spec, _dataset_leaf, "labels"), iterator, stream=iterator)


def _get_next_source(result: Any) -> InputSource | None:
    """The source of an input_fn that returned ``get_next()`` tensors, else None."""
    leaves = flatten_with_paths(result)
    tensors = [leaf for _, leaf in leaves if leaf is not None]
    if not tensors or not all(hasattr(t, "op") and hasattr(t, "graph") for t in tensors):
        return None
    records = tensors[0].graph.get_collection(GET_NEXT_COLLECTION)
    for record in records:
        index = {id(t): i for i, t in enumerate(record.tensors)}
        if all(id(t) in index for t in tensors):
            break
    else:
        return None
    iterator = record.start()
    slots = [None if leaf is None else index[id(leaf)] for _, leaf in leaves]
    flat_specs = [spec for _, spec in flatten_with_paths(iterator.element_spec)]
    structure = result
    spec = pack_sequence_as(structure, [None if i is None else flat_specs[i] for i in slots])
    f_spec, l_spec = _split(spec)

    element_spec = iterator.element_spec

    def batches() -> Iterator[Any]:
        for element in iterator:
            flat = _leaves_up_to(element_spec, element)
            yield pack_sequence_as(structure, [None if i is None else flat[i] for i in slots])

    return InputSource(_map(f_spec, _dataset_leaf, "features"),
                       _map(l_spec, _dataset_leaf, "labels"), batches(), stream=iterator)


def _is_graph_tensor(x: Any) -> bool:
    """A Tensor or a SparseTensor of a graph (a Dataset's ``get_next`` excepted above)."""
    return hasattr(x, "graph") and (hasattr(x, "op") or hasattr(x, "_estcore_components"))


def _tensor_leaf(t: Any, path: str = "") -> Leaf:
    """A graph tensor as its placeholder's description: its static shape as is (the
    model_fn sees what TF's would, the tensor's own shape); a SparseTensor keeps its
    ``[batch, columns]`` placeholder."""
    if not _is_graph_tensor(t):
        return _array_leaf(t, path)
    dtype = np.dtype(object) if t.dtype.is_string else np.dtype(t.dtype.as_numpy_dtype)
    shape = t.shape
    where = f" at {path}" if path else ""
    if shape.rank is None:
        raise ValueError(f"input_fn returned a tensor{where} of unknown rank (e.g. a py_func "
                         "result): give it a shape (tensor.set_shape(...) or reshape); the "
                         "Estimator builds its placeholders from the tensors' shapes.")
    if hasattr(t, "_estcore_components"):
        return Leaf(dtype, tuple(shape.as_list()[1:]), sparse=True)
    return Leaf(dtype, tuple(shape.as_list()), batched=False)


def _tensor_source(result: Any, run_tensors: Callable[[list], Any] | None
                   ) -> InputSource | None:
    """The source of an input_fn that returned graph tensors (not a Dataset's
    ``get_next``), else None. Array leaves next to them are fed as they are."""
    leaves = [leaf for _, leaf in flatten_with_paths(result)]
    slots = [i for i, leaf in enumerate(leaves) if _is_graph_tensor(leaf)]
    if not slots:
        return None
    if run_tensors is None:
        raise TypeError("input_fn returned graph tensors; only the Estimator can run them "
                        "(call the input_fn through Estimator.train / evaluate / predict)")
    runner = run_tensors([leaves[i] for i in slots])
    f_part, l_part = _split(result)
    f_spec = _map(f_part, _tensor_leaf, "features")
    l_spec = _map(l_part, _tensor_leaf, "labels")

    def batches() -> Iterator[Any]:
        flat = [None if leaf is None or _is_graph_tensor(leaf) else np.asarray(leaf)
                for leaf in leaves]
        while True:
            for i, value in zip(slots, runner(), strict=True):
                flat[i] = value
            yield pack_sequence_as(result, list(flat))

    return InputSource(f_spec, l_spec, batches(), stream=runner, repeats_forever=True)


def make_input_source(result: Any, run_tensors: Callable[[list], Any] | None = None
                      ) -> InputSource:
    """Normalise an input_fn's return value (see the module docstring).

    Args:
        result: what input_fn returned.
        run_tensors: for graph tensors: ``run_tensors(tensors)`` returns a callable that
            gives their values (a list, in order) on each call and has ``close()``.
    """
    if hasattr(result, "make_one_shot_iterator") and hasattr(result, "element_spec"):
        with views_scope():  # the batches are only fed: they may be read-only views
            return _dataset_source(iter(result))
    if is_nested(result) or hasattr(result, "op"):
        with views_scope():
            source = _get_next_source(result)
        if source is not None:
            return source
        source = _tensor_source(result, run_tensors)
        if source is not None:
            return source
    if hasattr(result, "element_spec"):
        use_views = getattr(result, "_use_read_only_views", None)
        if use_views is not None:  # numpy_input_fn's stream: the batches are only fed
            use_views()
        f_spec, l_spec = _split(result.element_spec)
        return InputSource(_map(f_spec, _spec_leaf), _map(l_spec, _spec_leaf), iter(result),
                           stream=result)
    if _is_batch_part(result):
        return _single(result, None)
    if isinstance(result, (tuple, list)) and result and _is_batch_part(result[0]):
        if len(result) != 2:
            raise ValueError("input_fn should return (features, labels) as a len 2 tuple.")
        if not (result[1] is None or _is_batch_part(result[1])):
            raise TypeError("labels returned by input_fn must be an array, a dict of arrays or "
                            f"None. Received: {type(result[1]).__name__}")
        return _single(result[0], result[1])
    try:
        iterator = iter(result)
    except TypeError:
        raise TypeError(
            "input_fn must return an input stream, an iterable of (features, labels) batches, "
            f"or a (features, labels) tuple of arrays. Received: {type(result).__name__}"
        ) from None
    try:
        first = next(iterator)
    except StopIteration:
        return InputSource(None, None, iter(()))
    features, labels = _split(first)
    return InputSource(_map(features, _array_leaf, "features"), _map(labels, _array_leaf, "labels"),
                       itertools.chain([first], iterator))


def _single(features: Any, labels: Any) -> InputSource:
    features = _map(features, lambda a, _path: np.asarray(a))
    labels = _map(labels, lambda a, _path: np.asarray(a))
    batch = (features, labels)
    return InputSource(_map(features, _array_leaf, "features"), _map(labels, _array_leaf, "labels"),
                       itertools.repeat(batch), repeats_forever=True)


def derive_input_seed(tf_random_seed: int | None, global_step: int) -> int | None:
    """Seed for the input stream of one call: from (tf_random_seed, start global step).

    Successive ``train()`` calls start at different global steps, so each call
    gets a different but reproducible shuffle order. None when no seed is set.
    """
    if tf_random_seed is None:
        return None
    state = np.random.SeedSequence([int(tf_random_seed) & 0xFFFFFFFFFFFFFFFF,
                                    int(global_step)]).generate_state(1, np.uint32)
    return int(state[0] & 0x7FFFFFFF)
