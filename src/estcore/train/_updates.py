"""One update rule per optimizer family: the graph core's fused ``Apply*`` ops.

Owns the mapping from an optimizer family to its update op
(:mod:`estcore.graph.ops.state_ops`: one C pass per variable, which updates ``var``
and its slots in place and returns the update). Must not build updates from
``assign`` ops: the plan compiler fuses only the ``Apply*`` ops.

Formulas (``g`` the gradient, all hyper-parameters already in ``var``'s dtype):

* gradient descent: ``var -= lr * g``
* momentum: ``accum = momentum * accum + g``; ``var -= lr * accum``
  (Nesterov: ``var -= lr * g + lr * momentum * accum``)
* Adagrad: ``accum += g**2``; ``var -= lr * g / sqrt(accum)``
* RMSProp: ``ms = rho * ms + (1 - rho) * g**2``;
  ``mom = momentum * mom + lr * g / sqrt(ms + epsilon)``; ``var -= mom``
  (centered: ``mg = rho * mg + (1 - rho) * g`` and ``sqrt(ms - mg**2 + epsilon)``)
* Adam: ``lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)``;
  ``m = beta1 * m + (1 - beta1) * g``; ``v = beta2 * v + (1 - beta2) * g**2``;
  ``var -= lr_t * m / (sqrt(v) + epsilon)``
"""

from __future__ import annotations

from estcore.graph.ops import state_ops

__all__ = [
    "apply_gradient_descent",
    "apply_momentum",
    "apply_adagrad",
    "apply_rmsprop",
    "apply_adam",
]


def apply_gradient_descent(var, lr, grad):
    return state_ops.apply_gradient_descent(var, lr, grad)


def apply_momentum(var, accum, lr, grad, momentum, use_nesterov: bool = False):
    return state_ops.apply_momentum(var, accum, lr, grad, momentum, use_nesterov=use_nesterov)


def apply_adagrad(var, accum, lr, grad):
    return state_ops.apply_adagrad(var, accum, lr, grad)


def apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad, mg=None):
    """RMSProp; centered (TF's ``ApplyCenteredRMSProp``) when ``mg`` is given."""
    if mg is not None:
        return state_ops.apply_centered_rmsprop(var, mg, ms, mom, lr, rho, momentum, epsilon,
                                                grad)
    return state_ops.apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    return state_ops.apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
                                grad)
