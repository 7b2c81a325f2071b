"""A TF1-style sequence classifier Estimator (embedding + dynamic_rnn LSTM, after
tf.disable_v2_behavior()) trains, predicts, and exports a serving graph that matches
predict: the while loop, its captured variables and sequence_length survive the export."""

from __future__ import annotations

import os

import numpy as np

import estcore.compat.v1 as tf
import estcore.saved_model as sm
from estcore.graph import shapes


def _model_fn(features, labels, mode):
    ids, lengths = features["ids"], features["len"]
    emb = tf.get_variable("emb", [20, 8], initializer=tf.random_uniform_initializer(-0.1, 0.1))
    x = tf.nn.embedding_lookup(emb, ids)
    cell = tf.nn.rnn_cell.LSTMCell(16)
    _, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
    logits = tf.layers.dense(state.h, 2)
    assert state.h.shape[-1].value == 16            # v1 shapes in the program's own code
    preds = {"classes": tf.argmax(logits, 1), "probabilities": tf.nn.softmax(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=preds, export_outputs={
            "serving_default": tf.estimator.export.PredictOutput(preds)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(0.02).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, eval_metric_ops={
        "accuracy": tf.metrics.accuracy(labels, preds["classes"])})


def _data(n, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 20, (n, 6)).astype(np.int64)
    lengths = rng.integers(2, 7, n).astype(np.int32)
    for i, n_i in enumerate(lengths):
        ids[i, n_i:] = 0
    labels = (ids[np.arange(n), lengths - 1] >= 10).astype(np.int32)   # the last valid token
    return {"ids": ids, "len": lengths}, labels


def test_lstm_estimator_trains_and_serves(tmp_path):
    before = shapes.v1_shapes()
    tf.disable_v2_behavior()
    try:
        feats, labels = _data(256, 0)
        est = tf.estimator.Estimator(_model_fn, str(tmp_path / "m"), tf.estimator.RunConfig(
            tf_random_seed=3, log_step_count_steps=None, save_summary_steps=None))
        est.train(tf.estimator.inputs.numpy_input_fn(feats, labels, batch_size=32,
                                                     num_epochs=12, shuffle=True))
        test_x, test_y = _data(128, 1)
        metrics = est.evaluate(tf.estimator.inputs.numpy_input_fn(test_x, test_y,
                                                                  batch_size=64,
                                                                  shuffle=False))
        assert metrics["accuracy"] > 0.8
        receiver = tf.estimator.export.build_raw_serving_input_receiver_fn(
            {"ids": tf.placeholder(tf.int64, [None, 6]), "len": tf.placeholder(tf.int32, [None])})
        path = os.fsdecode(est.export_saved_model(str(tmp_path / "export"), receiver))
        want = next(est.predict(tf.estimator.inputs.numpy_input_fn(
            test_x, batch_size=128, shuffle=False), yield_single_examples=False))
        got = sm.load(path)(test_x)
        np.testing.assert_array_equal(got["classes"], want["classes"])
        np.testing.assert_allclose(got["probabilities"], want["probabilities"], rtol=1e-5,
                                   atol=1e-6)
    finally:
        shapes.set_v1_shapes(before)
