"""``GradientDescentOptimizer``: ``var -= learning_rate * grad`` (TF1).

No slots; the update is the graph core's ``ApplyGradientDescent`` through
:mod:`estcore.train._updates`. Must not: compute gradients or touch the global step
(the base class does).
"""

from __future__ import annotations

from estcore.graph.ops import sparse_updates
from estcore.train import _updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["GradientDescentOptimizer"]


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent (TF1 ``tf.train.GradientDescentOptimizer``).

    Args:
        learning_rate: a number >= 0, a scalar tensor (e.g. a decay schedule) or
            a callable returning one.
        use_locking: accepted for TF1 compatibility.
        name: optimizer name.
    """

    def __init__(self, learning_rate, use_locking: bool = False,
                 name: str = "GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)

    def _apply_dense(self, grad, var):
        lr = self._hyper("learning_rate", self._learning_rate, var.dtype)
        return _updates.apply_gradient_descent(var, lr, grad)

    def _apply_sparse(self, grad, var):
        lr = self._hyper("learning_rate", self._learning_rate, var.dtype)
        return sparse_updates.sparse_apply_gradient_descent(var, lr, grad)
