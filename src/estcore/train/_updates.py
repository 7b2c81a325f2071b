"""One update rule per optimizer family, as graph ops (TF1's ``Apply*`` kernels).

Each function returns the op that updates ``var`` (and its slots) in place.
When the graph core provides a fused update op (one C pass per variable) it is
used; otherwise the rule is composed from ``assign`` ops with the same formula.

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

import estcore as ec

__all__ = [
    "apply_gradient_descent",
    "apply_momentum",
    "apply_adagrad",
    "apply_rmsprop",
    "apply_adam",
]


def _fused(name: str):
    """The graph core's fused update op ``name`` (``estcore.graph.ops.state_ops``), or None."""
    try:
        from estcore.graph.ops import state_ops
    except ImportError:  # pragma: no cover - graph core without fused updates
        return None
    return getattr(state_ops, name, None)


def apply_gradient_descent(var, lr, grad):
    fused = _fused("apply_gradient_descent")
    if fused is not None:
        return fused(var, lr, grad)
    return ec.assign_sub(var, lr * grad)


def apply_momentum(var, accum, lr, grad, momentum, use_nesterov: bool = False):
    fused = _fused("apply_momentum")
    if fused is not None:
        return fused(var, accum, lr, grad, momentum, use_nesterov=use_nesterov)
    accum_t = ec.assign(accum, accum * momentum + grad)
    if use_nesterov:
        return ec.assign_sub(var, grad * lr + accum_t * momentum * lr)
    return ec.assign_sub(var, lr * accum_t)


def apply_adagrad(var, accum, lr, grad):
    fused = _fused("apply_adagrad")
    if fused is not None:
        return fused(var, accum, lr, grad)
    accum_t = ec.assign_add(accum, ec.square(grad))
    return ec.assign_sub(var, lr * grad * ec.rsqrt(accum_t))


def apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad, mg=None):
    """RMSProp; pass ``mg`` (the mean-gradient slot) for the centered variant."""
    if mg is None:
        fused = _fused("apply_rmsprop")
        if fused is not None:
            return fused(var, ms, mom, lr, rho, momentum, epsilon, grad)
    else:
        fused = _fused("apply_centered_rmsprop")
        if fused is not None:
            return fused(var, mg, ms, mom, lr, rho, momentum, epsilon, grad)
    ms_t = ec.assign(ms, rho * ms + (1.0 - rho) * ec.square(grad))
    denom = ms_t + epsilon
    if mg is not None:
        mg_t = ec.assign(mg, rho * mg + (1.0 - rho) * grad)
        denom = denom - ec.square(mg_t)
    mom_t = ec.assign(mom, momentum * mom + lr * grad / ec.sqrt(denom))
    return ec.assign_sub(var, mom_t)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    fused = _fused("apply_adam")
    if fused is not None:
        return fused(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad)
    lr_t = lr * ec.sqrt(1.0 - beta2_power) / (1.0 - beta1_power)
    m_t = ec.assign(m, beta1 * m + (1.0 - beta1) * grad)
    v_t = ec.assign(v, beta2 * v + (1.0 - beta2) * ec.square(grad))
    return ec.assign_sub(var, lr_t * m_t / (ec.sqrt(v_t) + epsilon))
