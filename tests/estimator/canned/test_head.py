"""The heads on their own: losses, predictions, metrics and errors against numpy.

Each test builds a graph with the head on fed logits and labels and runs it; references
are computed with numpy from TF 1.15's formulas (sigmoid / softmax cross-entropy, squared
error, ``Reduction.SUM`` by default).
"""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.errors import InvalidArgumentError
from estcore.estimator import ModeKeys
from estcore.estimator.canned.classifier_heads import (
    binary_classification_head,
    binary_logistic_or_multi_class_head,
    multi_class_head,
)
from estcore.estimator.canned.head import regression_head
from estcore.feature_column.numeric import numeric_column
from estcore.graph.sparse_tensor import SparseTensor
from estcore.losses import Reduction
from estcore.train import GradientDescentOptimizer

pytestmark = pytest.mark.smoke


def _sigmoid_xent(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _run(head, mode, logits, labels=None, features=None, label_dtype=None, in_graph=None,
         **kwargs):
    """Build ``head``'s spec for ``mode`` on fed values; return (spec, fetch(fn)).

    ``in_graph()`` returns more keyword arguments, made inside the head's graph."""
    g = ec.Graph()
    with g.as_default():
        ec.train.get_or_create_global_step()
        lg = ec.placeholder(ec.float32, [None, logits.shape[1]])
        feeds = {lg: logits}
        lb = None
        if labels is not None:
            lb = ec.placeholder(label_dtype or ec.as_dtype(labels.dtype) if labels.dtype.kind
                                not in "OUS" else ec.string, [None] + list(labels.shape[1:]))
            feeds[lb] = labels
        feats = {}
        for key, value in (features or {}).items():
            feats[key] = ec.placeholder(ec.as_dtype(value.dtype), [None] + list(value.shape[1:]))
            feeds[feats[key]] = value
        kwargs.update(in_graph() if in_graph else {})
        spec = head.create_estimator_spec(features=feats, mode=mode, logits=lg, labels=lb,
                                          **kwargs)
        sess = ec.Session()
        sess.run([ec.global_variables_initializer(), ec.local_variables_initializer()])

    def fetch(x):
        return sess.run(x, feeds)

    return spec, fetch


LOGITS1 = np.array([[-1.5], [0.3], [2.0], [-0.2]], np.float32)
LABELS1 = np.array([[0], [1], [1], [1]], np.int64)


def test_binary_loss_is_the_summed_sigmoid_cross_entropy():
    spec, fetch = _run(binary_classification_head(), ModeKeys.EVAL, LOGITS1, LABELS1)
    want = _sigmoid_xent(LABELS1.astype(np.float64), LOGITS1.astype(np.float64))
    assert fetch(spec.loss) == pytest.approx(want.sum(), rel=1e-6)
    updates = {k: v[1] for k, v in spec.eval_metric_ops.items()}
    got = fetch(updates)
    assert got["average_loss"] == pytest.approx(want.mean(), rel=1e-6)
    assert got["accuracy"] == pytest.approx(0.75)       # logit -0.2 predicts 0 for label 1
    assert got["label/mean"] == pytest.approx(0.75)
    assert got["accuracy_baseline"] == pytest.approx(0.75)
    assert got["precision"] == pytest.approx(1.0)
    assert got["recall"] == pytest.approx(2 / 3)
    sig = 1 / (1 + np.exp(-LOGITS1))
    assert got["prediction/mean"] == pytest.approx(sig.mean(), rel=1e-6)


def test_binary_predictions_have_tfs_keys_and_values():
    spec, fetch = _run(binary_classification_head(label_vocabulary=["neg", "pos"]),
                       ModeKeys.PREDICT, LOGITS1)
    p = fetch(spec.predictions)
    sig = 1 / (1 + np.exp(-LOGITS1))
    np.testing.assert_allclose(p["logistic"], sig, rtol=1e-6)
    np.testing.assert_allclose(p["probabilities"], np.hstack([1 - sig, sig]), rtol=1e-6)
    assert p["class_ids"].tolist() == [[0], [1], [1], [0]]
    assert p["classes"].tolist() == [[b"neg"], [b"pos"], [b"pos"], [b"neg"]]
    assert p["all_classes"].tolist() == [[b"neg", b"pos"]] * 4
    assert p["all_class_ids"].dtype == np.int32 and p["class_ids"].dtype == np.int64
    assert sorted(spec.export_outputs) == ["classification", "predict", "regression",
                                           "serving_default"]


@pytest.mark.parametrize("reduction,scale", [(Reduction.SUM, 1.0),
                                             (Reduction.SUM_OVER_BATCH_SIZE, 0.25),
                                             (Reduction.MEAN, None)])
def test_weight_column_and_loss_reduction(reduction, scale):
    w = np.array([1.0, 2.0, 0.5, 0.0], np.float32)
    head = binary_classification_head(weight_column="w", loss_reduction=reduction)
    spec, fetch = _run(head, ModeKeys.EVAL, LOGITS1, LABELS1, features={"w": w})
    per = _sigmoid_xent(LABELS1[:, 0].astype(np.float64), LOGITS1[:, 0].astype(np.float64))
    weighted = (per * w).sum()
    want = weighted * scale if scale is not None else weighted / w.sum()
    assert fetch(spec.loss) == pytest.approx(want, rel=1e-5)
    avg = fetch(spec.eval_metric_ops["average_loss"][1])
    assert avg == pytest.approx(weighted / w.sum(), rel=1e-5)


def test_weight_column_as_a_numeric_column_applies_its_normalizer():
    w = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
    col = numeric_column("w", normalizer_fn=lambda t: t * 2.0)
    spec, fetch = _run(binary_classification_head(weight_column=col), ModeKeys.EVAL,
                       LOGITS1, LABELS1, features={"w": w})
    per = _sigmoid_xent(LABELS1[:, 0].astype(np.float64), LOGITS1[:, 0].astype(np.float64))
    assert fetch(spec.loss) == pytest.approx((per * w * 2).sum(), rel=1e-5)


def test_multi_class_loss_predictions_and_vocabulary():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 0.0, 0.0]], np.float32)
    labels = np.array([["b"], ["c"], ["b"]])
    spec, fetch = _run(multi_class_head(3, label_vocabulary=["a", "b", "c"]), ModeKeys.EVAL,
                       logits, labels)
    p = _softmax(logits.astype(np.float64))
    want = -np.log(p[[0, 1, 2], [1, 2, 1]])
    assert fetch(spec.loss) == pytest.approx(want.sum(), rel=1e-5)
    assert fetch(spec.eval_metric_ops["accuracy"][1]) == pytest.approx(2 / 3)
    assert sorted(spec.eval_metric_ops) == ["accuracy", "average_loss"]
    preds = fetch(spec.predictions)
    assert preds["classes"].tolist() == [[b"b"], [b"c"], [b"a"]]
    np.testing.assert_allclose(preds["probabilities"], p, rtol=1e-5)


def test_bytes_labels_match_a_str_vocabulary():
    logits = np.zeros((2, 3), np.float32)
    labels = np.array([[b"c"], [b"a"]], dtype=object)
    spec, fetch = _run(multi_class_head(3, label_vocabulary=["a", "b", "c"]), ModeKeys.EVAL,
                       logits, labels, label_dtype=ec.string)
    assert fetch(spec.loss) == pytest.approx(2 * np.log(3), rel=1e-6)


def test_a_label_outside_the_vocabulary_fails_the_run():
    spec, fetch = _run(binary_classification_head(label_vocabulary=["no", "yes"]),
                       ModeKeys.EVAL, LOGITS1[:2], np.array([["yes"], ["maybe"]]))
    with pytest.raises(InvalidArgumentError,
                       match=r"Labels must be in label_vocabulary \['no', 'yes'\]"):
        fetch(spec.loss)


@pytest.mark.parametrize("bad", [3, -1])
def test_a_class_id_out_of_range_fails_the_run(bad):
    ids = np.array([[0], [bad]], np.int64)
    spec, fetch = _run(multi_class_head(3), ModeKeys.EVAL, np.zeros((2, 3), np.float32), ids)
    with pytest.raises(InvalidArgumentError, match=r"`labels` must be in \[0, 3\)"):
        fetch(spec.loss)
    custom = multi_class_head(3, loss_fn=lambda labels, logits: ec.cast(labels, ec.float32))
    spec, fetch = _run(custom, ModeKeys.EVAL, np.zeros((2, 3), np.float32), ids)
    with pytest.raises(InvalidArgumentError, match=r"Labels must be in \[0, n_classes - 1\]"):
        fetch(spec.loss)


@pytest.mark.parametrize("bad", [1.5, -0.5])
def test_a_binary_label_outside_0_1_fails_the_run(bad):
    labels = np.array([[1.0], [bad]], np.float32)
    spec, fetch = _run(binary_classification_head(), ModeKeys.EVAL, LOGITS1[:2], labels)
    with pytest.raises(InvalidArgumentError, match="Labels must"):
        fetch(spec.loss)
    ok, fetch_ok = _run(binary_classification_head(), ModeKeys.EVAL, LOGITS1[:2],
                        np.array([[1.0], [0.25]], np.float32))   # soft labels are allowed
    assert np.isfinite(fetch_ok(ok.loss))


def test_regression_head_label_dimension_and_per_logit_weights():
    logits = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    labels = np.array([[0.5, 2.0], [1.0, 1.0]], np.float32)
    w = np.array([[1.0, 0.0], [2.0, 1.0]], np.float32)
    head = regression_head(label_dimension=2, weight_column="w")
    spec, fetch = _run(head, ModeKeys.EVAL, logits, labels, features={"w": w})
    sq = (logits - labels) ** 2
    assert fetch(spec.loss) == pytest.approx((sq * w).sum(), rel=1e-6)
    got = fetch({k: v[1] for k, v in spec.eval_metric_ops.items()})
    assert sorted(got) == ["average_loss", "label/mean", "prediction/mean"]
    assert got["label/mean"] == pytest.approx((labels * w).sum() / w.sum(), rel=1e-6)
    assert got["prediction/mean"] == pytest.approx((logits * w).sum() / w.sum(), rel=1e-6)


def test_regression_inverse_link_fn_adds_the_logits_to_the_predictions():
    head = regression_head(inverse_link_fn=ec.exp)
    spec, fetch = _run(head, ModeKeys.PREDICT, LOGITS1)
    p = fetch(spec.predictions)
    np.testing.assert_allclose(p["predictions"], np.exp(LOGITS1), rtol=1e-6)
    np.testing.assert_allclose(p["logits"], LOGITS1)
    assert sorted(spec.export_outputs) == ["predict", "regression", "serving_default"]


def test_thresholds_add_metrics_at_each_threshold():
    spec, fetch = _run(binary_classification_head(thresholds=[0.4, 0.7]), ModeKeys.EVAL,
                       LOGITS1, LABELS1)
    keys = set(spec.eval_metric_ops)
    for t in ("0.4", "0.7"):
        assert {f"accuracy/positive_threshold_{t}", f"precision/positive_threshold_{t}",
                f"recall/positive_threshold_{t}"} <= keys
    got = fetch(spec.eval_metric_ops["recall/positive_threshold_0.7"][1])
    assert got == pytest.approx(1 / 3)   # only logit 2.0 (p=0.88) of three positives


def test_named_head_suffixes_every_metric_key():
    spec, _ = _run(binary_classification_head(name="click"), ModeKeys.EVAL, LOGITS1, LABELS1)
    assert all(k.endswith("/click") for k in spec.eval_metric_ops)


def test_regularization_losses_join_the_loss_and_the_metrics():
    reg = np.float32(0.25)
    head = regression_head()
    spec, fetch = _run(head, ModeKeys.EVAL, LOGITS1, LOGITS1 + 1,
                       in_graph=lambda: {"regularization_losses": [ec.constant(reg)]})
    assert fetch(spec.loss) == pytest.approx(4 + 0.25, rel=1e-6)
    assert fetch(spec.eval_metric_ops["regularization_loss"][1]) == pytest.approx(0.25)


def test_train_needs_exactly_one_of_optimizer_and_train_op_fn():
    with pytest.raises(ValueError, match="cannot both be None"):
        _run(regression_head(), ModeKeys.TRAIN, LOGITS1, LOGITS1)
    with pytest.raises(ValueError, match="cannot both be set"):
        _run(regression_head(), ModeKeys.TRAIN, LOGITS1, LOGITS1,
             optimizer=GradientDescentOptimizer(0.1), train_op_fn=lambda loss: ec.no_op())


def test_custom_loss_fn_gets_labels_logits_and_features():
    seen = {}

    def loss_fn(labels, logits, features):
        seen["features"] = sorted(features)
        return ec.abs(labels - logits)

    spec, fetch = _run(regression_head(loss_fn=loss_fn), ModeKeys.EVAL, LOGITS1, LOGITS1 * 0,
                       features={"f": np.zeros((4, 1), np.float32)})
    assert seen["features"] == ["f"]
    assert fetch(spec.loss) == pytest.approx(np.abs(LOGITS1).sum(), rel=1e-6)
    with pytest.raises(ValueError, match="unexpected args"):
        regression_head(loss_fn=lambda labels, logits, mode: labels)


@pytest.mark.parametrize("make,match", [
    (lambda: multi_class_head(2), "n_classes must be > 2: 2"),
    (lambda: binary_logistic_or_multi_class_head(1, None, None, Reduction.SUM),
     "n_classes must be > 2: 1"),
    (lambda: binary_classification_head(loss_reduction=Reduction.NONE), "Invalid loss_reduction"),
    (lambda: binary_classification_head(thresholds=[1.5]), "thresholds not in"),
    (lambda: multi_class_head(3, label_vocabulary="abc"), "list or a tuple"),
    (lambda: multi_class_head(3, label_vocabulary=["a", "b"]), "n_classes=3 entries"),
    (lambda: regression_head(label_dimension=0), "Invalid label_dimension"),
])
def test_bad_head_arguments_are_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("head,labels,match", [
    (multi_class_head(3), np.array([[0.5]], np.float32), "should be integer"),
    (binary_classification_head(), np.array([["a"]]), "label_vocabulary"),
    (regression_head(label_dimension=2), np.array([[1.0, 2.0, 3.0]], np.float32),
     "Mismatched label shape"),
])
def test_bad_labels_are_refused_when_the_graph_is_built(head, labels, match):
    logits = np.zeros((1, head.logits_dimension), np.float32)
    with pytest.raises(ValueError, match=match):
        _run(head, ModeKeys.EVAL, logits, labels)


def test_missing_labels_and_missing_weight_feature_are_named():
    with pytest.raises(ValueError, match="You must provide a labels Tensor"):
        _run(regression_head(), ModeKeys.EVAL, LOGITS1)
    with pytest.raises(ValueError, match="feature 'w' is not in features"):
        _run(regression_head(weight_column="w"), ModeKeys.EVAL, LOGITS1, LOGITS1)


def test_sparse_labels_are_refused_with_tfs_advice():
    with ec.Graph().as_default():
        labels = SparseTensor(indices=[[0, 0]], values=[1.0], dense_shape=[2, 1])
        with pytest.raises(ValueError, match="SparseTensor labels are not supported"):
            regression_head().create_estimator_spec({}, ModeKeys.EVAL, ec.zeros([2, 1]),
                                                    labels)
