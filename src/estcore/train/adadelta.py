"""``AdadeltaOptimizer`` (TF1).

Owns the hyper-parameters and the ``accum`` / ``accum_update`` slots; the update is
built from graph ops in :mod:`estcore.train._graph_updates` (the graph core has no fused
``ApplyAdadelta``). Must not: compute gradients or touch the global step (the base class
does).
"""

from __future__ import annotations

from estcore.train import _graph_updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["AdadeltaOptimizer"]


class AdadeltaOptimizer(Optimizer):
    """Adadelta (TF1 ``tf.train.AdadeltaOptimizer``, Zeiler 2012).

    ``accum = rho * accum + (1 - rho) * grad**2``;
    ``update = sqrt(accum_update + epsilon) / sqrt(accum + epsilon) * grad``;
    ``var -= learning_rate * update``;
    ``accum_update = rho * accum_update + (1 - rho) * update**2``.
    The paper's form is ``learning_rate=1.0``; TF1's default (kept) is 0.001.

    Slots (TF1 names): ``<var>/Adadelta`` (``accum``) and ``<var>/Adadelta_1``
    (``accum_update``), both zeros.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        rho: decay rate, number in [0, 1].
        epsilon: number >= 0.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking: bool = False,
                 name: str = "Adadelta"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        self._rho = check_hyper("rho", rho, high=1.0, high_inclusive=True)
        self._epsilon = check_hyper("epsilon", epsilon)

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _apply_dense(self, grad, var):
        dt = var.dtype
        return _graph_updates.apply_adadelta(
            var, self.get_slot(var, "accum"), self.get_slot(var, "accum_update"),
            self._hyper("learning_rate", self._learning_rate, dt),
            self._hyper("rho", self._rho, dt), self._hyper("epsilon", self._epsilon, dt), grad)
