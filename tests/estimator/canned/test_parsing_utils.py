"""classifier_parse_example_spec / regressor_parse_example_spec (TF 1.15's specs)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.io import encode_example

pytestmark = pytest.mark.smoke

fc = tf.feature_column


def test_classifier_spec_adds_the_label_and_weight():
    cols = [fc.numeric_column("x", shape=(2,)),
            fc.embedding_column(fc.categorical_column_with_hash_bucket("h", 10), 3)]
    spec = tf.estimator.classifier_parse_example_spec(cols, "y", weight_column="w")
    assert spec == {"x": tf.FixedLenFeature((2,), tf.float32),
                    "h": tf.VarLenFeature(tf.string),
                    "y": tf.FixedLenFeature((1,), tf.int64),
                    "w": tf.FixedLenFeature((1,), tf.float32)}


def test_regressor_spec_label_dimension_dtype_and_default():
    spec = tf.estimator.regressor_parse_example_spec(
        [fc.numeric_column("x")], "y", label_default=0.0, label_dimension=2)
    assert spec["y"] == tf.FixedLenFeature((2,), tf.float32, 0.0)


def test_spec_parses_examples_written_with_the_label():
    spec = tf.estimator.classifier_parse_example_spec([fc.numeric_column("x")], "y")
    records = [encode_example({"x": [1.5], "y": [2]}), encode_example({"x": [-1.0], "y": [0]})]
    with tf.Graph().as_default():
        parsed = tf.parse_example(tf.constant(np.array(records, dtype=object)), spec)
        with tf.Session() as sess:
            out = sess.run(parsed)
    assert out["y"].tolist() == [[2], [0]] and out["x"].tolist() == [[1.5], [-1.0]]


@pytest.mark.parametrize("kwargs,match", [
    ({"label_key": "x"}, "label should not be used as feature"),
    ({"label_key": "y", "weight_column": "x"}, "weight_column should not be used as feature"),
    ({"label_key": "y", "weight_column": 3}, "weight_column should be an instance"),
    ({"label_key": None}, "label_key"),
])
def test_bad_label_or_weight_keys_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf.estimator.classifier_parse_example_spec([fc.numeric_column("x")], **kwargs)
