"""Variable initializers (TF1 ``tf.initializers`` / ``tf.*_initializer``).

An initializer is a callable ``(shape, dtype=None, partition_info=None, seed=None)
-> numpy array``. Without an explicit ``seed``, :func:`estcore.get_variable`
passes the seed pair derived from (graph seed, variable creation index), so the
same ``set_random_seed`` gives bit-identical initial values. Random values are
drawn in float64 from a PCG64 generator and then cast, so float32 and float64
variables start from the same numbers.

Must not: build graph ops (an initializer returns a numpy array; the ``InitialValue``
node of :mod:`estcore.graph.variables` calls it when the init op runs); draw from numpy's
global random state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.random import generator_for

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "TruncatedNormal",
    "RandomUniform", "VarianceScaling", "GlorotUniform", "GlorotNormal", "zeros_initializer",
    "ones_initializer", "constant_initializer", "random_normal_initializer",
    "truncated_normal_initializer", "random_uniform_initializer", "glorot_uniform_initializer",
    "glorot_normal_initializer", "variance_scaling_initializer", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform",
]


def _shape(shape) -> tuple[int, ...]:
    dims = getattr(shape, "dims", shape)
    if dims is None:
        raise ValueError("an initializer needs a fully defined shape. Received: shape=None")
    out = tuple(int(d) for d in dims) if not isinstance(dims, int) else (dims,)
    return out


class Initializer:
    """Base class. Subclasses implement ``_generate(shape, dtype, rng)``."""

    seed: Any = None
    dtype: Any = None

    def __call__(self, shape, dtype=None, partition_info=None, seed=None) -> np.ndarray:
        d = dt.as_dtype(dtype if dtype is not None else (self.dtype or dt.float32))
        shp = _shape(shape)
        s = self.seed if self.seed is not None else seed
        if isinstance(s, (int, np.integer)):
            s = (int(s), 0)
        rng = generator_for(tuple(s)) if s is not None else np.random.default_rng()
        return np.asarray(self._generate(shp, d, rng), dtype=d.np)

    def _generate(self, shape, dtype, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {k: v for k, v in vars(self).items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __init__(self, dtype=None):
        self.dtype = dtype

    def _generate(self, shape, dtype, rng):
        return np.zeros(shape, dtype.np)


class Ones(Initializer):
    def __init__(self, dtype=None):
        self.dtype = dtype

    def _generate(self, shape, dtype, rng):
        return np.ones(shape, dtype.np)


class Constant(Initializer):
    """Fill with ``value`` (a scalar, or an array/list with the variable's size)."""

    def __init__(self, value=0, dtype=None, verify_shape=False):
        self.value = value
        self.dtype = dtype

    def _generate(self, shape, dtype, rng):
        v = np.asarray(self.value)
        if v.size == 1:
            return np.full(shape, v.reshape(()), dtype.np)
        n = int(np.prod(shape, dtype=np.int64))
        if v.size != n:
            raise ValueError(f"constant_initializer: `value` has {v.size} elements but the "
                             f"variable has shape {shape} ({n} elements)")
        return v.reshape(shape)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=None):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtype

    def _generate(self, shape, dtype, rng):
        return rng.standard_normal(shape) * self.stddev + self.mean


def truncated_standard_normal(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Standard normal draws of ``shape`` (float64), each redrawn until within 2 standard
    deviations (TF's truncated normal)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=None):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtype

    def _generate(self, shape, dtype, rng):
        return truncated_standard_normal(rng, shape) * self.stddev + self.mean


class RandomUniform(Initializer):
    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=None):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dtype

    def _generate(self, shape, dtype, rng):
        hi = 1.0 if self.maxval is None else self.maxval
        if dtype.is_integer:
            return rng.integers(int(self.minval), int(hi), size=shape)
        return rng.uniform(self.minval, hi, size=shape)


def fans(shape: tuple) -> tuple:
    """``(fan_in, fan_out)`` of a weight shape as TF counts them: ``[n]`` gives
    ``(n, n)``, ``[..., in, out]`` multiplies both by the receptive field (the leading
    dimensions), a scalar gives ``(1, 1)``."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n`` (n = fan_in, fan_out or their mean).

    ``distribution``: ``"truncated_normal"`` (TF1's ``"normal"``), ``"untruncated_normal"``
    or ``"uniform"``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=None):
        if scale <= 0:
            raise ValueError(f"`scale` must be a positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("`mode` must be 'fan_in', 'fan_out' or 'fan_avg'. "
                             f"Received: mode={mode!r}")
        distribution = {"normal": "truncated_normal"}.get(distribution, distribution)
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("`distribution` must be 'truncated_normal', 'untruncated_normal' "
                             f"or 'uniform'. Received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.seed, self.dtype = seed, dtype

    def _generate(self, shape, dtype, rng):
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            lim = math.sqrt(3.0 * var)
            return rng.uniform(-lim, lim, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.standard_normal(shape) * math.sqrt(var)
        # std of a N(0,1) truncated to [-2, 2] is 0.87962566103423978
        return truncated_standard_normal(rng, shape) * (math.sqrt(var) / 0.87962566103423978)


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None, dtype=None):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None, dtype=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
variance_scaling_initializer = VarianceScaling


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)
