"""Program: a whole MLP train step as one run() call, against a numpy reference."""

from __future__ import annotations

import gc
import os
import types
import weakref

import numpy as np
import pytest

from estcore._lib import _kernels as K
from estcore.errors import InvalidArgumentError

# norm-relative tolerances of the whole-step comparison
STEP_RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
SIZES = [23, 17, 13, 7]  # in -> hidden -> hidden -> classes (odd on purpose)
BATCH = 37
B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 0.01


def rel(a, b):
    b = np.asarray(b, np.float64)
    return np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-300)


class MLP:
    """Buffers of a 3-layer MLP train step with Adam (everything preallocated)."""

    def __init__(self, dtype, rng):
        self.x = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
        self.labels = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
        self.w = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
                  for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)]
        self.b = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in SIZES[1:]]
        self.h = [np.empty((BATCH, s), dtype) for s in SIZES[1:]]      # h1, h2, logits
        self.dh = [np.empty((BATCH, s), dtype) for s in SIZES[1:-1]]   # dh1, dh2
        self.dlogits = np.empty((BATCH, SIZES[-1]), dtype)
        self.dw = [np.empty_like(w) for w in self.w]
        self.db = [np.empty_like(b) for b in self.b]
        self.m = [np.zeros_like(v) for v in self.w + self.b]
        self.v = [np.zeros_like(v) for v in self.w + self.b]
        self.loss_vec = np.empty(BATCH, dtype)
        self.loss = np.empty((), dtype)
        self.scale = np.array(1.0 / BATCH, dtype)
        self.lr = np.array(LR, dtype)
        self.b1p = np.array(B1, dtype)
        self.b2p = np.array(B2, dtype)
        self.step = np.array(0, np.int64)

    def program(self):
        p = K.Program()
        ins = [self.x, self.h[0], self.h[1]]
        for i, act in enumerate(["relu", "relu", None]):
            p.dense_forward(ins[i], self.w[i], self.b[i], self.h[i], act)
        p.sparse_softmax_xent(self.h[2], self.labels, self.loss_vec, self.dlogits, scale=self.scale)
        p.reduce_mean(self.loss_vec, self.loss)
        dys = [self.dh[0], self.dh[1], self.dlogits]
        for i, act in reversed(list(enumerate(["relu", "relu", None]))):
            dx = self.dh[i - 1] if i > 0 else None
            # relu layers compute dz in place over their incoming gradient buffer
            p.dense_backward(ins[i], self.w[i], self.h[i], dys[i], self.dw[i], self.db[i], dx,
                             dz_out=dys[i] if act else None, act=act)
        for var, grad, m, v in zip(self.w + self.b, self.dw + self.db, self.m, self.v, strict=True):
            p.apply_adam(var, m, v, grad, self.b1p, self.b2p, self.lr, B1, B2, EPS)
        p.scale(self.b1p, self.b1p, B1)  # TF1: the beta powers advance after all updates
        p.scale(self.b2p, self.b2p, B2)
        p.increment(self.step)
        return p


def numpy_step(state, dtype):
    """One TF1-semantics train step in float64: returns loss, grads; updates state.

    The hyperparameters are the values the kernels see: rounded to ``dtype`` first
    (float32(0.999) makes 1 - beta2 off by 1.3e-5 relative, as in TF).
    """
    B1, B2, EPS, LR = (float(dtype.type(c)) for c in (globals()["B1"], globals()["B2"],
                                                      globals()["EPS"], globals()["LR"]))
    w, b, m, v = state["w"], state["b"], state["m"], state["v"]
    x, labels = state["x"], state["labels"]
    h1 = np.maximum(x @ w[0] + b[0], 0)
    h2 = np.maximum(h1 @ w[1] + b[1], 0)
    z = h2 @ w[2] + b[2]
    zmax = z.max(axis=1, keepdims=True)
    logp = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(labels)), labels].mean()
    dz = (np.exp(logp) - np.eye(z.shape[1])[labels]) / len(labels)
    dw2, db2, dh2 = h2.T @ dz, dz.sum(0), dz @ w[2].T
    dz2 = dh2 * (h2 > 0)
    dw1, db1, dh1 = h1.T @ dz2, dz2.sum(0), dz2 @ w[1].T
    dz1 = dh1 * (h1 > 0)
    dw0, db0 = x.T @ dz1, dz1.sum(0)
    grads = [dw0, dw1, dw2, db0, db1, db2]
    lr_t = LR * np.sqrt(1 - state["b2p"]) / (1 - state["b1p"])
    params = w + b
    for i, g in enumerate(grads):
        m[i] = B1 * m[i] + (1 - B1) * g
        v[i] = B2 * v[i] + (1 - B2) * g * g
        params[i] = params[i] - lr_t * m[i] / (np.sqrt(v[i]) + EPS)
    state["w"], state["b"] = params[:3], params[3:]
    state["b1p"] *= B1
    state["b2p"] *= B2
    return loss, grads


@pytest.mark.smoke
def test_mlp_train_step_program_matches_numpy(dtype, num_threads, rng):
    net = MLP(dtype, rng)
    prog = net.program()
    assert len(prog) == 3 + 2 + 3 + 6 + 3
    assert prog.ops[:4] == ["dense_forward"] * 3 + ["sparse_softmax_xent"]
    f64 = np.float64
    state = {"x": net.x.astype(f64), "labels": net.labels, "w": [w.astype(f64) for w in net.w],
             "b": [b.astype(f64) for b in net.b], "m": [np.zeros(v.shape) for v in net.m],
             "v": [np.zeros(v.shape) for v in net.v], "b1p": float(dtype.type(B1)),
             "b2p": float(dtype.type(B2))}
    tol = STEP_RTOL[dtype]
    for step in range(3):
        if step == 2:  # a new batch written into the same input buffer
            net.x[...] = rng.standard_normal(net.x.shape)
            state["x"] = net.x.astype(f64)
        prog.run()
        loss, grads = numpy_step(state, dtype)
        assert rel(net.loss, loss) < tol
        for got, want in zip(net.dw + net.db, grads, strict=True):
            assert rel(got, want) < tol
        for got, want in zip(net.w + net.b, state["w"] + state["b"], strict=True):
            assert rel(got, want) < tol
        for got, want in zip(net.m + net.v, state["m"] + state["v"], strict=True):
            assert rel(got, want) < tol
        assert rel(net.b1p, state["b1p"]) < tol
        assert net.step == step + 1


def test_program_profile_runs_the_step_and_times_each_instruction():
    """profile() computes exactly what run() computes and reports one time each."""
    a, b = MLP(np.dtype(np.float32), np.random.default_rng(5)), \
        MLP(np.dtype(np.float32), np.random.default_rng(5))
    pa, pb = a.program(), b.program()
    for _ in range(2):
        pa.run()
        prof = pb.profile()
    assert [(i, name) for i, name, _ in prof] == list(enumerate(pb.ops))
    assert all(isinstance(ns, int) and ns >= 0 for _, _, ns in prof)
    for got, want in zip(b.w + b.b + b.m + b.v, a.w + a.b + a.m + a.v, strict=True):
        np.testing.assert_array_equal(got, want)
    assert K.Program().profile() == []


def test_program_profile_reports_a_failure():
    prog = K.Program()
    logits, loss = np.zeros((3, 4)), np.empty(3)
    labels = np.array([0, 9, 2])
    prog.sparse_softmax_xent(logits, labels, loss)
    with pytest.raises(InvalidArgumentError, match=r"Program.profile: instruction 0"):
        prog.profile()


def test_program_lr_array_is_read_each_run():
    var, grad, lr = np.zeros(3), np.ones(3), np.array(0.5)
    prog = K.Program()
    prog.apply_sgd(var, grad, lr)
    prog.run()
    lr[...] = 0.25
    prog.run()
    np.testing.assert_array_equal(var, -0.75)


def test_program_failure_reports_instruction():
    prog = K.Program()
    logits, loss = np.zeros((3, 4)), np.empty(3)
    labels = np.array([0, 1, 2])
    step = np.array(0, np.int64)
    prog.increment(step)
    prog.sparse_softmax_xent(logits, labels, loss)
    prog.increment(step)
    prog.run()
    assert step == 2
    labels[1] = 9
    msg = (r"Program.run: instruction 1 \(sparse_softmax_xent\): `labels` must be in \[0, 4\)"
           r".*labels\[1\]=9")
    with pytest.raises(InvalidArgumentError, match=msg):
        prog.run()
    assert step == 3  # instructions before the failing one ran, those after did not


def test_program_validates_at_add_time_and_clear_releases_arrays():
    prog = K.Program()
    with pytest.raises(InvalidArgumentError, match=r"Program.dense_forward: `w` must have shape"):
        prog.dense_forward(np.ones((2, 3)), np.ones((4, 5)), None, np.empty((2, 5)))
    assert len(prog) == 0  # a rejected call adds nothing
    x = np.ones((2, 3))
    ref = weakref.ref(x)
    for _ in range(40):  # grows the instruction array several times
        prog.fill(x, 2.0)
    assert len(prog) == 40 and "fill" in repr(prog)
    del x
    gc.collect()
    assert ref() is not None  # the program keeps its arrays alive
    prog.run()
    np.testing.assert_array_equal(ref(), 2.0)
    prog.clear()
    gc.collect()
    assert len(prog) == 0 and ref() is None
    prog.run()  # empty program: nothing to do


def test_immediate_functions_are_documented():
    for name in K.OPERATIONS:
        fn = getattr(K, name)
        assert fn.__doc__ and fn.__name__ == name
        assert hasattr(K.Program, name)
    import inspect

    assert list(inspect.signature(K.dense_forward).parameters) == [
        "x", "w", "b", "out", "act", "alpha"]


def test_run_releases_the_gil():
    """Another Python thread makes progress while a long Program runs."""
    import threading

    a = np.ones((1024, 1024), np.float32)
    out = np.empty_like(a)
    prog = K.Program()
    for _ in range(8):
        prog.gemm(a, a, out)
    started = threading.Event()

    def worker():
        started.set()
        prog.run()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    ticks = 0
    while t.is_alive():
        ticks += 1
    t.join()
    assert ticks > 100
    assert out[0, 0] == 1024


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_kernels_work_in_a_forked_child():
    """The pool's workers do not survive fork(); the child gets a fresh pool."""
    import time
    import warnings

    before = K.get_num_threads()
    K.set_num_threads(2)
    try:
        x = np.ones((512, 512))
        out = np.empty_like(x)
        K.gemm(x, x, out)  # the parent's pool is running
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # child: a split kernel must neither hang nor fail
            code = 1
            try:
                out[...] = 0
                K.gemm(x, x, out)
                code = 0 if (out == 512).all() else 2
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("kernel call in a forked child hung")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        K.set_num_threads(before)


def test_concurrent_kernel_calls_from_python_threads(num_threads, rng):
    """Kernel calls on different buffers may run at once (they share the pool)."""
    import threading

    x = rng.standard_normal((257, 131)).astype(np.float32)
    w = rng.standard_normal((131, 67)).astype(np.float32)
    want = np.maximum(x.astype(np.float64) @ w, 0)
    errors = []

    def worker():
        out = np.empty((257, 67), np.float32)
        prog = K.Program()
        prog.dense_forward(x, w, None, out, "relu")
        for _ in range(30):
            out[...] = np.nan
            prog.run()
            if not np.allclose(out, want, rtol=1e-4, atol=1e-4):
                errors.append("wrong result")
                return

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_run_with_reads_stand_in_inputs_and_restores_the_program(rng):
    """run_with: the step on other input arrays, bit-identical to copying them in."""
    a, b = MLP(np.dtype(np.float32), np.random.default_rng(7)), \
        MLP(np.dtype(np.float32), np.random.default_rng(7))
    pa, pb = a.program(), b.program()
    batches = [(rng.standard_normal(a.x.shape).astype(np.float32),
                rng.integers(0, SIZES[-1], BATCH).astype(np.int64)) for _ in range(3)]
    x_before, labels_before = a.x.copy(), a.labels.copy()
    for x, labels in batches:
        keep = x.copy(), labels.copy()
        assert pa.run_with([(a.x, x), (a.labels, labels)]) is True
        b.x[...], b.labels[...] = x, labels
        pb.run()
        np.testing.assert_array_equal(x, keep[0])  # stand-ins are only read
        np.testing.assert_array_equal(labels, keep[1])
        np.testing.assert_array_equal(a.loss, b.loss)
        for got, want in zip(a.w + a.b + a.m + a.v, b.w + b.b + b.m + b.v, strict=True):
            np.testing.assert_array_equal(got, want)
    # the program's own buffers were neither written nor forgotten
    np.testing.assert_array_equal(a.x, x_before)
    np.testing.assert_array_equal(a.labels, labels_before)
    b.x[...], b.labels[...] = a.x, a.labels
    pa.run()
    pb.run()
    np.testing.assert_array_equal(a.loss, b.loss)


def test_run_with_declines_what_does_not_fit():
    x, y = np.ones((4, 3), np.float32), np.empty((4, 3), np.float32)
    prog = K.Program()
    prog.activation_forward(x, y, "relu")
    bad = [np.ones((4, 3)),                                  # dtype
           np.ones((3, 4), np.float32),                      # shape
           np.ones((3, 4), np.float32).T,                    # not C-contiguous
           [[1.0] * 3] * 4]                                  # not an ndarray
    y[...] = -1
    for arr in bad:
        assert prog.run_with([(x, arr)]) is False
    np.testing.assert_array_equal(y, -1)  # nothing ran
    assert prog.run_with([(x, -np.ones((4, 3), np.float32))]) is True
    np.testing.assert_array_equal(y, 0)
    prog.run()
    np.testing.assert_array_equal(y, 1)  # back on x


def test_run_with_reaches_views_and_reports_errors_on_the_stand_in():
    labels = np.array([0, 1, 2], np.int64)
    logits, loss = np.zeros((3, 4), np.float32), np.empty(3, np.float32)
    flat = np.zeros(12, np.float32)
    prog = K.Program()
    prog.sparse_softmax_xent(flat.reshape(3, 4), labels, loss)  # a view of `flat`
    new = np.arange(12, dtype=np.float32)
    assert prog.run_with([(flat, new)])
    want = np.log(np.exp(new.reshape(3, 4)).sum(1)) - new.reshape(3, 4)[[0, 1, 2], [0, 1, 2]]
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    with pytest.raises(InvalidArgumentError, match=r"Program.run_with: instruction 0 .*"
                                                   r"labels\[2\]=7"):
        prog.run_with([(labels, np.array([0, 1, 7], np.int64))])
    np.testing.assert_array_equal(labels, [0, 1, 2])  # the program's own buffer untouched
    prog.run()  # pointers restored after the failure
    del logits


def test_run_with_never_stands_in_for_a_buffer_the_program_writes():
    x, out = np.ones(4, np.float32), np.zeros(4, np.float32)
    prog = K.Program()
    prog.copy(x, out)
    frozen = np.frombuffer(b"\0" * 16, np.float32)  # read-only (immutable bytes)
    assert prog.run_with([(out, frozen)]) is False  # would write into it
    assert prog.run_with([(out, np.zeros(4, np.float32))]) is False
    assert frozen.tolist() == [0.0] * 4 and out.tolist() == [0.0] * 4  # nothing ran
    view = out[1:3]  # a view overlapping a written buffer does not qualify either
    p2 = K.Program()
    p2.activation_forward(x, out, "relu")
    assert p2.run_with([(view, np.zeros(2, np.float32))]) is False
    assert prog.run_with([(x, frozen)]) is True  # an input may be read-only
    assert out.tolist() == [0.0] * 4
    prog.clear()  # clear() forgets the written buffers
    prog.copy(out, x)
    assert prog.run_with([(out, frozen)]) is True


def test_run_with_error_on_a_read_only_label_buffer():
    labels = np.array([0, 1, 2], np.int64)
    labels.flags.writeable = False
    loss = np.empty(3, np.float32)
    prog = K.Program()
    prog.sparse_softmax_xent(np.zeros((3, 4), np.float32), labels, loss)
    with pytest.raises(InvalidArgumentError, match=r"labels\[1\]=9"):
        prog.run_with([(labels, np.array([0, 9, 1], np.int64))])


def _update(p, net, i, kind, var, grad, flag):
    """Layer i's update of ``var`` (weights i < 3, biases 3..5), TF1's five kinds: the
    slots are net.m / net.v (and a third, for centered RMSProp, in net.mg)."""
    m, v = net.m[i], net.v[i]
    if kind == "sgd":
        p.apply_sgd(var, grad, net.lr)
    elif kind == "momentum":
        p.apply_momentum(var, m, grad, net.lr, 0.9, use_nesterov=flag)
    elif kind == "adagrad":
        p.apply_adagrad(var, v, grad, net.lr)
    elif kind == "rmsprop":
        p.apply_rmsprop(var, v, m, grad, net.lr, 0.9, 0.5, EPS, mg=net.mg[i] if flag else None)
    else:
        p.apply_adam(var, m, v, grad, net.b1p, net.b2p, net.lr, B1, B2, EPS, use_nesterov=flag)


def _fusable_program(net, fuse, kind="adam", flag=False):
    """net.program() with each layer's weight update right after that layer's backward,
    as the plan schedules them, merged into it (merge_update) when ``fuse`` (the plan
    compiler's call): the hidden layers' backwards compute dx from the weight their
    update then changes; the input layer's gets no w (it has no dx)."""
    p = K.Program()
    ins = [net.x, net.h[0], net.h[1]]
    for i, act in enumerate(["relu", "relu", None]):
        p.dense_forward(ins[i], net.w[i], net.b[i], net.h[i], act)
    p.sparse_softmax_xent(net.h[2], net.labels, net.loss_vec, net.dlogits, scale=net.scale)
    dys = [net.dh[0], net.dh[1], net.dlogits]
    for i, act in reversed(list(enumerate(["relu", "relu", None]))):
        p.dense_backward(ins[i], net.w[i] if i > 0 else None, net.h[i], dys[i], net.dw[i],
                         net.db[i], net.dh[i - 1] if i > 0 else None,
                         dz_out=dys[i] if act else None, act=act)
        _update(p, net, i, kind, net.w[i], net.dw[i], flag)
        if fuse:
            p.merge_update()
    for i in range(3):
        _update(p, net, 3 + i, kind, net.b[i], net.db[i], flag)
    p.scale(net.b1p, net.b1p, B1)
    p.scale(net.b2p, net.b2p, B2)
    return p


@pytest.mark.parametrize("kind,flag", [("sgd", False), ("momentum", False), ("momentum", True),
                                       ("adagrad", False), ("rmsprop", False), ("rmsprop", True),
                                       ("adam", False), ("adam", True)])
def test_update_fused_into_the_dense_backward_is_bit_identical(dtype, num_threads, kind, flag):
    """dense_backward+apply_<kind>: every layer's weight update inside its backward (dx
    from the weight before the update) gives the separate instructions' results bit
    for bit, every optimizer kind and flag (nesterov / centered)."""
    nets = []
    for _ in range(2):
        net = MLP(dtype, np.random.default_rng(3))
        net.v = [np.abs(v) + 0.5 for v in net.v]  # adagrad / rmsprop: positive accumulators
        net.mg = [np.zeros_like(v) for v in net.v]
        nets.append(net)
    a, b = nets
    pa, pb = _fusable_program(a, True, kind, flag), _fusable_program(b, False, kind, flag)
    assert [n for n in pa.ops if "+" in n] == [f"dense_backward+apply_{kind}"] * 3
    assert len(pa) == len(pb) - 3 and not any("+" in n for n in pb.ops)
    for _ in range(3):
        pa.run()
        pb.run()
        for got, want in zip(a.w + a.b + a.m + a.v + a.mg + a.dw + a.dh + [a.loss],
                             b.w + b.b + b.m + b.v + b.mg + b.dw + b.dh + [b.loss], strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("drop", [False, True], ids=["dw_kept", "dw_dropped"])
@pytest.mark.parametrize("mkn", [(150, 333, 75), (9, 1100, 130), (60, 40, 300), (64, 256, 130)],
                         ids=str)
def test_fused_update_with_dx_on_larger_layers(mkn, drop, dtype, num_threads, gemm_isa):
    """Layers of several GEMM blocks and tasks (a batch over more than one K block,
    partial panels; dx by blocks of rows of W, or whole first for the narrow 40-row W
    on 2 threads; the 256-row W split 128 + 128 on 2 threads, whole panels of dx's
    columns): the fused backward + update gives the separate instructions' bits
    at any thread count and GEMM ISA, the weight read by dx before its update; with
    drop_gradient each block of dW stays in scratch (the dw buffer is not written)
    and the weight and slots are still the same bits."""
    m, k, n = mkn
    rng = np.random.default_rng(5)
    x, dy = (rng.standard_normal(s).astype(dtype) for s in [(m, k), (m, n)])
    y = np.abs(rng.standard_normal((m, n))).astype(dtype) * (rng.random((m, n)) > 0.3)
    w0 = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    lr = np.array(0.05, dtype)
    runs = []
    for fuse in (True, False):
        w, acc = w0.copy(), np.full_like(w0, 0.25)
        out = [np.empty(s, dtype) for s in [(m, n), (k, n), (n,), (m, k)]]  # dz dw db dx
        p = K.Program()
        p.dense_backward(x, w, y, dy, out[1], out[2], out[3], dz_out=out[0], act="relu")
        p.apply_momentum(w, acc, out[1], lr, 0.9, use_nesterov=True)
        if fuse:
            p.merge_update(drop_gradient=drop)
            assert p.ops == ["dense_backward+apply_momentum"]
            out[1][...] = np.nan
        p.run()
        p.run()
        runs.append([w, acc, *out])
    if drop:
        assert np.isnan(runs[0][3]).all()  # dw: never written
        runs = [r[:3] + r[4:] for r in runs]
    for got, want in zip(*runs, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind,flag", [("sgd", False), ("momentum", True), ("adagrad", False),
                                       ("rmsprop", False), ("rmsprop", True), ("adam", False),
                                       ("adam", True)])
@pytest.mark.parametrize("mkn,dx", [((300, 97, 45), False), ((41, 260, 33), True)], ids=str)
def test_fused_update_with_dw_dropped_is_bit_identical(kind, flag, mkn, dx, dtype,
                                                       num_threads, gemm_isa):
    """merge_update(drop_gradient=True), every optimizer kind and flag, a batch over
    several K blocks of every ISA's packing, with and without dx: the weight, slots, db
    and dx are the separate instructions' bits and the dw buffer is never written."""
    m, k, n = mkn
    rng = np.random.default_rng(8)
    x, dy = (rng.standard_normal(s).astype(dtype) for s in [(m, k), (m, n)])
    y = np.abs(rng.standard_normal((m, n))).astype(dtype)
    w0 = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    runs = []
    for fuse in (True, False):
        net = types.SimpleNamespace(lr=np.array(0.05, dtype), b1p=np.array(0.81, dtype),
                                    b2p=np.array(0.998, dtype),
                                    m=[np.full_like(w0, 0.3)], v=[np.full_like(w0, 0.7)],
                                    mg=[np.full_like(w0, 0.1)])
        w = w0.copy()
        out = [np.empty(s, dtype) for s in [(m, n), (k, n), (n,), (m, k)]]  # dz dw db dx
        p = K.Program()
        p.dense_backward(x, w if dx else None, y, dy, out[1], out[2], out[3] if dx else None,
                         dz_out=out[0], act="relu")
        _update(p, net, 0, kind, w, out[1], flag)
        if fuse:
            p.merge_update(drop_gradient=True)
            assert p.ops == [f"dense_backward+apply_{kind}"]
            out[1][...] = np.nan
        p.run()
        p.run()
        runs.append([w, net.m[0], net.v[0], net.mg[0], out[2]] + ([out[3]] if dx else []))
        if fuse:
            assert np.isnan(out[1]).all()
    for got, want in zip(*runs, strict=True):
        np.testing.assert_array_equal(got, want)


def test_merge_update_refuses_a_pair_that_cannot_run_as_one():
    """Program.merge_update only validates and rewrites (the plan decides); a pair that
    cannot be one instruction raises ValueError naming why and changes nothing."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    dy = rng.standard_normal((4, 2)).astype(np.float32)
    w, dw, db = np.ones((3, 2), np.float32), np.empty((3, 2), np.float32), np.empty(2, np.float32)
    m, v, half = np.zeros_like(w), np.zeros_like(w), np.array(0.5, np.float32)
    dx = np.empty((4, 3), np.float32)

    def ops(backward, var=w, grad=dw, slot=m):
        p = K.Program()
        backward(p)
        p.apply_adam(var, slot, v, grad, half, half, half, 0.9, 0.999, 1e-8)
        try:
            p.merge_update()
        except ValueError as e:
            assert str(e).startswith("Program.merge_update: ")
        return p.ops

    fused = ["dense_backward+apply_adam"]
    assert ops(lambda p: p.dense_backward(x, None, None, dy, dw, db)) == fused
    # dx wanted: the backward reads w, which is the update's var: dx comes first
    assert ops(lambda p: p.dense_backward(x, w, None, dy, dw, db, dx)) == fused
    separate = ["dense_backward", "apply_adam"]
    # a slot that is the backward's w: the update would change what dx reads
    assert ops(lambda p: p.dense_backward(x, w, None, dy, dw, db, dx), var=np.ones_like(w),
               slot=w) == separate
    # var overlapping w without being it
    big = np.ones((4, 2), np.float32)
    assert ops(lambda p: p.dense_backward(x, big[:3], None, dy, dw, db, dx),
               var=big[1:]) == separate
    assert ops(lambda p: p.dense_backward(x, None, None, dy, dw, db, accumulate=True)) == separate
    assert ops(lambda p: p.dense_backward(x, None, None, dy, dw, db),
               grad=np.ones_like(w)) == separate  # not this backward's dw
    buf = np.ones(12, np.float32)  # the weight shares memory with the layer input
    assert ops(lambda p: p.dense_backward(buf.reshape(4, 3), None, None, dy, dw, db),
               var=buf[:6].reshape(3, 2)) == separate
    # the rate is an output of the backward: the fused op would read it before it is written
    p = K.Program()
    p.dense_backward(x, w, None, dy, dw, db, dx)
    p.apply_sgd(w, dw, db[:1])
    with pytest.raises(ValueError, match="scalar input"):
        p.merge_update()
    assert p.ops == ["dense_backward", "apply_sgd"]
    p = K.Program()
    p.apply_adam(w, m, v, dw, half, half, half, 0.9, 0.999, 1e-8)
    with pytest.raises(ValueError, match="has 1 instruction"):
        p.merge_update()
    assert p.ops == ["apply_adam"]
    p = K.Program()  # an update that is not an optimizer's
    p.dense_backward(x, None, None, dy, dw, db)
    p.scale(dw, dw, 0.5)
    with pytest.raises(ValueError, match="optimizer update"):
        p.merge_update()
    assert p.ops == ["dense_backward", "scale"]


def test_run_with_refuses_a_second_run_while_one_is_in_flight():
    """The pointer swap is per run: a second thread must not run (or swap) meanwhile."""
    import threading
    import time

    a = np.ones((1024, 1024), np.float32)
    b = np.full_like(a, 2.0)
    out = np.empty_like(a)
    prog = K.Program()
    for _ in range(8):  # well over 20 ms
        prog.gemm(a, a, out)
    errors = []
    starting = threading.Event()

    def run(stand_in, who):
        try:
            prog.run_with([(a, stand_in)])
        except RuntimeError as e:
            errors.append((who, str(e)))

    t = threading.Thread(target=lambda: (starting.set(), run(b, "worker")))
    t.start()
    starting.wait()
    time.sleep(0.02)
    run(a, "main")
    t.join()
    # whichever came second was refused; the result is the first one's
    assert len(errors) == 1 and "running in another thread" in errors[0][1]
    assert out[0, 0] == (4096 if errors[0][0] == "main" else 1024)
    prog.run()
    assert out[0, 0] == 1024  # the program is back on its own buffer


def test_unused_arguments_are_not_recorded_as_writes():
    x, w = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    dy, dw = np.ones((4, 2), np.float32), np.zeros((3, 2), np.float32)
    strided = np.zeros((4, 4), np.float32)[:, ::2]  # ignored: act is none
    p = K.Program()
    p.dense_backward(x, w, None, dy, dw, None, None, dz_out=strided)  # as the immediate call
    p.run()
    np.testing.assert_array_equal(dw, x.T @ dy)


def test_run_with_refuses_buffers_that_kept_arrays_straddle():
    base = np.arange(100, dtype=np.float32)
    out = np.zeros(50, np.float32)
    p = K.Program()
    p.copy(base[25:75], out)  # reads past the end of base[:50]
    assert p.run_with([(base[:50], np.full(50, -1, np.float32))]) is False
    assert p.run_with([(base, np.full(100, -1, np.float32))]) is True  # whole: fine
    assert out.tolist() == [-1.0] * 50


def test_run_with_error_reads_labels_through_a_redirected_base():
    base = np.array([0, 1, 2, 0], np.int64)
    loss = np.empty(3, np.float32)
    p = K.Program()
    p.sparse_softmax_xent(np.zeros((3, 4), np.float32), base[:3], loss)
    with pytest.raises(InvalidArgumentError, match=r"labels\[2\]=7"):
        p.run_with([(base, np.array([0, 1, 7, 0], np.int64))])
