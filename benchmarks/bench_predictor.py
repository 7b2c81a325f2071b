"""Serving throughput: the loaded export vs Estimator.predict vs onnxruntime.

The MLP 784-256-256-10 (trained one step, exported with build_raw_serving_input_receiver_fn)
predicts ``ROWS[b]`` rows in batches of ``b`` (1 and 256), three ways, in the same run:

* ``predictor``: ``estcore.saved_model.load(export)`` called once per batch;
* ``estimator``: ``Estimator.predict(numpy_input_fn(..., batch_size=b),
  yield_single_examples=False)`` consumed fully (graph build + restore included, as a
  user pays them per predict call);
* ``onnxruntime``: ``InferenceSession(model.onnx).run`` once per batch, with as many intra-op
  threads as estcore's kernels use and spinning disabled (the machine is shared).

Each benchmark stores ``rows`` in extra_info: predictions/s = rows / mean. Run:

    python -m pytest benchmarks/bench_predictor.py --benchmark-only

and compare the three means of each batch size (ratios).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

import estcore
import estcore.saved_model
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.export import build_raw_serving_input_receiver_fn
from estcore.estimator.inputs import numpy_input_fn

ROWS = {1: 256, 256: 4096}
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4096, 784)).astype(np.float32)
Y = RNG.integers(0, 10, size=4096).astype(np.int32)


def model_fn(features, labels, mode):
    h = estcore.layers.dense(features["x"], 256, activation=estcore.nn.relu)
    h = estcore.layers.dense(h, 256, activation=estcore.nn.relu)
    logits = estcore.layers.dense(h, 10)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"classes": estcore.argmax(logits, 1),
                                                "probabilities": estcore.nn.softmax(logits)})
    loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = estcore.train.AdamOptimizer().minimize(
        loss, global_step=estcore.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    logging.getLogger("estcore").setLevel(logging.WARNING)
    base = tmp_path_factory.mktemp("bench_predictor")
    est = Estimator(model_fn, str(base / "model"), RunConfig(tf_random_seed=0,
                                                             log_step_count_steps=None))
    est.train(numpy_input_fn({"x": X[:256]}, Y[:256], batch_size=256, shuffle=False,
                             num_epochs=1))
    path = os.fsdecode(est.export_saved_model(
        str(base / "export"), build_raw_serving_input_receiver_fn({"x": X[:1]})))
    yield est, path
    logging.getLogger("estcore").setLevel(logging.NOTSET)


def _batches(b: int) -> list[np.ndarray]:
    return [X[i:i + b] for i in range(0, ROWS[b], b)]


@pytest.mark.parametrize("batch", [1, 256])
def test_predictor(benchmark, setup, batch):
    _, path = setup
    pred = estcore.saved_model.load(path)
    batches = _batches(batch)
    ref = next(setup[0].predict(numpy_input_fn({"x": X[:batch]}, batch_size=batch,
                                               shuffle=False), yield_single_examples=False))
    np.testing.assert_array_equal(pred({"x": batches[0]})["probabilities"],
                                  ref["probabilities"])

    def run():
        for xb in batches:
            pred({"x": xb})

    benchmark.extra_info["rows"] = ROWS[batch]
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("batch", [1, 256])
def test_estimator(benchmark, setup, batch):
    est, _ = setup

    def run():
        for _ in est.predict(numpy_input_fn({"x": X[:ROWS[batch]]}, batch_size=batch,
                                            shuffle=False), yield_single_examples=False):
            pass

    benchmark.extra_info["rows"] = ROWS[batch]
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("batch", [1, 256])
def test_onnxruntime(benchmark, setup, batch):
    ort = pytest.importorskip("onnxruntime")
    from estcore._lib import _kernels

    _, path = setup
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(_kernels.get_num_threads()))
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(os.path.join(path, "model.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    batches = _batches(batch)

    def run():
        for xb in batches:
            sess.run(None, {"x": xb})

    benchmark.extra_info["rows"] = ROWS[batch]
    benchmark.extra_info["ort_threads"] = opts.intra_op_num_threads
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
