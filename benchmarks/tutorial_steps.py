"""The two reference training steps the step benchmarks time (a helper, not a benchmark).

* ``mlp``: 784-256-256-10, ReLU, Adam, batch 128, float32;
* ``cnn``: the TF "CNN with Estimators" tutorial model (conv 5x5x1->32 ReLU, max-pool 2x2,
  conv 5x5x32->64 ReLU, max-pool 2x2, dense 3136->1024 ReLU, dense 1024->10), SGD,
  batch 100, float32, NHWC.

Each is built in its own Graph and Session and run as ``Session.make_callable([train_op,
loss], [x, y])``; :func:`gemm_flops` counts the floating-point operations of the step's
matrix products (2 per multiply-add: forward, filter/weight gradients and the input
gradients the step needs), the work a step cannot avoid.
"""

from __future__ import annotations

import numpy as np

KINDS = ("mlp", "cnn")


def tutorial_model(tf, kind: str, x):
    """The reference model on input ``x`` under a TF1-style module ``tf``
    (``estcore``, ``estcore.compat.v1`` or TensorFlow's ``tensorflow.compat.v1``: the
    comparisons with TF build it from here too): ``(logits, optimizer)``. ``x``:
    (batch, 784) for ``mlp``, (batch, 28, 28, 1) for ``cnn``."""
    if kind == "mlp":
        h = tf.layers.dense(x, 256, activation=tf.nn.relu)
        h = tf.layers.dense(h, 256, activation=tf.nn.relu)
        return tf.layers.dense(h, 10), tf.train.AdamOptimizer()
    if kind == "cnn":
        c = tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu)
        p = tf.layers.max_pooling2d(c, 2, 2)
        c = tf.layers.conv2d(p, 64, 5, padding="same", activation=tf.nn.relu)
        p = tf.layers.max_pooling2d(c, 2, 2)
        d = tf.layers.dense(tf.reshape(p, [-1, 7 * 7 * 64]), 1024, activation=tf.nn.relu)
        return tf.layers.dense(d, 10), tf.train.GradientDescentOptimizer(0.001)
    raise ValueError(f"kind must be one of {KINDS}. Received: {kind!r}")


def input_shape(kind: str, batch=None) -> list:
    """The model input's shape: [batch, 784] (mlp) or [batch, 28, 28, 1] (cnn)."""
    return [batch, 784] if kind == "mlp" else [batch, 28, 28, 1]


def batch_size(kind: str) -> int:
    """The steps' batch: 128 (mlp) or 100 (cnn)."""
    return 128 if kind == "mlp" else 100


def build_step(kind: str, seed: int = 0, return_session: bool = False):
    """``(step, x, y)``: ``step(x, y)`` runs one training step and returns
    ``[None, loss]``; ``x``, ``y`` are one fixed random batch. With ``return_session``,
    ``(step, x, y, session)`` (to trace a step: ``graph.profiling.trace_next_run``)."""
    import estcore as ec  # here, so TF's Python can import this module for the model

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}. Received: {kind!r}")
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(1)
        gs = ec.train.get_or_create_global_step()
        rng = np.random.default_rng(seed)
        batch = batch_size(kind)
        x = ec.placeholder(ec.float32, input_shape(kind))
        logits, opt = tutorial_model(ec, kind, x)
        xs = rng.normal(size=tuple(input_shape(kind, batch))).astype(np.float32)
        y = ec.placeholder(ec.int32, [None])
        loss = ec.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
        train = opt.minimize(loss, global_step=gs)
        init = ec.global_variables_initializer()
    sess = ec.Session(graph=g)
    sess.run(init)
    ys = rng.integers(0, 10, batch).astype(np.int32)
    step = sess.make_callable([train, loss], [x, y])
    return (step, xs, ys, sess) if return_session else (step, xs, ys)


def gemm_flops(kind: str) -> int:
    """Floating-point operations of one step's matrix products (see the module doc)."""
    if kind == "mlp":
        batch, sizes = 128, (784, 256, 256, 10)
        fwd = sum(batch * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        dx = sum(batch * a * b for a, b in zip(sizes[1:-1], sizes[2:], strict=True))
        return 2 * (2 * fwd + dx)  # forward, dW of every layer, dx of all but the first
    if kind == "cnn":
        batch = 100
        conv1 = batch * 28 * 28 * 25 * 32       # forward multiply-adds; dW the same
        conv2 = batch * 14 * 14 * 800 * 64      # forward; dW and dx the same
        dense1, dense2 = batch * 3136 * 1024, batch * 1024 * 10
        return 2 * (2 * conv1 + 3 * conv2 + 3 * dense1 + 3 * dense2)
    raise ValueError(f"kind must be one of {KINDS}. Received: {kind!r}")
