"""``AdagradDAOptimizer`` (TF1): Adagrad dual averaging, for sparse linear models.

Owns the hyper-parameters, the ``gradient_accumulator`` / ``gradient_squared_accumulator``
slots and the dense update (TF1's ``ApplyAdagradDA`` formula), built from graph ops as the
other composed updates are (:mod:`estcore.train._graph_updates`; no fused C kernel). Must
not: compute gradients or increment the global step (the base class's ``minimize`` does;
this optimizer only reads it).
"""

from __future__ import annotations

from typing import Any

from estcore._validation import invalid
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops.array_ops import zeros_like
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.ops.state_ops import assign, group
from estcore.graph.tensor import Tensor
from estcore.graph.variables import Variable
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["AdagradDAOptimizer"]


def apply_adagrad_da(var, g_acc, gg_acc, grad, lr, l1, l2, step, use_l1: bool):
    """TF1's ``ApplyAdagradDA``, with ``T`` the step count (global step + 1)::

        g_acc += grad;  gg_acc += grad**2
        var = -sign(g_acc) * lr * max(|g_acc| - l1 * T, 0) / (l2 * T * lr + sqrt(gg_acc))
              (l1 > 0; with l1 = 0: var = -g_acc * lr / (l2 * T * lr + sqrt(gg_acc)))

    The new values are computed from the step's start values, then written.
    """
    g_new = convert_to_tensor(g_acc) + grad
    gg_new = convert_to_tensor(gg_acc) + _m.square(grad)
    denominator = l2 * step * lr + _m.sqrt(gg_new)
    if use_l1:
        shrunk = _m.maximum(_m.abs(g_new) - l1 * step, zeros_like(g_new))
        var_new = _m.negative(_m.sign(g_new)) * lr * shrunk / denominator
    else:
        var_new = _m.negative(g_new) * lr / denominator
    return group(assign(g_acc, g_new), assign(gg_acc, gg_new), assign(var, var_new))


class AdagradDAOptimizer(Optimizer):
    """Adagrad dual averaging (TF1 ``tf.train.AdagradDAOptimizer``, Duchi et al. 2011).

    The weights are recomputed at each step from the sums of the gradients and of their
    squares (see :func:`apply_adagrad_da`), so an L1 strength > 0 keeps exact zeros: meant
    for sparse linear models. ``T`` is ``global_step + 1``, read when the update runs (pass
    the same ``global_step`` to ``minimize`` so that it advances).

    Slots (TF1 names): ``<var>/AdagradDA`` (``gradient_accumulator``, zeros) and
    ``<var>/AdagradDA_1`` (``gradient_squared_accumulator``, initialised to
    ``initial_gradient_squared_accumulator_value``).

    Args:
        learning_rate: a number >= 0, scalar tensor or callable.
        global_step: the global step variable or tensor (required, as TF1).
        initial_gradient_squared_accumulator_value: a number > 0.
        l1_regularization_strength: a number >= 0.
        l2_regularization_strength: a number >= 0.
        use_locking: accepted for TF1 compatibility.
        name: the optimizer's name (and the slots' suffix).

    Raises:
        ValueError / TypeError: a hyper-parameter of the wrong type or range, or no
            ``global_step``.
    """

    def __init__(self, learning_rate, global_step,
                 initial_gradient_squared_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "AdagradDA"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        if not isinstance(global_step, (Tensor, Variable)):
            raise invalid("global_step", "the global step variable or an integer tensor "
                          "(AdagradDA reads it at each update)", global_step, TypeError)
        init = initial_gradient_squared_accumulator_value
        check_hyper("initial_gradient_squared_accumulator_value", init, allow_tensor=False,
                    low=-float("inf"))
        if not init > 0:
            raise invalid("initial_gradient_squared_accumulator_value", "a number > 0", init)
        self._global_step = global_step
        self._initial = float(init)
        self._l1 = check_hyper("l1_regularization_strength", l1_regularization_strength)
        self._l2 = check_hyper("l2_regularization_strength", l2_regularization_strength)
        self._step: Any = None

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, "gradient_accumulator", self._name, 0.0)
            self._get_or_make_slot(v, "gradient_squared_accumulator", self._name,
                                   self._initial)

    def _prepare(self):
        self._step = {}

    def _step_as(self, dtype):
        """``global_step + 1`` in ``dtype`` (one tensor per dtype and apply_gradients)."""
        t = self._step.get(dtype)
        if t is None:
            step = convert_to_tensor(self._global_step)
            t = cast(step, dtype) + 1.0
            self._step[dtype] = t
        return t

    def _apply_dense(self, grad, var):
        dt = var.dtype
        l1 = self._l1
        # TF1 takes the l1 branch only when the strength is > 0 (a tensor: always).
        use_l1 = not (isinstance(l1, (int, float)) and l1 <= 0)
        g_acc = self.get_slot(var, "gradient_accumulator")
        gg_acc = self.get_slot(var, "gradient_squared_accumulator")
        return apply_adagrad_da(var, g_acc, gg_acc, grad,
                                self._hyper("learning_rate", self._learning_rate, dt),
                                self._hyper("l1", l1, dt), self._hyper("l2", self._l2, dt),
                                self._step_as(dt), use_l1)
