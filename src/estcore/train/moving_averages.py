"""``ExponentialMovingAverage`` (TF1 ``tf.train.ExponentialMovingAverage``) and
``assign_moving_average``.

Owns the shadow variables (``<variable scope>/<var>/<name>``, TF1's slot names;
non-trainable, global: checkpointed and warm-started like any variable), the decay rule and
the update op; ``variables_to_restore`` maps checkpoint names to variables so that a
``Saver`` restores the averages into the model's own variables (TF1's evaluation recipe).
Must not: touch the optimizers or the global step (``num_updates`` is only read).
"""

from __future__ import annotations

from typing import Any

from estcore._validation import invalid
from estcore.graph.dtypes import float32
from estcore.graph.initializers import zeros_initializer
from estcore.graph.ir import (
    GraphKeys,
    add_to_collection,
    control_dependencies,
    get_collection,
    get_default_graph,
)
from estcore.graph.ops import math_ops
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast, minimum, truediv
from estcore.graph.ops.state_ops import assign, assign_add, assign_sub, group
from estcore.graph.tensor import Tensor
from estcore.graph.variables import (
    Variable,
    VariableScope,
    get_variable,
    get_variable_scope,
    name_scope,
    variable_scope,
)
from estcore.train.optimizer import _unique_name

__all__ = ["ExponentialMovingAverage", "assign_moving_average"]


def _key(x: Any) -> int:
    return id(x.op) if isinstance(x, Variable) else id(x)


def _as_decay(decay: Any, dtype):
    t = convert_to_tensor(decay)
    return t if t.dtype == dtype else cast(t, dtype)


def assign_moving_average(variable, value, decay, zero_debias: bool = True, name=None):
    """``variable -= (variable - value) * (1 - decay)`` (TF1
    ``tf.train.assign_moving_average``; ``zero_debias`` is honoured by
    :class:`ExponentialMovingAverage` for tensors, not here).

    Returns:
        The updated variable's value.
    """
    with name_scope(name or "AssignMovingAvg"):
        one_minus = 1.0 - _as_decay(decay, variable.dtype)
        value = convert_to_tensor(value)
        if value.dtype != variable.dtype:
            value = cast(value, variable.dtype)
        return assign_sub(variable, (variable - value) * one_minus)


def _exact_variable(name: str, initializer, dtype=None, shape=None, reuse=None):
    """A non-trainable global variable named exactly ``name``, outside any control
    dependency (TF1's ``init_scope``); ``reuse`` as ``get_variable``'s."""
    graph = get_default_graph()
    with graph.control_dependencies(None), \
            variable_scope(VariableScope("", reuse=reuse), auxiliary_name_scope=False):
        return get_variable(name, shape=shape, dtype=dtype, initializer=initializer,
                            trainable=False)


def _create_slot(primary, name: str, initializer, dtype=None, shape=None):
    """TF1's ``slot_creator``: the variable ``<current variable scope>/<primary op
    name>/<name>``, the scope opened as ``variable_scope(None, default_name=...)`` (so
    ``_1``, ``_2``, ... once that scope was opened before). The primary's op name already
    holds its own scopes, so under ``variable_scope("bn1")`` the average of
    ``bn1/moments/Squeeze`` is ``bn1/bn1/moments/Squeeze/ExponentialMovingAverage``, as
    TF1 writes it in checkpoints."""
    # No name scope of its own (TF1 opens one named as the variable, which estcore's
    # exact-name guard would then refuse): the variable's ops are under its name anyway.
    with get_default_graph().control_dependencies(None), \
            variable_scope(None, default_name=f"{primary.op.name}/{name}",
                           auxiliary_name_scope=False) as vs:
        return _exact_variable(vs.name, initializer, dtype, shape, reuse=vs.reuse)


class ExponentialMovingAverage:
    """Moving averages of variables or tensors (TF1 ``tf.train.ExponentialMovingAverage``).

    ``apply(var_list)`` creates one shadow variable per item and returns the op that updates
    them all: ``shadow -= (shadow - value) * (1 - decay)``. With ``num_updates`` the decay is
    ``min(decay, (1 + num_updates) / (10 + num_updates))`` (a slower start).

    Shadow variables (TF1's names and placement): ``<scope>/<var>/<name>`` for a variable,
    created with the variable's initial value and added (the variable, as TF) to
    ``MOVING_AVERAGE_VARIABLES``; ``<scope>/<tensor op>/<name>`` for a tensor,
    zero-initialised, and with ``zero_debias`` corrected by ``<scope>/<shadow>/biased`` and
    ``<scope>/<shadow>/local_step`` (Adam's bias correction). ``<scope>`` is the variable
    scope ``apply`` is called in (empty at the top: ``dense/kernel/ExponentialMovingAverage``;
    inside ``variable_scope("bn1")``, ``bn1/bn1/moments/Squeeze/ExponentialMovingAverage``);
    a second shadow of the same item and name gets ``_1``. All are non-trainable globals:
    saved in checkpoints, restored, warm-started.

    Args:
        decay: a number in [0, 1] or a scalar tensor (typically 0.99 - 0.9999).
        num_updates: optional scalar tensor (the global step), read at each update.
        zero_debias: debias the averages of tensors (not of variables, as TF).
        name: the shadow variables' suffix and the update op's name scope.

    Raises:
        ValueError: ``decay`` is a number outside [0, 1].
    """

    def __init__(self, decay, num_updates=None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage"):
        if isinstance(decay, bool) or (isinstance(decay, (int, float))
                                       and not 0.0 <= decay <= 1.0):
            raise invalid("decay", "a number in [0, 1] or a scalar tensor", decay)
        if not isinstance(name, str) or not name:
            raise invalid("name", "a non-empty str", name, TypeError)
        self._decay = decay
        self._num_updates = num_updates
        self._zero_debias = bool(zero_debias)
        self._name = name
        self._averages: dict[int, Variable] = {}
        self._sources: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list=None):
        """Create the shadow variables of ``var_list`` and return the op updating them.

        Args:
            var_list: variables and/or float tensors of fully defined shape (default: every
                trainable variable).

        Returns:
            An op (run it after each train step, e.g. under ``control_dependencies([train_op])``).

        Raises:
            TypeError: an item whose dtype is not floating.
            ValueError: an item already averaged by this object, or listed twice.
        """
        if var_list is None:
            var_list = get_collection(GraphKeys.TRAINABLE_VARIABLES)
        items = list(var_list)
        seen: set[int] = set()
        debiased: set[int] = set()
        for item in items:
            if not isinstance(item, (Variable, Tensor)):
                raise invalid("var_list", "variables or tensors", item, TypeError)
            if not item.dtype.is_floating:
                raise TypeError(f"The variables must be half, float, or double: {item.name} "
                                f"has dtype {item.dtype.name}")
            if _key(item) in self._averages or _key(item) in seen:
                raise ValueError(f"Moving average already computed for: {item.name}")
            seen.add(_key(item))
            if isinstance(item, Variable):
                avg = _create_slot(item, self._name, item.initial_value)
                add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, item)
            else:
                if not item.shape.is_fully_defined():
                    raise invalid("var_list", "tensors of fully defined shape",
                                  f"{item.name} of shape {item.shape}")
                avg = _create_slot(item, self._name, zeros_initializer(), dtype=item.dtype,
                                   shape=item.shape.as_list())
                if self._zero_debias:
                    debiased.add(_key(item))
            self._averages[_key(item)] = avg
            self._sources[_key(item)] = item
        with name_scope(self._name) as scope:
            decay = convert_to_tensor(self._decay)
            if decay.dtype != float32 and not decay.dtype.is_floating:
                decay = cast(decay, float32)
            if self._num_updates is not None:
                n = cast(convert_to_tensor(self._num_updates), decay.dtype)
                decay = minimum(decay, (1.0 + n) / (10.0 + n))
            updates = []
            for item in items:
                avg = self._averages[_key(item)]
                if _key(item) in debiased:
                    updates.append(self._debiased_update(avg, item, decay))
                else:
                    updates.append(assign_moving_average(avg, item, decay))
            return group(*updates, name=scope.rstrip("/"))

    def _debiased_update(self, avg: Variable, value, decay):
        """TF1's zero-debiased average of a tensor: ``biased`` is the plain average from 0,
        ``local_step`` counts updates, ``avg = biased / (1 - decay**local_step)``."""
        dtype = avg.dtype
        shape = avg.shape.as_list()
        # TF1 opens ``variable_scope(<average's name>)`` under the current variable scope:
        # ``<scope>/<average>/biased`` (``biased_1``... when taken).
        scope = get_variable_scope()
        prefix = f"{scope.name}/{avg.op.name}" if scope.name else avg.op.name
        graph = get_default_graph()

        def name(leaf: str) -> str:
            full = f"{prefix}/{leaf}"
            return full if scope.reuse is not None else _unique_name(graph, full)
        biased = _exact_variable(name("biased"), zeros_initializer(), dtype, shape,
                                 reuse=scope.reuse)
        local_step = _exact_variable(name("local_step"), zeros_initializer(), dtype, [],
                                     reuse=scope.reuse)
        with name_scope("ZeroDebias"):
            d = _as_decay(decay, dtype)
            new_biased = assign_moving_average(biased, value, d)
            new_step = assign_add(local_step, constant(1.0, dtype=dtype))
            with control_dependencies([new_biased, new_step]):
                unbiased = truediv(new_biased, 1.0 - math_ops.pow(d, new_step))
                return assign(avg, unbiased)

    def average(self, var):
        """The shadow variable of ``var`` (a variable or tensor given to :meth:`apply`), or
        None."""
        return self._averages.get(_key(var))

    def average_name(self, var) -> str:
        """The name of ``var``'s shadow variable (its checkpoint name): the name
        :meth:`apply` gave it, else (as TF1) ``<var op name>/<name>`` made unique in the
        graph (in the current name scope) without taking it."""
        avg = self._averages.get(_key(var))
        if avg is not None:
            return avg.op.name
        return get_default_graph().unique_name(f"{var.op.name}/{self._name}",
                                               mark_as_used=False)

    def variables_to_restore(self, moving_avg_variables=None) -> dict[str, Any]:
        """``checkpoint name -> variable`` for a ``Saver`` that loads the averages into the
        variables (TF1's evaluation recipe: ``Saver(ema.variables_to_restore())``).

        Args:
            moving_avg_variables: the averaged variables (default: the trainable variables
                plus ``MOVING_AVERAGE_VARIABLES``); they map from their shadow's name, every
                other global variable from its own name.
        """
        if moving_avg_variables is None:
            moving_avg_variables = (get_collection(GraphKeys.TRAINABLE_VARIABLES)
                                    + get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES))
        averaged = {id(v.op): v for v in moving_avg_variables}
        out: dict[str, Any] = {}
        for v in averaged.values():
            out[self.average_name(v)] = v
        for v in get_collection(GraphKeys.GLOBAL_VARIABLES):
            if id(v.op) not in averaged and v.op.name not in out:
                out[v.op.name] = v
        return out
