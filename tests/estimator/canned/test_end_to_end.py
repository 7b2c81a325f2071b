"""End to end: the premade estimators on scikit-learn's data, fed from DataFrames through
``Dataset.from_tensor_slices``, written as TF 1.15 programs (``import estcore.compat.v1``).

Reference figures: TF 2.15's ``tf.compat.v1.estimator`` on the same splits and settings
(run once with the TF venv, not by the tests): iris DNNClassifier test accuracy 1.0 (the
"Premade Estimators" guide reports about 0.97 on its own 120/30 files); diabetes
DNNRegressor R^2 0.352 (default Adagrad) and LinearRegressor with SGD 0.0020 R^2 0.378.
"""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data.dataset import Dataset

pytestmark = pytest.mark.slow

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

IRIS_NAMES = {"sepal length (cm)": "SepalLength", "sepal width (cm)": "SepalWidth",
              "petal length (cm)": "PetalLength", "petal width (cm)": "PetalWidth",
              "target": "Species"}


def iris_120_30():
    """scikit-learn's iris as the guide's layout: 120 training and 30 test rows."""
    df = load_iris(as_frame=True).frame.rename(columns=IRIS_NAMES)
    train, test = train_test_split(df, test_size=30, random_state=0, stratify=df["Species"])
    return train, train.pop("Species"), test, test.pop("Species")


def input_fn(features, labels, training=True, batch_size=256):
    """The guide's input_fn: a DataFrame's columns through from_tensor_slices."""
    ds = Dataset.from_tensor_slices((dict(features), labels))
    if training:
        ds = ds.shuffle(1000).repeat()
    return ds.batch(batch_size)


def test_iris_dnn_classifier_reaches_the_guides_accuracy(tmp_path):
    train, train_y, test, test_y = iris_120_30()
    columns = [tf.feature_column.numeric_column(key=key) for key in train.keys()]
    classifier = tf.estimator.DNNClassifier(
        feature_columns=columns, hidden_units=[30, 10], n_classes=3,
        model_dir=str(tmp_path), config=tf.estimator.RunConfig(tf_random_seed=0))
    classifier.train(input_fn=lambda: input_fn(train, train_y), steps=5000)
    result = classifier.evaluate(input_fn=lambda: input_fn(test, test_y, training=False))
    assert result["accuracy"] >= 29 / 30
    assert result["global_step"] == 5000
    expected = ["Setosa", "Versicolor", "Virginica"]
    predict_x = {"SepalLength": [5.1, 5.9, 6.9], "SepalWidth": [3.3, 3.0, 3.1],
                 "PetalLength": [1.7, 4.2, 5.4], "PetalWidth": [0.5, 1.5, 2.1]}
    predictions = classifier.predict(input_fn=lambda: Dataset.from_tensor_slices(
        {k: np.array(v, np.float64) for k, v in predict_x.items()}).batch(256))
    got = [expected[int(p["class_ids"][0])] for p in predictions]
    assert got == expected


def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y.astype("float32"), test_size=100,
                                          random_state=0)
    baseline = r2_score(yte, LinearRegression().fit(Xtr, ytr).predict(Xte))
    return Xtr, Xte, ytr, yte, baseline


def _r2(estimator, Xte, yte):
    pred = np.array([p["predictions"][0] for p in estimator.predict(
        lambda: input_fn(Xte, yte, training=False, batch_size=32))])
    return r2_score(yte, pred)


@pytest.mark.parametrize("kind", ["dnn", "linear"])
def test_diabetes_regressors_match_a_least_squares_fit(kind, tmp_path):
    Xtr, Xte, ytr, yte, baseline = diabetes()
    columns = [tf.feature_column.numeric_column(k) for k in Xtr.columns]
    config = tf.estimator.RunConfig(tf_random_seed=0)
    if kind == "dnn":
        est = tf.estimator.DNNRegressor([32, 16], columns, model_dir=str(tmp_path),
                                        config=config)
    else:
        est = tf.estimator.LinearRegressor(
            columns, model_dir=str(tmp_path), config=config,
            optimizer=lambda: tf.train.GradientDescentOptimizer(0.002))
    est.train(lambda: input_fn(Xtr, ytr, batch_size=32), steps=3000)
    r2 = _r2(est, Xte, yte)
    assert r2 >= baseline - 0.05, (r2, baseline)
    metrics = est.evaluate(lambda: input_fn(Xte, yte, training=False, batch_size=32))
    assert sorted(metrics) == ["average_loss", "global_step", "label/mean", "loss",
                               "prediction/mean"]
    assert metrics["label/mean"] == pytest.approx(float(yte.mean()), rel=1e-5)
