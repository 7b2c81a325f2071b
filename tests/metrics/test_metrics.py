"""estcore.metrics vs numpy references over several batches (streaming), spec section 8."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

RNG = np.random.default_rng(1)
N_BATCHES, BS = 4, 8


def _stream(build, batches, dtypes):
    """Build metric(placeholders) and run update_op for every batch.

    Returns (update results per batch, final value, value after a reset).
    """
    with ec.Graph().as_default():
        phs = [ec.placeholder(dt, [None] + list(shape)) for dt, shape in dtypes]
        value, update_op = build(*phs)
        updates = []
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            for batch in batches:
                updates.append(sess.run(update_op, dict(zip(phs, batch, strict=True))))
            final = sess.run(value)
            sess.run(ec.local_variables_initializer())
            reset = sess.run(value)
    return updates, final, reset


def _batches(*makers):
    return [tuple(m() for m in makers) for _ in range(N_BATCHES)]


def _cat(batches, i):
    return np.concatenate([b[i] for b in batches])


def test_mean_unweighted_and_weighted():
    batches = _batches(lambda: RNG.normal(size=BS), lambda: RNG.choice([0.0, 1.0, 2.5], BS))
    f32 = ec.float32
    ups, final, reset = _stream(lambda v, w: ec.metrics.mean(v, w), batches,
                                [(f32, []), (f32, [])])
    v, w = _cat(batches, 0), _cat(batches, 1)
    np.testing.assert_allclose(final, (v * w).sum() / w.sum(), rtol=1e-5)
    for k in range(N_BATCHES):
        n = (k + 1) * BS
        np.testing.assert_allclose(ups[k], (v[:n] * w[:n]).sum() / w[:n].sum(), rtol=1e-5)
    assert reset == 0.0
    ups, final, _ = _stream(lambda v: ec.metrics.mean(v), [b[:1] for b in batches],
                            [(f32, [])])
    np.testing.assert_allclose(final, v.mean(), rtol=1e-5)


def test_mean_all_zero_weights_is_zero():
    batches = [(np.ones(BS), np.zeros(BS))]
    _, final, _ = _stream(lambda v, w: ec.metrics.mean(v, w), batches,
                          [(ec.float32, []), (ec.float32, [])])
    assert final == 0.0


def test_accuracy_streaming_with_weights_and_column_labels():
    batches = _batches(lambda: RNG.integers(0, 3, size=(BS, 1)),
                       lambda: RNG.integers(0, 3, size=BS),
                       lambda: RNG.choice([0.0, 1.0, 2.0], BS))
    ups, final, _ = _stream(lambda lab, p, w: ec.metrics.accuracy(lab, p, w), batches,
                            [(ec.int64, [1]), (ec.int32, []), (ec.float32, [])])
    lab, p, w = _cat(batches, 0)[:, 0], _cat(batches, 1), _cat(batches, 2)
    np.testing.assert_allclose(final, ((lab == p) * w).sum() / w.sum(), rtol=1e-6)
    np.testing.assert_allclose(ups[0], ((lab[:BS] == p[:BS]) * w[:BS]).sum() / w[:BS].sum(),
                               rtol=1e-6)


@pytest.mark.parametrize("name", ["mean_absolute_error", "mean_squared_error",
                                  "root_mean_squared_error"])
def test_regression_metrics(name):
    batches = _batches(lambda: RNG.normal(size=(BS, 2)), lambda: RNG.normal(size=(BS, 2)),
                       lambda: RNG.choice([0.0, 1.0, 3.0], (BS, 1)))
    fn = getattr(ec.metrics, name)
    _, final, _ = _stream(lambda lab, p, w: fn(lab, p, w), batches,
                          [(ec.float32, [2]), (ec.float32, [2]), (ec.float32, [1])])
    lab, p, w = _cat(batches, 0), _cat(batches, 1), _cat(batches, 2)
    w = np.broadcast_to(w, lab.shape)
    err = np.abs(p - lab) if name == "mean_absolute_error" else (p - lab) ** 2
    want = (err * w).sum() / w.sum()
    if name == "root_mean_squared_error":
        want = np.sqrt(want)
    np.testing.assert_allclose(final, want, rtol=1e-5)


def _confusion(lab, pred, w):
    lab, pred = lab.astype(bool), pred.astype(bool)
    return {"tp": (w * (lab & pred)).sum(), "fp": (w * (~lab & pred)).sum(),
            "tn": (w * (~lab & ~pred)).sum(), "fn": (w * (lab & ~pred)).sum()}


def test_confusion_counts_precision_recall():
    batches = _batches(lambda: RNG.integers(0, 2, BS), lambda: RNG.uniform(size=BS) > 0.4,
                       lambda: RNG.choice([0.0, 0.5, 2.0], BS))
    lab, pred, w = _cat(batches, 0), _cat(batches, 1), _cat(batches, 2)
    c = _confusion(lab, pred, w)
    dt = [(ec.int64, []), (ec.bool, []), (ec.float32, [])]
    for name, key in [("true_positives", "tp"), ("false_positives", "fp"),
                      ("true_negatives", "tn"), ("false_negatives", "fn")]:
        fn = getattr(ec.metrics, name)
        _, final, _ = _stream(lambda a, b, ww, fn=fn: fn(a, b, ww), batches, dt)
        np.testing.assert_allclose(final, c[key], rtol=1e-6, err_msg=name)
    _, p, _ = _stream(lambda a, b, ww: ec.metrics.precision(a, b, ww), batches, dt)
    _, r, _ = _stream(lambda a, b, ww: ec.metrics.recall(a, b, ww), batches, dt)
    np.testing.assert_allclose(p, c["tp"] / (c["tp"] + c["fp"]), rtol=1e-6)
    np.testing.assert_allclose(r, c["tp"] / (c["tp"] + c["fn"]), rtol=1e-6)


def test_precision_recall_empty_denominators_are_zero():
    batches = [(np.zeros(BS, np.int64), np.zeros(BS, bool))]
    dt = [(ec.int64, []), (ec.bool, [])]
    _, p, _ = _stream(lambda a, b: ec.metrics.precision(a, b), batches, dt)
    _, r, _ = _stream(lambda a, b: ec.metrics.recall(a, b), batches, dt)
    assert p == 0.0 and r == 0.0


def ref_auc(labels, preds, weights, num_thresholds=200, curve="ROC",
            summation_method="trapezoidal"):
    """TF1's thresholded AUC in numpy (float32 comparisons, float64 sums)."""
    kepsilon = 1e-7
    thresholds = np.array([0.0 - kepsilon]
                          + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
                          + [1.0 + kepsilon], dtype=np.float32)
    p = preds.astype(np.float32).reshape(1, -1)
    lab = labels.astype(bool).reshape(1, -1)
    w = np.broadcast_to(weights, preds.shape).reshape(1, -1).astype(np.float64)
    above = p > thresholds.reshape(-1, 1)
    tp = (above & lab) @ w.T
    fp = (above & ~lab) @ w.T
    fn = (~above & lab) @ w.T
    tn = (~above & ~lab) @ w.T
    tp, fp, fn, tn = (a.ravel() for a in (tp, fp, fn, tn))
    n = num_thresholds
    eps = 1e-6
    if curve == "PR" and summation_method == "careful_interpolation":
        dtp = tp[:-1] - tp[1:]
        pp = tp + fp
        dp = np.maximum(pp[:-1] - pp[1:], 0)
        slope = np.divide(dtp, dp, out=np.zeros_like(dtp), where=dp != 0)
        intercept = tp[1:] - slope * pp[1:]
        both = (pp[:-1] > 0) & (pp[1:] > 0)
        ratio = np.divide(pp[:-1], np.maximum(pp[1:], 0), out=np.zeros_like(dtp),
                          where=np.maximum(pp[1:], 0) != 0)
        safe = np.where(both, ratio, 1.0)
        num = slope * (dtp + intercept * np.log(safe))
        den = np.maximum(tp[1:] + fn[1:], 0)
        return np.divide(num, den, out=np.zeros_like(num), where=den != 0).sum()
    rec = (tp + eps) / (tp + fn + eps)
    if curve == "ROC":
        x, y = fp / (fp + tn + eps), rec
    else:
        x, y = rec, (tp + eps) / (tp + fp + eps)
    if summation_method == "minoring":
        h = np.minimum(y[: n - 1], y[1:])
    elif summation_method == "majoring":
        h = np.maximum(y[: n - 1], y[1:])
    else:
        h = (y[: n - 1] + y[1:]) / 2
    return ((x[: n - 1] - x[1:]) * h).sum()


@pytest.mark.parametrize("curve,method", [("ROC", "trapezoidal"), ("ROC", "minoring"),
                                          ("ROC", "majoring"), ("PR", "careful_interpolation"),
                                          ("PR", "majoring")])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_streaming(curve, method, weighted):
    batches = _batches(lambda: RNG.integers(0, 2, BS), lambda: RNG.uniform(size=BS),
                       lambda: RNG.choice([0.0, 1.0, 2.0], BS))
    # A prediction exactly on a threshold must count as negative there (strict >).
    batches[0][1][0] = 0.5 / 1.0
    nt = 51

    def build(a, b, ww):
        return ec.metrics.auc(a, b, ww if weighted else None, num_thresholds=nt, curve=curve,
                              summation_method=method)

    ups, final, reset = _stream(build, batches, [(ec.int64, []), (ec.float32, []),
                                                 (ec.float32, [])])
    lab, p = _cat(batches, 0), _cat(batches, 1)
    w = _cat(batches, 2) if weighted else np.ones_like(p)
    np.testing.assert_allclose(final, ref_auc(lab, p, w, nt, curve, method), rtol=2e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ups[0], ref_auc(lab[:BS], p[:BS], w[:BS], nt, curve, method),
                               rtol=2e-5, atol=1e-6)
    assert reset == pytest.approx(ref_auc(np.zeros(1), np.zeros(1), np.zeros(1), nt, curve,
                                          method), abs=1e-6)


def test_auc_close_to_exact_roc_auc_with_many_thresholds():
    from sklearn.metrics import roc_auc_score

    lab = RNG.integers(0, 2, 400)
    p = np.clip(lab * 0.3 + RNG.uniform(size=400) * 0.7, 0, 1)
    _, final, _ = _stream(lambda a, b: ec.metrics.auc(a, b, num_thresholds=2000),
                          [(lab, p)], [(ec.int64, []), (ec.float32, [])])
    assert abs(final - roc_auc_score(lab, p)) < 2e-3


def test_auc_variable_names_and_collections():
    with ec.Graph().as_default():
        ec.metrics.auc(ec.placeholder(ec.bool, [None]), ec.placeholder(ec.float32, [None]))
        ec.metrics.accuracy(ec.placeholder(ec.int64, [None]), ec.placeholder(ec.int64, [None]))
        ec.metrics.accuracy(ec.placeholder(ec.int64, [None]), ec.placeholder(ec.int64, [None]))
        ec.metrics.precision(ec.placeholder(ec.int64, [None]), ec.placeholder(ec.int64, [None]))
        names = sorted(v.op.name for v in ec.local_variables())
        metric_names = sorted(v.op.name for v in ec.get_collection(
            ec.GraphKeys.METRIC_VARIABLES))
        assert ec.global_variables() == []
    assert names == metric_names
    assert names == sorted([
        "auc/true_positives", "auc/false_negatives", "auc/true_negatives",
        "auc/false_positives", "accuracy/total", "accuracy/count", "accuracy_1/total",
        "accuracy_1/count", "precision/true_positives/count",
        "precision/false_positives/count"])


def test_mean_per_class_accuracy():
    k = 4
    batches = _batches(lambda: RNG.integers(0, k - 1, BS), lambda: RNG.integers(0, k, BS),
                       lambda: RNG.choice([0.0, 1.0, 2.0], BS))
    ups, final, _ = _stream(
        lambda a, b, ww: ec.metrics.mean_per_class_accuracy(a, b, k, weights=ww), batches,
        [(ec.int64, []), (ec.int64, []), (ec.float32, [])])
    lab, p, w = _cat(batches, 0), _cat(batches, 1), _cat(batches, 2)
    per = np.zeros(k)
    for c in range(k):  # class k-1 never appears: accuracy 0, still averaged (TF1)
        tot = w[lab == c].sum()
        per[c] = (w[(lab == c) & (p == c)].sum() / tot) if tot else 0.0
    np.testing.assert_allclose(final, per.mean(), rtol=1e-6)
    np.testing.assert_allclose(ups[-1], per, rtol=1e-6)


@pytest.mark.parametrize("labels, predictions, what, bad", [
    ([0, 1, 4], [0, 1, 2], "labels", 4),
    ([0, 1, 2], [0, -1, 2], "predictions", -1),
])
def test_mean_per_class_accuracy_rejects_ids_out_of_range(labels, predictions, what, bad):
    from estcore.errors import InvalidArgumentError

    with ec.Graph().as_default():
        lab = ec.placeholder(ec.int64, [None])
        pred = ec.placeholder(ec.int64, [None])
        _, update = ec.metrics.mean_per_class_accuracy(lab, pred, 3)
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            with pytest.raises(InvalidArgumentError,
                               match=rf"`{what}` must be class ids in \[0, 3\); got {bad}"):
                sess.run(update, {lab: np.array(labels), pred: np.array(predictions)})


def test_metric_argument_errors():
    with ec.Graph().as_default():
        a = ec.placeholder(ec.float32, [None])
        with pytest.raises(ValueError, match="`curve` must be"):
            ec.metrics.auc(a, a, curve="XY")
        with pytest.raises(ValueError, match="`summation_method` must be"):
            ec.metrics.auc(a, a, summation_method="simpson")
        with pytest.raises(ValueError, match="`num_thresholds`"):
            ec.metrics.auc(a, a, num_thresholds=1)
        with pytest.raises((ValueError, TypeError), match="`num_classes`"):
            ec.metrics.mean_per_class_accuracy(a, a, 0)
        with pytest.raises(ValueError, match="compatible shapes"):
            ec.metrics.accuracy(ec.placeholder(ec.int64, [None, 3]),
                                ec.placeholder(ec.int64, [None, 2]))


def test_metrics_and_updates_collections():
    with ec.Graph().as_default():
        v, u = ec.metrics.mean(ec.placeholder(ec.float32, [None]),
                               metrics_collections=["m"], updates_collections=["u"])
        assert ec.get_collection("m") == [v]
        assert ec.get_collection("u") == [u]


def test_auc_predictions_outside_unit_interval_raise_at_run_time():
    with ec.Graph().as_default():
        p = ec.placeholder(ec.float32, [None])
        lab = ec.placeholder(ec.bool, [None])
        _, update_op = ec.metrics.auc(lab, p)
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            sess.run(update_op, {p: np.array([0.0, 1.0], np.float32), lab: [False, True]})
            for bad in (1.5, -0.1, np.nan):
                with pytest.raises(ec.errors.InvalidArgumentError,
                                   match=r"predictions must be in \[0, 1\]"):
                    sess.run(update_op, {p: np.array([0.2, bad], np.float32),
                                         lab: [False, True]})


def test_auc_explicit_thresholds():
    lab = RNG.integers(0, 2, 40)
    p = RNG.uniform(size=40)
    thresholds = [0.7, 0.2, 0.5]
    _, final, _ = _stream(lambda a, b: ec.metrics.auc(a, b, thresholds=thresholds),
                          [(lab, p)], [(ec.int64, []), (ec.float32, [])])
    # thresholds become [-eps, 0.2, 0.5, 0.7, 1 + eps]: the same as num_thresholds=5 would
    # give only for evenly spaced ones, so compare with a direct computation.
    t = np.array([-1e-7, 0.2, 0.5, 0.7, 1 + 1e-7], np.float32)
    above = p.astype(np.float32)[None, :] > t[:, None]
    pos = lab.astype(bool)[None, :]
    tp, fp = (above & pos).sum(1), (above & ~pos).sum(1)
    fn, tn = (~above & pos).sum(1), (~above & ~pos).sum(1)
    tpr = (tp + 1e-6) / (tp + fn + 1e-6)
    fpr = fp / (fp + tn + 1e-6)
    want = ((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2).sum()
    np.testing.assert_allclose(final, want, rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_metrics_at_thresholds(weighted):
    batches = _batches(lambda: RNG.integers(0, 2, BS), lambda: RNG.uniform(size=BS),
                       lambda: RNG.choice([0.0, 1.0, 2.0], BS))
    thresholds = [0.25, 0.5, 0.75]
    dt = [(ec.int64, []), (ec.float32, []), (ec.float32, [])]
    lab, p = _cat(batches, 0).astype(bool), _cat(batches, 1).astype(np.float32)
    w = _cat(batches, 2) if weighted else np.ones_like(p)
    above = p[None, :] > np.float32(thresholds)[:, None]
    counts = {"true_positives": (above & lab) @ w, "false_positives": (above & ~lab) @ w,
              "true_negatives": (~above & ~lab) @ w, "false_negatives": (~above & lab) @ w}
    for name, want in counts.items():
        fn = getattr(ec.metrics, name + "_at_thresholds")
        _, got, _ = _stream(lambda a, b, ww, fn=fn: fn(a, b, thresholds,
                                                       ww if weighted else None), batches, dt)
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)
    tp, fp, fn_ = (counts[k] for k in ("true_positives", "false_positives", "false_negatives"))
    _, prec, _ = _stream(lambda a, b, ww: ec.metrics.precision_at_thresholds(
        a, b, thresholds, ww if weighted else None), batches, dt)
    _, rec, _ = _stream(lambda a, b, ww: ec.metrics.recall_at_thresholds(
        a, b, thresholds, ww if weighted else None), batches, dt)
    np.testing.assert_allclose(prec, tp / (1e-7 + tp + fp), rtol=1e-5)
    np.testing.assert_allclose(rec, tp / (1e-7 + tp + fn_), rtol=1e-5)


def test_thresholds_argument_errors():
    with ec.Graph().as_default():
        a = ec.placeholder(ec.float32, [None])
        with pytest.raises(ValueError, match="`thresholds` must be a non-empty list"):
            ec.metrics.precision_at_thresholds(a, a, [])
        with pytest.raises(TypeError, match="`thresholds` must be"):
            ec.metrics.recall_at_thresholds(a, a, 0.5)
        with pytest.raises(ValueError, match="`thresholds` must be a list of numbers.*'x'"):
            ec.metrics.auc(a, a, thresholds=[0.5, "x"])
        with pytest.raises(TypeError, match="`thresholds` must be a list of numbers"):
            ec.metrics.auc(a, a, thresholds=0.5)


def test_thresholds_may_be_a_numpy_array():
    lab = RNG.integers(0, 2, 30)
    p = RNG.uniform(size=30)
    dt = [(ec.int64, []), (ec.float32, [])]
    for fn in (ec.metrics.precision_at_thresholds,
               lambda a, b, t: ec.metrics.auc(a, b, thresholds=t)):
        _, from_list, _ = _stream(lambda a, b, fn=fn: fn(a, b, [0.2, 0.5, 0.7]),
                                  [(lab, p)], dt)
        _, from_array, _ = _stream(lambda a, b, fn=fn: fn(a, b, np.array([0.2, 0.5, 0.7])),
                                   [(lab, p)], dt)
        np.testing.assert_array_equal(from_array, from_list)


def test_metric_state_ignores_scope_regularizer_and_is_not_trainable():
    with ec.Graph().as_default():
        with ec.variable_scope("eval", regularizer=lambda v: ec.reduce_sum(v)):
            ec.metrics.mean(ec.placeholder(ec.float32, [None]))
        assert ec.get_collection(ec.GraphKeys.REGULARIZATION_LOSSES) == []
        assert ec.trainable_variables() == []
        assert sorted(v.op.name for v in ec.local_variables()) == ["eval/mean/count",
                                                                   "eval/mean/total"]


def _local_names(build):
    before = len(ec.local_variables())
    value, update = build()
    return [v.name for v in ec.local_variables()[before:]], value.name, update.name


def test_metric_variables_are_named_by_the_name_scope_as_tf():
    """TF 1.15 creates metric state with ``tf.Variable`` inside ``variable_scope(name,
    default_name)``: the names follow the NAME scope. Expected names from TF 2.15."""
    with ec.Graph().as_default():
        y, p = ec.placeholder(ec.int64, [None]), ec.placeholder(ec.int64, [None])

        def acc(**kw):
            return lambda: ec.metrics.accuracy(y, p, **kw)
        with ec.name_scope("metrics"):
            got = _local_names(acc())
        assert got == (["metrics/accuracy/total:0", "metrics/accuracy/count:0"],
                       "metrics/accuracy/value:0", "metrics/accuracy/update_op:0")
        # variable scope accuracy_1, but the first top-level name scope "accuracy"
        assert _local_names(acc()) == (["accuracy/total:0", "accuracy/count:0"],
                                       "accuracy/value:0", "accuracy/update_op:0")
        with ec.variable_scope("vs"):
            assert _local_names(acc())[0] == ["vs/accuracy/total:0", "vs/accuracy/count:0"]
        with ec.variable_scope("outer"), ec.name_scope("inner"):
            assert _local_names(acc())[0] == ["outer/inner/accuracy/total:0",
                                              "outer/inner/accuracy/count:0"]
        with ec.name_scope("metrics"):
            assert _local_names(acc())[0] == ["metrics_1/accuracy/total:0",
                                              "metrics_1/accuracy/count:0"]
        assert _local_names(acc(name="myacc"))[0] == ["myacc/total:0", "myacc/count:0"]
        with ec.name_scope("x"):
            assert _local_names(acc(name="accuracy"))[0] == ["x/accuracy/total:0",
                                                             "x/accuracy/count:0"]
        assert _local_names(acc())[0] == ["accuracy_1/total:0", "accuracy_1/count:0"]
        with ec.name_scope("m"):
            assert _local_names(lambda: ec.metrics.auc(y, ec.cast(p, ec.float32)))[0] == [
                "m/auc/true_positives:0", "m/auc/false_negatives:0",
                "m/auc/true_negatives:0", "m/auc/false_positives:0"]
            assert _local_names(lambda: ec.metrics.precision(y, p)) == (
                ["m/precision/true_positives/count:0",
                 "m/precision/false_positives/count:0"],
                "m/precision/value:0", "m/precision/update_op:0")
            assert _local_names(lambda: ec.metrics.precision_at_thresholds(
                y, ec.cast(p, ec.float32), [0.5])) == (
                ["m/precision_at_thresholds/true_positives:0",
                 "m/precision_at_thresholds/false_positives:0"],
                "m/precision_at_thresholds/precision_value:0",
                "m/precision_at_thresholds/precision_update_op:0")
        in_metrics = ec.get_collection(ec.GraphKeys.LOCAL_VARIABLES, scope="metrics")
        assert [v.op.name for v in in_metrics] == ["metrics/accuracy/total",
                                                   "metrics/accuracy/count",
                                                   "metrics_1/accuracy/total",
                                                   "metrics_1/accuracy/count"]


def test_reset_by_scope_idiom():
    """``variables_initializer(get_collection(LOCAL_VARIABLES, scope=...))`` resets the
    metrics built under ``name_scope(...)``, and only them."""
    with ec.Graph().as_default():
        with ec.name_scope("metrics"):
            acc, acc_up = ec.metrics.accuracy(ec.constant([1, 2]), ec.constant([1, 3]))
            mean, mean_up = ec.metrics.mean(ec.constant([4.0]))
        other, other_up = ec.metrics.mean(ec.constant([2.0]))
        reset = ec.variables_initializer(
            ec.get_collection(ec.GraphKeys.LOCAL_VARIABLES, scope="metrics"))
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            sess.run([acc_up, mean_up, other_up])
            assert sess.run([acc, mean, other]) == [0.5, 4.0, 2.0]
            sess.run(reset)
            assert sess.run([acc, mean, other]) == [0.0, 0.0, 2.0]


def test_metric_state_ignores_reuse_and_initializer_of_the_scope():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None])
        with ec.variable_scope("s", reuse=True, initializer=ec.constant_initializer(5.0)):
            ec.metrics.mean(x)
        with ec.variable_scope("s", reuse=ec.AUTO_REUSE):
            ec.metrics.mean(x)
        assert [v.name for v in ec.local_variables()] == [
            "s/mean/total:0", "s/mean/count:0", "s_1/mean/total:0", "s_1/mean/count:0"]
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            assert sess.run(ec.local_variables()) == [0.0] * 4


def _run_until_out_of_range(make):
    """``make(batch)`` on 3 batches of ``ones([2, 2])``; update until OutOfRangeError."""
    with ec.Graph().as_default():
        data = ec.data.Dataset.from_tensor_slices(np.ones((6, 2), np.float32)).batch(2)
        value, update = make(data.make_one_shot_iterator().get_next())
        with ec.Session() as sess:
            sess.run(ec.local_variables_initializer())
            while True:
                try:
                    sess.run(update)
                except ec.errors.OutOfRangeError:
                    break
            return sess.run(value), sess.run(ec.local_variables())


@pytest.mark.parametrize("make, total", [
    (lambda x: ec.metrics.mean(ec.reduce_mean(x)), 3.0),
    (lambda x: ec.metrics.mean(ec.reduce_mean(x), weights=2.0), 6.0),
    (lambda x: ec.metrics.mean(x[0]), 6.0),
    (lambda x: ec.metrics.accuracy(ec.constant([1, 1]), ec.cast(x[:, 0], ec.int32)), 6.0),
    (lambda x: ec.metrics.percentage_below(ec.reduce_mean(x), 2.0), 3.0),
], ids=["scalar", "constant_weight", "static_shape", "accuracy", "percentage_below"])
def test_update_skips_the_batch_whose_input_failed(make, total):
    """The count must not grow on the run that raised OutOfRangeError (TF 1.15: 3 batches of
    2 ones give total = count = 3 for a scalar mean), though the number of values is a
    constant when the shape is static."""
    value, state = _run_until_out_of_range(make)
    assert value == 1.0
    assert state == [total, total]
