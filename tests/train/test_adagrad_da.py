"""``AdagradDAOptimizer``: TF 2.15's ``tf.compat.v1.train.AdagradDAOptimizer`` values on a small
least-squares problem (``fixtures/train_tf.json``, from ``fixtures/make_train_tf.py``), a
numpy reference of the update, slot names, the l1 zeros and argument errors."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf

REF = json.loads((pathlib.Path(__file__).parent / "fixtures" / "train_tf.json").read_text())
X = np.array(REF["X"], np.float32)
Y = np.array(REF["Y"], np.float32)
W0 = np.array(REF["W0"], np.float32)


def _problem():
    gs = ec.train.get_or_create_global_step()
    w = ec.Variable(W0, name="w")
    b = ec.Variable(np.float32(0.2), name="b")
    pred = ec.reduce_sum(X * w, axis=1) + b
    loss = ec.reduce_mean(ec.square(pred - Y))
    return gs, w, b, loss


@pytest.mark.parametrize("case", REF["adagrad_da"], ids=lambda c: f"l1={c['l1']},l2={c['l2']}")
def test_matches_tensorflow(case):
    with ec.Graph().as_default():
        gs, w, b, loss = _problem()
        opt = tf.train.AdagradDAOptimizer(
            case["lr"], gs, initial_gradient_squared_accumulator_value=case["init"],
            l1_regularization_strength=case["l1"], l2_regularization_strength=case["l2"])
        train = opt.minimize(loss, global_step=gs)
        assert sorted(v.op.name for v in ec.global_variables()) == case["variables"]
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            for want in case["steps"]:
                sess.run(train)
                np.testing.assert_allclose(sess.run(w), want["w"], rtol=2e-5, atol=1e-6)
                np.testing.assert_allclose(sess.run(b), want["b"], rtol=2e-5, atol=1e-6)
                assert sess.run(gs) == want["step"]


def test_against_numpy_reference_with_l1_zeros():
    lr, l1, l2, init = 0.5, 0.05, 0.01, 0.2
    with ec.Graph().as_default():
        gs, w, b, loss = _problem()
        opt = ec.train.AdagradDAOptimizer(lr, gs, init, l1, l2)
        (gw, _), _ = opt.compute_gradients(loss, [w, b])
        train = opt.minimize(loss, global_step=gs, var_list=[w])
        assert opt.get_slot_names() == ["gradient_accumulator", "gradient_squared_accumulator"]
        assert opt.get_slot(w, "gradient_accumulator").op.name == "w/AdagradDA"
        assert opt.get_slot(w, "gradient_squared_accumulator").op.name == "w/AdagradDA_1"
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            g_acc = np.zeros(3)
            gg_acc = np.full(3, init)
            for t in range(1, 8):
                g = sess.run(gw).astype(np.float64)
                sess.run(train)
                g_acc += g
                gg_acc += g * g
                want = (-np.sign(g_acc) * lr * np.maximum(np.abs(g_acc) - l1 * t, 0)
                        / (l2 * t * lr + np.sqrt(gg_acc)))
                np.testing.assert_allclose(sess.run(w), want, rtol=1e-5, atol=1e-7)
            assert (sess.run(w) == 0).any() == (np.abs(g_acc) <= l1 * 7).any()


@pytest.mark.parametrize("kwargs, match", [
    ({"global_step": None}, "global_step"),
    ({"initial_gradient_squared_accumulator_value": 0.0}, "initial_gradient_squared"),
    ({"l1_regularization_strength": -1.0}, "l1_regularization_strength"),
    ({"learning_rate": "0.1"}, "learning_rate"),
])
def test_argument_errors(kwargs, match):
    with ec.Graph().as_default():
        gs = ec.train.get_or_create_global_step()
        args = {"learning_rate": 0.1, "global_step": gs, **kwargs}
        with pytest.raises((ValueError, TypeError), match=match):
            ec.train.AdagradDAOptimizer(**args)
