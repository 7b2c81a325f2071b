"""The guides' programs: an Estimator fed by Datasets (from a DataFrame, TFRecords with
parse_example, TF1 get_next() tensors) and by pandas_input_fn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import estcore as ec
import estcore.compat.v1 as tf
from estcore.data import Dataset, TFRecordDataset
from estcore.estimator import ModeKeys
from estcore.io import FixedLenFeature, encode_example, parse_example
from estcore.io.tf_record import TFRecordWriter

COLUMNS = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]


@pytest.fixture(scope="module")
def iris():
    data = load_iris()
    frame = pd.DataFrame(data.data.astype(np.float32), columns=COLUMNS)
    return frame, pd.Series(data.target.astype(np.int32), name="Species")


def dnn_model_fn(features, labels, mode, params):
    """The custom-estimator guide's classifier: input layer, hidden layers, logits."""
    net = ec.concat([ec.reshape(ec.cast(features[k], ec.float32), [-1, 1]) for k in COLUMNS], 1)
    for units in params["hidden_units"]:
        net = ec.layers.dense(net, units, activation=ec.nn.relu)
    logits = ec.layers.dense(net, 3)
    predicted = ec.argmax(logits, 1)
    if mode == ModeKeys.PREDICT:
        return ec.estimator.EstimatorSpec(mode, predictions={"class_ids": predicted})
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == ModeKeys.EVAL:
        return ec.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={
            "accuracy": ec.metrics.accuracy(labels, predicted)})
    train_op = ec.train.AdamOptimizer(0.05).minimize(
        loss, global_step=ec.train.get_global_step())
    return ec.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def estimator(tmp_path):
    return ec.estimator.Estimator(dnn_model_fn, model_dir=str(tmp_path),
                                  params={"hidden_units": [10, 10]},
                                  config=ec.estimator.RunConfig(tf_random_seed=7))


def test_iris_from_a_dataframe_through_from_tensor_slices(iris, tmp_path):
    x, y = iris

    def train_input_fn():
        return Dataset.from_tensor_slices((dict(x), y)).shuffle(1000).repeat().batch(32)

    def eval_input_fn():
        return Dataset.from_tensor_slices((dict(x), y)).batch(64)

    est = estimator(tmp_path)
    est.train(train_input_fn, steps=300)
    result = est.evaluate(eval_input_fn)  # ends when the Dataset ends (3 batches)
    assert result["global_step"] == 300
    assert result["accuracy"] > 0.9
    preds = list(est.predict(lambda: Dataset.from_tensor_slices(dict(x)).batch(50)))
    assert len(preds) == len(x)
    assert np.mean([p["class_ids"] for p in preds] == y.to_numpy()) > 0.9


def test_tf1_get_next_tensors_from_a_one_shot_iterator(iris, tmp_path):
    x, y = iris

    def input_fn():
        it = Dataset.from_tensor_slices((dict(x), y)).batch(40).make_one_shot_iterator()
        features, labels = it.get_next()
        return features, labels

    est = estimator(tmp_path)
    est.train(input_fn)  # one pass: ceil(150 / 40) = 4 steps, then the input ends
    assert est.get_variable_value("global_step") == 4
    est.train(lambda: tf.data.make_one_shot_iterator(
        Dataset.from_tensor_slices(({k: x[k].to_numpy() for k in COLUMNS}, y.to_numpy()))
        .repeat(2).batch(50)).get_next())
    assert est.get_variable_value("global_step") == 4 + 6
    preds = list(est.predict(lambda: Dataset.from_tensor_slices(dict(x)).batch(64)
                             .make_one_shot_iterator().get_next()))
    assert len(preds) == 150


def test_tfrecords_through_tfrecorddataset_and_parse_example(iris, tmp_path):
    x, y = iris
    path = tmp_path / "iris.tfrecord"
    with TFRecordWriter(str(path)) as w:
        for (_, row), label in zip(x.iterrows(), y, strict=True):
            w.write(encode_example({**{k: np.float32([row[k]]) for k in COLUMNS},
                                    "label": np.int64([label])}))
    spec = {**{k: FixedLenFeature([], ec.float32) for k in COLUMNS},
            "label": FixedLenFeature([], ec.int64)}

    def parse(records):
        parsed = parse_example(records, spec)
        label = parsed.pop("label")
        return parsed, ec.cast(label, ec.int32)

    def input_fn(epochs):
        return TFRecordDataset(str(path)).shuffle(200).repeat(epochs).batch(32).map(parse)

    est = estimator(tmp_path / "model")
    est.train(lambda: input_fn(None), steps=300)
    assert est.evaluate(lambda: input_fn(1))["accuracy"] > 0.9


def test_pandas_input_fn_trains_the_same_model(iris, tmp_path):
    x, y = iris
    est = estimator(tmp_path)
    est.train(ec.estimator.inputs.pandas_input_fn(x, y, batch_size=32, num_epochs=None,
                                                  shuffle=True), steps=300)
    result = est.evaluate(ec.estimator.inputs.pandas_input_fn(x, y, shuffle=False))
    assert result["accuracy"] > 0.9


def test_initializable_iterator_with_an_initializer_hook(iris, tmp_path):
    """TF1's official MNIST pattern: the iterator's initializer run by a hook."""
    x, y = iris

    class IteratorInitializerHook(tf.train.SessionRunHook):
        init = None

        def after_create_session(self, session, coord):
            session.run(self.init)

    hook = IteratorInitializerHook()

    def input_fn():
        it = tf.data.make_initializable_iterator(
            Dataset.from_tensor_slices((dict(x), y)).batch(50))
        hook.init = it.initializer
        return it.get_next()

    est = estimator(tmp_path)
    est.train(input_fn, hooks=[hook])
    assert est.get_variable_value("global_step") == 3


def test_a_component_of_unknown_rank_is_refused_with_the_fix(iris, tmp_path):
    x, y = iris

    def input_fn():
        ds = Dataset.from_tensor_slices((dict(x), y)).batch(10)
        return ds.map(lambda f, label: (
            {**f, "SepalLength": tf.py_func(np.copy, [f["SepalLength"]], tf.float32)}, label))

    with pytest.raises(ValueError, match=r"unknown rank .*set_shape"):
        estimator(tmp_path).train(input_fn, steps=1)


def test_premade_estimators_guide_dnnclassifier_on_datasets(iris, tmp_path):
    """The 'Premade Estimators' guide's program, verbatim apart from the import."""
    train_x, train_y = iris

    def train_input_fn(features, labels, batch_size):
        dataset = tf.data.Dataset.from_tensor_slices((dict(features), labels))
        return dataset.shuffle(1000).repeat().batch(batch_size)

    def eval_input_fn(features, labels, batch_size):
        features = dict(features)
        inputs = features if labels is None else (features, labels)
        return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)

    my_feature_columns = [tf.feature_column.numeric_column(key=k) for k in train_x.keys()]
    classifier = tf.estimator.DNNClassifier(
        feature_columns=my_feature_columns, hidden_units=[10, 10], n_classes=3,
        model_dir=str(tmp_path), config=tf.estimator.RunConfig(tf_random_seed=1))
    classifier.train(input_fn=lambda: train_input_fn(train_x, train_y, 100), steps=1000)
    result = classifier.evaluate(input_fn=lambda: eval_input_fn(train_x, train_y, 100))
    assert result["accuracy"] > 0.9
    preds = list(classifier.predict(input_fn=lambda: eval_input_fn(train_x[:3], None, 100)))
    assert [p["class_ids"][0] for p in preds] == train_y[:3].tolist()
