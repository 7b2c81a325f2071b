"""Building the graph of one Estimator call and the session that runs it.

Each train / evaluate / predict call gets a fresh ``estcore.Graph`` with the
graph-level seed ``config.tf_random_seed`` and a ``global_step`` variable, as in
TF. The session initialises every variable, then restores the checkpoint by
name (``Restoring parameters from <path>``) or, without one, applies the warm
start and ``scaffold.init_fn``. :class:`Feeder` turns each batch into the values of the
placeholders. It must not run steps or hooks: the loop (``estimator.py``) does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from estcore.checkpoint.format import read_checkpoint, read_tensor_unverified
from estcore.checkpoint.state import CheckpointReader
from estcore.checkpoint.tf_bundle import BundleValues
from estcore.checkpoint.warm_starting import warm_start_values
from estcore.errors import InvalidArgumentError, NotFoundError
from estcore.graph.dtypes import as_dtype
from estcore.graph.ops.array_ops import placeholder
from estcore.graph.ops.sparse_ops import sparse_placeholder
from estcore.graph.session import Session
from estcore.graph.variables import global_variables, local_variables, trainable_variables
from estcore.inputs.source import Leaf, flatten_structure
from estcore.nest import is_nested

__all__ = ["variable_name", "build_placeholders", "feed_dict_for", "Feeder", "restore_session",
           "create_session", "read_global_step"]

logger = logging.getLogger("estcore")


def variable_name(v: Any) -> str:
    name = v.op.name if hasattr(v, "op") else str(v.name)
    return name[:-2] if name.endswith(":0") else name


def _placeholder(leaf: Leaf, name: str) -> Any:
    safe = "".join(c if (c.isalnum() or c in "_-./") else "_" for c in name) or "input"
    if leaf.sparse:  # a Dataset's SparseTensor component, fed a SparseTensorValue
        return sparse_placeholder(as_dtype(leaf.dtype), shape=[None, *leaf.shape], name=safe)
    shape = [None, *leaf.shape] if leaf.batched else list(leaf.shape)
    return placeholder(as_dtype(leaf.dtype), shape=shape, name=safe)


class InputTensorRunner:
    """Runs the graph tensors an input_fn returned (TF 1.x's ``tf.constant`` features,
    SparseTensors) once per step, in a session of its own over the same graph: the
    model's session is fed their values (inputs/source.py). Made at the first step."""

    def __init__(self, tensors: list):
        self._tensors = list(tensors)
        self._sess: Session | None = None
        for t in self._tensors:
            var = _variable_read_by(t)
            if var is not None:
                raise ValueError(
                    f"input_fn returned the tensor '{getattr(t, 'name', t)}', which reads the "
                    f"variable '{var}': estcore runs an input_fn's tensors in a session of "
                    "their own, apart from the model's variables. Compute it in model_fn "
                    "from the features, or return a Dataset (its map functions may not read "
                    "variables either).")

    def __call__(self) -> list:
        if self._sess is None:
            self._sess = Session(graph=self._tensors[0].graph)
        return self._sess.run(self._tensors)

    def close(self) -> None:
        if self._sess is not None:
            self._sess.close()
            self._sess = None


def _variable_read_by(t: Any) -> str | None:
    """The name of a variable ``t`` (a Tensor or SparseTensor) depends on, else None."""
    comps = getattr(t, "_estcore_components", None)
    stack = [c.op for c in comps()] if comps is not None else [t.op]
    seen: set = set()
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        if op.type == "VariableV2":
            return op.name
        stack.extend(x.op for x in op.inputs)
        stack.extend(op.control_inputs)
    return None


def build_placeholders(spec: Any, prefix: str) -> Any:
    """Placeholders mirroring a structure of :class:`Leaf` (batch dim unknown)."""
    if spec is None:
        return None
    if isinstance(spec, Leaf):
        return _placeholder(spec, prefix)
    if isinstance(spec, dict):
        return {k: build_placeholders(v, str(k)) for k, v in spec.items()}
    if isinstance(spec, (tuple, list)):
        return type(spec)(build_placeholders(v, f"{prefix}_{i}") for i, v in enumerate(spec))
    raise TypeError(f"Unsupported input structure element {spec!r}")


def feed_dict_for(placeholders: Any, values: Any, what: str) -> dict:
    """``{placeholder: array}`` for a batch; checks the batch has the same structure."""
    ph = flatten_structure(placeholders)
    vals = flatten_structure(values)
    if [p for p, _ in ph] != [p for p, _ in vals]:
        raise ValueError(
            f"The {what} of this batch have keys {[p for p, _ in vals]}, but the first batch "
            f"had {[p for p, _ in ph]}: every batch must have the same structure.")
    return {t: v for (_, t), (_, v) in zip(ph, vals, strict=True)}


class _Part:
    """One side of a batch (features or labels): its placeholders, flattened once.

    ``tensors`` are the placeholders in feed order: a flat dict's in its own key
    order (``keys``), any other structure's in :func:`estcore.nest.flatten` order.
    """

    __slots__ = ("placeholders", "what", "keys", "keyset", "is_leaf", "tensors")

    def __init__(self, placeholders: Any, what: str):
        self.placeholders = placeholders
        self.what = what
        self.is_leaf = not is_nested(placeholders)
        flat_dict = isinstance(placeholders, dict) and not any(
            is_nested(v) for v in placeholders.values())
        self.keys = list(placeholders) if flat_dict else None
        self.keyset = set(placeholders) if flat_dict else None
        if flat_dict:
            self.tensors = tuple(placeholders[k] for k in self.keys)
        else:
            self.tensors = tuple(t for _, t in flatten_structure(placeholders))

    def values(self, values: Any) -> list:
        """One value per ``tensors`` from this part of a batch."""
        keys = self.keys
        if keys is not None and type(values) is dict and len(values) == len(keys) \
                and values.keys() == self.keyset:
            return [values[k] for k in keys]
        if self.is_leaf:
            if is_nested(values):
                raise ValueError(f"The {self.what} of this batch are a "
                                 f"{type(values).__name__}, but the first batch's were an "
                                 "array: every batch must have the same structure.")
            return [values]
        feed = feed_dict_for(self.placeholders, values, self.what)
        return [feed[t] for t in self.tensors]


class Feeder:
    """Builds each step's feeds; flattening of the placeholders is done once.

    ``tensors`` are the placeholders fed, features first; ``values(features,
    labels)`` gives their values in that order (the per-step path), ``__call__``
    the same as a feed dict. Fast paths for the common forms (one array, or a flat
    dict of arrays); any other structure goes through :func:`feed_dict_for`.
    """

    def __init__(self, features: Any, labels: Any):
        # A part is None where the model has no such input (no labels in PREDICT).
        self._features = None if features is None else _Part(features, "features")
        self._labels = None if labels is None else _Part(labels, "labels")
        self.tensors = tuple(t for part in (self._features, self._labels) if part is not None
                             for t in part.tensors)
        f, lab = self._features, self._labels
        if f is not None and f.keys is not None and (lab is None or lab.is_leaf):
            self.values = self._dict_values(f.keys, f.keyset, lab is not None, self.values)

    @staticmethod
    def _dict_values(keys: list, keyset: set, with_labels: bool,
                     general: Callable[[Any, Any], list | None]) -> Callable:
        """``values`` for the common form (a flat dict of features, labels one array
        or none) with no Python-level calls; anything else goes to ``general``."""
        n = len(keys)

        def values(features: Any, labels: Any) -> list | None:
            if type(features) is dict and len(features) == n and features.keys() == keyset:
                if not with_labels:
                    return list(map(features.__getitem__, keys))
                if type(labels) is np.ndarray:
                    out = list(map(features.__getitem__, keys))
                    out.append(labels)
                    return out
            return general(features, labels)
        return values

    def values(self, features: Any, labels: Any) -> list | None:
        """One value per ``tensors``, or None when the batch leaves a part out
        (no labels for a model given labels before: use the feed dict)."""
        f, lab = self._features, self._labels
        if (features is None and f is not None) or (labels is None and lab is not None):
            return None
        out = f.values(features) if f is not None else []
        if lab is not None:
            out += lab.values(labels)
        return out

    def __call__(self, features: Any, labels: Any) -> dict:
        feed: dict = {}
        for part, values in ((self._features, features), (self._labels, labels)):
            if part is not None and values is not None:
                feed.update(zip(part.tensors, part.values(values), strict=True))
        return feed


def read_global_step(checkpoint_path: str | None, verify: bool = True) -> int:
    """The ``global_step`` stored in a checkpoint (0 if none or unreadable, as TF).

    Args:
        checkpoint_path: checkpoint prefix, or None.
        verify: check the whole file's CRC first. A caller that restores the same
            checkpoint next (which verifies it) passes False and reads just the
            header and the one value.
    """
    if not checkpoint_path:
        return 0
    try:
        if not verify:
            return int(read_tensor_unverified(checkpoint_path, "global_step"))
        return int(CheckpointReader(checkpoint_path).get_tensor("global_step"))
    except Exception:  # noqa: BLE001 - TF: any failure -> 0
        return 0


def restore_session(sess: Any, variables: list, checkpoint_path: str,
                    names: Mapping[str, Any] | None = None) -> None:
    """Assign every variable of ``variables`` from the checkpoint.

    Args:
        sess: the session whose variables are set.
        variables: the global variables; each must be restored.
        checkpoint_path: the checkpoint prefix.
        names: ``checkpoint name -> variable`` (a ``Scaffold`` saver's ``var_list``);
            None reads each variable under its own name. A variable it leaves out is
            not initialised: TF's "Init operations did not make model ready" error.
    """
    logger.info("Restoring parameters from %s", checkpoint_path)
    values, _ = read_checkpoint(checkpoint_path, copy=False)  # copied into the session
    if names is not None:
        covered = {variable_name(v) for v in names.values()}
        left = [variable_name(v) for v in variables if variable_name(v) not in covered]
        if left:
            raise RuntimeError(
                "Init operations did not make model ready.  Init op: None, init fn: None, "
                f"error: Variables not initialized: {', '.join(left)} (the Scaffold's saver "
                "restores only its var_list)")
        rename = {ckpt: variable_name(v) for ckpt, v in names.items()}
    else:
        rename = {variable_name(v): variable_name(v) for v in variables}
    wanted = rename
    missing = sorted(n for n in wanted if n not in values)
    if missing:
        hint = values.missing_hint(missing[0]) if isinstance(values, BundleValues) else ""
        raise NotFoundError(
            "Restoring from checkpoint failed. This is most likely due to a Variable name or "
            "other graph key that is missing from the checkpoint. Please ensure that you have "
            "not altered the graph expected based on the checkpoint. Original error:\n\n"
            f"Key {missing[0]} not found in checkpoint {checkpoint_path}{hint}")
    if isinstance(values, BundleValues):
        mapped = sorted(n for n in wanted if n in values.aliases)
        if mapped:
            logger.info("Restoring %d optimizer slot(s) from TF's names for the slots of "
                        "single-partition variables (%s <- %s%s)", len(mapped), mapped[0],
                        values.aliases[mapped[0]], ", ..." if len(mapped) > 1 else "")
    try:
        sess.set_variable_values({var: values[ckpt] for ckpt, var in wanted.items()})
    except InvalidArgumentError as e:
        raise InvalidArgumentError(
            "Restoring from checkpoint failed. This is most likely due to a mismatch between "
            "the current graph and the graph from the checkpoint. Please ensure that you have "
            f"not altered the graph expected based on the checkpoint. Original error:\n\n{e}"
        ) from None


def create_session(graph: Any, config: Any, checkpoint_path: str | None,
                   warm_start: Any = None, scaffold: Any = None) -> Any:
    """A session with every variable initialised, restored or warm-started.

    As TF's ``SessionManager``: a restored session does not run the initializers of
    the global variables (the restore sets every one of them or fails).
    """
    sess = Session(graph=graph, config=config)
    with graph.as_default():
        global_vars = global_variables()
        trainable = trainable_variables()
        init_ops = [v.initializer for v in global_vars]
        local_ops = [v.initializer for v in local_variables()]
    feed = getattr(scaffold, "init_feed_dict", None)
    if checkpoint_path:
        saver = getattr(scaffold, "saver", None)
        names = saver.restore_names() if hasattr(saver, "restore_names") else None
        restore_session(sess, global_vars, checkpoint_path, names)
    else:
        if init_ops:
            sess.run(init_ops, feed_dict=feed)
        if warm_start is not None:
            shapes = {variable_name(v): list(v.shape.as_list()) for v in global_vars}
            values = warm_start_values(warm_start, [variable_name(v) for v in trainable],
                                       [variable_name(v) for v in global_vars], shapes,
                                       graph.seed)
            if values:
                sess.set_variable_values({k: np.asarray(v) for k, v in values.items()})
        init_fn = getattr(scaffold, "init_fn", None)
        if init_fn is not None:
            init_fn(scaffold, sess)
    logger.info("Running local_init_op.")
    if local_ops:
        sess.run(local_ops, feed_dict=getattr(scaffold, "local_init_feed_dict", None))
    logger.info("Done running local_init_op.")
    return sess
