"""Update rules that have no fused ``Apply*`` op in the graph core, built from graph ops.

Owns the dense updates of Ftrl, Adadelta, ProximalAdagrad and ProximalGradientDescent
(the formulas of TF1's ``ApplyFtrl`` / ``ApplyFtrlV2``, ``ApplyAdadelta``,
``ApplyProximalAdagrad`` and ``ApplyProximalGradientDescent`` kernels). Each rule computes
every new value from the values at the start of the step, then writes them with ``assign``
ops: the plan compiler orders every write after all reads of the same variable, so the
step's gradients and the other new values see the old ones. Slower than a fused C op (a
few numpy passes and temporaries per variable), but exact. Must not: create variables or
hold state (the optimizer classes own the slots).

All hyper-parameters arrive as scalar tensors of the variable's dtype.
"""

from __future__ import annotations

from estcore.graph.ops import math_ops as _m
from estcore.graph.ops.array_ops import zeros_like
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.state_ops import assign, group

__all__ = [
    "apply_ftrl",
    "apply_adadelta",
    "apply_proximal_adagrad",
    "apply_proximal_gradient_descent",
]


def _shrink(prox, lr_scaled, l1, l2):
    """``sign(prox) * max(|prox| - lr * l1, 0) / (1 + lr * l2)`` (TF's proximal step;
    with ``l1 = 0`` it is ``prox / (1 + lr * l2)`` exactly)."""
    mag = _m.maximum(_m.abs(prox) - lr_scaled * l1, zeros_like(prox))
    return _m.sign(prox) * mag / (1.0 + lr_scaled * l2)


def apply_ftrl(var, accum, linear, grad, lr, l1, l2, lr_power, l2_shrinkage=None):
    """FTRL-proximal (McMahan et al. 2013), TF1's ``ApplyFtrl`` / ``ApplyFtrlV2``.

    ``g_s = grad + 2 * l2_shrinkage * var`` (``grad`` without shrinkage);
    ``accum_new = accum + grad**2``;
    ``linear += g_s - (accum_new**-p - accum**-p) / lr * var``;
    ``var = (sign(linear) * l1 - linear) / (accum_new**-p / lr + 2 * l2)`` where
    ``|linear| > l1``, else 0; ``accum = accum_new`` (``p`` is ``lr_power``).
    """
    v = convert_to_tensor(var)
    a = convert_to_tensor(accum)
    lin = convert_to_tensor(linear)
    g_s = grad if l2_shrinkage is None else grad + 2.0 * l2_shrinkage * v
    accum_new = a + _m.square(grad)
    neg_p = _m.negative(lr_power)
    accum_new_pow = _m.pow(accum_new, neg_p)
    lin_new = lin + g_s - (accum_new_pow - _m.pow(a, neg_p)) / lr * v
    quadratic = accum_new_pow / lr + 2.0 * l2
    pre = (_m.sign(lin_new) * l1 - lin_new) / quadratic
    var_new = _m.where(_m.greater(_m.abs(lin_new), l1), pre, zeros_like(pre))
    return group(assign(accum, accum_new), assign(linear, lin_new), assign(var, var_new))


def apply_adadelta(var, accum, accum_update, lr, rho, epsilon, grad):
    """Adadelta (Zeiler 2012), TF1's ``ApplyAdadelta``.

    ``accum = rho * accum + (1 - rho) * grad**2``;
    ``update = sqrt(accum_update + eps) / sqrt(accum + eps) * grad`` (new ``accum``);
    ``var -= lr * update``; ``accum_update = rho * accum_update + (1 - rho) * update**2``.
    """
    v = convert_to_tensor(var)
    a = convert_to_tensor(accum)
    au = convert_to_tensor(accum_update)
    accum_new = rho * a + (1.0 - rho) * _m.square(grad)
    update = _m.sqrt(au + epsilon) * _m.rsqrt(accum_new + epsilon) * grad
    var_new = v - lr * update
    au_new = rho * au + (1.0 - rho) * _m.square(update)
    return group(assign(accum, accum_new), assign(accum_update, au_new), assign(var, var_new))


def apply_proximal_adagrad(var, accum, lr, l1, l2, grad):
    """TF1's ``ApplyProximalAdagrad``: ``accum += grad**2``; ``lr_t = lr / sqrt(accum)``;
    ``prox = var - lr_t * grad``; ``var = sign(prox) * max(|prox| - lr_t * l1, 0) /
    (1 + lr_t * l2)``."""
    v = convert_to_tensor(var)
    accum_new = convert_to_tensor(accum) + _m.square(grad)
    lr_t = lr * _m.rsqrt(accum_new)
    var_new = _shrink(v - lr_t * grad, lr_t, l1, l2)
    return group(assign(accum, accum_new), assign(var, var_new))


def apply_proximal_gradient_descent(var, lr, l1, l2, grad):
    """TF1's ``ApplyProximalGradientDescent``: ``prox = var - lr * grad``;
    ``var = sign(prox) * max(|prox| - lr * l1, 0) / (1 + lr * l2)``."""
    v = convert_to_tensor(var)
    return assign(var, _shrink(v - lr * grad, lr, l1, l2))
