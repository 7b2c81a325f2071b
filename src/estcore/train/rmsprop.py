"""``RMSPropOptimizer`` (TF1), optionally centered.

Owns the hyperparameters and the ``rms`` / ``momentum`` (and, centered, ``mg``)
slots; the update is the graph core's ``ApplyRMSProp`` / ``ApplyCenteredRMSProp``
through :mod:`estcore.train._updates`. Must not: compute gradients or touch the global
step (the base class does).
"""

from __future__ import annotations

from estcore._validation import check_bool
from estcore.graph.ops import sparse_updates
from estcore.train import _updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["RMSPropOptimizer"]


class RMSPropOptimizer(Optimizer):
    """RMSProp (TF1 ``tf.train.RMSPropOptimizer``).

    ``ms = decay * ms + (1 - decay) * grad**2``;
    ``mom = momentum * mom + learning_rate * grad / sqrt(ms + epsilon)``;
    ``var -= mom``. Centered: ``mg = decay * mg + (1 - decay) * grad`` and the
    denominator is ``sqrt(ms - mg**2 + epsilon)``.

    Slots (TF1 names): ``<var>/RMSProp`` (``rms``, initialised to ONES as in
    TF1), then ``<var>/RMSProp_1`` (``mg``, centered only) and the next one
    (``momentum``): non-centered ``RMSProp_1``, centered ``RMSProp_2``.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        decay: number in [0, 1].
        momentum: number >= 0.
        epsilon: number >= 0.
        centered: bool.
    """

    def __init__(self, learning_rate, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, use_locking: bool = False, centered: bool = False,
                 name: str = "RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        self._decay = check_hyper("decay", decay, high=1.0, high_inclusive=True)
        self._momentum = check_hyper("momentum", momentum)
        self._epsilon = check_hyper("epsilon", epsilon)
        self._centered = check_bool("centered", centered)

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, "rms", self._name, 1.0)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _update_inputs(self, var) -> tuple:
        """``(var, rms, momentum, lr, decay, momentum, epsilon)`` in the variable's dtype:
        the inputs of the dense and the sparse update alike."""
        dtype = var.dtype
        return (var, self.get_slot(var, "rms"), self.get_slot(var, "momentum"),
                self._hyper("learning_rate", self._learning_rate, dtype),
                self._hyper("decay", self._decay, dtype),
                self._hyper("momentum", self._momentum, dtype),
                self._hyper("epsilon", self._epsilon, dtype))

    def _mg(self, var):
        return self.get_slot(var, "mg") if self._centered else None

    def _apply_dense(self, grad, var):
        return _updates.apply_rmsprop(*self._update_inputs(var), grad, mg=self._mg(var))

    def _apply_sparse(self, grad, var):
        return sparse_updates.sparse_apply_rmsprop(*self._update_inputs(var), grad,
                                                   mg=self._mg(var))
