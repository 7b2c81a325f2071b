"""Variables, ``variable_scope`` / ``name_scope`` and ``get_variable`` (TF1 naming).

Design:
    A :class:`Variable` wraps one ``VariableV2`` node (its output is the variable's
    value in expressions) plus an ``Assign`` initializer whose value comes from an
    ``InitialValue`` node that calls the initializer with a seed pair derived from
    (graph seed, creation index). ``get_variable`` keeps a per-graph store
    ``name -> Variable`` and applies TF1's reuse rules (``reuse=True`` requires an
    existing variable, ``None``/``False`` forbids one, ``AUTO_REUSE`` does either).
    ``variable_scope(None, default_name="dense")`` picks ``dense``, ``dense_1``, ...

Must not: hold variable values (the Session owns storage) or call an initializer when a
variable is created (its ``InitialValue`` node does, when the init op runs); import
anything above the graph (the layers, metrics and optimizers call ``get_variable``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph import initializers as inits
from estcore.graph import random as R
from estcore.graph.ir import Graph, GraphKeys, get_default_graph
from estcore.graph.ops import state_ops
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape, as_shape, fmt_shape, tf1_shape, user_shape
from estcore.graph.tensor import TensorOperators

__all__ = ["Variable", "VariableScope", "variable_scope", "get_variable_scope", "get_variable",
           "name_scope", "AUTO_REUSE", "global_variables", "trainable_variables",
           "local_variables", "model_variables", "global_variables_initializer",
           "local_variables_initializer", "variables_initializer", "all_variables"]


class _AutoReuse:
    def __repr__(self) -> str:
        return "estcore.AUTO_REUSE"


AUTO_REUSE = _AutoReuse()


# ---------------------------------------------------------------- InitialValue op
def _initial_value_build(k):
    o = k.outs[0]
    init, seeds, dtype = k.attrs["init"], k.attrs["seed"], k.attrs["dtype"]
    shape = o.shape

    def run():
        val = init(shape, dtype, seed=seeds)
        if np.shape(val) != shape:
            raise ValueError(f"initializer of '{k.node.name}' returned shape {np.shape(val)}, "
                             f"expected {shape}")
        np.copyto(o, val, casting="unsafe")
    return run


row("InitialValue", lambda ctx: [(ctx.attrs["dtype"], ctx.attrs["shape"])],
    _initial_value_build, None, stateful=True)
not_differentiable("InitialValue")


class Variable(TensorOperators):
    """A variable: state kept by the Session, read as a Tensor in expressions.

    Args:
        initial_value: a Tensor, a numpy/Python value, or a callable returning one.
        trainable: add to ``TRAINABLE_VARIABLES`` (gradients flow to it).
        name: node name (uniquified in the current name scope).
        dtype: element type (default: the initial value's).
        collections: collections to add to (default ``[GLOBAL_VARIABLES]``).
    """

    def __init__(self, initial_value=None, trainable=True, collections=None,
                 validate_shape=True, name=None, dtype=None, shape=None, *, _graph=None,
                 _exact_name=None, _init_fn=None):
        graph = _graph or get_default_graph()
        self._graph = graph
        if _exact_name is not None:
            full = _exact_name
        else:
            full = graph.unique_name(name or "Variable", mark_as_used=False)
        with graph.name_scope(None):
            with graph.name_scope(full + "/"):
                if _init_fn is not None:
                    init_fn, vshape, vdtype, seeds = _init_fn
                    init_val = make("InitialValue", [], {"init": init_fn, "shape": vshape,
                                                         "dtype": vdtype, "seed": seeds},
                                    name="Initializer")
                else:
                    if initial_value is None:
                        raise ValueError("`initial_value` must be given for a Variable. "
                                         "Received: initial_value=None")
                    if callable(initial_value):
                        initial_value = initial_value()
                    init_val = convert_to_tensor(initial_value, dtype=dtype,
                                                 name="initial_value")
            vshape = as_shape(shape) if shape is not None else init_val.shape
            if validate_shape and not vshape.is_fully_defined():
                raise ValueError(f"Variable '{full}': the initial value must have a fully "
                                 f"defined shape, got {fmt_shape(vshape)}")
            if _exact_name is not None and graph.unique_name(full, mark_as_used=False) != full:
                raise ValueError(f"Variable {full}: the name is already used by an op or name "
                                 "scope of the graph, so the variable cannot get its exact "
                                 "name (checkpoints are keyed by it).")
            self._ref = make("VariableV2", [], {"dtype": init_val.dtype, "shape": vshape},
                             name=full)
            with graph.name_scope(self._ref.op.name + "/"):
                self._initializer = make_op("Assign", [self._ref, init_val], name="Assign")
        self._initial_value = init_val
        self._trainable = bool(trainable)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        for c in dict.fromkeys(collections):
            graph.add_to_collection(c, self)
        graph._variable_objects = getattr(graph, "_variable_objects", {})
        graph._variable_objects[self._ref.op] = self

    # TF1 surface
    @property
    def name(self) -> str:
        return self._ref.name

    @property
    def op(self):
        return self._ref.op

    @property
    def dtype(self):
        return self._ref.dtype

    @property
    def shape(self) -> TensorShape:
        return user_shape(self._ref._shape)

    def get_shape(self) -> TensorShape:
        """The static shape, TF1 style: an unknown dimension is ``Dimension(None)``."""
        return tf1_shape(self._ref.shape)

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self):
        """The op that writes the initial value."""
        return self._initializer

    @property
    def initial_value(self):
        return self._initial_value

    def value(self):
        return self._ref

    def read_value(self):
        return self._ref

    def _as_tensor(self):
        return self._ref

    def assign(self, value, use_locking=None, name=None, read_value=True):
        return state_ops.assign(self, value, name=name)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return state_ops.assign_add(self, delta, name=name)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return state_ops.assign_sub(self, delta, name=name)

    def eval(self, session=None):
        from estcore.graph.session import get_default_session  # local: import cycle with session
        return (session or get_default_session()).run(self)

    def load(self, value, session=None):
        """Write ``value`` into the variable in ``session`` (no graph op is added)."""
        from estcore.graph.session import get_default_session  # local: import cycle with session
        (session or get_default_session()).set_variable_values({self.op.name: value})

    def __repr__(self) -> str:
        return (f"<estcore.Variable '{self.name}' shape={fmt_shape(self.shape)} "
                f"dtype={self.dtype.name}>")


# ---------------------------------------------------------------- scopes
class VariableScope:
    """A variable scope: name prefix, reuse mode and defaults for get_variable."""

    def __init__(self, name: str, reuse=None, initializer=None, regularizer=None, dtype=None,
                 name_scope: str = ""):
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.dtype = dtype
        self.original_name_scope = name_scope

    def reuse_variables(self) -> None:
        self.reuse = True

    def set_initializer(self, initializer) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self.regularizer = regularizer

    def get_variable(self, name, *args, **kwargs):
        return get_variable(name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<VariableScope '{self.name}' reuse={self.reuse}>"


def _scope_stack(graph: Graph) -> list[VariableScope]:
    if not graph._var_scope_stack:
        graph._var_scope_stack.append(VariableScope(""))
    return graph._var_scope_stack


def get_variable_scope() -> VariableScope:
    """The current :class:`VariableScope` of the default graph."""
    return _scope_stack(get_default_graph())[-1]


def _scope_counts(graph: Graph) -> dict[str, int]:
    if not hasattr(graph, "_var_scope_counts"):
        graph._var_scope_counts = {}
    return graph._var_scope_counts


@contextlib.contextmanager
def variable_scope(name_or_scope=None, default_name=None, values=None, initializer=None,
                   regularizer=None, caching_device=None, partitioner=None,
                   custom_getter=None, reuse=None, dtype=None, use_resource=None,
                   constraint=None, auxiliary_name_scope=True) -> Iterator[VariableScope]:
    """Open a variable scope (and the matching name scope), TF1 semantics.

    Args:
        name_or_scope: a name, a :class:`VariableScope` to re-enter, or None (then
            ``default_name`` is made unique: ``dense``, ``dense_1``, ...).
        reuse: True, ``AUTO_REUSE`` or None (inherit). Once True it stays True below.
        caching_device, use_resource: accepted for TF1 compatibility, no effect.

    Raises:
        NotImplementedError: ``partitioner``, ``custom_getter`` or ``constraint``
            is given (they would change the variables; estcore does not support them).
    """
    _reject_unsupported(partitioner=partitioner, custom_getter=custom_getter,
                        constraint=constraint)
    graph = get_default_graph()
    stack = _scope_stack(graph)
    parent = stack[-1]
    counts = _scope_counts(graph)
    if name_or_scope is None and default_name is None:
        raise ValueError("`name_or_scope` or `default_name` must be given. Received: both None")
    if reuse is False:
        reuse = None
    if reuse not in (None, True) and reuse is not AUTO_REUSE:
        raise ValueError(f"`reuse` must be True, False, None or estcore.AUTO_REUSE. "
                         f"Received: reuse={reuse!r}")
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        ns_name = name_or_scope.original_name_scope or (full + "/" if full else "")
        base = name_or_scope
    else:
        prefix = parent.name + "/" if parent.name else ""
        if name_or_scope is not None:
            full = prefix + str(name_or_scope)
            ns_name = str(name_or_scope)
        else:
            cand, i = prefix + default_name, 0
            while counts.get(cand, 0):
                i += 1
                cand = f"{prefix}{default_name}_{i}"
            full = cand
            # TF1: the name scope is ``default_name`` made unique among the name scopes
            # (not the variable scope's unique name): after ``name_scope("a")``'s
            # ``accuracy``, a top-level one is variable scope ``accuracy_1`` but
            # name scope ``accuracy/`` (tf.Variable and op names follow the name scope).
            ns_name = default_name
        base = parent
    inherit = parent.reuse if parent.reuse in (True,) or parent.reuse is AUTO_REUSE else None
    new_reuse = reuse if reuse is not None else (
        name_or_scope.reuse if isinstance(name_or_scope, VariableScope) and
        name_or_scope.reuse is not None else inherit)
    if parent.reuse is True:
        new_reuse = True
    scope = VariableScope(full, new_reuse, initializer or base.initializer,
                          regularizer or base.regularizer, dtype or base.dtype)
    counts[full] = counts.get(full, 0) + 1
    # TF1: re-entering a VariableScope object restores the sub-scope counters on exit;
    # leaving a scope opened by name closes its sub-scopes (their counters go back to 0),
    # so a second `with variable_scope("tower", reuse=True)` names its layers as the first.
    saved_counts = dict(counts) if isinstance(name_or_scope, VariableScope) else None
    ctx = graph.name_scope(ns_name) if auxiliary_name_scope else contextlib.nullcontext(
        graph._name_stack)
    with ctx as ns:
        scope.original_name_scope = ns if isinstance(ns, str) else ""
        stack.append(scope)
        try:
            yield scope
        finally:
            stack.pop()
            if saved_counts is not None:
                counts.clear()
                counts.update(saved_counts)
            else:
                sub = full + "/"
                for key in counts:
                    if key.startswith(sub):
                        counts[key] = 0


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None) -> Iterator[str]:
    """TF1 ``tf.name_scope``: prefixes op names (not ``get_variable`` names)."""
    graph = get_default_graph()
    if values:
        for v in values:
            t = getattr(v, "_as_tensor", None)
            if t is not None:
                graph = t().graph
                break
    n = name if name is not None else default_name
    with graph.as_default(), graph.name_scope(n) as scope:
        yield scope


# ---------------------------------------------------------------- get_variable
def _default_initializer(dtype):
    if dtype.is_floating:
        return inits.GlorotUniform()
    return inits.Zeros()


def _reject_unsupported(**options: Any) -> None:
    for arg, value in options.items():
        if value is not None:
            raise NotImplementedError(f"`{arg}` is not supported by estcore (it must be None). "
                                      f"Received: {arg}={value!r}")


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                 synchronization=None, aggregation=None) -> Variable:
    """Get or create the variable ``<scope>/name`` (TF1 ``tf.get_variable``).

    Args:
        name: the variable's name inside the current variable scope.
        shape: its shape (required unless ``initializer`` is a value or Tensor).
        dtype: element type (default: the scope's dtype, else float32).
        initializer: an initializer callable, a numpy/Python value or a Tensor. Default:
            the scope's initializer, else glorot_uniform (floats) / zeros (others).
        regularizer: ``f(variable) -> scalar Tensor`` added to REGULARIZATION_LOSSES.
        trainable: default True (False for non-float dtypes is NOT implied, as TF1).
        collections: default ``[GLOBAL_VARIABLES]`` (+ TRAINABLE_VARIABLES if trainable).

        caching_device, use_resource, synchronization, aggregation: accepted for TF1
            compatibility, no effect in one process.

    Raises:
        ValueError: reuse rules are violated, or the shape/dtype of an existing
            variable differ from the request.
        NotImplementedError: ``partitioner``, ``custom_getter`` or ``constraint``
            is given.
    """
    _reject_unsupported(partitioner=partitioner, custom_getter=custom_getter,
                        constraint=constraint)
    graph = get_default_graph()
    scope = _scope_stack(graph)[-1]
    full = f"{scope.name}/{name}" if scope.name else name
    store = graph._vars
    dtype_given = dtype is not None
    dtype = dt.as_dtype(dtype or scope.dtype or dt.float32)
    if trainable is None:
        trainable = True
    reuse = scope.reuse
    if full in store:
        if reuse is None:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set "
                             "reuse=True or reuse=estcore.AUTO_REUSE in VarScope?")
        v = store[full]
        if shape is not None and not as_shape(shape).is_compatible_with(v.shape):
            raise ValueError(f"Trying to share variable {full}, but specified shape "
                             f"{fmt_shape(as_shape(shape))} and found shape {fmt_shape(v.shape)}.")
        if dtype_given and dtype is not v.dtype:
            raise ValueError(f"Trying to share variable {full}, but specified dtype "
                             f"{dtype.name} and found dtype {v.dtype.name}.")
        return v
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with "
                         "estcore.get_variable(). Did you mean to set "
                         "reuse=estcore.AUTO_REUSE in VarScope?")
    if initializer is None:
        initializer = scope.initializer or _default_initializer(dtype)
    if regularizer is None:
        regularizer = scope.regularizer
    if isinstance(initializer, type) and issubclass(initializer, inits.Initializer):
        initializer = initializer()
    init_fn = None
    initial_value = None
    if isinstance(initializer, inits.Initializer):
        if shape is None:
            raise ValueError(f"`shape` must be given for variable {full} when the initializer "
                             "is a callable. Received: shape=None")
        vshape = as_shape(shape)
        if not vshape.is_fully_defined():
            raise ValueError(f"`shape` of variable {full} must be fully defined. Received: "
                             f"shape={fmt_shape(vshape)}")
        seeds = initializer.seed if initializer.seed is not None else R.op_seeds(graph, None)
        if isinstance(seeds, (int, np.integer)):
            seeds = R.op_seeds(graph, int(seeds))
        init_fn = (initializer, vshape, dtype, seeds)
    elif callable(initializer):
        if shape is None:
            raise ValueError(f"`shape` must be given for variable {full} when the initializer "
                             "is a callable. Received: shape=None")
        try:
            val = initializer(as_shape(shape).as_list(), dtype=dtype, partition_info=None)
        except TypeError:
            val = initializer(as_shape(shape).as_list(), dtype)
        initial_value = val
    else:
        initial_value = initializer
        if shape is not None:
            arr_shape = np.shape(initializer) if not hasattr(initializer, "_as_tensor") else \
                initializer._as_tensor().shape
            if not as_shape(shape).is_compatible_with(arr_shape):
                raise ValueError(f"Variable {full}: `shape` {fmt_shape(as_shape(shape))} does "
                                 f"not match the initial value's shape {fmt_shape(arr_shape)}")
    if full in graph._by_name:
        raise ValueError(f"Variable {full}: an op named '{full}' already exists in the graph.")
    v = Variable(initial_value, trainable=trainable, collections=collections,
                 validate_shape=validate_shape,
                 dtype=dtype if initial_value is not None and dtype_given else None,
                 shape=shape if initial_value is None else None, _graph=graph,
                 _exact_name=full, _init_fn=init_fn)
    store[full] = v
    if regularizer is not None:
        with graph.name_scope(None), graph.name_scope(full + "/Regularizer"):
            loss = regularizer(v)
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return v


# ---------------------------------------------------------------- collections
def global_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name: str = "init"):
    """An op running the initializers of ``var_list``."""
    var_list = list(var_list)
    if not var_list:
        return state_ops.no_op(name=name)
    return state_ops.group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer():
    """An op that initializes every global variable."""
    return variables_initializer(global_variables(), name="init")


def local_variables_initializer():
    """An op that initializes every local variable."""
    return variables_initializer(local_variables(), name="init")


