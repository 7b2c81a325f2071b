"""The metrics of ``estcore.metrics.metrics_extra`` / ``at_k`` against TF 2.15's
``tf.compat.v1.metrics`` on fixed inputs (``fixtures/metrics_extra_tf.json``, made by
``fixtures/make_metrics_extra_tf.py``; TF is not needed here), plus their argument errors,
collections and the reset through ``local_variables_initializer``."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError

FIXTURES = json.loads((pathlib.Path(__file__).parent / "fixtures" /
                       "metrics_extra_tf.json").read_text())["cases"]


def _placeholder(dtype: str, value, name: str):
    if dtype == "sparse_int64":
        return tf.sparse_placeholder(tf.int64, name=name)
    return ec.placeholder(getattr(ec, dtype), np.asarray(value).shape, name=name)


def _feed(dtype: str, value):
    if dtype == "sparse_int64":
        return tf.SparseTensorValue(np.array(value["indices"], np.int64).reshape(-1, 2),
                                    np.array(value["values"], np.int64), value["dense_shape"])
    return np.asarray(value, dtype=dtype)


def _run_case(case):
    g = ec.Graph()
    with g.as_default():
        first = case["batches"][0]
        phs = {k: _placeholder(case["dtypes"][k], v, k) for k, v in first.items()}
        value, update = getattr(ec.metrics, case["metric"])(**phs, **case["kwargs"])
        names = [[v.op.name, v.dtype.name, v.shape.as_list()] for v in ec.local_variables()]
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            updates = [sess.run(update, {phs[k]: _feed(case["dtypes"][k], v)
                                         for k, v in b.items()})
                       for b in case["batches"]]
            final = sess.run(value)
    return names, updates, final, value


@pytest.mark.parametrize("case", FIXTURES, ids=[c["id"] for c in FIXTURES])
def test_matches_tensorflow(case):
    names, updates, final, value = _run_case(case)
    assert names == case["local_variables"]
    assert value.dtype.name == case["value_dtype"]
    for got, want in zip(updates, case["updates"], strict=True):
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                                   rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(final, np.float64),
                               np.asarray(case["value"], np.float64), rtol=2e-6, atol=1e-7)


def test_fixture_covers_every_new_metric():
    covered = {c["metric"] for c in FIXTURES}
    assert covered >= {"mean_tensor", "percentage_below", "mean_relative_error",
                       "mean_cosine_distance", "mean_iou", "sensitivity_at_specificity",
                       "specificity_at_sensitivity", "precision_at_k", "recall_at_k",
                       "sparse_precision_at_k", "precision_at_top_k", "recall_at_top_k"}


def test_collections_and_reset():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [3])
        value, update = ec.metrics.percentage_below(x, 1.0, metrics_collections=["m"],
                                                    updates_collections=["u"])
        assert ec.get_collection("m") == [value]
        assert ec.get_collection("u") == [update]
        assert set(ec.local_variables()) == set(
            ec.get_collection(ec.GraphKeys.METRIC_VARIABLES))
        assert not ec.trainable_variables() and not ec.global_variables()
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            assert sess.run(update, {x: [0.0, 2.0, 0.5]}) == pytest.approx(2 / 3)
            sess.run(ec.local_variables_initializer())
            assert sess.run(update, {x: [2.0, 2.0, 0.5]}) == pytest.approx(1 / 3)
            assert sess.run(value) == pytest.approx(1 / 3)


def test_sparse_recall_at_k_is_recall_at_k():
    labels = np.array([[0, 3], [1, 2]], np.int64)
    scores = np.array([[0.9, 0.1, 0.2, 0.8], [0.1, 0.2, 0.3, 0.9]], np.float32)
    with ec.Graph().as_default():
        a = ec.metrics.recall_at_k(labels, scores, 2)
        b = ec.metrics.sparse_recall_at_k(labels, scores, 2)
        assert [v.op.name for v in ec.local_variables()] == [
            "recall_at_2/true_positive_at_2", "recall_at_2/false_negative_at_2",
            "recall_at_2_1/true_positive_at_2", "recall_at_2_1/false_negative_at_2"]
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            # row 0: top-2 {0, 3} = labels; row 1: top-2 {3, 2}, labels {1, 2}: 3 of 4
            assert sess.run([a[1], b[1]]) == [pytest.approx(0.75)] * 2


def test_mean_iou_rejects_out_of_range_class_at_run_time():
    with ec.Graph().as_default():
        lab = ec.placeholder(ec.int64, [3])
        _, update = ec.metrics.mean_iou(lab, lab, num_classes=2)
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            with pytest.raises(InvalidArgumentError, match=r"labels.*\[0, 2\).*5"):
                sess.run(update, {lab: [0, 1, 5]})


def test_mean_iou_weights_of_the_wrong_size_at_run_time():
    with ec.Graph().as_default():
        lab = ec.placeholder(ec.int64, [None])
        w = ec.placeholder(ec.float32, [None])
        value, update = ec.metrics.mean_iou(lab, lab, num_classes=2, weights=w)
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            with pytest.raises(InvalidArgumentError, match="weights.*one value per label"):
                sess.run(update, {lab: [0, 1, 1], w: [1.0, 2.0]})
            sess.run(update, {lab: [0, 1, 1], w: [1.0, 0.0, 2.0]})
            assert sess.run(value) == pytest.approx(1.0)


@pytest.mark.parametrize("call, match", [
    (lambda: ec.metrics.mean_iou([0, 1], [0, 1], num_classes=0), "num_classes"),
    (lambda: ec.metrics.mean_iou([0.0, 1.0], [0, 1], num_classes=2), "labels"),
    (lambda: ec.metrics.sensitivity_at_specificity([1, 0], [0.2, 0.3], 1.5), "specificity"),
    (lambda: ec.metrics.specificity_at_sensitivity([1, 0], [0.2, 0.3], 0.5,
                                                   num_thresholds=1), "num_thresholds"),
    (lambda: ec.metrics.precision_at_k([[1]], [[0.2, 0.3]], 0), "k"),
    (lambda: ec.metrics.recall_at_k([[1]], [[0.2, 0.3]], 1, class_id=1.5), "class_id"),
    (lambda: ec.metrics.precision_at_top_k([[[1]]], [[0, 1]]), "labels shape"),
    (lambda: ec.metrics.mean_cosine_distance([[1.0]], [[1.0]], dim="1"), "dim"),
    (lambda: ec.metrics.percentage_below([1.0], "0.5"), "threshold"),
    (lambda: ec.metrics.mean_tensor(ec.placeholder(ec.float32, [None])), "values"),
    (lambda: ec.metrics.mean_relative_error([1.0, 2.0], [1.0, 2.0], [1.0, 2.0, 3.0]),
     "normalizer"),
])
def test_bad_arguments_name_the_argument(call, match):
    with ec.Graph().as_default():
        with pytest.raises((ValueError, TypeError), match=match):
            call()


def test_at_k_weights_must_broadcast():
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match="weights"):
            ec.metrics.precision_at_k(np.zeros((4, 2), np.int64), np.zeros((4, 5), np.float32),
                                      2, weights=np.ones(3, np.float32))


def test_compat_v1_namespace_has_them():
    for name in ("mean_iou", "precision_at_k", "recall_at_k", "sparse_precision_at_k",
                 "sparse_recall_at_k", "specificity_at_sensitivity",
                 "sensitivity_at_specificity", "percentage_below", "mean_relative_error",
                 "mean_cosine_distance", "mean_tensor", "precision_at_top_k",
                 "recall_at_top_k"):
        assert getattr(tf.metrics, name) is getattr(ec.metrics, name)


def test_mean_tensor_skips_the_batch_whose_input_failed():
    """As TF 1.15: the count (``ones_like`` of a static shape) does not grow on the run that
    raised OutOfRangeError: 3 batches give total = count = 3 per element."""
    with ec.Graph().as_default():
        data = ec.data.Dataset.from_tensor_slices(np.ones((6, 2), np.float32)).batch(2)
        x = data.make_one_shot_iterator().get_next()
        value, update = ec.metrics.mean_tensor(ec.reduce_mean(x, 0), weights=[1.0, 2.0])
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            with pytest.raises(ec.errors.OutOfRangeError):
                for _ in range(4):
                    sess.run(update)
            np.testing.assert_array_equal(sess.run(value), [1.0, 1.0])
            total, count = sess.run(ec.local_variables())
    np.testing.assert_array_equal(total, [3.0, 6.0])
    np.testing.assert_array_equal(count, [3.0, 6.0])
