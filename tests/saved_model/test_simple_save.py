"""``tf.saved_model.simple_save``: a session's graph and variables exported in estcore's
format, loaded back with ``estcore.saved_model.load`` (same outputs as the session), TF's
directory rule and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf


def _trained_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        y = tf.placeholder(tf.float32, [None, 1], name="y")
        h = tf.layers.dense(x, 4, activation=tf.nn.relu)
        pred = tf.layers.dense(h, 1)
        loss = tf.losses.mean_squared_error(y, pred)
        gs = tf.train.get_or_create_global_step()
        train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=gs)
    return g, x, y, pred, train


def test_round_trip_through_the_loader(tmp_path):
    g, x, y, pred, train = _trained_graph()
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(16, 3)).astype(np.float32)
    ys = xs.sum(axis=1, keepdims=True)
    export_dir = tmp_path / "export" / "1"
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(20):
            sess.run(train, {x: xs, y: ys})
        want = sess.run(pred, {x: xs})
        tf.saved_model.simple_save(sess, str(export_dir), inputs={"x": x},
                                   outputs={"prediction": pred})
    assert (export_dir / "saved_model.json").is_file()
    assert not [p for p in (tmp_path / "export").iterdir() if p.name != "1"]  # no temp left
    predictor = ec.saved_model.load(str(export_dir))
    sig = predictor.signatures["serving_default"]
    assert sig.method_name == "predict"
    assert list(sig.inputs) == ["x"] and list(sig.outputs) == ["prediction"]
    np.testing.assert_allclose(predictor({"x": xs})["prediction"], want, rtol=1e-6)


def test_empty_existing_directory_is_used_and_non_empty_refused(tmp_path):
    g, x, _, pred, _ = _trained_graph()
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        (tmp_path / "empty").mkdir()
        tf.saved_model.simple_save(sess, tmp_path / "empty", {"x": x}, {"p": pred},
                                   legacy_init_op=tf.no_op())
        assert (tmp_path / "empty" / "saved_model.json").is_file()
        with pytest.raises(AssertionError, match="already exists, and isn't empty"):
            tf.saved_model.simple_save(sess, str(tmp_path / "empty"), {"x": x}, {"p": pred})


@pytest.mark.parametrize("inputs, outputs, error, match", [
    ({}, {"p": "pred"}, TypeError, "inputs"),
    ({"x": "nope"}, {"p": "pred"}, TypeError, r"inputs\['x'\]"),
    ({"x": "x"}, {"p": "other"}, ValueError, "not in the session's graph"),
    ({}, None, TypeError, "inputs"),
])
def test_argument_errors(tmp_path, inputs, outputs, error, match):
    g, x, _, pred, _ = _trained_graph()
    with ec.Graph().as_default():
        other = ec.constant(1.0)
    names = {"x": x, "pred": pred, "other": other}
    inputs = {k: names.get(v, v) for k, v in inputs.items()} if inputs else inputs
    outputs = {k: names[v] for k, v in outputs.items()} if outputs else outputs
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(error, match=match):
            tf.saved_model.simple_save(sess, str(tmp_path / "out"), inputs or {}, outputs or {})
    assert not (tmp_path / "out").exists()


def test_missing_placeholder_is_named(tmp_path):
    g, x, y, pred, _ = _trained_graph()
    with g.as_default():
        err = pred - y
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(ValueError, match="placeholder 'y'"):
            tf.saved_model.simple_save(sess, str(tmp_path / "out"), {"x": x}, {"e": err})
    assert not (tmp_path / "out").exists()


def test_uninitialized_variable_is_named(tmp_path):
    g, x, _, pred, _ = _trained_graph()
    with tf.Session(graph=g) as sess:
        with pytest.raises(ec.errors.FailedPreconditionError, match="dense/kernel"):
            tf.saved_model.simple_save(sess, str(tmp_path / "out"), {"x": x}, {"p": pred})
    assert not (tmp_path / "out").exists()
