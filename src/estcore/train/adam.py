"""``AdamOptimizer`` (TF1).

Owns the slots (``m``, ``v``), the ``beta1_power`` / ``beta2_power`` accumulators and
their update in ``_finish``; the variable update is the graph core's ``ApplyAdam``
through :mod:`estcore.train._updates`. Must not: compute gradients or touch the global
step (the base class does).
"""

from __future__ import annotations

from estcore.graph.ir import control_dependencies
from estcore.graph.ops import sparse_updates
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.ops.state_ops import assign, group
from estcore.train import _updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["AdamOptimizer"]


class AdamOptimizer(Optimizer):
    """Adam (TF1 ``tf.train.AdamOptimizer``, Kingma & Ba 2015, TF1's epsilon placement).

    ``lr_t = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)``;
    ``m = beta1 * m + (1 - beta1) * grad``; ``v = beta2 * v + (1 - beta2) * grad**2``;
    ``var -= lr_t * m / (sqrt(v) + epsilon)``.

    Variables (TF1 names): slots ``<var>/Adam`` (m) and ``<var>/Adam_1`` (v);
    ``beta1_power`` and ``beta2_power`` (non-trainable scalars, multiplied by
    ``beta1`` / ``beta2`` after every step; named in the name scope of the
    ``minimize`` call, e.g. ``train/beta1_power``, and one pair per graph, as
    TF1's). Difference from TF1: the powers
    take the dtype of the first variable (by name) instead of always float32,
    so float64 models keep full precision.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        beta1, beta2: numbers in [0, 1).
        epsilon: number >= 0.
    """

    def __init__(self, learning_rate=0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str = "Adam"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        self._beta1 = check_hyper("beta1", beta1, high=1.0, allow_tensor=False)
        self._beta2 = check_hyper("beta2", beta2, high=1.0, allow_tensor=False)
        self._epsilon = check_hyper("epsilon", epsilon)

    def _get_beta_accumulators(self, graph):
        return (self._get_non_slot_variable("beta1_power", graph),
                self._get_non_slot_variable("beta2_power", graph))

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(float(self._beta1), "beta1_power", first_var)
        self._create_non_slot_variable(float(self._beta2), "beta2_power", first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _update_inputs(self, var) -> tuple:
        """``(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon)`` in the
        variable's dtype: the inputs of the dense and the sparse update alike."""
        dtype = var.dtype
        beta1_power, beta2_power = self._get_beta_accumulators(var.graph)
        b1p = convert_to_tensor(beta1_power)
        b2p = convert_to_tensor(beta2_power)
        if b1p.dtype != dtype:
            b1p, b2p = cast(b1p, dtype), cast(b2p, dtype)
        return (var, self.get_slot(var, "m"), self.get_slot(var, "v"), b1p, b2p,
                self._hyper("learning_rate", self._learning_rate, dtype),
                self._hyper("beta1", self._beta1, dtype),
                self._hyper("beta2", self._beta2, dtype),
                self._hyper("epsilon", self._epsilon, dtype))

    def _apply_dense(self, grad, var):
        return _updates.apply_adam(*self._update_inputs(var), grad)

    def _apply_sparse(self, grad, var):
        """Lazy sparse Adam: only the rows in ``grad`` update their ``m``, ``v`` and value
        (``tf.contrib.opt.LazyAdamOptimizer``'s rule). TF1's AdamOptimizer instead decays
        ``m`` and ``v`` of every row on each step, O(vocabulary) per step; estcore keeps a
        sparse step's cost independent of the vocabulary size (documented difference)."""
        return sparse_updates.sparse_apply_adam(*self._update_inputs(var), grad)

    def _finish(self, update_ops, name):
        if not update_ops:
            return group(name=name)
        beta1_power, beta2_power = self._get_beta_accumulators(update_ops[0].graph)
        with control_dependencies(update_ops):
            b1 = constant(float(self._beta1), dtype=beta1_power.dtype)
            b2 = constant(float(self._beta2), dtype=beta2_power.dtype)
            update_beta1 = assign(beta1_power, beta1_power * b1)
            update_beta2 = assign(beta2_power, beta2_power * b2)
        return group(*update_ops, update_beta1, update_beta2, name=name)
