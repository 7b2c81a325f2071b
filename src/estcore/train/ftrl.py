"""``FtrlOptimizer`` (TF1): FTRL-proximal, the linear estimators' default optimizer.

Owns the hyper-parameters and the ``accum`` / ``linear`` slots; the update is built
from graph ops in :mod:`estcore.train._graph_updates` (the graph core has no fused
``ApplyFtrl``). Must not: compute gradients or touch the global step (the base class does).
"""

from __future__ import annotations

from estcore._validation import invalid
from estcore.graph.ops import sparse_updates
from estcore.train import _graph_updates
from estcore.train.optimizer import Optimizer, check_hyper

__all__ = ["FtrlOptimizer"]

_ANY = -float("inf")


class FtrlOptimizer(Optimizer):
    """FTRL-proximal (TF1 ``tf.train.FtrlOptimizer``, McMahan et al. 2013).

    Per step, with ``p = learning_rate_power``::

        g_s = grad + 2 * l2_shrinkage_regularization_strength * var
        accum_new = accum + grad**2
        linear += g_s - (accum_new**-p - accum**-p) / learning_rate * var
        var = (sign(linear) * l1 - linear) / (accum_new**-p / learning_rate + 2 * l2)
              if |linear| > l1 else 0
        accum = accum_new

    Slots (TF1 names): ``<var>/Ftrl`` (``accum``, initialised to
    ``initial_accumulator_value``; named ``accum_name`` when given) and ``<var>/Ftrl_1``
    (``linear``, zeros; ``linear_name``).

    Args:
        learning_rate: number > 0, scalar tensor or callable.
        learning_rate_power: number <= 0 (-0.5: the Adagrad-like schedule).
        initial_accumulator_value: number >= 0.
        l1_regularization_strength: number >= 0.
        l2_regularization_strength: number >= 0.
        use_locking: accepted for TF1 compatibility.
        name: optimizer name.
        accum_name, linear_name: slot names instead of ``name`` (TF1).
        l2_shrinkage_regularization_strength: number >= 0; an L2 penalty on the weights
            that enters the gradient (and not the accumulator).

    Raises:
        ValueError / TypeError: a hyper-parameter of the wrong type or out of range.
    """

    def __init__(self, learning_rate, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "Ftrl", accum_name: str | None = None,
                 linear_name: str | None = None,
                 l2_shrinkage_regularization_strength: float = 0.0):
        super().__init__(use_locking, name)
        self._learning_rate = check_hyper("learning_rate", learning_rate)
        if isinstance(learning_rate, (int, float)) and not learning_rate > 0:
            raise invalid("learning_rate", "a number > 0", learning_rate)
        check_hyper("learning_rate_power", learning_rate_power, low=_ANY)
        if not isinstance(learning_rate_power, (int, float)) or learning_rate_power > 0:
            raise invalid("learning_rate_power", "a number <= 0 (negative or zero)",
                          learning_rate_power)
        self._learning_rate_power = learning_rate_power
        self._initial_accumulator_value = float(check_hyper(
            "initial_accumulator_value", initial_accumulator_value, allow_tensor=False))
        self._l1 = check_hyper("l1_regularization_strength", l1_regularization_strength)
        self._l2 = check_hyper("l2_regularization_strength", l2_regularization_strength)
        self._l2_shrinkage = check_hyper("l2_shrinkage_regularization_strength",
                                         l2_shrinkage_regularization_strength)
        for arg, value in (("accum_name", accum_name), ("linear_name", linear_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise invalid(arg, "None or a non-empty str", value, TypeError)
        self._accum_name = accum_name
        self._linear_name = linear_name

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, "accum", self._accum_name or self._name,
                                   self._initial_accumulator_value)
            self._get_or_make_slot(v, "linear", self._linear_name or self._name, 0.0)

    def _apply_dense(self, grad, var):
        dt = var.dtype
        shrink = self._l2_shrinkage
        # TF1 uses ApplyFtrl (no shrinkage term) when the strength is a number <= 0.
        use_shrink = not (isinstance(shrink, (int, float)) and shrink <= 0)
        return _graph_updates.apply_ftrl(
            var, self.get_slot(var, "accum"), self.get_slot(var, "linear"), grad,
            self._hyper("learning_rate", self._learning_rate, dt),
            self._hyper("l1", self._l1, dt), self._hyper("l2", self._l2, dt),
            self._hyper("learning_rate_power", self._learning_rate_power, dt),
            self._hyper("l2_shrinkage", shrink, dt) if use_shrink else None)

    def _apply_sparse(self, grad, var):
        dt = var.dtype
        shrink = self._l2_shrinkage
        use_shrink = not (isinstance(shrink, (int, float)) and shrink <= 0)
        return sparse_updates.sparse_apply_ftrl(
            var, self.get_slot(var, "accum"), self.get_slot(var, "linear"),
            self._hyper("learning_rate", self._learning_rate, dt),
            self._hyper("l1", self._l1, dt), self._hyper("l2", self._l2, dt),
            self._hyper("learning_rate_power", self._learning_rate_power, dt),
            self._hyper("l2_shrinkage", shrink if use_shrink else 0.0, dt), grad)
