"""model.onnx: onnxruntime reproduces Estimator.predict; unsupported ops are named."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _run_onnx(path: str, feeds: dict) -> dict:
    sess = ort.InferenceSession(os.path.join(path, "model.onnx"),
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds), strict=True))


@pytest.mark.smoke
@pytest.mark.parametrize("kind", ["mlp", "cnn", "bn", "linear"])
def test_onnxruntime_matches_estimator_predict(exported, models, kind):
    est, path = exported(kind)
    x, _ = models.data(50, seed=11)
    ref = models.predict_all(est, x)
    got = _run_onnx(path, {"x": x})
    if kind == "linear":  # the default signature is the RegressionOutput
        np.testing.assert_allclose(got["outputs"], ref["predictions"], rtol=1e-5, atol=1e-5)
        return
    np.testing.assert_allclose(got["probabilities"], ref["probabilities"], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(got["classes"], ref["classes"])
    assert got["classes"].dtype == np.int64


def test_onnx_model_is_valid_and_named_by_signature(exported):
    _, path = exported("cnn")
    model = onnx.load(os.path.join(path, "model.onnx"))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["x"]
    assert sorted(o.name for o in model.graph.output) == ["classes", "probabilities"]
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "MatMul", "Softmax", "ArgMax"} <= ops


def test_ops_without_onnx_equivalent_are_named_and_native_export_still_written(
        tmp_path, models, caplog):
    def model_fn(features, labels, mode):
        y = ec.layers.dense(features["x"], 3)
        if mode == ModeKeys.PREDICT:
            top = ec.graph.ops.make_op("TopKV2", [y], {"k": 2, "sorted": True}, name="top")
            return EstimatorSpec(mode, predictions={"top": top.outputs[0], "y": y})
        loss = ec.reduce_mean(y)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"))
    est.train(models.train_input_fn(), steps=1)
    with caplog.at_level(logging.INFO, logger="estcore"):
        path = os.fsdecode(est.export_saved_model(str(tmp_path / "e"), models.serving_fn()))
    assert ("model.onnx not written: ONNX cannot express 1 node of op type TopKV2 (1) "
            "(listed in saved_model.json's onnx_unsupported). The native export is "
            "complete.") in caplog.text
    # INFO: the user did not ask for model.onnx (it is written when `onnx` is installed)
    assert [r.levelname for r in caplog.records if "model.onnx" in r.getMessage()] == ["INFO"]
    assert not os.path.exists(os.path.join(path, "model.onnx"))
    pred = sm.load(path)
    assert pred.meta["onnx"] is None and pred.meta["onnx_unsupported"] == ["TopKV2 'top'"]
    x, _ = models.data(5)
    ref = models.predict_all(est, x)
    np.testing.assert_array_equal(pred({"x": x})["top"], ref["top"])


def test_elementwise_ops_convert(tmp_path, models):
    def model_fn(features, labels, mode):
        x = ec.reshape(features["x"], [-1, 8, 8])[:, ::-1, 1:][..., None, :]
        x = x[:, :, 0, :]
        a = ec.reduce_mean(x, axis=2)
        b = ec.reduce_sum(ec.square(a) + 1.0, axis=1, keepdims=True)
        c = ec.concat([ec.nn.sigmoid(a), ec.exp(-ec.abs(a)), ec.sqrt(ec.abs(a) + 1.0)], 1)
        d = ec.transpose(ec.expand_dims(c, 2), [0, 2, 1])
        e = ec.squeeze(d, axis=[1]) / b + ec.cast(ec.greater(a[:, :1], 0.0), ec.float32)
        w = ec.get_variable("w", [24, 2])
        out = ec.nn.log_softmax(ec.matmul(e, w)) + ec.reduce_max(e, axis=1, keepdims=True)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"out": out, "m": ec.reduce_min(e, 1)})
        loss = ec.reduce_mean(out)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"))
    est.train(models.train_input_fn(), steps=2)
    path = os.fsdecode(est.export_saved_model(str(tmp_path / "e"), models.serving_fn()))
    assert os.path.exists(os.path.join(path, "model.onnx")), sm.load(path).meta
    x, _ = models.data(7)
    ref = models.predict_all(est, x)
    got = _run_onnx(path, {"x": x})
    native = sm.load(path)({"x": x})
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(native[k], ref[k])


def test_failed_onnx_conversion_keeps_native_export(tmp_path, models, caplog):
    def model_fn(features, labels, mode):
        y = ec.layers.dense(features["x"], 3)
        if mode == ModeKeys.PREDICT:  # an output named like the input: invalid in ONNX
            return EstimatorSpec(mode, predictions={"x": features["x"], "y": y})
        loss = ec.reduce_mean(y)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"))
    est.train(models.train_input_fn(), steps=1)
    with caplog.at_level(logging.INFO, logger="estcore"):
        path = os.fsdecode(est.export_saved_model(str(tmp_path / "e"), models.serving_fn()))
    assert "the ONNX conversion failed" in caplog.text
    assert not os.path.exists(os.path.join(path, "model.onnx"))
    x, _ = models.data(4)
    np.testing.assert_array_equal(sm.load(path)({"x": x})["x"], x)


def test_unsupported_ops_are_counted_by_type_not_listed():
    from estcore.export.onnx_export import UnsupportedOpsError

    ops = ([f"EmbeddingLookupSparse 'e{i}'" for i in range(40)]
           + [f"VocabularyLookup 'v{i}'" for i in range(3)]
           + ["ParseExample 'ParseExample'", "Const 'c' (string constant)"]
           + [f"T{i} 'n{i}'" for i in range(5)])
    e = UnsupportedOpsError(ops)
    assert str(e) == ("ONNX cannot express 50 nodes of 9 op types: EmbeddingLookupSparse (40), "
                      "VocabularyLookup (3), Const (1), ParseExample (1), T0 (1), T1 (1) and 3 "
                      "more op types")
    assert e.ops == ops   # every node, for saved_model.json's onnx_unsupported
    assert str(UnsupportedOpsError(["A 'a'", "A 'b'"])) == \
        "ONNX cannot express 2 nodes of op type A (2)"


def test_a_parsing_export_of_a_wide_model_logs_one_short_info_line(tmp_path, caplog):
    fc = ec.feature_column
    c = fc.categorical_column_with_vocabulary_list("c", ["a", "b", "c"])
    cols = [fc.numeric_column("x"), c, fc.categorical_column_with_hash_bucket("h", 10),
            fc.crossed_column(["c", "h"], 5)]
    est = ec.estimator.DNNLinearCombinedClassifier(
        linear_feature_columns=cols, dnn_feature_columns=[fc.embedding_column(c, 2)],
        dnn_hidden_units=[3], model_dir=str(tmp_path / "m"))
    est.train(lambda: ({"x": np.array([[1.0], [2.0]], np.float32),
                        "c": np.array([["a"], ["b"]]), "h": np.array([["q"], ["r"]])},
                       np.array([0, 1])), steps=1)
    receiver = ec.estimator.export.build_parsing_serving_input_receiver_fn(
        fc.make_parse_example_spec(cols))
    with caplog.at_level(logging.INFO, logger="estcore"):
        path = est.export_saved_model(str(tmp_path / "e"), receiver)
    lines = [r for r in caplog.records if "model.onnx" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelname == "INFO"
    assert len(lines[0].getMessage()) < 400
    assert sm.load(path).meta["onnx_unsupported"]   # the full list is kept there
