"""SparseTensor components out of a Dataset.map (parse_example with VarLenFeature):
Python iteration, get_next() in a Session, and an Estimator whose model gets a
SparseTensor (TFRecordDataset + parse_example + feature columns end to end)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore import feature_column as fc
from estcore.data import Dataset, TensorSpec, TFRecordDataset, map_mode
from estcore.data.structure import SparseTensorSpec
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.graph.sparse_tensor import SparseTensor
from estcore.io import encode_example
from estcore.io.tf_record import TFRecordWriter

pytestmark = pytest.mark.smoke

SPEC = {"w": tf.VarLenFeature(tf.string), "y": tf.FixedLenFeature([1], tf.float32)}


def records():
    return np.array([encode_example({"w": [b"a", b"b"], "y": [1.0]}),
                     encode_example({"w": [b"c"], "y": [2.0]}),
                     encode_example({"y": [3.0]})], dtype=object)


def parsed(ds):
    return ds.batch(2).map(lambda s: tf.parse_example(s, SPEC))


def test_map_returns_sparse_components_as_sparse_tensor_values():
    ds = parsed(Dataset.from_tensor_slices(records()))
    assert isinstance(ds.element_spec["w"], SparseTensorSpec)
    assert ds.element_spec["w"].shape.as_list() == [None, None]
    assert map_mode(ds) == "per_element"
    first, second = list(ds)
    assert first["w"].indices.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert first["w"].values.tolist() == [b"a", b"b", b"c"]
    assert first["w"].dense_shape.tolist() == [2, 2]
    assert first["y"].tolist() == [[1.0], [2.0]]
    assert second["w"].indices.shape == (0, 2) and second["w"].dense_shape.tolist() == [1, 0]
    # element-level transforms carry the values along
    shapes = [e["w"].dense_shape.tolist() for e in ds.repeat(2).take(3)]
    assert shapes == [[2, 2], [1, 0], [2, 2]]
    # a map over a sparse component receives a SparseTensor
    seen = []
    again = ds.map(lambda f: (seen.append(f["w"]) or f["w"], f["y"] * 2))
    assert isinstance(seen[0], SparseTensor)
    (w, y), _ = list(again)
    assert w.values.tolist() == [b"a", b"b", b"c"] and y.tolist() == [[2.0], [4.0]]


def test_sparse_elements_cannot_be_batched_again():
    ds = parsed(Dataset.from_tensor_slices(records()))
    for call in (lambda: ds.batch(2), lambda: ds.unbatch(), lambda: ds.padded_batch(2),
                 lambda: ds.cache("x")):
        with pytest.raises(ValueError, match="batch the serialized records first"):
            call()


def test_get_next_gives_a_sparse_tensor_in_a_session():
    graph = tf.Graph()
    with graph.as_default():
        nxt = parsed(Dataset.from_tensor_slices(records())).make_one_shot_iterator().get_next()
    assert isinstance(nxt["w"], SparseTensor)
    sess = tf.Session(graph=graph)
    first = sess.run(nxt)
    assert first["w"].indices.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert first["w"].values.tolist() == [b"a", b"b", b"c"]
    assert first["y"].tolist() == [[1.0], [2.0]]
    assert sess.run(nxt["y"]).tolist() == [[3.0]]
    with pytest.raises(ec.errors.OutOfRangeError):
        sess.run(nxt["y"])


def write_tfrecords(path, n):
    words = [b"a", b"b", b"c"]
    with TFRecordWriter(str(path)) as w:
        for i in range(n):
            w.write(encode_example({"w": words[: (i % 3) + 1],
                                    "label": [float(i % 3 == 0)]}))


@pytest.mark.parametrize("tf1_get_next", [False, True])
def test_estimator_tfrecords_parse_example_varlen_feature_columns(tmp_path, tf1_get_next):
    path = tmp_path / "train.tfrecord"
    write_tfrecords(path, 64)
    col = fc.embedding_column(fc.categorical_column_with_hash_bucket("w", 10), 3)
    spec = fc.make_parse_example_spec([col])
    spec["label"] = tf.FixedLenFeature([1], tf.float32)
    seen = {}

    def input_fn(epochs, shuffle):
        def fn():
            ds = TFRecordDataset(str(path))
            if shuffle:
                ds = ds.shuffle(64, seed=1)
            ds = ds.repeat(epochs).batch(16).map(lambda s: tf.parse_example(s, spec))
            ds = ds.map(lambda f: (f, f.pop("label")))
            return ds.make_one_shot_iterator().get_next() if tf1_get_next else ds
        return fn

    def model_fn(features, labels, mode):
        seen["w"] = features["w"]
        logits = ec.layers.dense(fc.input_layer(features, [col]), 1)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"p": tf.sigmoid(logits)})
        loss = ec.losses.sigmoid_cross_entropy(labels, logits)
        op = ec.train.AdagradOptimizer(0.3).minimize(loss,
                                                     global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=op)

    est = Estimator(model_fn, model_dir=str(tmp_path / "m"), config=RunConfig(tf_random_seed=1))
    est.train(input_fn(20, True))
    assert isinstance(seen["w"], SparseTensor)
    metrics = est.evaluate(input_fn(1, False))
    assert metrics["global_step"] == 80 and metrics["loss"] < 0.1
    probs = [p["p"][0] for p in est.predict(input_fn(1, False))]
    assert len(probs) == 64
    np.testing.assert_array_equal(np.asarray(probs) > 0.5, np.arange(64) % 3 == 0)


def test_from_generator_yields_sparse_batches_to_an_estimator(tmp_path):
    words = [b"a", b"b", b"c"]

    def gen():
        for start in range(0, 48, 8):  # batches of 8 rows; row i holds words[:i % 3 + 1]
            rows = range(start, start + 8)
            idx = [[r - start, k] for r in rows for k in range(r % 3 + 1)]
            vals = [words[k] for r in rows for k in range(r % 3 + 1)]
            label = np.array([[float(r % 3 == 0)] for r in rows], np.float32)
            yield {"w": tf.SparseTensorValue(idx, vals, [8, 3])}, label

    sig = ({"w": SparseTensorSpec([None, None], tf.string)}, TensorSpec([None, 1]))
    ds = Dataset.from_generator(gen, output_signature=sig)
    features, label = next(iter(ds))
    assert features["w"].values.tolist()[:3] == [b"a", b"a", b"b"]
    assert features["w"].dense_shape.tolist() == [8, 3] and label.shape == (8, 1)
    bad = Dataset.from_generator(lambda: iter([({"w": np.zeros(3)}, np.zeros((1, 1)))]),
                                 output_signature=sig)
    with pytest.raises(TypeError, match="declared sparse"):
        list(bad)
    col = fc.embedding_column(fc.categorical_column_with_hash_bucket("w", 10), 3)

    def model_fn(features, labels, mode):
        logits = ec.layers.dense(fc.input_layer(features, [col]), 1)
        loss = ec.losses.sigmoid_cross_entropy(labels, logits)
        op = ec.train.AdagradOptimizer(0.3).minimize(loss,
                                                     global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=op)

    est = Estimator(model_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=1))
    est.train(lambda: Dataset.from_generator(gen, output_signature=sig).repeat(15))
    metrics = est.evaluate(lambda: Dataset.from_generator(gen, output_signature=sig))
    assert metrics["global_step"] == 90 and metrics["loss"] < 0.1
