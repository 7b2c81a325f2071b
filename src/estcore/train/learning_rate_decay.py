"""Learning-rate schedules as graph ops on ``global_step`` (TF1 ``tf.train.*_decay``).

Each returns a scalar tensor of the dtype of ``learning_rate`` (float32 for a
Python number) that an optimizer accepts as its ``learning_rate``; the value
follows ``global_step`` every time the train op runs.

Must not: keep state in Python (the value is computed in the graph from
``global_step``); assign to ``global_step``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from estcore._validation import check_bool, invalid
from estcore.graph.dtypes import float32
from estcore.graph.ops import math_ops
from estcore.graph.ops.array_ops import identity, zeros_like
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import (
    add,
    cast,
    cos,
    equal,
    exp,
    floor,
    floordiv,
    less_equal,
    log,
    minimum,
    multiply,
    truediv,
    where,
)
from estcore.graph.ops.random_ops import random_normal
from estcore.graph.tensor import Tensor
from estcore.graph.variables import Variable, name_scope

__all__ = [
    "exponential_decay",
    "natural_exp_decay",
    "inverse_time_decay",
    "piecewise_constant",
    "polynomial_decay",
    "cosine_decay",
    "cosine_decay_restarts",
    "linear_cosine_decay",
    "noisy_linear_cosine_decay",
]


def _require_step(global_step: Any, fn: str):
    if global_step is None:
        raise ValueError(f"global_step is required for {fn}.")
    return convert_to_tensor(global_step)


def _float_tensor(value: Any, name: str):
    if isinstance(value, (Tensor, Variable)):
        t = convert_to_tensor(value)
        if not t.dtype.is_floating:
            t = cast(t, float32)
        return t
    if not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or not math.isfinite(float(value)):
        raise invalid(name, "a finite number or a scalar floating tensor", value, TypeError)
    return constant(float(value), dtype=float32)


def _positive(value: Any, name: str):
    if isinstance(value, (Tensor, Variable)):
        return value
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise invalid(name, "a positive number", value)
    return value


def _as(value: Any, dtype):
    if isinstance(value, (Tensor, Variable)):
        t = convert_to_tensor(value)
        return t if t.dtype == dtype else cast(t, dtype)
    return constant(np.asarray(value, dtype=dtype.as_numpy_dtype))


def _progress(global_step, decay_steps, staircase: bool, dtype):
    """``global_step / decay_steps`` in ``dtype``, floored when ``staircase``."""
    p = _as(global_step, dtype) / _as(decay_steps, dtype)
    if staircase:
        p = floordiv(p, constant(np.asarray(1.0, dtype=dtype.as_numpy_dtype)))
    return p


def _step_decay(fn: str, default_name: str, learning_rate, global_step, decay_steps,
                decay_rate, staircase: bool, name: str | None, formula):
    """The shared body of the three ``decay_rate``-by-progress schedules.

    ``formula(lr, rate, p, name)`` builds the decayed value (its last op named
    ``name``) from the learning rate, ``decay_rate`` and
    ``p = global_step / decay_steps`` (floored with ``staircase``), all in the
    learning rate's dtype.
    """
    step = _require_step(global_step, fn)
    _positive(decay_steps, "decay_steps")
    check_bool("staircase", staircase)
    with name_scope(name or default_name):
        lr = _float_tensor(learning_rate, "learning_rate")
        p = _progress(step, decay_steps, staircase, lr.dtype)
        return formula(lr, _as(decay_rate, lr.dtype), p, name)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate,
                      staircase: bool = False, name: str | None = None):
    """``learning_rate * decay_rate ** (global_step / decay_steps)``.

    With ``staircase=True`` the exponent is floored (the rate drops every
    ``decay_steps`` steps).

    Raises:
        ValueError: ``global_step`` is None.
    """
    return _step_decay("exponential_decay", "ExponentialDecay", learning_rate, global_step,
                       decay_steps, decay_rate, staircase, name,
                       lambda lr, rate, p, n: multiply(lr, math_ops.pow(rate, p), name=n))


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate,
                      staircase: bool = False, name: str | None = None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)`` (floored with staircase)."""
    return _step_decay("natural_exp_decay", "NaturalExpDecay", learning_rate, global_step,
                       decay_steps, decay_rate, staircase, name,
                       lambda lr, rate, p, n: multiply(lr, exp(-rate * p), name=n))


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate,
                       staircase: bool = False, name: str | None = None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)`` (floored with staircase)."""
    return _step_decay("inverse_time_decay", "InverseTimeDecay", learning_rate, global_step,
                       decay_steps, decay_rate, staircase, name,
                       lambda lr, rate, p, n: truediv(lr, 1.0 + rate * p, name=n))


def piecewise_constant(x, boundaries, values, name: str | None = None):
    """Step function of ``x``: ``values[0]`` while ``x <= boundaries[0]``, ``values[i]``
    while ``boundaries[i-1] < x <= boundaries[i]``, ``values[-1]`` after the last.

    Args:
        x: scalar tensor (typically ``global_step``).
        boundaries: increasing list of numbers (converted to ``x``'s dtype).
        values: list of ``len(boundaries) + 1`` numbers (the learning rates).

    Raises:
        ValueError: when the lengths do not match or boundaries are not increasing.
    """
    boundaries = list(boundaries)
    values = list(values)
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values. "
                         f"Received: len(boundaries)={len(boundaries)}, "
                         f"len(values)={len(values)}")
    if any(b2 < b1 for b1, b2 in zip(boundaries[:-1], boundaries[1:], strict=True)):
        raise invalid("boundaries", "a non-decreasing list", boundaries)
    x = _require_step(x, "piecewise_constant")
    with name_scope(name or "PiecewiseConstant"):
        vals = [_float_tensor(v, "values") for v in values]
        dtype = vals[0].dtype
        vals = [v if v.dtype == dtype else cast(v, dtype) for v in vals]
        result = vals[-1]
        # Walk from the last interval down: x <= b[i] selects values[i].
        for i in range(len(boundaries) - 1, -1, -1):
            result = where(less_equal(x, _as(boundaries[i], x.dtype)), vals[i], result)
        return identity(result, name=name)


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001,
                     power=1.0, cycle: bool = False, name: str | None = None):
    """``(learning_rate - end) * (1 - step / decay_steps) ** power + end``.

    Without ``cycle`` the step is clipped at ``decay_steps``; with ``cycle`` the
    horizon grows to the next multiple of ``decay_steps``
    (``decay_steps * ceil(global_step / decay_steps)``, 1 at step 0).
    """
    step = _require_step(global_step, "polynomial_decay")
    _positive(decay_steps, "decay_steps")
    check_bool("cycle", cycle)
    with name_scope(name or "PolynomialDecay"):
        lr = _float_tensor(learning_rate, "learning_rate")
        dtype = lr.dtype
        s = _as(step, dtype)
        ds = _as(decay_steps, dtype)
        end = _as(end_learning_rate, dtype)
        if cycle:
            one = constant(np.asarray(1.0, dtype=dtype.as_numpy_dtype))
            ceil = -floordiv(-(s / ds), one)
            multiplier = where(equal(s, zeros_like(s)), one, ceil)
            ds = ds * multiplier
        else:
            s = minimum(s, ds)
        p = s / ds
        return add((lr - end) * math_ops.pow(1.0 - p, _as(power, dtype)), end, name=name)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name: str | None = None):
    """``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
    decay_steps)) + alpha)`` (Loshchilov & Hutter's SGDR without restarts)."""
    step = _require_step(global_step, "cosine_decay")
    _positive(decay_steps, "decay_steps")
    with name_scope(name or "CosineDecay"):
        lr = _float_tensor(learning_rate, "learning_rate")
        dtype = lr.dtype
        ds = _as(decay_steps, dtype)
        s = minimum(_as(step, dtype), ds)
        cosine = 0.5 * (1.0 + cos(math.pi * s / ds))
        a = _as(alpha, dtype)
        return multiply(lr, (1.0 - a) * cosine + a, name=name)


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0,
                          alpha=0.0, name: str | None = None):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017), TF1's formula.

    The first period lasts ``first_decay_steps``; each next one ``t_mul`` times longer
    and restarting from ``m_mul`` times the previous peak. With
    ``f = global_step / first_decay_steps``: for ``t_mul == 1``, ``i = floor(f)`` and the
    fraction ``c = f - i``; otherwise ``i = floor(log(1 - f * (1 - t_mul)) / log(t_mul))``
    and ``c = (f - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i``. The value is
    ``learning_rate * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * c)) + alpha)``.

    Args:
        learning_rate: number or scalar floating tensor.
        global_step: scalar integer tensor or variable (required).
        first_decay_steps: number > 0 (or scalar tensor).
        t_mul, m_mul, alpha: numbers or scalar tensors.

    Returns:
        A scalar tensor of the learning rate's dtype.
    """
    step = _require_step(global_step, "cosine_decay_restarts")
    _positive(first_decay_steps, "first_decay_steps")
    with name_scope(name or "SGDRDecay"):
        lr = _float_tensor(learning_rate, "learning_rate")
        dtype = lr.dtype
        f = _as(step, dtype) / _as(first_decay_steps, dtype)
        t = _as(t_mul, dtype)

        def plain():
            i = floor(f)
            return i, f - i

        def geometric(t):
            i = floor(log(1.0 - f * (1.0 - t)) / log(t))
            done = (1.0 - math_ops.pow(t, i)) / (1.0 - t)
            return i, (f - done) / math_ops.pow(t, i)

        if isinstance(t_mul, (Tensor, Variable)):
            is_one = equal(t, 1.0)
            # the geometric branch sees 2 where t_mul is 1 (0/0 otherwise; not selected)
            t_safe = where(is_one, 2.0 + zeros_like(t), t)
            (i_p, c_p), (i_g, c_g) = plain(), geometric(t_safe)
            i_restart, frac = where(is_one, i_p, i_g), where(is_one, c_p, c_g)
        else:
            i_restart, frac = plain() if float(t_mul) == 1.0 else geometric(t)
        m_fac = math_ops.pow(_as(m_mul, dtype), i_restart)
        cosine = 0.5 * m_fac * (1.0 + cos(math.pi * frac))
        a = _as(alpha, dtype)
        return multiply(lr, (1.0 - a) * cosine + a, name=name)


def _linear_cosine(fn, default_name, learning_rate, global_step, decay_steps, num_periods,
                   alpha, beta, name, noise):
    """Shared body: ``noise(clipped_step)`` returns the term added to the linear decay."""
    step = _require_step(global_step, fn)
    _positive(decay_steps, "decay_steps")
    with name_scope(name or default_name):
        lr = _float_tensor(learning_rate, "learning_rate")
        dtype = lr.dtype
        ds = _as(decay_steps, dtype)
        s = minimum(_as(step, dtype), ds)
        linear = (ds - s) / ds
        if noise is not None:
            linear = linear + noise(s)
        fraction = 2.0 * _as(num_periods, dtype) * (s / ds)
        cosine = 0.5 * (1.0 + cos(math.pi * fraction))
        return multiply(lr, (_as(alpha, dtype) + linear) * cosine + _as(beta, dtype),
                        name=name)


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0,
                        beta=0.001, name: str | None = None):
    """Linear cosine decay (Bello et al. 2017, "Neural Optimizer Search"), TF1's formula.

    With ``s = min(global_step, decay_steps)``: ``linear = (decay_steps - s) / decay_steps``,
    ``cosine = 0.5 * (1 + cos(pi * 2 * num_periods * s / decay_steps))``; the value is
    ``learning_rate * ((alpha + linear) * cosine + beta)``.

    Returns:
        A scalar tensor of the learning rate's dtype.
    """
    return _linear_cosine("linear_cosine_decay", "LinearCosineDecay", learning_rate,
                          global_step, decay_steps, num_periods, alpha, beta, name, None)


def noisy_linear_cosine_decay(learning_rate, global_step, decay_steps, initial_variance=1.0,
                              variance_decay=0.55, num_periods=0.5, alpha=0.0, beta=0.001,
                              name: str | None = None):
    """:func:`linear_cosine_decay` with Gaussian noise on the linear term (TF1's formula).

    ``linear`` gets ``N(0, initial_variance / (1 + s) ** variance_decay)`` added (a fresh
    draw at every evaluation; ``s`` the clipped step), so the schedule is random.

    Returns:
        A scalar tensor of the learning rate's dtype.
    """
    def noise(s):
        dtype = s.dtype
        variance = _as(initial_variance, dtype) / math_ops.pow(1.0 + s,
                                                               _as(variance_decay, dtype))
        return random_normal([], dtype=dtype) * math_ops.sqrt(variance)

    return _linear_cosine("noisy_linear_cosine_decay", "NoisyLinearCosineDecay", learning_rate,
                          global_step, decay_steps, num_periods, alpha, beta, name, noise)
