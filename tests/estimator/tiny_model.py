"""A tiny linear regression graph with a global step, shared by the hooked-session tests."""

from __future__ import annotations

from types import SimpleNamespace

import estcore as ec


def linear_model() -> SimpleNamespace:
    """``x`` [None, 2] and ``y`` [None] placeholders, ``loss`` = mean squared error of
    ``x @ w`` (``w`` [2, 1], ones) times ``scale`` (a placeholder, default 1), ``train``
    one SGD step (learning rate 0.1) that increments ``gs``; ``sess`` is initialised."""
    graph = ec.Graph()
    with graph.as_default():
        gs = ec.train.get_or_create_global_step()
        x = ec.placeholder(ec.float32, [None, 2], name="x")
        y = ec.placeholder(ec.float32, [None], name="y")
        w = ec.get_variable("w", [2, 1], initializer=ec.ones_initializer())
        scale = ec.placeholder_with_default(ec.constant(1.0), [], name="scale")
        loss = ec.reduce_mean(ec.square(ec.reshape(x @ w, [-1]) - y)) * scale
        train = ec.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        init = [v.initializer for v in ec.global_variables()]
    sess = ec.Session(graph=graph)
    sess.run(init)
    return SimpleNamespace(graph=graph, sess=sess, gs=gs, x=x, y=y, w=w, scale=scale,
                           loss=loss, train=train)
