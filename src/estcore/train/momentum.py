"""``MomentumOptimizer`` (TF1), optionally Nesterov.

Owns the hyperparameters and the ``momentum`` slot; the update is the graph core's
``ApplyMomentum`` through :mod:`estcore.train._updates`. Must not: compute gradients or
touch the global step (the base class does).
"""

from __future__ import annotations

from estcore._validation import check_bool
from estcore.graph.ops import sparse_updates
from estcore.train import _updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["MomentumOptimizer"]


class MomentumOptimizer(Optimizer):
    """Momentum (TF1 ``tf.train.MomentumOptimizer``).

    ``accum = momentum * accum + grad``; ``var -= learning_rate * accum``
    (Nesterov: ``var -= learning_rate * (grad + momentum * accum)``). Slot
    ``<var>/Momentum`` (zeros).

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        momentum: number >= 0, scalar tensor or callable.
        use_nesterov: bool.
    """

    def __init__(self, learning_rate, momentum, use_locking: bool = False,
                 name: str = "Momentum", use_nesterov: bool = False):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        self._momentum = check_hyper("momentum", momentum)
        self._use_nesterov = check_bool("use_nesterov", use_nesterov)

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad, var):
        dtype = var.dtype
        return _updates.apply_momentum(
            var, self.get_slot(var, "momentum"),
            self._hyper("learning_rate", self._learning_rate, dtype), grad,
            self._hyper("momentum", self._momentum, dtype), use_nesterov=self._use_nesterov)

    def _apply_sparse(self, grad, var):
        dtype = var.dtype
        return sparse_updates.sparse_apply_momentum(
            var, self.get_slot(var, "momentum"),
            self._hyper("learning_rate", self._learning_rate, dtype),
            self._hyper("momentum", self._momentum, dtype), grad,
            use_nesterov=self._use_nesterov)
