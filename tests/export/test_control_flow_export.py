"""Exporting serving graphs with control flow (cond / case / map_fn) and with
data-dependent shapes; py_func stays unexportable."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore import errors
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig


def _batches(models):
    x, _ = models.data(12, seed=3)
    pos = np.abs(x) + 0.1                 # sum > 0: the dense branch
    mid = -np.abs(x[:2]) * 0.2            # -50 < sum < 0: the nested cond's true branch
    neg = -np.abs(x) - 1.0                # sum < -50: the nested false branch
    return {"pos": pos, "mid": mid, "neg": neg, "mixed": x}


def test_cond_case_map_fn_serve_like_predict(exported, models):
    est, path = exported("cond")
    with open(os.path.join(path, "saved_model.json")) as f:
        data = json.load(f)
    assert data["format_version"] == 2
    types = [n["type"] for n in data["graph"]["nodes"]]
    assert types.count("Cond") >= 4 and "MapFn" in types and "Assert" in types
    text = json.dumps(data)
    assert '"$body"' in text and "pickle" not in text
    assert any(n.get("control") for n in data["graph"]["nodes"])  # the case's Assert
    pred = sm.load(path)
    for name, x in _batches(models).items():
        got = pred({"x": x})
        want = models.predict_all(est, x)
        assert got.keys() == want.keys()
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{name}/{k}")
    # the three branches of the nested cond were all taken above (different logits)
    outs = [pred({"x": x[:1]})["probabilities"] for x in _batches(models).values()]
    assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[1], outs[2])


def test_case_assert_is_kept(exported, models):
    """tf.case without a default asserts that some predicate holds, as predict does."""
    est, path = exported("cond")
    pred = sm.load(path)
    x = np.full((2, 64), -1e5, np.float32)      # sum < -1e6: no predicate holds
    with pytest.raises(errors.InvalidArgumentError, match="None of conditions evaluated"):
        models.predict_all(est, x)
    with pytest.raises(errors.InvalidArgumentError, match="None of conditions evaluated"):
        pred({"x": x})


def test_onnx_skips_a_branch_it_cannot_express_with_the_note(exported, caplog):
    pytest.importorskip("onnx")
    with caplog.at_level(logging.INFO, logger="estcore"):
        _, path = exported("cond")   # tf.case without default: an Assert in a branch
    assert not os.path.exists(os.path.join(path, "model.onnx"))
    assert "ONNX cannot express 1 node of op type Assert (1)" in caplog.text
    with open(os.path.join(path, "saved_model.json")) as f:
        data = json.load(f)
    assert data["onnx"] is None
    assert data["onnx_unsupported"] == ["Assert 'case/cond/Assert'"]


def test_onnx_if_and_scan_match_predict(models, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    def model_fn(features, labels, mode):
        x = features["x"]
        total, logits = models.cond_trunk(x)
        if mode != ModeKeys.PREDICT:
            return models._head(logits, labels, mode)
        rows = ec.map_fn(lambda r: ec.cond(r[0] > 0.0, lambda: r[:2] * 3.0,
                                           lambda: r[2:4]), x)
        pair = ec.map_fn(lambda e: (ec.reduce_sum(e[0] * e[1]), e[0][:3] + logits[0]),
                         (x, x * 0.5), dtype=(ec.float32, ec.float32))
        picked = ec.case([(total > 1e6, lambda: logits * 0.0)],
                         default=lambda: ec.nn.softmax(logits))
        return EstimatorSpec(mode, predictions={"logits": logits, "rows": rows,
                                                "dot": pair[0], "shifted": pair[1],
                                                "picked": picked})

    est, path = _train_export(model_fn, models, tmp_path)
    onnx_path = os.path.join(os.fsdecode(path), "model.onnx")
    sess = ort.InferenceSession(onnx_path)
    types = {n.op_type for n in onnx.load(onnx_path).graph.node}
    assert {"If", "Scan"} <= types
    names = [o.name for o in sess.get_outputs()]
    for name, x in _batches(models).items():
        got = dict(zip(names, sess.run(None, {"x": x}), strict=True))
        want = models.predict_all(est, x)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name}/{k}")


def _train_export(model_fn, models, tmp_path):
    est = Estimator(model_fn, str(tmp_path / "m"), RunConfig(
        tf_random_seed=7, log_step_count_steps=None, save_summary_steps=None))
    est.train(models.train_input_fn(), steps=2)
    return est, est.export_saved_model(str(tmp_path / "e"), models.serving_fn())


def test_data_dependent_shape_ops_export_and_load(models, tmp_path):
    def model_fn(features, labels, mode):
        x = features["x"]
        logits = ec.layers.dense(x, 3)
        if mode != ModeKeys.PREDICT:
            return models._head(logits, labels, mode)
        col = x[:, 0]
        kept = ec.boolean_mask(col, col > 0)
        where = ec.where(col > 0)
        ids, idx = ec.unique(ec.cast(ec.argmax(logits, 1), ec.int32))
        return EstimatorSpec(mode, predictions={
            "kept_sum": ec.reduce_sum(kept) + ec.zeros_like(col),
            "n_where": ec.shape(where)[0] + ec.zeros_like(ec.cast(col, ec.int32)),
            "n_unique": ec.size(ids) + ec.zeros_like(idx), "idx": idx})

    est, path = _train_export(model_fn, models, tmp_path)
    with open(os.path.join(os.fsdecode(path), "saved_model.json")) as f:
        data = json.load(f)
    assert data["format_version"] == 1        # no control flow: readable by older loaders
    assert {"Where", "Unique"} <= {n["type"] for n in data["graph"]["nodes"]}
    pred = sm.load(path)
    x, _ = models.data(20, seed=5)
    for batch in (x[:1], x[:7], x):
        got, want = pred({"x": batch}), models.predict_all(est, batch)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert pred({"x": x})["n_where"][0] == np.sum(x[:, 0] > 0)


def test_py_func_stays_unexportable(models, tmp_path):
    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features["x"], 3)
        if mode != ModeKeys.PREDICT:
            return models._head(logits, labels, mode)
        out = ec.py_func(lambda a: a * 2, [logits], ec.float32, name="double")
        return EstimatorSpec(mode, predictions={"out": out})

    with pytest.raises(ValueError, match=r"Cannot export node 'double' \(PyFunc\): "
                                         r"tf.py_func / tf.py_function calls Python code, "
                                         r"which an export cannot hold"):
        _train_export(model_fn, models, tmp_path)


def test_py_func_inside_a_branch_stays_unexportable(models, tmp_path):
    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features["x"], 3)
        if mode != ModeKeys.PREDICT:
            return models._head(logits, labels, mode)
        out = ec.cond(ec.reduce_sum(logits) > 0,
                      lambda: ec.py_func(lambda a: a * 2, [logits], ec.float32, name="dbl"),
                      lambda: logits)
        return EstimatorSpec(mode, predictions={"out": out})

    with pytest.raises(ValueError, match=r"Cannot export node 'cond/dbl' \(PyFunc\): "
                                         r"tf.py_func / tf.py_function calls Python code"):
        _train_export(model_fn, models, tmp_path)
