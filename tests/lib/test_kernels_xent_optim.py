"""Fused softmax cross-entropy and the TF1 optimizer updates against numpy formulas."""

from __future__ import annotations

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def log_softmax(z):
    z = z.astype(np.float64)
    mx = z.max(axis=1, keepdims=True)
    return z - mx - np.log(np.exp(z - mx).sum(axis=1, keepdims=True))


@pytest.mark.smoke
@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("mc", [(1, 1), (7, 3), (131, 10), (1009, 67)], ids=str)
def test_sparse_softmax_xent(mc, label_dtype, dtype, num_threads, rng):
    m, c = mc
    logits = (rng.standard_normal((m, c)) * 20).astype(dtype)  # needs max-subtraction
    labels = rng.integers(0, c, m).astype(label_dtype)
    loss, dlogits = np.empty(m, dtype), np.empty((m, c), dtype)
    scale = np.array(1.0 / m, dtype)
    K.sparse_softmax_xent(logits, labels, loss, dlogits, scale=scale)
    ls = log_softmax(logits)
    onehot = np.eye(c)[labels]
    rtol = RTOL[dtype]
    np.testing.assert_allclose(loss, -ls[np.arange(m), labels], rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(dlogits, (np.exp(ls) - onehot) / m, rtol=rtol, atol=rtol / m)
    # dense labels, loss only
    loss2 = np.empty(m, dtype)
    K.softmax_xent(logits, onehot.astype(dtype), loss2)
    np.testing.assert_allclose(loss2, loss, rtol=rtol, atol=rtol * 10)


def test_softmax_xent_soft_labels(dtype, rng):
    logits = rng.standard_normal((5, 4)).astype(dtype)
    labels = rng.random((5, 4)).astype(dtype)
    labels /= labels.sum(axis=1, keepdims=True)
    loss, d = np.empty(5, dtype), np.empty((5, 4), dtype)
    K.softmax_xent(logits, labels, loss, d, scale=2.0)
    ls = log_softmax(logits)
    np.testing.assert_allclose(loss, -(labels * ls).sum(axis=1), rtol=RTOL[dtype] * 10)
    np.testing.assert_allclose(d, 2 * (np.exp(ls) - labels), rtol=RTOL[dtype] * 10,
                               atol=RTOL[dtype])


def test_sparse_xent_scale_is_read_at_run_time(rng):
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 1, 2, 0])
    d = np.empty((4, 3))
    scale = np.ones(1)
    prog = K.Program()
    prog.sparse_softmax_xent(logits, labels, None, d, scale=scale)
    prog.run()
    first = d.copy()
    scale[0] = 0.5
    prog.run()
    np.testing.assert_allclose(d, first / 2, rtol=1e-15)


def test_sparse_xent_bad_labels():
    logits = np.zeros((6, 10), np.float32)
    loss = np.full(6, 7.0, np.float32)
    labels = np.array([0, 1, 2, 3, 4, 12], np.int64)
    msg = r"sparse_softmax_xent: `labels` must be in \[0, 10\).*Received: labels\[5\]=12"
    with pytest.raises(InvalidArgumentError, match=msg):
        K.sparse_softmax_xent(logits, labels, loss)
    np.testing.assert_array_equal(loss, 7.0)  # nothing written
    with pytest.raises(InvalidArgumentError, match=r"labels\[0\]=-1"):
        K.sparse_softmax_xent(logits, np.full(6, -1, np.int32), loss)
    with pytest.raises(TypeError, match="`labels` must have dtype int32 or int64"):
        K.sparse_softmax_xent(logits, labels.astype(np.float32), loss)
    with pytest.raises(InvalidArgumentError, match=r"`labels` must have shape \(6,\)"):
        K.sparse_softmax_xent(logits, labels[:3], loss)
    with pytest.raises(InvalidArgumentError, match="at least one of `loss_out` and `dlogits_out`"):
        K.sparse_softmax_xent(logits, labels, None)
    with pytest.raises(TypeError, match="`scale` must have dtype float32"):
        K.sparse_softmax_xent(logits, labels % 10, loss, scale=np.ones(1))


def tf1_update(kind, var, slots, g, lr, hp):
    """Numpy transcription of TF1's documented update formulas (float64)."""
    var, g = var.astype(np.float64), g.astype(np.float64)
    s = [x.astype(np.float64) for x in slots]
    if kind == "sgd":
        return var - lr * g, s
    if kind in ("momentum", "nesterov"):
        s[0] = hp["momentum"] * s[0] + g
        step = g + hp["momentum"] * s[0] if kind == "nesterov" else s[0]
        return var - lr * step, s
    if kind == "adagrad":
        s[0] = s[0] + g * g
        return var - lr * g / np.sqrt(s[0]), s
    if kind in ("rmsprop", "centered_rmsprop"):
        rho, mom, eps = hp["rho"], hp["momentum"], hp["epsilon"]
        s[0] = rho * s[0] + (1 - rho) * g * g
        denom = s[0]
        if kind == "centered_rmsprop":
            s[2] = rho * s[2] + (1 - rho) * g
            denom = denom - s[2] ** 2
        denom = denom + eps  # TF: (ms - mg^2) + eps
        s[1] = mom * s[1] + lr * g / np.sqrt(denom)
        return var - s[1], s
    if kind in ("adam", "nesterov_adam"):
        b1, b2, eps = hp["beta1"], hp["beta2"], hp["epsilon"]
        lr_t = lr * np.sqrt(1 - hp["b2p"]) / (1 - hp["b1p"])
        s[0] = b1 * s[0] + (1 - b1) * g
        s[1] = b2 * s[1] + (1 - b2) * g * g
        num = b1 * s[0] + (1 - b1) * g if kind == "nesterov_adam" else s[0]
        return var - lr_t * num / (np.sqrt(s[1]) + eps), s
    raise AssertionError(kind)


KINDS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "centered_rmsprop", "adam",
         "nesterov_adam"]
N_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 2,
           "centered_rmsprop": 3, "adam": 2, "nesterov_adam": 2}


@pytest.mark.smoke
@pytest.mark.parametrize("shape", [(1,), (13, 7), (70001,)], ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_updates_match_tf1(kind, shape, dtype, num_threads, rng):
    var = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    slots = [np.abs(rng.standard_normal(shape)).astype(dtype) + 0.1 for _ in range(N_SLOTS[kind])]
    if kind == "centered_rmsprop":
        slots[2] *= 0.01  # mean gradient small enough that ms - mg^2 > 0
    hp = {"momentum": 0.9, "rho": 0.9, "epsilon": 1e-7, "beta1": 0.9, "beta2": 0.999,
          "b1p": 0.9 ** 3, "b2p": 0.999 ** 3}
    lr = np.array(0.01, dtype)
    want_var, want_slots = tf1_update(kind, var, slots, g, 0.01, hp)
    if kind == "sgd":
        K.apply_sgd(var, g, lr)
    elif kind in ("momentum", "nesterov"):
        K.apply_momentum(var, slots[0], g, lr, 0.9, use_nesterov=kind == "nesterov")
    elif kind == "adagrad":
        K.apply_adagrad(var, slots[0], g, lr)
    elif kind == "rmsprop":
        K.apply_rmsprop(var, slots[0], slots[1], g, lr, 0.9, 0.9, 1e-7)
    elif kind == "centered_rmsprop":
        K.apply_rmsprop(var, slots[0], slots[1], g, lr, 0.9, 0.9, 1e-7, mg=slots[2])
    else:
        K.apply_adam(var, slots[0], slots[1], g, np.array(hp["b1p"], dtype),
                     np.array(hp["b2p"], dtype), lr, 0.9, 0.999, 1e-7,
                     use_nesterov=kind == "nesterov_adam")
    rtol = RTOL[dtype] * (10 if dtype == np.float32 else 1)
    np.testing.assert_allclose(var, want_var, rtol=rtol, atol=rtol)
    for got, want in zip(slots, want_slots, strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("sparse", [False, True])
def test_centered_rmsprop_adds_epsilon_last_as_tf(sparse):
    """TF's ApplyCenteredRMSProp divides by sqrt((ms - mg^2) + eps): epsilon is added
    after the subtraction. With ms close to mg^2 in float32 the other order, (ms + eps)
    - mg^2, rounds differently; the dense and the row-sparse kernels follow TF's."""
    f32 = np.float32
    ms, mg = np.array([1.0], f32), np.array([0.99999], f32)
    rho, eps, lr = f32(1.0), f32(1e-7), f32(1.0)  # rho 1: ms and mg stay as they are
    g = np.array([1e-3], f32)
    want = lr * g / np.sqrt((ms - mg * mg) + eps)
    assert want[0] != (lr * g / np.sqrt((ms + eps) - mg * mg))[0]  # the order matters here
    var, mom = np.zeros(1, f32), np.zeros(1, f32)
    if sparse:
        K.sparse_apply("rmsprop", var, ms, mom, g, np.array([0], np.int64),
                       [lr, rho, 0.0, eps], 1, mg)
    else:
        K.apply_rmsprop(var, ms, mom, g, np.array(lr), rho, 0.0, eps, mg=mg)
    assert mom[0] == want[0] and var[0] == -want[0]


def test_optimizer_errors():
    v = np.zeros(4, np.float32)
    msg = r"`grad` must have the same shape as var, \(4,\)"
    with pytest.raises(InvalidArgumentError, match=msg):
        K.apply_sgd(v, np.zeros(5, np.float32), 0.1)
    with pytest.raises(TypeError, match="`grad` must have dtype float32 to match var"):
        K.apply_sgd(v, np.zeros(4), 0.1)
    with pytest.raises(TypeError, match="`lr` must be a number or a 0-d / 1-element array"):
        K.apply_sgd(v, np.zeros(4, np.float32), "0.1")
    with pytest.raises(InvalidArgumentError, match="`lr` must be a number or a 0-d / 1-element"):
        K.apply_sgd(v, np.zeros(4, np.float32), np.zeros(2, np.float32))
    with pytest.raises(InvalidArgumentError, match="`var` must not share memory with `accum`"):
        K.apply_momentum(v, v, np.zeros(4, np.float32), 0.1, 0.9)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(InvalidArgumentError, match="`var` is written in place"):
        K.apply_sgd(ro, np.zeros(4, np.float32), 0.1)
