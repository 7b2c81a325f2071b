"""Initializer defaults of the tf.layers layers, as TF 1.15's: a kernel initializer left
None (and any initializer passed as None) is ``get_variable``'s default, so the enclosing
``variable_scope(initializer=...)`` applies, else glorot_uniform; biases, beta, gamma and
the moving statistics keep their own defaults (zeros / ones). Expected values from TF
2.15's ``tf.compat.v1.layers``."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore import layers

pytestmark = pytest.mark.smoke


def _values():
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        return {v.op.name: sess.run(v) for v in ec.global_variables()}


def _kind(value) -> str:
    for name, c in (("half", 0.5), ("zeros", 0.0), ("ones", 1.0)):
        if np.all(value == c):
            return name
    return "random"


def _build_all():
    x = ec.placeholder(ec.float32, [None, 4])
    im = ec.placeholder(ec.float32, [None, 6, 6, 2])
    seq = ec.placeholder(ec.float32, [None, 6, 2])
    layers.dense(x, 3)
    layers.conv2d(im, 2, 3)
    layers.conv1d(seq, 2, 3)
    layers.conv2d_transpose(im, 2, 3)
    layers.separable_conv2d(im, 2, 3)
    layers.batch_normalization(x)


TF_UNDER_SCOPE_INITIALIZER = {
    "dense/kernel": "half", "dense/bias": "zeros",
    "conv2d/kernel": "half", "conv2d/bias": "zeros",
    "conv1d/kernel": "half", "conv1d/bias": "zeros",
    "conv2d_transpose/kernel": "half", "conv2d_transpose/bias": "zeros",
    "separable_conv2d/depthwise_kernel": "half", "separable_conv2d/pointwise_kernel": "half",
    "separable_conv2d/bias": "zeros",
    "batch_normalization/gamma": "ones", "batch_normalization/beta": "zeros",
    "batch_normalization/moving_mean": "zeros", "batch_normalization/moving_variance": "ones",
}


def test_kernels_take_the_variable_scope_initializer():
    with ec.Graph().as_default():
        with ec.variable_scope("net", initializer=ec.constant_initializer(0.5)):
            _build_all()
        got = {k[len("net/"):]: _kind(v) for k, v in _values().items()}
    assert got == TF_UNDER_SCOPE_INITIALIZER


def test_without_a_scope_initializer_kernels_are_glorot_uniform():
    with ec.Graph().as_default():
        _build_all()
        got = _values()
    want = {k: "random" if v == "half" else v for k, v in TF_UNDER_SCOPE_INITIALIZER.items()}
    assert {k: _kind(v) for k, v in got.items()} == want
    limit = np.sqrt(6.0 / (4 + 3))
    assert np.abs(got["dense/kernel"]).max() <= limit


def test_an_initializer_given_as_none_is_get_variables_default():
    """TF: ``bias_initializer=None`` (or ``beta_initializer=None``...) is not zeros: the
    scope's initializer, else glorot_uniform; an explicit initializer wins over the
    scope's."""
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 4])
        none = {"beta_initializer": None, "gamma_initializer": None,
                "moving_mean_initializer": None, "moving_variance_initializer": None}
        layers.dense(x, 3, bias_initializer=None)
        layers.batch_normalization(x, **none)
        with ec.variable_scope("net", initializer=ec.constant_initializer(0.5)):
            layers.dense(x, 3, bias_initializer=None)
            layers.batch_normalization(x, **none)
            layers.dense(x, 3, kernel_initializer=ec.constant_initializer(2.0))
        got = {k: _kind(v) if not np.all(v == 2.0) else "twos" for k, v in _values().items()}
    assert got == {
        "dense/kernel": "random", "dense/bias": "random",
        "batch_normalization/gamma": "random", "batch_normalization/beta": "random",
        "batch_normalization/moving_mean": "random",
        "batch_normalization/moving_variance": "random",
        "net/dense/kernel": "half", "net/dense/bias": "half",
        "net/batch_normalization/gamma": "half", "net/batch_normalization/beta": "half",
        "net/batch_normalization/moving_mean": "half",
        "net/batch_normalization/moving_variance": "half",
        "net/dense_1/kernel": "twos", "net/dense_1/bias": "zeros"}
