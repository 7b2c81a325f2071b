"""The models of the TF checkpoint fixtures, written against estcore's API.

tools/tf_fixtures/make_tf_checkpoints.py builds the same models with TF 2.15
(``tf.compat.v1.layers``, ``AdamOptimizer``): same layers, sizes, names and learning
rates, so a checkpoint of one continues in the other. Also the data helpers both sides'
tests use.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

import estcore as ec
from estcore.estimator import EstimatorSpec, SessionRunArgs, SessionRunHook
from estcore.estimator.inputs import numpy_input_fn

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "tf"


class LossRecorder(SessionRunHook):
    """Appends the loss of every training step to ``sink``."""

    def __init__(self, loss, sink: list):
        self._loss, self._sink = loss, sink

    def before_run(self, run_context):
        return SessionRunArgs(self._loss)

    def after_run(self, run_context, run_values):
        self._sink.append(float(run_values.results))


LOSSES: list[float] = []  # the Estimator copies params: the hooks append here


def mlp_model_fn(features, labels, mode):
    h = ec.layers.dense(features["x"], 8, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(0.05).minimize(loss,
                                                     global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         training_hooks=[LossRecorder(loss, LOSSES)])


def cnn_model_fn(features, labels, mode):
    x = features["x"]
    conv1 = ec.layers.conv2d(x, 4, [5, 5], padding="same", activation=ec.nn.relu)
    pool1 = ec.layers.max_pooling2d(conv1, pool_size=[2, 2], strides=2)
    conv2 = ec.layers.conv2d(pool1, 8, [5, 5], padding="same", activation=ec.nn.relu)
    pool2 = ec.layers.max_pooling2d(conv2, pool_size=[2, 2], strides=2)
    flat = ec.layers.flatten(pool2)
    dense = ec.layers.dense(flat, 16, activation=ec.nn.relu)
    logits = ec.layers.dense(dense, 10)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(2e-3).minimize(loss,
                                                     global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         training_hooks=[LossRecorder(loss, LOSSES)])


MODEL_FNS = {"mlp_adam": mlp_model_fn, "cnn": cnn_model_fn}


def load_record(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """``(<name>.json, <name>.npz arrays)`` of a fixture."""
    record = json.loads((FIXTURES / f"{name}.json").read_text())
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return record, arrays


def ordered_input_fn(arrays: dict[str, np.ndarray], batch_size: int):
    """Batches in order, repeated (TF's ``from_tensor_slices(...).batch(b).repeat()``)."""
    return numpy_input_fn({"x": arrays["x"]}, arrays["y"], batch_size=batch_size,
                          num_epochs=None, shuffle=False)


def deterministic_tensors() -> dict[str, np.ndarray]:
    """Variables of every dtype a TF bundle and estcore share, with values computed by
    integer arithmetic and one IEEE division (the same bits on every machine)."""
    specs = [("dense/kernel", np.float32, (3, 4)), ("dense/bias", np.float32, (4,)),
             ("global_step", np.int64, ()), ("f16", np.float16, (2, 3)),
             ("f64", np.float64, (5,)), ("i8", np.int8, (3,)), ("i16", np.int16, (2, 2)),
             ("i32", np.int32, (7,)), ("i64", np.int64, (2, 1, 2)), ("u8", np.uint8, (6,)),
             ("u16", np.uint16, (2,)), ("u32", np.uint32, (2,)), ("u64", np.uint64, (2,)),
             ("flag", np.bool_, (4,)), ("scalar", np.float64, ()),
             ("empty", np.float32, (0, 3)), ("long/name/" + "x" * 40, np.float32, (2,))]
    out = {}
    for i, (name, dtype, shape) in enumerate(specs):
        n = int(np.prod(shape)) if shape else 1
        base = (np.arange(n, dtype=np.int64) * 7919 + 31 * i) % 1000 - 500
        kind = np.dtype(dtype).kind
        if kind == "f":
            values = base.astype(np.float64) / 37.0
        elif kind == "b":
            values = base % 3 == 0
        elif kind == "u":
            values = base + 500
        else:
            values = base % 100 if np.dtype(dtype).itemsize == 1 else base
        out[name] = np.asarray(values, dtype=dtype).reshape(shape)
    return out
