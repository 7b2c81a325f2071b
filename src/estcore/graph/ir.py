"""The IR: :class:`Operation` (a node), :class:`Graph` (nodes + collections + scopes).

Design:
    A node is plain data: ``type`` (a key into the op table in
    :mod:`estcore.graph.registry`), ``inputs`` (tensors), ``attrs`` (a dict of
    Python/numpy values), ``control_inputs`` and ``outputs`` (one
    :class:`~estcore.graph.tensor.Tensor` per output, each with a dtype and a static
    shape). Nodes are created only through :func:`estcore.graph.ops.make_op`, which
    runs the op's shape rule; the graph is append-only, so the creation order is
    a topological order and ``_id`` doubles as the node index used to derive
    per-op random seeds.

Must not: run kernels, compile plans or hold tensor values (``graph/plan.py`` and the
Session do); know any particular op (the op table in :mod:`estcore.graph.registry` and
``graph/ops/`` does); remove or reorder nodes (append-only).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Operation", "Graph", "GraphKeys", "get_default_graph", "reset_default_graph",
           "control_dependencies", "add_to_collection", "add_to_collections", "get_collection",
           "get_collection_ref"]

_VALID_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


class GraphKeys:
    """Standard collection names (TF1 ``tf.GraphKeys``)."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    METRIC_VARIABLES = "metric_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    SAVERS = "savers"
    QUEUE_RUNNERS = "queue_runners"


class Operation:
    """One node of the graph (TF1's ``tf.Operation``).

    Attributes:
        type: the op type, e.g. ``"MatMul"``.
        name: the unique node name, e.g. ``"dense/MatMul"``.
        inputs: the input tensors.
        attrs: op attributes (plain Python / numpy values).
        outputs: the output tensors.
        control_inputs: nodes that must run before this one.
        graph: the owning :class:`Graph`.
    """

    __slots__ = ("type", "name", "inputs", "attrs", "outputs", "control_inputs", "graph",
                 "_id", "_consumers", "__weakref__")

    def __init__(self, graph: Graph, op_type: str, name: str, inputs: tuple, attrs: dict,
                 control_inputs: tuple):
        self.graph = graph
        self.type = op_type
        self.name = name
        self.inputs = inputs
        self.attrs = attrs
        self.control_inputs = control_inputs
        self.outputs: tuple = ()
        self._id = -1
        self._consumers: list[Operation] = []

    def values(self) -> tuple:
        return self.outputs

    def get_attr(self, name: str) -> Any:
        return self.attrs[name]

    def consumers(self) -> list[Operation]:
        return list(self._consumers)

    def run(self, feed_dict=None, session=None):
        """Run this op in ``session`` (or the default session)."""
        from estcore.graph.session import get_default_session  # local: import cycle with session
        (session or get_default_session()).run(self, feed_dict=feed_dict)

    def __repr__(self) -> str:
        return f"<estcore.Operation '{self.name}' type={self.type}>"


class Graph:
    """A dataflow graph (TF1's ``tf.Graph``): nodes, name scopes, collections, seed.

    Use ``with Graph().as_default():`` to make it the target of op construction.
    """

    def __init__(self):
        self._nodes: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._used_names: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[list[Operation]] = []
        self._collections: dict[str, list] = {}
        self._finalized = False
        self._lock = threading.RLock()
        self.seed: int | None = None
        # Variable scope state (owned by estcore.graph.variables).
        self._var_scope_stack: list = []
        self._vars: dict[str, Any] = {}
        self._version = 0

    # ----------------------------------------------------------------- building
    def _check_not_finalized(self) -> None:
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def _add_node(self, op: Operation) -> None:
        with self._lock:
            self._check_not_finalized()
            op._id = len(self._nodes)
            self._nodes.append(op)
            self._by_name[op.name] = op
            for t in op.inputs:
                t.op._consumers.append(op)
            self._version += 1

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """Prefix ``name`` with the current name scope and make it unique (``_1``, ...)."""
        full = self._name_stack + name if self._name_stack else name
        key = full.lower()
        count = self._used_names.get(key, 0)
        if count:
            base = full
            while True:
                candidate = f"{base}_{count}"
                if candidate.lower() not in self._used_names:
                    break
                count += 1
            if mark_as_used:
                self._used_names[key] = count + 1
                self._used_names[candidate.lower()] = 1
            return candidate
        if mark_as_used:
            self._used_names[key] = 1
        return full

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Open a name scope; yields the scope prefix (``"dense/"``).

        A name ending in ``/`` re-enters that exact scope; ``None`` or ``""`` resets to
        the top level.
        """
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name
        else:
            if not _VALID_NAME.match(name):
                raise ValueError(f"`name` must be a valid scope name. Received: name={name!r}")
            new = self.unique_name(name) + "/"
        self._name_stack = new
        try:
            yield new
        finally:
            self._name_stack = old

    def get_name_scope(self) -> str:
        return self._name_stack[:-1] if self._name_stack.endswith("/") else self._name_stack

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs) -> Iterator[None]:
        """Ops created inside run after every op in ``control_inputs`` (``None`` clears)."""
        if control_inputs is None:
            saved = self._control_stack
            self._control_stack = []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for c in control_inputs:
            ops.append(_as_operation(c))
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    def _current_control_inputs(self, inputs) -> tuple:
        if not self._control_stack:
            return ()
        seen: dict[int, Operation] = {}
        input_ops = {id(t.op) for t in inputs}
        for frame in self._control_stack:
            for c in frame:
                if id(c) not in input_ops:
                    seen.setdefault(id(c), c)
        return tuple(seen.values())

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this graph the default graph inside the ``with`` block."""
        stack = _stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def finalize(self) -> None:
        """Make the graph read-only: adding an op afterwards raises RuntimeError."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self) -> None:
        self._finalized = False

    # ----------------------------------------------------------------- lookup
    def get_operations(self) -> list[Operation]:
        return list(self._nodes)

    def get_operation_by_name(self, name: str) -> Operation:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str):
        op_name, sep, idx = name.rpartition(":")
        if not sep:
            raise ValueError(f"`name` must look like 'op_name:0' for a tensor. Received: "
                             f"name={name!r}")
        op = self.get_operation_by_name(op_name)
        i = int(idx)
        if i >= len(op.outputs):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist: "
                           f"operation '{op_name}' has {len(op.outputs)} outputs.")
        return op.outputs[i]

    def as_graph_element(self, obj: Any):
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        return obj

    # ----------------------------------------------------------------- collections
    def add_to_collection(self, name: str, value: Any) -> None:
        self._check_not_finalized()
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value: Any) -> None:
        names = (names,) if isinstance(names, str) else set(names)
        for n in names:
            self.add_to_collection(n, value)

    def get_collection(self, name: str, scope: str | None = None) -> list:
        """Items of collection ``name`` (a copy); with ``scope``, those whose ``.name``
        matches the regex ``scope`` from the start."""
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pat = re.compile(scope)
        return [v for v in items if hasattr(v, "name") and pat.match(v.name)]

    def get_collection_ref(self, name: str) -> list:
        return self._collections.setdefault(name, [])

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def get_all_collection_keys(self) -> list[str]:
        return [k for k, v in self._collections.items() if v]

    def __repr__(self) -> str:
        return f"<estcore.Graph with {len(self._nodes)} ops>"


def _as_operation(obj: Any) -> Operation:
    if isinstance(obj, Operation):
        return obj
    op = getattr(obj, "op", None)
    if isinstance(op, Operation):
        return op
    raise TypeError("`control_inputs` must hold Operations, Tensors or Variables. "
                    f"Received: {obj!r} ({type(obj).__name__})")


_tls = threading.local()
_global_default: list[Graph] = []


def _stack() -> list[Graph]:
    s = getattr(_tls, "stack", None)
    if s is None:
        s = _tls.stack = []
    return s


def get_default_graph() -> Graph:
    """The innermost graph of ``as_default()`` blocks, else the global default graph."""
    s = _stack()
    if s:
        return s[-1]
    if not _global_default:
        _global_default.append(Graph())
    return _global_default[0]


def reset_default_graph() -> None:
    """Replace the global default graph with a fresh one (not inside ``as_default``)."""
    if _stack():
        raise AssertionError("Do not use reset_default_graph() inside a "
                             "`with graph.as_default():` block.")
    _global_default.clear()
    _global_default.append(Graph())


def control_dependencies(control_inputs) -> contextlib.AbstractContextManager:
    """Ops created inside the block run after ``control_inputs`` (default graph)."""
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(name: str, value: Any) -> None:
    """Add ``value`` to collection ``name`` of the default graph."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value: Any) -> None:
    """Add ``value`` to each collection in ``names`` of the default graph."""
    get_default_graph().add_to_collections(names, value)


def get_collection(key: str, scope: str | None = None) -> list:
    """Items of collection ``key`` of the default graph (optionally filtered by scope)."""
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> list:
    """The default graph's list for collection ``key`` (mutable, as TF's)."""
    return get_default_graph().get_collection_ref(key)
