"""Wide and deep on generated census-like data against a gradient-boosting baseline.

The TF wide-and-deep tutorial's columns (numeric, bucketized, vocabulary, hashed,
crossed, indicator and embedded columns: census_like.wide_and_deep_columns) on 20,000
generated rows, fed as a TF 1.15 program through ``Dataset.from_tensor_slices``; the
linear part's Ftrl and the DNN's Adagrad at 0.05 (TF's defaults, 0.005 and 0.001, need
many more epochs). The test accuracy must be within 2 points of scikit-learn's
HistGradientBoostingClassifier fitted on the same rows (categories as categorical
features).
"""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data.dataset import Dataset

from .census_like import CATEGORICAL, NUMERIC, generate, wide_and_deep_columns

pytestmark = pytest.mark.slow

ensemble = pytest.importorskip("sklearn.ensemble")


def _encoded(train: dict, x: dict) -> np.ndarray:
    cols = [x[k].astype(np.float64) for k in NUMERIC]
    for k in CATEGORICAL:
        index = {v: i for i, v in enumerate(sorted(set(train[k])))}
        cols.append(np.array([index.get(v, -1) for v in x[k]], np.float64))
    return np.stack(cols, axis=1)


def test_wide_and_deep_is_within_2_points_of_gradient_boosting(tmp_path):
    x_train, y_train = generate(20000, seed=0)
    x_test, y_test = generate(5000, seed=1)
    boosting = ensemble.HistGradientBoostingClassifier(
        categorical_features=[False] * len(NUMERIC) + [True] * len(CATEGORICAL),
        random_state=0).fit(_encoded(x_train, x_train), y_train)
    baseline = float((boosting.predict(_encoded(x_train, x_test)) == y_test).mean())

    wide, deep = wide_and_deep_columns(tf.feature_column)
    model = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path), linear_feature_columns=wide,
        linear_optimizer=lambda: tf.train.FtrlOptimizer(0.05), dnn_feature_columns=deep,
        dnn_optimizer=lambda: tf.train.AdagradOptimizer(0.05), dnn_hidden_units=[100, 50],
        config=tf.estimator.RunConfig(tf_random_seed=0))

    def input_fn(x, y, training):
        ds = Dataset.from_tensor_slices((x, y))
        return (ds.shuffle(10000).repeat() if training else ds).batch(256)

    model.train(lambda: input_fn(x_train, y_train, True), steps=1000)
    result = model.evaluate(lambda: input_fn(x_test, y_test, False))
    assert result["accuracy"] >= baseline - 0.02, (result["accuracy"], baseline)
    names = model.get_variable_names()
    assert "linear/linear_model/education_X_occupation/weights" in names
    assert "dnn/input_from_feature_columns/input_layer/occupation_embedding/" \
           "embedding_weights" in names
