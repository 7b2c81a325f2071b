"""The activation table shared by the activation ops and the fused dense/conv ops.

Each entry: ``forward(x, out)`` and ``backward_builder(g, x, y, out) -> closure``
(numpy, ``out=`` into planned buffers; scratch allocated once per plan). The C
kernels know a subset, listed in :data:`C_ACTIVATIONS`.

Must not: import the graph or register op rows (plain numpy: the ops in ``nn_ops``,
``fused`` and ``conv_ops`` and the ONNX exporter read this table); hold per-run state
(a backward closure's scratch is allocated when it is built, once per plan).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATIONS", "C_ACTIVATIONS", "forward", "backward_builder", "SELU_ALPHA",
           "SELU_SCALE"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# Names understood by the C kernels (estcore._lib._kernels activation codes).
C_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _linear_f(x, out, alpha):
    if out is not x:
        np.copyto(out, x)


def _relu_f(x, out, alpha):
    np.maximum(x, 0, out=out)


def _relu6_f(x, out, alpha):
    np.clip(x, 0, 6, out=out)


def _leaky_f(x, out, alpha):
    if 0 <= alpha <= 1:
        np.multiply(x, alpha, out=out)
        np.maximum(x, out, out=out)
    else:
        np.copyto(out, np.where(x > 0, x, alpha * x))


def _elu_f(x, out, alpha):
    np.minimum(x, 0, out=out)
    np.expm1(out, out=out)
    np.copyto(out, x, where=x > 0)


def _selu_f(x, out, alpha):
    _elu_f(x, out, alpha)
    np.multiply(out, SELU_ALPHA, out=out, where=x <= 0)
    np.multiply(out, SELU_SCALE, out=out)


def _sigmoid_f(x, out, alpha):
    # 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: e = e^-|x| never overflows, and
    # tiny results keep their precision (as scipy.special.expit). x may be out.
    positive = x >= 0
    np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    denom = out + 1
    np.divide(out, denom, out=out)
    np.divide(1, denom, out=out, where=positive)


def _tanh_f(x, out, alpha):
    np.tanh(x, out=out)


def _softplus_f(x, out, alpha):
    np.logaddexp(x, 0, out=out)


def _softsign_f(x, out, alpha):
    np.abs(x, out=out)
    np.add(out, 1, out=out)
    np.divide(x, out, out=out)


_FORWARD = {
    "linear": _linear_f, "relu": _relu_f, "relu6": _relu6_f, "leaky_relu": _leaky_f,
    "elu": _elu_f, "selu": _selu_f, "sigmoid": _sigmoid_f, "tanh": _tanh_f,
    "softplus": _softplus_f, "softsign": _softsign_f,
}
ACTIVATIONS = tuple(_FORWARD)


def forward(name: str, x: np.ndarray, out: np.ndarray, alpha: float = 0.2) -> None:
    _FORWARD[name](x, out, alpha)


def backward_builder(name: str, g, x, y, out, alpha: float = 0.2):
    """Closure computing ``out = g * act'(x)`` from the activation's output ``y`` only
    (every activation here is monotonic, so ``y`` determines the derivative; ``x`` is
    unused and may be None). ``out`` may be the same array as ``g``.
    """
    scratch = np.empty(out.shape, dtype=out.dtype)
    if name == "linear":
        return (lambda: None) if out is g else (lambda: np.copyto(out, g))
    if name == "relu":
        def f():
            np.greater(y, 0, out=scratch)
            np.multiply(g, scratch, out=out)
    elif name == "relu6":
        def f():
            np.copyto(scratch, (y > 0) & (y < 6))
            np.multiply(g, scratch, out=out)
    elif name == "leaky_relu":
        def f():
            np.copyto(scratch, alpha)
            np.copyto(scratch, 1, where=y > 0)
            np.multiply(g, scratch, out=out)
    elif name == "elu":
        def f():
            np.add(y, 1, out=scratch)
            np.copyto(scratch, 1, where=y > 0)
            np.multiply(g, scratch, out=out)
    elif name == "selu":
        def f():
            np.add(y, SELU_SCALE * SELU_ALPHA, out=scratch)
            np.copyto(scratch, SELU_SCALE, where=y > 0)
            np.multiply(g, scratch, out=out)
    elif name == "sigmoid":
        def f():
            np.subtract(1, y, out=scratch)
            np.multiply(scratch, y, out=scratch)
            np.multiply(g, scratch, out=out)
    elif name == "tanh":
        def f():
            np.square(y, out=scratch)
            np.subtract(1, scratch, out=scratch)
            np.multiply(g, scratch, out=out)
    elif name == "softplus":
        def f():  # sigmoid(x) = 1 - exp(-softplus(x))
            np.negative(y, out=scratch)
            np.exp(scratch, out=scratch)
            np.subtract(1, scratch, out=scratch)
            np.multiply(g, scratch, out=out)
    elif name == "softsign":
        def f():  # 1 / (1 + |x|)^2 = (1 - |y|)^2
            np.abs(y, out=scratch)
            np.subtract(1, scratch, out=scratch)
            np.square(scratch, out=scratch)
            np.multiply(g, scratch, out=out)
    else:  # pragma: no cover - guarded by callers
        raise KeyError(name)
    return f
