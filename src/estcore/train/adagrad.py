"""``AdagradOptimizer`` (TF1).

Owns the hyperparameters and the ``accumulator`` slot (initialised to
``initial_accumulator_value``); the update is the graph core's ``ApplyAdagrad`` through
:mod:`estcore.train._updates`. Must not: compute gradients or touch the global step (the
base class does).
"""

from __future__ import annotations

from estcore._validation import invalid
from estcore.graph.ops import sparse_updates
from estcore.train import _updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["AdagradOptimizer"]


class AdagradOptimizer(Optimizer):
    """Adagrad (TF1 ``tf.train.AdagradOptimizer``).

    ``accum += grad**2``; ``var -= learning_rate * grad / sqrt(accum)``. Slot
    ``<var>/Adagrad``, initialised to ``initial_accumulator_value``.

    Args:
        learning_rate: number >= 0, scalar tensor or callable.
        initial_accumulator_value: a number > 0.
    """

    def __init__(self, learning_rate, initial_accumulator_value: float = 0.1,
                 use_locking: bool = False, name: str = "Adagrad"):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        check_hyper("initial_accumulator_value", initial_accumulator_value, allow_tensor=False,
                    low=-float("inf"))  # type and finiteness here; the range below
        if not initial_accumulator_value > 0:
            raise invalid("initial_accumulator_value", "a number > 0",
                          initial_accumulator_value)
        self._initial_accumulator_value = float(initial_accumulator_value)

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, "accumulator", self._name,
                                   self._initial_accumulator_value)

    def _apply_dense(self, grad, var):
        return _updates.apply_adagrad(
            var, self.get_slot(var, "accumulator"),
            self._hyper("learning_rate", self._learning_rate, var.dtype), grad)

    def _apply_sparse(self, grad, var):
        return sparse_updates.sparse_apply_adagrad(
            var, self.get_slot(var, "accumulator"),
            self._hyper("learning_rate", self._learning_rate, var.dtype), grad)
