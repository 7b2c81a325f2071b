"""``ProximalAdagradOptimizer`` and ``ProximalGradientDescentOptimizer`` (TF1).

Owns their hyper-parameters and ProximalAdagrad's ``accumulator`` slot; the updates are
built from graph ops in :mod:`estcore.train._graph_updates` (the graph core has no fused
``ApplyProximal*``). Must not: compute gradients or touch the global step (the base class
does).
"""

from __future__ import annotations

from estcore._validation import invalid
from estcore.train import _graph_updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["ProximalAdagradOptimizer", "ProximalGradientDescentOptimizer"]


class ProximalAdagradOptimizer(Optimizer):
    """Adagrad with an L1/L2 proximal step (TF1 ``tf.train.ProximalAdagradOptimizer``).

    ``accum += grad**2``; ``lr_t = learning_rate / sqrt(accum)``;
    ``prox = var - lr_t * grad``;
    ``var = sign(prox) * max(|prox| - lr_t * l1, 0) / (1 + lr_t * l2)``.
    Slot ``<var>/ProximalAdagrad`` (``accumulator``), initialised to
    ``initial_accumulator_value``.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        initial_accumulator_value: number > 0.
        l1_regularization_strength, l2_regularization_strength: numbers >= 0.
    """

    def __init__(self, learning_rate, initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "ProximalAdagrad"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        check_hyper("initial_accumulator_value", initial_accumulator_value, allow_tensor=False,
                    low=-float("inf"))
        if not initial_accumulator_value > 0:
            raise invalid("initial_accumulator_value", "a number > 0",
                          initial_accumulator_value)
        self._initial_accumulator_value = float(initial_accumulator_value)
        self._l1 = check_hyper("l1_regularization_strength", l1_regularization_strength)
        self._l2 = check_hyper("l2_regularization_strength", l2_regularization_strength)

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, "accumulator", self._name,
                                   self._initial_accumulator_value)

    def _apply_dense(self, grad, var):
        dt = var.dtype
        return _graph_updates.apply_proximal_adagrad(
            var, self.get_slot(var, "accumulator"),
            self._hyper("learning_rate", self._learning_rate, dt),
            self._hyper("l1", self._l1, dt), self._hyper("l2", self._l2, dt), grad)


class ProximalGradientDescentOptimizer(Optimizer):
    """Gradient descent with an L1/L2 proximal step (TF1
    ``tf.train.ProximalGradientDescentOptimizer``).

    ``prox = var - learning_rate * grad``;
    ``var = sign(prox) * max(|prox| - learning_rate * l1, 0) / (1 + learning_rate * l2)``.
    No slots.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        l1_regularization_strength, l2_regularization_strength: numbers >= 0.
    """

    def __init__(self, learning_rate, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "ProximalGradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        self._l1 = check_hyper("l1_regularization_strength", l1_regularization_strength)
        self._l2 = check_hyper("l2_regularization_strength", l2_regularization_strength)

    def _apply_dense(self, grad, var):
        dt = var.dtype
        return _graph_updates.apply_proximal_gradient_descent(
            var, self._hyper("learning_rate", self._learning_rate, dt),
            self._hyper("l1", self._l1, dt), self._hyper("l2", self._l2, dt), grad)
