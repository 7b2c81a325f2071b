"""Write the TF 2.15 checkpoints estcore's TF-format tests read (run under TensorFlow).

Run with the reference venv (tensorflow-cpu 2.15.1, tensorflow-estimator 2.15.0,
Python 3.11), never from the test suite::

    /work/tf-venv/bin/python tools/tf_fixtures/make_tf_checkpoints.py \
        tests/checkpoint/fixtures/tf

Writes, under the output directory:

* ``mlp_adam/``, ``cnn/``: TF Estimator model_dirs (``checkpoint`` state file,
  ``model.ckpt-N.index`` / ``.data-00000-of-00001``; graph, meta and event files
  removed) of a small MLP and a small version of the TF "CNN with Estimators" tutorial
  model (no dropout), both trained with Adam on fixed data, plus ``<name>.json``: the
  loss of each of ``CONTINUE_STEPS`` steps of TF continuing training from that
  checkpoint with the same data order (batches in order, no shuffle), and
  ``<name>.npz``: the data (``x``, ``y``) and every trainable variable after those
  steps (``final/<variable name>``).
* ``dtypes/``: a ``tf.compat.v1.train.Saver`` checkpoint of variables of every dtype
  estcore holds (and 0-d, empty and 3-d shapes); ``dtypes.json``: each variable's dtype,
  shape and little-endian bytes (hex) as TF reads them back.
* ``sharded/``: ``Saver(sharded=True)`` over two CPU devices: one index and
  ``.data-00000-of-00002`` + ``.data-00001-of-00002``; ``sharded.json`` as above.
* ``unsupported/``: a string, a complex64, a bfloat16 and a partitioned variable
  next to a float one; ``unsupported.json``: TF's list of variables (name, shape,
  dtype) and the float variable's bytes.

The model_fns here and the estcore ones in tests/checkpoint/tf_models.py are the same
model written against each library's API.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
CONTINUE_STEPS = 5
BATCH = 16


class _Recorder(tf1.train.SessionRunHook):
    def __init__(self, loss, sink):
        self._loss, self._sink = loss, sink

    def before_run(self, run_context):
        return tf1.train.SessionRunArgs(self._loss)

    def after_run(self, run_context, run_values):
        self._sink.append(float(run_values.results))


LOSSES: list[float] = []


def mlp_model_fn(features, labels, mode):
    h = tf1.layers.dense(features["x"], 8, activation=tf.nn.relu)
    logits = tf1.layers.dense(h, 3)
    loss = tf1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = tf1.train.AdamOptimizer(0.05).minimize(
        loss, global_step=tf1.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      training_hooks=[_Recorder(loss, LOSSES)])


def cnn_model_fn(features, labels, mode):
    x = features["x"]
    conv1 = tf1.layers.conv2d(x, 4, [5, 5], padding="same", activation=tf.nn.relu)
    pool1 = tf1.layers.max_pooling2d(conv1, pool_size=[2, 2], strides=2)
    conv2 = tf1.layers.conv2d(pool1, 8, [5, 5], padding="same", activation=tf.nn.relu)
    pool2 = tf1.layers.max_pooling2d(conv2, pool_size=[2, 2], strides=2)
    flat = tf1.layers.flatten(pool2)
    dense = tf1.layers.dense(flat, 16, activation=tf.nn.relu)
    logits = tf1.layers.dense(dense, 10)
    loss = tf1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = tf1.train.AdamOptimizer(2e-3).minimize(
        loss, global_step=tf1.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      training_hooks=[_Recorder(loss, LOSSES)])


def _input_fn(x, y):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        return ds.batch(BATCH).repeat()
    return input_fn


def _prune(model_dir):
    """Keep the state file and the checkpoints' index/data files only."""
    for path in os.listdir(model_dir):
        full = os.path.join(model_dir, path)
        keep = path == "checkpoint" or ".index" in path or ".data-" in path
        if os.path.isdir(full):
            shutil.rmtree(full)
        elif not keep:
            os.remove(full)


def _trainables(model_dir):
    reader = tf.train.load_checkpoint(model_dir)
    return {"final/" + name: reader.get_tensor(name)
            for name, _ in tf.train.list_variables(model_dir)
            if not any(s in name for s in ("Adam", "power", "global_step"))}


def estimator_fixture(out, name, model_fn, x, y, first_steps):
    model_dir = os.path.join(out, name)
    shutil.rmtree(model_dir, ignore_errors=True)
    config = tf.estimator.RunConfig(tf_random_seed=1, keep_checkpoint_max=1,
                                    save_summary_steps=None, log_step_count_steps=None)
    est = tf.estimator.Estimator(model_fn, model_dir=model_dir, config=config)
    est.train(_input_fn(x, y), steps=first_steps)
    _prune(model_dir)
    work = model_dir + ".continue"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(model_dir, work)
    LOSSES.clear()
    tf.estimator.Estimator(model_fn, model_dir=work, config=config).train(
        _input_fn(x, y), steps=CONTINUE_STEPS)
    record = {"batch_size": BATCH, "start_step": first_steps, "losses": list(LOSSES),
              "final_step": int(tf.train.load_variable(work, "global_step"))}
    np.savez(os.path.join(out, name + ".npz"), x=x, y=y, **_trainables(work))
    shutil.rmtree(work)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(record, f, indent=1)


def _describe(prefix):
    reader = tf.train.load_checkpoint(prefix)
    out = {}
    for name, shape in tf.train.list_variables(prefix):
        dtype = reader.get_variable_to_dtype_map()[name]
        entry = {"shape": shape, "dtype": dtype.name}
        if dtype.name not in ("string", "complex64", "bfloat16") and name != "part":
            value = np.asarray(reader.get_tensor(name))
            entry["hex"] = value.astype(value.dtype.newbyteorder("<")).tobytes().hex()
        out[name] = entry
    return out


def _saver_fixture(out, name, build, sharded=False, devices=1):
    directory = os.path.join(out, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    graph = tf1.Graph()
    with graph.as_default():
        build()
        saver = tf1.train.Saver(sharded=sharded, save_relative_paths=True)
        config = tf1.ConfigProto(device_count={"CPU": devices})
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            prefix = saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=3)
    for meta in glob.glob(os.path.join(directory, "*.meta")):
        os.remove(meta)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"prefix": os.path.basename(prefix), "variables": _describe(prefix)}, f,
                  indent=1)


def _values(dtype, shape, start):
    n = int(np.prod(shape)) if shape else 1
    base = (np.arange(n, dtype=np.int64) * 7919 + start) % 1000 - 500
    if np.dtype(dtype).kind == "f":
        values = base.astype(np.float64) / 37.0
    elif np.dtype(dtype).kind == "b":
        values = base % 3 == 0
    elif np.dtype(dtype).kind == "u":
        values = base + 500
    else:
        values = base
    return np.asarray(values, dtype=dtype).reshape(shape)


def build_dtypes():
    specs = [("f16", np.float16, [5]), ("f32", np.float32, [2, 3, 4]), ("f64", np.float64, [7]),
             ("i8", np.int8, [4]), ("i16", np.int16, [4]), ("i32", np.int32, [3, 2]),
             ("i64", np.int64, [6]), ("u8", np.uint8, [9]), ("u16", np.uint16, [3]),
             ("flag", np.bool_, [5]), ("scalar_f64", np.float64, []),
             ("step_i64", np.int64, []), ("empty", np.float32, [0, 4])]
    for i, (name, dtype, shape) in enumerate(specs):
        tf1.Variable(_values(dtype, shape, 13 * i), name=name)
    tf1.train.get_or_create_global_step()


def build_sharded():
    with tf.device("/cpu:0"):
        tf1.Variable(_values(np.float32, [4, 3], 1), name="dense/kernel")
        tf1.Variable(_values(np.int64, [], 2), name="global_step")
    with tf.device("/cpu:1"):
        tf1.Variable(_values(np.float32, [3], 3), name="dense/bias")
        tf1.Variable(_values(np.float64, [2, 2], 4), name="other/weights")


def build_unsupported():
    tf1.Variable(_values(np.float32, [3], 5), name="weights")
    tf1.Variable(tf.constant(["ab", "cde"]), name="vocab")
    tf1.Variable(tf.constant([1 + 2j, 3 - 1j], dtype=tf.complex64), name="complex")
    tf1.Variable(tf.constant([1.5, -2.0], dtype=tf.bfloat16), name="half_b")
    tf1.get_variable("part", shape=[4, 2], initializer=tf1.ones_initializer(),
                     partitioner=tf1.fixed_size_partitioner(2))


def main(out):
    os.makedirs(out, exist_ok=True)
    tf1.disable_eager_execution()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5).astype(np.int32))
    estimator_fixture(out, "mlp_adam", mlp_model_fn, x, y, first_steps=6)
    xc = rng.normal(size=(32, 12, 12, 1)).astype(np.float32)
    yc = rng.integers(0, 10, size=32).astype(np.int32)
    estimator_fixture(out, "cnn", cnn_model_fn, xc, yc, first_steps=4)
    _saver_fixture(out, "dtypes", build_dtypes)
    _saver_fixture(out, "sharded", build_sharded, sharded=True, devices=2)
    _saver_fixture(out, "unsupported", build_unsupported)
    print("wrote", sorted(os.listdir(out)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/checkpoint/fixtures/tf")
