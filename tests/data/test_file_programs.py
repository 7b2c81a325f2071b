"""The guides' file programs on the Estimator: a CSV regression through TextLineDataset +
decode_csv (+ cache), and MNIST-format idx files (written here from scikit-learn's
digits) through FixedLengthRecordDataset + decode_raw + zip, as TF's official MNIST
input pipeline reads them."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from sklearn.datasets import load_digits

import estcore as ec
from estcore.data import Dataset, FixedLengthRecordDataset, TextLineDataset, map_mode
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.io import decode_csv, decode_raw

CSV_COLUMNS = ["x1", "x2", "y"]
CSV_DEFAULTS = [[0.0], [0.0], [0.0]]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2)).astype(np.float32)
    y = 2.0 * x[:, 0] - x[:, 1] + 0.5 + rng.normal(scale=0.01, size=400)
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    lines = ["x1,x2,y"] + [f"{a:.6f},{b:.6f},{c:.6f}" for (a, b), c in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def parse_line(line):
    fields = decode_csv(line, CSV_DEFAULTS)
    features = dict(zip(CSV_COLUMNS, fields, strict=True))
    label = features.pop("y")
    return features, label


def regression_fn(features, labels, mode):
    x = ec.stack([features["x1"], features["x2"]], axis=1)
    pred = ec.reshape(ec.layers.dense(x, 1), [-1])
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"y": pred})
    loss = ec.losses.mean_squared_error(labels, pred)
    train_op = ec.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_csv_regression_through_textlinedataset_and_decode_csv(csv_file, tmp_path):
    def input_fn(epochs):
        ds = TextLineDataset(csv_file).skip(1).map(parse_line).cache()
        return ds.shuffle(100).repeat(epochs).batch(32)

    assert map_mode(TextLineDataset(csv_file).skip(1).map(parse_line)) == "bulk_csv"
    first = list(TextLineDataset(csv_file).skip(1).map(parse_line).take(1))[0]
    assert set(first[0]) == {"x1", "x2"} and first[1].dtype == np.float32
    est = Estimator(regression_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=1))
    est.train(lambda: input_fn(None), steps=300)
    assert est.evaluate(lambda: input_fn(1))["loss"] < 1e-3
    kernel = est.get_variable_value("dense/kernel").reshape(-1)
    np.testing.assert_allclose(kernel, [2.0, -1.0], atol=0.02)


def write_idx(tmp_path):
    """MNIST's idx files (big-endian headers, uint8 pixels) from sklearn's 8x8 digits."""
    digits = load_digits()
    images = (digits.images * 255.0 / 16.0).round().astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    img = tmp_path / "train-images-idx3-ubyte"
    lab = tmp_path / "train-labels-idx1-ubyte"
    img.write_bytes(struct.pack(">iiii", 2051, len(images), 8, 8) + images.tobytes())
    lab.write_bytes(struct.pack(">ii", 2049, len(labels)) + labels.tobytes())
    return str(img), str(lab), images, labels


def decode_image(image):
    image = ec.cast(decode_raw(image, ec.uint8), ec.float32)
    return ec.reshape(image, [64]) / 255.0


def decode_label(label):
    return ec.cast(ec.reshape(decode_raw(label, ec.uint8), []), ec.int32)


def mnist_dataset(images_file, labels_file):
    images = FixedLengthRecordDataset(images_file, 64, header_bytes=16).map(decode_image)
    labels = FixedLengthRecordDataset(labels_file, 1, header_bytes=8).map(decode_label)
    return Dataset.zip((images, labels))


def test_mnist_idx_files_decode_to_the_written_arrays(tmp_path):
    img, lab, images, labels = write_idx(tmp_path)
    ds = mnist_dataset(img, lab)
    for fn, file, size, header in ((decode_image, img, 64, 16), (decode_label, lab, 1, 8)):
        assert map_mode(FixedLengthRecordDataset(file, size, header_bytes=header)
                        .map(fn)) == "vectorized"
    got = list(ds.batch(500))
    x = np.concatenate([b[0] for b in got])
    y = np.concatenate([b[1] for b in got])
    np.testing.assert_allclose(x, images.reshape(-1, 64) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_mnist_idx_classifier_on_the_estimator(tmp_path):
    img, lab, _, _ = write_idx(tmp_path)

    def model_fn(features, labels, mode):
        logits = ec.layers.dense(ec.layers.dense(features, 64, activation=ec.nn.relu), 10)
        loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        if mode == ModeKeys.EVAL:
            return EstimatorSpec(mode, loss=loss, eval_metric_ops={
                "accuracy": ec.metrics.accuracy(labels, ec.argmax(logits, 1))})
        train_op = ec.train.AdamOptimizer(0.01).minimize(
            loss, global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    def train_input_fn():
        ds = mnist_dataset(img, lab).cache().shuffle(2000).repeat().batch(64)
        return ds.make_one_shot_iterator().get_next()

    est = Estimator(model_fn, model_dir=str(tmp_path / "m"), config=RunConfig(tf_random_seed=2))
    est.train(train_input_fn, steps=300)
    result = est.evaluate(lambda: mnist_dataset(img, lab).batch(256))
    assert result["accuracy"] > 0.95
