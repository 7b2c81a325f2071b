"""``ExponentialMovingAverage``: TF 2.15's values and variable names
(``fixtures/train_tf.json``, from ``fixtures/make_train_tf.py``), a numpy reference, the
Saver round trip through ``variables_to_restore``, warm start of the shadow variables,
argument errors, TF's shadow names under variable scopes and a TF model_dir
(``fixtures/ema_bn_tf``, from ``fixtures/make_ema_bn_tf.py``) read back."""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf

REF = json.loads((pathlib.Path(__file__).parent / "fixtures" / "train_tf.json").read_text())
X = np.array(REF["X"], np.float32)
Y = np.array(REF["Y"], np.float32)
W0 = np.array(REF["W0"], np.float32)


def _model():
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(W0, name="w")
    b = tf.Variable(np.float32(0.2), name="b")
    loss = tf.reduce_mean(tf.square(tf.reduce_sum(X * w, axis=1) + b - Y), name="loss")
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
    return gs, w, b, loss, train


@pytest.mark.parametrize("case", REF["ema"],
                         ids=lambda c: f"decay={c['decay']},n={c['num_updates']},"
                                       f"debias={c['zero_debias']}")
def test_matches_tensorflow(case):
    with tf.Graph().as_default():
        gs, w, b, loss, train = _model()
        ema = tf.train.ExponentialMovingAverage(
            case["decay"], num_updates=gs if case["num_updates"] else None,
            zero_debias=case["zero_debias"])
        with tf.control_dependencies([train]):
            train = ema.apply([w, b, loss])
        assert sorted(v.op.name for v in tf.global_variables()) == case["variables"]
        assert sorted(ema.variables_to_restore()) == case["variables_to_restore"]
        assert ema.average_name(w) == case["average_name_w"]
        assert tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES) == [w, b]
        assert not any(v.op.name.endswith("ExponentialMovingAverage")
                       for v in tf.trainable_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(ema.average(w)), case["initial"]["w"])
            for want in case["steps"]:
                sess.run(train)
                np.testing.assert_allclose(sess.run(ema.average(w)), want["w"], rtol=2e-5)
                np.testing.assert_allclose(sess.run(ema.average(b)), want["b"], rtol=2e-5)
                np.testing.assert_allclose(sess.run(ema.average(loss)), want["loss"],
                                           rtol=2e-5)


def test_numpy_reference_with_num_updates():
    with ec.Graph().as_default():
        step = ec.placeholder(ec.int64, [])
        v = ec.Variable(np.array([1.0, -1.0]), name="v")
        ema = ec.train.ExponentialMovingAverage(0.999, num_updates=step)
        update = ema.apply([v])
        assign = v.assign(v * 2.0)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            shadow = np.array([1.0, -1.0])
            value = np.array([1.0, -1.0])
            for n in range(5):
                value = sess.run(assign)
                sess.run(update, {step: n})
                # the decay is a float32 tensor, as TF's (then cast to the variable's dtype)
                d = float(min(np.float32(0.999), np.float32(1 + n) / np.float32(10 + n)))
                shadow -= (shadow - value) * (1 - d)
                np.testing.assert_allclose(sess.run(ema.average(v)), shadow, rtol=1e-12)


def test_saver_restores_averages_into_the_variables(tmp_path):
    with tf.Graph().as_default():
        gs, w, b, loss, train = _model()
        ema = tf.train.ExponentialMovingAverage(0.5)
        with tf.control_dependencies([train]):
            train = ema.apply()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train)
            want_w, want_b = sess.run([ema.average(w), ema.average(b)])
            assert not np.allclose(want_w, sess.run(w))
            path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=3)
    with tf.Graph().as_default():
        w = tf.Variable(np.zeros(3, np.float32), name="w")
        b = tf.Variable(np.float32(0), name="b")
        ema = tf.train.ExponentialMovingAverage(0.5)
        restore = ema.variables_to_restore()
        assert restore == {"w/ExponentialMovingAverage": w, "b/ExponentialMovingAverage": b}
        with tf.Session() as sess:
            tf.train.Saver(restore).restore(sess, path)
            np.testing.assert_allclose(sess.run(w), want_w)
            np.testing.assert_allclose(sess.run(b), want_b)


def test_shadow_variables_warm_start(tmp_path):
    def model_fn(features, labels, mode):
        w = tf.get_variable("w", [3], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.reduce_sum(features["x"] * w, axis=1) - labels))
        gs = tf.train.get_global_step()
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        ema = tf.train.ExponentialMovingAverage(0.9)
        with tf.control_dependencies([train]):
            train = ema.apply([w])
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    def input_fn():
        return tf.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=4, num_epochs=None,
                                                  shuffle=False)()

    first = tf.estimator.Estimator(model_fn, str(tmp_path / "a"))
    first.train(input_fn, steps=5)
    shadow = first.get_variable_value("w/ExponentialMovingAverage")
    assert not np.allclose(shadow, 0)
    # a list of patterns warm-starts global variables too (a plain directory: trainable only)
    settings = tf.estimator.WarmStartSettings(str(tmp_path / "a"), vars_to_warm_start=["w.*"])
    second = tf.estimator.Estimator(model_fn, str(tmp_path / "b"), warm_start_from=settings)
    second.train(input_fn, steps=1)
    # warm-started from the first model's shadow, then one more average update
    w_after = second.get_variable_value("w")
    np.testing.assert_allclose(second.get_variable_value("w/ExponentialMovingAverage"),
                               0.9 * shadow + 0.1 * w_after, rtol=1e-5)


def test_errors():
    with ec.Graph().as_default():
        v = ec.Variable([1.0], name="v")
        i = ec.Variable([1], name="i")
        ema = ec.train.ExponentialMovingAverage(0.9)
        ema.apply([v])
        with pytest.raises(ValueError, match="already computed for: v"):
            ema.apply([v])
        with pytest.raises(TypeError, match="half, float, or double: i"):
            ema.apply([i])
        with pytest.raises(ValueError, match="decay"):
            ec.train.ExponentialMovingAverage(1.5)
        with pytest.raises(ValueError, match="fully defined"):
            ec.train.ExponentialMovingAverage(0.9).apply([ec.placeholder(ec.float32, [None])])
        assert ema.average(i) is None
        assert ema.average_name(i) == "i/ExponentialMovingAverage"


def test_shadow_names_follow_the_variable_scope_as_tf():
    """TF 1.15 creates a shadow under the CURRENT variable scope, named after the averaged
    item's op (so the scope appears twice), ``_1`` when that scope was opened before; the
    zero-debias variables go under ``<scope>/<shadow>/``. Names from TF 2.15."""
    def names(ema, items):
        return [ema.average(i).op.name for i in items], [ema.average_name(i) for i in items]

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4, 3], name="x")
        with tf.variable_scope("bn1"):
            m, v = tf.nn.moments(x, [0], name="moments")
            ema = tf.train.ExponentialMovingAverage(0.9)
            ema.apply([m, v])
            w = tf.get_variable("w", [3])
            ema_w = tf.train.ExponentialMovingAverage(0.9)
            ema_w.apply([w])
        want = ["bn1/bn1/moments/Squeeze/ExponentialMovingAverage",
                "bn1/bn1/moments/Squeeze_1/ExponentialMovingAverage"]
        assert names(ema, [m, v]) == (want, want)
        assert names(ema_w, [w]) == (["bn1/bn1/w/ExponentialMovingAverage"],) * 2
        w2 = tf.get_variable("w2", [3])
        ema_zd = tf.train.ExponentialMovingAverage(0.9, zero_debias=True)
        with tf.name_scope("ns"):    # a name scope changes nothing
            t = tf.reduce_sum(x, 0, name="t")
            ema_zd.apply([w2, t])
        want = ["w2/ExponentialMovingAverage", "ns/t/ExponentialMovingAverage"]
        assert names(ema_zd, [w2, t]) == (want, want)
        with tf.variable_scope("outer"):
            t2 = tf.reduce_sum(x, 0, name="t2")
            ema_o = tf.train.ExponentialMovingAverage(0.9, zero_debias=True, name="avg")
            ema_o.apply([t2, w2])
        assert names(ema_o, [t2, w2]) == (["outer/outer/t2/avg", "outer/w2/avg"],) * 2
        ema_dup = tf.train.ExponentialMovingAverage(0.9)
        ema_dup.apply([w2])
        assert ema_dup.average(w2).op.name == "w2/ExponentialMovingAverage_1"
        with tf.variable_scope("bn1"):  # re-entered by name: its sub-scope counters restart
            with pytest.raises(ValueError, match="already exists"):
                tf.train.ExponentialMovingAverage(0.9).apply([w])
        assert sorted(v.op.name for v in tf.global_variables()) == [
            "bn1/bn1/moments/Squeeze/ExponentialMovingAverage",
            "bn1/bn1/moments/Squeeze_1/ExponentialMovingAverage",
            "bn1/bn1/w/ExponentialMovingAverage", "bn1/w", "ns/t/ExponentialMovingAverage",
            "ns/t/ExponentialMovingAverage/biased", "ns/t/ExponentialMovingAverage/local_step",
            "outer/outer/outer/t2/avg/biased", "outer/outer/outer/t2/avg/local_step",
            "outer/outer/t2/avg", "outer/w2/avg", "w2", "w2/ExponentialMovingAverage",
            "w2/ExponentialMovingAverage_1"]
        restore = {k: v.op.name for k, v in ema_w.variables_to_restore().items()}
        assert restore["bn1/bn1/w/ExponentialMovingAverage"] == "bn1/w"
        assert restore["bn1/bn1/moments/Squeeze/ExponentialMovingAverage"] == (
            "bn1/bn1/moments/Squeeze/ExponentialMovingAverage")
        assert restore["w2/ExponentialMovingAverage"] == "w2/ExponentialMovingAverage"


def test_estimator_reads_averages_from_a_tf_model_dir(tmp_path):
    """A TF 2.15 Estimator model_dir (``fixtures/ema_bn_tf``, from
    ``fixtures/make_ema_bn_tf.py``) whose averages TF keyed
    ``bn1/bn1/moments/Squeeze/ExponentialMovingAverage``: estcore's evaluate and predict
    restore them and give TF's results."""
    fixtures = pathlib.Path(__file__).parent / "fixtures"
    ref = json.loads((fixtures / "ema_bn_tf.json").read_text())
    x, y = np.array(ref["X"], np.float32), np.array(ref["Y"], np.float32)
    model_dir = tmp_path / "model"
    shutil.copytree(fixtures / "ema_bn_tf", model_dir)

    def model_fn(features, labels, mode):
        with tf.variable_scope("bn1"):
            gamma = tf.get_variable("gamma", [3], initializer=tf.ones_initializer())
            beta = tf.get_variable("beta", [3], initializer=tf.zeros_initializer())
            mean, var = tf.nn.moments(features["x"], [0], name="moments")
            ema = tf.train.ExponentialMovingAverage(0.5)
            ema.apply([mean, var])
            mean, var = ema.average(mean), ema.average(var)
            h = tf.nn.batch_normalization(features["x"], mean, var, beta, gamma, 1e-3)
        w = tf.get_variable("w", [3, 1], initializer=tf.constant_initializer(0.1))
        pred = tf.squeeze(tf.matmul(h, w), 1)
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"pred": pred})
        ops = {"shadow_mean": tf.metrics.mean(tf.reduce_sum(mean)),
               "shadow_var": tf.metrics.mean(tf.reduce_sum(var))}
        return tf.estimator.EstimatorSpec(mode, loss=tf.reduce_mean(tf.square(pred - labels)),
                                          eval_metric_ops=ops)

    def input_fn():
        return tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=4, shuffle=False,
                                                  num_epochs=1)()

    est = tf.estimator.Estimator(model_fn, model_dir=str(model_dir))
    assert sorted(est.get_variable_names()) == ref["checkpoint_keys"]
    got = est.evaluate(input_fn)
    for key, want in ref["evaluate"].items():
        np.testing.assert_allclose(got[key], want, rtol=1e-5, err_msg=key)
    preds = [p["pred"] for p in est.predict(input_fn)]
    np.testing.assert_allclose(preds, ref["predict"], rtol=1e-5, atol=1e-7)
