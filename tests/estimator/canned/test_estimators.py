"""The premade estimators as a user drives them: optimizers, warm start, dropout, batch
norm, add_metrics, serving tf.Examples, and the errors for bad arguments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
import estcore.saved_model
from estcore.estimator import (
    BaselineClassifier,
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNRegressor,
    LinearClassifier,
    LinearRegressor,
    RunConfig,
    WarmStartSettings,
    add_metrics,
)
from estcore.estimator.canned.classifier_heads import (
    binary_classification_head,
    multi_class_head,
)
from estcore.estimator.canned.linear import default_optimizer
from estcore.estimator.canned.optimizers import get_optimizer_instance
from estcore.estimator.inputs import numpy_input_fn
from estcore.export.receivers import build_parsing_serving_input_receiver_fn
from estcore.feature_column.numeric import numeric_column
from estcore.io import FixedLenFeature, encode_example
from estcore.train import AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 3)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
COLS = [numeric_column("x", shape=(3,))]


def train_input(epochs=None, batch_size=16):
    return numpy_input_fn({"x": X}, Y, batch_size=batch_size, num_epochs=epochs, shuffle=False)


def eval_input():
    return numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=1, shuffle=False)


def pred_input():
    return numpy_input_fn({"x": X}, batch_size=16, num_epochs=1, shuffle=False)


@pytest.mark.parametrize("optimizer,slot", [
    ("Adam", "Adam"), ("SGD", None), ("RMSProp", "RMSProp"), ("Ftrl", "Ftrl"),
    (AdamOptimizer, "Adam"), (AdagradOptimizer(0.1), "Adagrad"),
    (lambda: GradientDescentOptimizer(0.1), None)])
def test_optimizer_by_name_class_instance_or_callable(optimizer, slot, tmp_path):
    est = DNNClassifier([4], COLS, model_dir=str(tmp_path), optimizer=optimizer)
    est.train(train_input(), steps=2)
    names = est.get_variable_names()
    slots = {n.rsplit("/", 1)[1] for n in names if n.startswith("dnn/logits/kernel/")}
    assert (slot in slots) if slot else not slots


def test_optimizer_names_get_the_estimators_learning_rate():
    assert get_optimizer_instance("Adagrad", 0.05)._learning_rate == 0.05
    assert default_optimizer([1] * 100)._learning_rate == pytest.approx(0.1)   # 1/sqrt(100)
    assert default_optimizer([1] * 4)._learning_rate == pytest.approx(0.2)


@pytest.mark.parametrize("make,match", [
    (lambda: DNNClassifier([4], COLS, optimizer="Adadelta"), "Unsupported optimizer name"),
    (lambda: DNNClassifier([4], COLS, optimizer=None), "optimizer"),
    (lambda: DNNClassifier([4], COLS, optimizer=3), "optimizer"),
    (lambda: DNNClassifier([4, 0], COLS), "hidden_units"),
    (lambda: DNNClassifier(4, COLS), "hidden_units"),
    (lambda: DNNClassifier([4], COLS, dropout=1.0), "dropout"),
    (lambda: DNNClassifier([4], COLS, n_classes=1), "n_classes must be > 2: 1"),
    (lambda: DNNClassifier([4], COLS, input_layer_partitioner=object()), "not supported"),
    (lambda: LinearClassifier(COLS, partitioner=object()), "not supported"),
    (lambda: LinearRegressor(COLS, sparse_combiner="max"), "sparse_combiner"),
    (lambda: DNNLinearCombinedClassifier(), "Either linear_feature_columns"),
    (lambda: DNNLinearCombinedClassifier(dnn_feature_columns=COLS), "dnn_hidden_units"),
    (lambda: DNNRegressor([4], COLS, label_dimension=0), "label_dimension"),
])
def test_bad_arguments_are_refused_by_the_constructor(make, match):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=match):
        make()


def test_an_optimizer_class_without_a_default_rate_says_what_to_pass(tmp_path):
    est = DNNClassifier([4], COLS, model_dir=str(tmp_path), optimizer=AdagradOptimizer)
    with pytest.raises(TypeError, match=r"AdagradOptimizer\(learning_rate=...\)"):
        est.train(train_input(), steps=1)


def test_warm_start_from_another_estimators_checkpoint(tmp_path):
    src = DNNClassifier([4], COLS, model_dir=str(tmp_path / "src"))
    src.train(train_input(), steps=3)
    dst = DNNClassifier([4], COLS, model_dir=str(tmp_path / "dst"),
                        optimizer=GradientDescentOptimizer(0.0),
                        warm_start_from=WarmStartSettings(str(tmp_path / "src"),
                                                          vars_to_warm_start="dnn/.*"))
    dst.train(train_input(), steps=1)
    for name in ("dnn/hiddenlayer_0/kernel", "dnn/logits/bias"):
        np.testing.assert_array_equal(dst.get_variable_value(name),
                                      src.get_variable_value(name))


def test_dropout_is_applied_in_training_only(tmp_path):
    est = DNNClassifier([32], COLS, model_dir=str(tmp_path), dropout=0.5,
                        config=RunConfig(tf_random_seed=3))
    est.train(train_input(), steps=5)
    first = [p["logits"] for p in est.predict(pred_input())]
    again = [p["logits"] for p in est.predict(pred_input())]
    np.testing.assert_array_equal(np.array(first), np.array(again))
    no_drop = DNNClassifier([32], COLS, model_dir=str(tmp_path / "b"), dropout=None,
                            config=RunConfig(tf_random_seed=3))
    no_drop.train(train_input(), steps=5)
    assert not np.allclose(no_drop.get_variable_value("dnn/logits/kernel"),
                           est.get_variable_value("dnn/logits/kernel"))


def test_batch_norm_moving_statistics_are_updated_by_training(tmp_path):
    est = DNNRegressor([4], COLS, model_dir=str(tmp_path), batch_norm=True)
    est.train(numpy_input_fn({"x": X}, X[:, :1] * 2, batch_size=16, num_epochs=None,
                             shuffle=False), steps=4)
    mean = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/moving_mean")
    var = est.get_variable_value("dnn/hiddenlayer_0/batchnorm_0/moving_variance")
    assert np.any(mean != 0) and np.any(var != 1)


def test_add_metrics_adds_to_the_estimators_own(tmp_path):
    est = LinearClassifier(COLS, model_dir=str(tmp_path))
    est.train(train_input(), steps=4)

    def my_metric(labels, predictions, features, config):
        assert set(features) == {"x"} and config.model_dir == str(tmp_path)
        return {"my_acc": ec.metrics.accuracy(labels, predictions["class_ids"])}

    extended = add_metrics(est, my_metric)
    got = extended.evaluate(eval_input())
    assert got["my_acc"] == pytest.approx(got["accuracy"])
    assert "auc" in got and extended.model_dir == est.model_dir
    with pytest.raises(ValueError, match="not expected args"):
        add_metrics(est, lambda labels, mode: {})


def test_an_exported_classifier_serves_tf_examples(tmp_path):
    est = DNNClassifier([8], COLS, model_dir=str(tmp_path / "m"), n_classes=3,
                        label_vocabulary=["lo", "mid", "hi"])
    labels = np.array(["lo", "mid", "hi"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    est.train(numpy_input_fn({"x": X}, labels, batch_size=16, num_epochs=None, shuffle=False),
              steps=5)
    receiver = build_parsing_serving_input_receiver_fn({"x": FixedLenFeature([3], ec.float32)})
    path = est.export_saved_model(str(tmp_path / "export"), receiver)
    predictor = estcore.saved_model.load(path)
    served = predictor({"inputs": [encode_example({"x": row}) for row in X[:5]]},
                       signature="classification")
    direct = list(itertools.islice(est.predict(pred_input()), 5))
    np.testing.assert_allclose(served["scores"], [p["probabilities"] for p in direct],
                               rtol=1e-6)
    names = [[c.decode() if isinstance(c, bytes) else c for c in row]
             for row in served["classes"].tolist()]
    assert names == [["lo", "mid", "hi"]] * 5


def test_baseline_classifier_learns_the_label_distribution(tmp_path):
    est = BaselineClassifier(model_dir=str(tmp_path), n_classes=3)   # Ftrl, rate 0.3
    y = np.array([0] * 10 + [1] * 30 + [2] * 60, np.int64)
    x = np.zeros((100, 1), np.float32)
    est.train(numpy_input_fn({"x": x}, y, batch_size=100, num_epochs=None, shuffle=False),
              steps=300)
    probs = next(est.predict(numpy_input_fn({"x": x[:1]}, shuffle=False)))["probabilities"]
    np.testing.assert_allclose(probs, [0.1, 0.3, 0.6], atol=1e-3)


def test_an_exported_wide_and_deep_model_serves_tf_examples_with_string_features(tmp_path):
    fc = tf.feature_column
    color = np.array(["red", "green", "blue", "grey"])[RNG.integers(0, 4, 64)]
    vocab = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])
    hashed = fc.categorical_column_with_hash_bucket("color", 16)
    est = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "m"), linear_feature_columns=[COLS[0], vocab],
        dnn_feature_columns=[COLS[0], fc.embedding_column(hashed, 2)], dnn_hidden_units=[4])
    est.train(numpy_input_fn({"x": X, "color": color}, Y, batch_size=16, num_epochs=None,
                             shuffle=False), steps=5)
    spec = {"x": FixedLenFeature([3], ec.float32),
            "color": FixedLenFeature([1], ec.string, default_value="")}
    path = est.export_saved_model(str(tmp_path / "export"),
                                  build_parsing_serving_input_receiver_fn(spec))
    served = estcore.saved_model.load(path)(
        {"inputs": [encode_example({"x": X[i], "color": [color[i].encode()]})
                    for i in range(4)]})
    direct = list(est.predict(numpy_input_fn({"x": X[:4], "color": color[:4]},
                                             shuffle=False)))
    np.testing.assert_allclose(served["scores"], [p["probabilities"] for p in direct],
                               rtol=1e-6)


@pytest.mark.parametrize("n_classes,bad", [(2, 2), (3, 7), (3, -1)])
def test_training_on_an_out_of_range_label_fails_the_step(n_classes, bad, tmp_path):
    est = DNNClassifier([4], COLS, model_dir=str(tmp_path), n_classes=n_classes)
    y = Y.copy()
    y[5] = bad
    with pytest.raises(ec.errors.InvalidArgumentError, match="abels"):
        est.train(numpy_input_fn({"x": X}, y, batch_size=16, num_epochs=1, shuffle=False))


def test_a_custom_model_fn_from_the_logit_builders_and_a_head(tmp_path):
    head = binary_classification_head()

    def model_fn(features, labels, mode):
        with tf.variable_scope("dnn"):
            dnn = tf.estimator.experimental.dnn_logit_fn_builder(
                units=1, hidden_units=[4], feature_columns=COLS, activation_fn=tf.nn.relu,
                dropout=None, input_layer_partitioner=None, batch_norm=False)
            logits = dnn(features=features, mode=mode)
        with tf.variable_scope("linear"):
            logits += tf.estimator.experimental.linear_logit_fn_builder(1, COLS)(features)
        return head.create_estimator_spec(features=features, mode=mode, labels=labels,
                                          logits=logits,
                                          optimizer=tf.train.AdagradOptimizer(0.1))

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(train_input(), steps=20)
    assert est.evaluate(eval_input())["accuracy"] > 0.8
    assert "linear/linear_model/x/weights" in est.get_variable_names()
    assert "dnn/hiddenlayer_0/kernel" in est.get_variable_names()


@pytest.mark.parametrize("make_pair", [
    lambda d, h: (tf.estimator.DNNEstimator(h(), [4], COLS, model_dir=d + "a",
                                            config=RunConfig(tf_random_seed=2)),
                  DNNClassifier([4], COLS, model_dir=d + "b", n_classes=3,
                                config=RunConfig(tf_random_seed=2))),
    lambda d, h: (tf.estimator.LinearEstimator(h(), COLS, model_dir=d + "a"),
                  LinearClassifier(COLS, model_dir=d + "b", n_classes=3)),
    lambda d, h: (tf.estimator.DNNLinearCombinedEstimator(
        h(), model_dir=d + "a", linear_feature_columns=COLS, dnn_feature_columns=COLS,
        dnn_hidden_units=[3], config=RunConfig(tf_random_seed=2)),
        DNNLinearCombinedClassifier(model_dir=d + "b", linear_feature_columns=COLS,
                                    dnn_feature_columns=COLS, dnn_hidden_units=[3],
                                    n_classes=3, config=RunConfig(tf_random_seed=2))),
    lambda d, h: (tf.estimator.BaselineEstimator(h(), model_dir=d + "a"),
                  BaselineClassifier(model_dir=d + "b", n_classes=3)),
])
def test_estimator_with_a_head_trains_as_the_matching_classifier(make_pair, tmp_path):
    with_head, classifier = make_pair(str(tmp_path / "m"), lambda: multi_class_head(3))
    y3 = np.digitize(X[:, 0], [-0.5, 0.5]).astype(np.int64)
    for est in (with_head, classifier):
        est.train(numpy_input_fn({"x": X}, y3, batch_size=16, num_epochs=None,
                                 shuffle=False), steps=4)
    assert with_head.get_variable_names() == classifier.get_variable_names()
    for name in classifier.get_variable_names():
        np.testing.assert_array_equal(with_head.get_variable_value(name),
                                      classifier.get_variable_value(name))


def test_an_estimator_needs_a_head():
    with pytest.raises(TypeError, match="`head` must be a head"):
        tf.estimator.DNNEstimator("multi_class", [4], COLS)


def test_numpy_integers_are_accepted_where_tf_took_ints(tmp_path):
    est = DNNClassifier(np.array([4, 3]), COLS, model_dir=str(tmp_path / "a"),
                        n_classes=np.int64(3))
    est.train(numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=None, shuffle=False),
              steps=2)
    assert est.get_variable_value("dnn/logits/kernel").shape == (3, 3)
    reg = DNNRegressor([np.int32(2)], COLS, model_dir=str(tmp_path / "b"),
                       label_dimension=np.int64(2))
    reg.train(numpy_input_fn({"x": X}, X[:, :2], batch_size=16, num_epochs=None,
                             shuffle=False), steps=2)
    assert reg.get_variable_value("dnn/logits/bias").shape == (2,)


@pytest.mark.parametrize("make", [
    lambda d: DNNRegressor([8, 4], COLS, model_dir=d),
    lambda d: LinearRegressor(COLS, model_dir=d, optimizer="Adam"),
])
def test_an_exported_regressor_runs_in_onnxruntime_as_predict(make, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    est = make(str(tmp_path / "m"))
    est.train(numpy_input_fn({"x": X}, X[:, 0] * 2 + 1, batch_size=16, num_epochs=2,
                             shuffle=False))
    receiver = ec.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": np.zeros((1, 3), np.float32)})
    path = est.export_saved_model(str(tmp_path / "export"), receiver).decode()
    sess = ort.InferenceSession(f"{path}/model.onnx", providers=["CPUExecutionProvider"])
    (outputs,) = sess.run(["outputs"], {"x": X[:8]})
    direct = [p["predictions"] for p in est.predict(numpy_input_fn({"x": X[:8]},
                                                                   shuffle=False))]
    np.testing.assert_allclose(outputs, direct, rtol=1e-5, atol=1e-6)
