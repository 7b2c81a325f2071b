"""The layer base class (TF1 ``tf.layers.Layer``): naming, variables, reuse.

Design:
    A layer object is built on its first call: it opens a fresh variable scope
    (``dense``, ``dense_1``, ... : ``variable_scope(None, default_name=name)``,
    or, with ``reuse=True``, exactly ``name`` with reuse) and creates its
    variables there through ``get_variable``, so variable names, checkpoints
    and ``reuse`` behave as in TF1. The layer keeps the variables it created
    (``.variables``); calling the same object again reuses them without
    touching the variable store.

    The dtype of a layer is the dtype of its first input when that is floating
    (float32 is the fast path, float64 works); integer inputs are cast to
    float32 (or to the ``dtype`` given to the constructor).

Must not: create a variable other than through ``get_variable`` (names and ``reuse``
would stop following TF1); run anything in a session; import the losses, metrics or
optimizers (a layer only adds regularization losses to the graph's collection).
"""

from __future__ import annotations

import re
from typing import Any

from estcore import nn
from estcore._validation import invalid
from estcore.graph.dtypes import as_dtype, float32
from estcore.graph.initializers import constant_initializer
from estcore.graph.ir import GraphKeys, add_to_collection, get_default_graph
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.variables import get_variable, name_scope, variable_scope

__all__ = ["Layer", "get_activation"]


def _snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


_ACTIVATION_NAMES = ("relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softplus",
                     "softsign", "softmax", "leaky_relu")


def get_activation(activation: Any, arg: str = "activation"):
    """``None`` / ``"linear"`` -> None; a known name -> the ``estcore.nn`` function;
    a callable -> itself.

    Raises:
        InvalidArgumentError: an unknown name or a non-callable value.
    """
    if activation is None:
        return None
    if isinstance(activation, str):
        if activation == "linear":
            return None
        if activation in _ACTIVATION_NAMES:
            return getattr(nn, activation)
        raise invalid(arg, "None, a callable or one of 'linear', "
                      + ", ".join(repr(a) for a in _ACTIVATION_NAMES), activation)
    if not callable(activation):
        raise invalid(arg, "None, a callable or an activation name", activation, TypeError)
    return activation


def as_initializer(value: Any, arg: str):
    """An initializer argument: None, a callable, or a number (constant)."""
    if value is None or callable(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return constant_initializer(value)
    raise invalid(arg, "None, an initializer or a number", value, TypeError)


def as_regularizer(value: Any, arg: str):
    if value is None or callable(value):
        return value
    raise invalid(arg, "None or a callable variable -> scalar tensor", value, TypeError)


class Layer:
    """Base class of the layers: owns variables, builds on first call.

    Args:
        trainable: whether the layer's trainable variables go to
            ``TRAINABLE_VARIABLES``.
        name: the variable-scope base name (made unique unless ``_reuse``).
        dtype: the variable / compute dtype; None takes the first input's.
        _reuse: TF1 ``reuse`` of the functional form.

    Attributes:
        variables / weights: every variable the layer created, in order.
        trainable_variables / trainable_weights: those that are trained.
        non_trainable_variables: the others (e.g. moving averages).
        losses: regularization losses of the layer's variables.
        updates: update ops (e.g. batch-norm moving averages).
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 _reuse: Any = None, **kwargs: Any):
        if kwargs:
            bad = sorted(kwargs)[0]
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                            f"'{bad}'")
        if not isinstance(trainable, bool):
            raise invalid("trainable", "a bool", trainable, TypeError)
        if name is not None and (not isinstance(name, str) or not name):
            raise invalid("name", "None or a non-empty str", name, TypeError)
        self.trainable = trainable
        self._base_name = name or _snake_case(type(self).__name__)
        self._reuse = _reuse
        self._dtype = as_dtype(dtype) if dtype is not None else None
        self.built = False
        self._scope_name: str | None = None
        self._variables: list = []
        self._trainable: list = []
        self._losses: list = []
        self._updates: list = []

    # ------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The layer's scope name once built (``dense_1``), else the base name."""
        if self._scope_name:
            return self._scope_name.rsplit("/", 1)[-1]
        return self._base_name

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self) -> list:
        return list(self._variables)

    weights = variables

    @property
    def trainable_variables(self) -> list:
        return [v for v in self._variables if any(v is t for t in self._trainable)] \
            if self.trainable else []

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self) -> list:
        trainable = self.trainable_variables
        return [v for v in self._variables if not any(v is t for t in trainable)]

    non_trainable_weights = non_trainable_variables

    @property
    def losses(self) -> list:
        return list(self._losses)

    @property
    def updates(self) -> list:
        return list(self._updates)

    # ------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the variables for inputs of ``input_shape`` (a TensorShape)."""
        self.built = True

    def call(self, inputs, **kwargs):
        raise NotImplementedError

    def add_weight(self, name: str, shape, dtype=None, initializer=None, regularizer=None,
                   trainable: bool = True):
        """Create (or, under reuse, fetch) variable ``<scope>/<name>`` with ``get_variable``."""
        dtype = dtype or self._dtype or float32
        graph = get_default_graph()
        before = {id(v) for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES)}
        trainable = trainable and self.trainable
        var = get_variable(name, shape=list(shape), dtype=dtype, initializer=initializer,
                           trainable=trainable)
        self._variables.append(var)
        if trainable:
            self._trainable.append(var)
        if regularizer is not None and id(var) not in before:
            with name_scope(name + "/Regularizer"):
                loss = regularizer(var)
            if loss is not None:
                self._losses.append(loss)
                add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return var

    def add_update(self, update) -> None:
        self._updates.append(update)
        add_to_collection(GraphKeys.UPDATE_OPS, update)

    # ------------------------------------------------------------------
    def _input_dtype(self, inputs):
        if self._dtype is None:
            self._dtype = inputs.dtype if inputs.dtype.is_floating else float32
        return self._dtype

    def __call__(self, inputs, *args: Any, **kwargs: Any):
        """Build on the first call, then apply the layer to ``inputs``."""
        if inputs is None:
            raise invalid("inputs", "a tensor", inputs, TypeError)
        inputs = convert_to_tensor(inputs)
        dtype = self._input_dtype(inputs)
        if inputs.dtype != dtype:
            inputs = cast(inputs, dtype)
        if not self.built:
            if self._reuse:
                scope = variable_scope(self._base_name, reuse=self._reuse)
            else:
                scope = variable_scope(None, default_name=self._base_name)
            with scope as vs:
                self._scope_name = _scope_name(vs, self._base_name)
                self.build(inputs.shape)
                self.built = True
                return self.call(inputs, *args, **kwargs)
        with name_scope(self.name):
            return self.call(inputs, *args, **kwargs)


def _scope_name(vs: Any, fallback: str) -> str:
    name = getattr(vs, "name", None)
    if isinstance(name, str) and name:
        return name
    return fallback
