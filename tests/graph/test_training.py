"""End to end: an MLP trained with the graph core against a numpy oracle; fusion;
bit-identical runs from the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import fused, state_ops


def _mlp(dtype, hand_written: bool):
    x = ec.placeholder(dtype, [None, 4], name="x")
    y = ec.placeholder(ec.int32, [None], name="y")
    with ec.variable_scope("l1"):
        w1 = ec.get_variable("kernel", [4, 5], dtype=dtype)
        b1 = ec.get_variable("bias", [5], dtype=dtype, initializer=ec.constant_initializer(0.1))
    with ec.variable_scope("l2"):
        w2 = ec.get_variable("kernel", [5, 3], dtype=dtype)
        b2 = ec.get_variable("bias", [3], dtype=dtype, initializer=ec.zeros_initializer())
    if hand_written:
        h = ec.nn.relu(ec.matmul(x, w1) + b1)
        logits = b2 + ec.matmul(h, w2)  # bias first: still fused
    else:
        h = fused.dense(x, w1, b1, ec.nn.relu)
        logits = fused.dense(h, w2, b2)
    loss = ec.reduce_mean(ec.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                          logits=logits))
    params = [w1, b1, w2, b2]
    grads = ec.gradients(loss, params)
    train = ec.group(*[state_ops.apply_gradient_descent(v, 0.5, g)
                       for v, g in zip(params, grads, strict=True)])
    return x, y, params, loss, train


def _numpy_step(p, xv, yv, lr=0.5):
    w1, b1, w2, b2 = p
    z1 = xv @ w1 + b1
    h = np.maximum(z1, 0)
    logits = h @ w2 + b2
    sh = logits - logits.max(1, keepdims=True)
    sm = np.exp(sh) / np.exp(sh).sum(1, keepdims=True)
    n = len(yv)
    loss = np.mean(-np.log(sm[np.arange(n), yv]))
    d = sm.copy()
    d[np.arange(n), yv] -= 1
    d /= n
    gw2, gb2 = h.T @ d, d.sum(0)
    dh = d @ w2.T * (z1 > 0)
    gw1, gb1 = xv.T @ dh, dh.sum(0)
    return loss, [w1 - lr * gw1, b1 - lr * gb1, w2 - lr * gw2, b2 - lr * gb2]


@pytest.mark.smoke
@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
@pytest.mark.parametrize("hand_written", [False, True], ids=["fused", "hand"])
def test_mlp_training_matches_numpy_oracle(hand_written, use_c):
    x, y, params, loss, train = _mlp(ec.float64, hand_written)
    rs = np.random.RandomState(0)
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        sess.run(ec.global_variables_initializer())
        p = sess.run(params)
        for _ in range(5):
            xv, yv = rs.randn(8, 4), rs.randint(0, 3, 8).astype(np.int32)
            got, _ = sess.run([loss, train], {x: xv, y: yv})
            want, p = _numpy_step(p, xv, yv)
            np.testing.assert_allclose(got, want, rtol=1e-12)
        for a, b in zip(sess.run(params), p, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        plan = [pl for f in sess._families.values() for pl in f.plans.values()
                if any(q.type == "Mean" for q in pl.pnodes)][0]
        types = [q.type for q in plan.pnodes]
        # hand-written matmul -> add -> relu chains are fused into Dense by the plan compiler
        assert types.count("Dense") == 2 and "MatMul" not in types[:types.index("Mean")]
        if use_c:
            assert plan.programs >= 1


def test_fusion_is_skipped_when_an_intermediate_is_fetched():
    x = ec.placeholder(ec.float32, [None, 3])
    w = ec.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    b = ec.constant([1.0, -100.0])
    z = ec.matmul(x, w) + b
    r = ec.nn.relu(z)
    xv = np.ones((2, 3), np.float32)
    with ec.Session() as sess:
        rv, zv = sess.run([r, z], {x: xv})
        types = [q.type for f in sess._families.values() for p in f.plans.values()
                 for q in p.pnodes]
        # z is fetched: matmul + add still fuse (linear Dense), the relu stays separate
        assert types == ["Dense", "Relu"]
        rv2 = sess.run(r, {x: xv})
        types2 = [q.type for q in list(sess._families.values())[-1].plans[((2, 3),)].pnodes]
        assert types2 == ["Dense"]
    np.testing.assert_array_equal(rv, np.maximum(zv, 0))
    np.testing.assert_array_equal(rv, rv2)


def _train_with_dropout(seed):
    with ec.Graph().as_default():
        ec.set_random_seed(seed)
        x = ec.placeholder(ec.float32, [None, 4])
        y = ec.placeholder(ec.int32, [None])
        training = ec.placeholder_with_default(True, [])
        w1 = ec.get_variable("w1", [4, 16])
        b1 = ec.get_variable("b1", [16], initializer=ec.zeros_initializer())
        w2 = ec.get_variable("w2", [16, 3])
        h = ec.nn.dropout(fused.dense(x, w1, b1, "relu"), rate=0.3, training=training)
        noise = ec.random_normal([16, 3], stddev=0.01)
        logits = ec.matmul(h, w2 + noise)
        loss = ec.reduce_mean(ec.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                              logits=logits))
        gs = ec.gradients(loss, [w1, b1, w2])
        m = [ec.Variable(np.zeros(v.shape.as_list(), np.float32), trainable=False)
             for v in (w1, b1, w2)]
        train = ec.group(*[state_ops.apply_momentum(v, a, 0.1, g, 0.9)
                           for v, a, g in zip((w1, b1, w2), m, gs, strict=True)])
        rs = np.random.RandomState(1)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            losses = [sess.run([loss, train], {x: rs.randn(16, 4).astype(np.float32),
                                               y: rs.randint(0, 3, 16)})[0]
                      for _ in range(20)]
            eval_loss = sess.run(loss, {x: np.ones((4, 4), np.float32), y: [0, 1, 2, 0],
                                        training: False})
            eval_again = sess.run(loss, {x: np.ones((4, 4), np.float32), y: [0, 1, 2, 0],
                                         training: False})
        return np.array(losses), eval_loss, eval_again


def test_same_seed_gives_bit_identical_training():
    a, ea, ea2 = _train_with_dropout(42)
    b, eb, _ = _train_with_dropout(42)
    c, _, _ = _train_with_dropout(43)
    assert a.tobytes() == b.tobytes() and ea == eb
    assert not np.array_equal(a, c)
    assert a[-5:].mean() < a[:5].mean()  # it learns
    # with training=False dropout is off (only the random_normal noise differs per run)
    assert abs(ea - ea2) < 0.05


def test_dropout_training_flag_and_seed():
    x = ec.ones([2000])
    flag = ec.placeholder(ec.bool, [])
    y1 = ec.nn.dropout(x, keep_prob=0.75, seed=1, training=flag)
    assert ec.nn.dropout(x, rate=0.5, training=False).op.type == "Identity"
    with pytest.raises(ValueError, match="exactly one of `rate` and `keep_prob`"):
        ec.nn.dropout(x)
    with pytest.raises(ValueError, match=r"`rate` must be in \[0, 1\)"):
        ec.nn.dropout(x, rate=1.0)
    with ec.Session() as sess:
        off = sess.run(y1, {flag: False})
        on = sess.run(y1, {flag: True})
    np.testing.assert_array_equal(off, 1.0)
    assert set(np.unique(on)) == {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (on == 0).mean() < 0.3


@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
def test_conv_bias_relu_chain_is_fused_and_matches(use_c):
    rs = np.random.RandomState(3)
    x = ec.placeholder(ec.float64, [None, 6, 6, 2])
    w = ec.Variable(rs.randn(3, 3, 2, 4))
    b = ec.Variable(rs.randn(4))
    y = ec.nn.relu(ec.nn.bias_add(ec.nn.conv2d(x, w, 1, "SAME"), b))
    loss = ec.reduce_sum(ec.nn.max_pool2d(y, 2, 2, "VALID"))
    gw, gb = ec.gradients(loss, [w, b])
    xv = rs.randn(2, 6, 6, 2)
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        sess.run(ec.global_variables_initializer())
        got = sess.run([loss, gw, gb], {x: xv})
        plan = list(sess._families.values())[-1].plans[((2, 6, 6, 2),)]
        assert "FusedConv2D" in [q.type for q in plan.pnodes]
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        sess.run(ec.global_variables_initializer())
        # fetching the conv output blocks the fusion: same numbers through the plain ops
        conv = y.op.inputs[0].op.inputs[0]
        ref = sess.run([loss, gw, gb, conv], {x: xv})[:3]
    for a, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def _adam_mlp(n_in, n_hidden, fetch_dw1):
    """An n_in-n_hidden-3 ReLU MLP under Adam in the default graph; returns (x, y,
    fetches: loss, the train op and, with ``fetch_dw1``, the input layer's dW)."""
    ec.set_random_seed(3)
    x = ec.placeholder(ec.float32, [None, n_in])
    y = ec.placeholder(ec.int32, [None])
    logits = ec.layers.dense(ec.layers.dense(x, n_hidden, activation=ec.nn.relu), 3)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    opt = ec.train.AdamOptimizer(0.01)
    grads = opt.compute_gradients(loss)
    train = opt.apply_gradients(grads)
    return x, y, [loss, train] + ([grads[0][0]] if fetch_dw1 else [])


def _adam_mlp_run(fetch_dw1: bool):
    """Three Adam steps of a 2-layer MLP (float32) in a fresh graph; returns the Program
    ops of the train step's plan, the final weights and the losses."""
    with ec.Graph().as_default():
        x, y, fetches = _adam_mlp(6, 8, fetch_dw1)
        rs = np.random.RandomState(0)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            losses = [sess.run(fetches, {x: rs.randn(16, 6).astype(np.float32),
                                         y: rs.randint(0, 3, 16)})[0] for _ in range(3)]
            ops = [op for f in sess._families.values() for pl in f.plans.values()
                   for s in pl.steps if hasattr(getattr(s, "__self__", None), "ops")
                   for op in s.__self__.ops]
            weights = sess.run(ec.trainable_variables())
    return ops, weights, losses


def test_plan_fuses_adam_into_the_input_layer_backward():
    """The plan compiler (not the C seam, which no longer fuses on its own) schedules W1's
    Adam update right after the input layer's gradient and runs it inside that dense
    backward (one instruction; the narrow logits layer, 8 rows with dx, keeps its two
    GEMMs together); dW1 is still written, so fetching it changes nothing (same bits).
    Bit-identity with the separate instructions: tests/lib/test_kernels_program.py."""
    ops, weights, losses = _adam_mlp_run(fetch_dw1=False)
    assert ops.count("dense_backward+apply_adam") == 1
    assert ops.count("dense_backward") == 1 and ops.count("apply_adam") == 3
    ops2, weights2, losses2 = _adam_mlp_run(fetch_dw1=True)
    assert ops2.count("dense_backward+apply_adam") == 1  # dW1 is still written: fetchable
    for a, b in zip(weights, weights2, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(losses, losses2)


def _scratch_dw_run(fetch_dw1):
    """Two Adam steps of a 1024-512-3 MLP; returns (the input layer's dW buffer after
    the second step, which was set to NaN before it; the second step's fetches; the
    weights after it)."""
    with ec.Graph().as_default():
        x, y, fetches = _adam_mlp(1024, 512, fetch_dw1)
        rs = np.random.RandomState(0)
        feed = {x: rs.randn(16, 1024).astype(np.float32), y: rs.randint(0, 3, 16)}
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            sess.run(fetches, feed)
            plan = [pl for f in sess._families.values() for pl in f.plans.values()
                    if any(q.type == "DenseGrad" for q in pl.pnodes)][0]
            grad = [q for q in plan.pnodes if q.type == "DenseGrad"
                    and q.outputs[1].shape.as_list() == [1024, 512]][0]
            dw = plan.buffers[id(grad.outputs[1])]
            dw[...] = np.nan
            out = sess.run(fetches, feed)
            return dw.copy(), out, sess.run(ec.trainable_variables())


def test_plan_keeps_the_fused_weight_gradient_in_scratch_unless_it_is_read():
    """With nothing else reading the input layer's dW (2^19 elements: large enough),
    the fused backward + Adam keeps each block of dW in a thread's scratch and never
    writes the dW buffer (sentinel NaNs survive a step); fetched, dW is written and
    returned; the weights are the same bits either way."""
    dw, _, weights = _scratch_dw_run(False)
    assert np.isnan(dw).all()
    dw2, out2, weights2 = _scratch_dw_run(True)
    assert np.isfinite(out2[2]).all() and np.isfinite(dw2).all()
    for a, b in zip(weights, weights2, strict=True):
        np.testing.assert_array_equal(a, b)


def _mlp_opt_run(make_opt, use_c: bool, reverse: bool = False):
    """Three steps of a 4-layer float64 MLP under one optimizer; returns (program ops,
    the weights after training, the losses). Weights 7x16 (the input layer: no dx),
    16x512 (narrow, with dx), 512x256 (2^17 elements, with dx) and 256x3 (256 rows,
    with dx).
    ``reverse``: the (gradient, variable) pairs go to apply_gradients last layer first,
    each bias before its weight."""
    with ec.Graph().as_default():
        ec.set_random_seed(5)
        x = ec.placeholder(ec.float64, [None, 7])
        y = ec.placeholder(ec.int32, [None])
        h = ec.layers.dense(x, 16, activation=ec.nn.relu)
        h = ec.layers.dense(h, 512, activation=ec.nn.relu)
        h = ec.layers.dense(h, 256, activation=ec.nn.relu)
        logits = ec.layers.dense(h, 3)
        loss = ec.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
        opt = make_opt()
        pairs = opt.compute_gradients(loss)
        train = opt.apply_gradients(pairs[::-1] if reverse else pairs,
                                    global_step=ec.train.get_or_create_global_step())
        rs = np.random.RandomState(1)
        with ec.Session(config={"use_c_kernels": use_c}) as sess:
            sess.run(ec.global_variables_initializer())
            losses = [sess.run([loss, train], {x: rs.randn(12, 7), y: rs.randint(0, 3, 12)})[0]
                      for _ in range(3)]
            ops = [op for f in sess._families.values() for pl in f.plans.values()
                   for s in pl.steps if hasattr(getattr(s, "__self__", None), "ops")
                   for op in s.__self__.ops]
            return ops, sess.run(ec.trainable_variables()), losses


@pytest.mark.parametrize("name,make_opt", [
    ("sgd", lambda: ec.train.GradientDescentOptimizer(0.3)),
    ("momentum", lambda: ec.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True)),
    ("adagrad", lambda: ec.train.AdagradOptimizer(0.2)),
    ("rmsprop", lambda: ec.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True)),
    ("adam", lambda: ec.train.AdamOptimizer(0.05)),
])
def test_plan_fuses_every_optimizer_into_each_dense_backward(name, make_opt):
    """A weight's update runs inside its layer's dense backward, for every optimizer
    with a C update: the input layer's (no dx) and the layers with dx whose weight has
    at least 256 rows (512x256, 256x3: dx from the weight before its update); the
    narrow 16x512 layer keeps its two GEMMs together. Training matches the numpy path
    (no C programs, no fusion)."""
    ops, weights, losses = _mlp_opt_run(make_opt, True)
    assert ops.count(f"dense_backward+apply_{name}") == 3, ops
    assert ops.count("dense_backward") == 1, ops
    ops_np, weights_np, losses_np = _mlp_opt_run(make_opt, False)
    assert not any("+apply" in op for op in ops_np)
    np.testing.assert_allclose(losses, losses_np, rtol=1e-10)
    for a, b in zip(weights, weights_np, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # updates created bias first: each weight's update still follows its gradient
    ops_r, weights_r, _ = _mlp_opt_run(make_opt, True, reverse=True)
    assert ops_r.count(f"dense_backward+apply_{name}") == 3, ops_r
    for a, b in zip(weights_r, weights, strict=True):
        np.testing.assert_array_equal(a, b)


def _conv_relu_pool_run(use_c: bool, fetch_pool_grad: bool, fetch_input_grad: bool = False):
    """Three SGD steps of conv(relu) -> max-pool -> dense; returns (program ops, the
    filter after training, and from the last step the fetched gradient at the pool's
    input and the ReLU output, or None). ``fetch_input_grad``: the gradient at x is
    fetched too (the conv backward then computes its input gradient)."""
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(3)
        x = ec.placeholder(ec.float32, [None, 8, 8, 1], name="x")
        y = ec.placeholder(ec.int32, [None], name="y")
        c = ec.layers.conv2d(x, 4, 3, padding="same", activation=ec.nn.relu,
                             bias_initializer=ec.constant_initializer(-0.3))
        p = ec.layers.max_pooling2d(c, 2, 2)
        logits = ec.layers.dense(ec.reshape(p, [-1, 4 * 4 * 4]), 3)
        loss = ec.reduce_mean(ec.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                              logits=logits))
        kernel = [v for v in ec.trainable_variables() if "conv2d/kernel" in v.name][0]
        params = ec.trainable_variables()
        # one gradient graph: d loss / d c is the pool gradient the conv backward reads
        grads = ec.gradients(loss, [c] + params + [x])
        train = ec.train.GradientDescentOptimizer(0.5).apply_gradients(
            list(zip(grads[1:-1], params, strict=True)))
        fetches = [train, loss]
        if fetch_pool_grad:
            fetches += [grads[0], c]
        if fetch_input_grad:
            fetches += [grads[-1]]
        rng = np.random.default_rng(0)
        xs = rng.standard_normal((6, 8, 8, 1)).astype(np.float32)
        ys = rng.integers(0, 3, 6).astype(np.int32)
        with ec.Session(config={"use_c_kernels": use_c}) as sess:
            sess.run(ec.global_variables_initializer())
            for _ in range(3):
                out = sess.run(fetches, {x: xs, y: ys})
            ops = [op for f in sess._families.values() for pl in f.plans.values()
                   for s in pl.steps if hasattr(getattr(s, "__self__", None), "ops")
                   for op in s.__self__.ops]
            return (ops, sess.run(kernel), out[2] if fetch_pool_grad else None,
                    out[3] if fetch_pool_grad else None)


def test_plan_folds_the_conv_relu_gradient_into_the_max_pool_gradient():
    """conv(relu) -> max-pool: the plan runs the pool gradient through the ReLU
    (max_pool2d_backward+relu; the conv backward skips its activation pass) and, the
    conv having no input gradient, makes it inside the filter gradient
    (max_pool2d_backward+relu+conv2d_backward); with the input gradient fetched only the
    fold happens. Both train as the numpy kernels do. When the pool gradient is also
    fetched it is not folded (the fetched value is the plain pool gradient, nonzero
    where the ReLU output is 0). Bit-identity of the pairs: tests/lib."""
    ops, kernel, _, _ = _conv_relu_pool_run(True, False)
    # (+picks: the conv output is kept as the pool's picks, test_plan_keeps_pool_picks)
    assert ops.count("max_pool2d_backward+relu+conv2d_backward+picks") == 1
    assert "conv2d_backward" not in ops
    # the forward pass pools each image of the conv output right after it is made
    assert ops.count("conv2d_forward+max_pool2d_forward+picks") == 1 and \
        "conv2d_forward" not in ops
    _, want, _, _ = _conv_relu_pool_run(False, False)
    np.testing.assert_allclose(kernel, want, rtol=1e-4, atol=1e-5)
    ops, kernel_dx, _, _ = _conv_relu_pool_run(True, False, fetch_input_grad=True)
    assert ops.count("max_pool2d_backward+relu+picks") == 1 and "conv2d_backward" in ops
    np.testing.assert_allclose(kernel_dx, want, rtol=1e-4, atol=1e-5)
    ops, kernel2, gc, conv = _conv_relu_pool_run(True, True)
    assert "max_pool2d_backward+relu" not in ops and "max_pool2d_backward" in ops
    assert np.any((conv == 0) & (gc != 0))
    _, _, gc_np, _ = _conv_relu_pool_run(False, True)
    np.testing.assert_allclose(gc, gc_np, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(kernel2, want, rtol=1e-4, atol=1e-5)


def _pick_run(fetch_conv: bool, extra_reader: bool = False, steps: int = 3):
    """Three SGD steps of conv(relu) 5x5 -> 2x2 max-pool -> conv(relu) 3x3 -> 2x2
    max-pool -> dense on 28x28x1 images, 16 filters (the AVX-512 pick loops) and 40
    images (chunks of images in the filter gradient); returns (program ops, the
    losses, every variable after training). ``fetch_conv``: both conv outputs are
    fetched too; ``extra_reader``: a node outside the pools and gradients reads them
    (sums added to the loss)."""
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(5)
        x = ec.placeholder(ec.float32, [None, 28, 28, 1], name="x")
        y = ec.placeholder(ec.int32, [None], name="y")
        c = ec.layers.conv2d(x, 16, 5, padding="same", activation=ec.nn.relu,
                             bias_initializer=ec.constant_initializer(-0.05))
        p = ec.layers.max_pooling2d(c, 2, 2)
        c2 = ec.layers.conv2d(p, 16, 3, padding="same", activation=ec.nn.relu)
        p2 = ec.layers.max_pooling2d(c2, 2, 2)
        logits = ec.layers.dense(ec.reshape(p2, [-1, 7 * 7 * 16]), 3)
        loss = ec.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
        if extra_reader:
            loss = loss + 1e-4 * (ec.reduce_sum(c) + ec.reduce_sum(c2))
        train = ec.train.GradientDescentOptimizer(0.1).minimize(loss)
        fetches = [train, loss] + ([c, c2] if fetch_conv else [])
        rng = np.random.default_rng(1)
        xs = rng.standard_normal((40, 28, 28, 1)).astype(np.float32)
        xs[xs < -1.5] = 0.0  # ties at zero in some windows
        ys = rng.integers(0, 3, 40).astype(np.int32)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            losses = [sess.run(fetches, {x: xs, y: ys})[1] for _ in range(steps)]
            ops = [op for f in sess._families.values() for pl in f.plans.values()
                   for s in pl.steps if hasattr(getattr(s, "__self__", None), "ops")
                   for op in s.__self__.ops]
            return ops, losses, sess.run(ec.trainable_variables())


def test_plan_keeps_pool_picks_instead_of_the_conv_output():
    """A training step's conv(relu) -> max-pool keeps the pool's picks (a byte per
    pooled element) between forward and backward instead of the conv output, when
    nothing else reads that output, for a first conv (its pool gradient inside its
    filter gradient) and a second (with an input gradient): the same losses and
    variables, bit for bit, as the step that fetches the conv outputs (which keeps
    them, so no picks); a second reader of the conv outputs keeps them too."""
    ops, losses, weights = _pick_run(False)
    assert ops.count("conv2d_forward+max_pool2d_forward+picks") == 2, ops
    assert ops.count("max_pool2d_backward+relu+conv2d_backward+picks") == 1, ops
    assert ops.count("max_pool2d_backward+relu+picks") == 1, ops  # the second conv's
    ops_y, losses_y, weights_y = _pick_run(True)
    assert not any("+picks" in op for op in ops_y), ops_y
    assert ops_y.count("max_pool2d_backward+relu+conv2d_backward") == 1, ops_y
    assert ops_y.count("max_pool2d_backward+relu") == 1, ops_y
    np.testing.assert_array_equal(losses, losses_y)
    for a, b in zip(weights, weights_y, strict=True):
        np.testing.assert_array_equal(a, b)
    ops_r, _, weights_r = _pick_run(False, extra_reader=True)
    assert not any("+picks" in op for op in ops_r), ops_r
    assert any(not np.array_equal(a, b) for a, b in zip(weights_r, weights, strict=True))
