"""Estimator.export_saved_model: directory, checkpoint resolution, signatures, errors."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, exporting
from estcore.estimator.export import PredictOutput, ServingInputReceiver
from estcore.export import writer


@pytest.mark.smoke
def test_returns_bytes_timestamp_dir_with_documented_files(trained, models, tmp_path):
    est = trained("mlp")
    path = est.export_saved_model(str(tmp_path / "base"), models.serving_fn())
    assert isinstance(path, bytes)
    name = os.path.basename(os.fsdecode(path))
    assert len(name) == 10 and name.isdigit()
    files = sorted(os.listdir(path))
    assert files == [b"consts.data", b"model.onnx", b"saved_model.json", b"variables"]
    assert os.listdir(os.path.join(path, b"variables")) == [b"variables.data"]
    with open(os.path.join(path, b"saved_model.json")) as f:
        meta = json.load(f)
    assert meta["format"] == "estcore-saved-model" and meta["format_version"] == 1
    assert meta["tags"] == ["serve"]
    assert meta["global_step"] == int(est.get_variable_value("global_step"))
    assert meta["onnx"] == {"file": "model.onnx", "signature": "serving_default"}
    types = {n["type"] for n in meta["graph"]["nodes"]}
    # pruned to what the signatures need: no optimizer, loss, or global step
    assert "global_step" not in {n["name"] for n in meta["graph"]["nodes"]}
    assert not types & {"ApplyAdam", "SparseSoftmaxCrossEntropyWithLogits", "Assign"}
    assert {n["name"] for n in meta["graph"]["nodes"] if n["type"] == "VariableV2"} == {
        "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel",
        "dense_2/bias"}
    # no temporary directory left
    assert os.listdir(tmp_path / "base") == [name]


def test_never_overwrites_and_never_sleeps(trained, models, tmp_path, monkeypatch):
    est = trained("mlp")
    base = tmp_path / "base"
    monkeypatch.setattr(writer.time, "time", lambda: 1700000000.5)
    sleeps = []
    monkeypatch.setattr(writer.time, "sleep", sleeps.append)
    first = est.export_saved_model(str(base), models.serving_fn())
    assert first == os.fsencode(str(base / "1700000000"))
    # the same second again: the next free second, at once (TF slept and retried 10 times)
    second = est.export_saved_model(str(base), models.serving_fn())
    assert second == os.fsencode(str(base / "1700000001"))
    assert sleeps == []
    assert sorted(os.listdir(base)) == ["1700000000", "1700000001"]


def test_checkpoint_resolution(trained, models, tmp_path):
    with pytest.raises(ValueError, match="An input_receiver_fn must be defined."):
        trained("mlp").export_saved_model(str(tmp_path), None)
    fresh = Estimator(models.mlp_model_fn, str(tmp_path / "empty"), params={})
    with pytest.raises(ValueError, match="Couldn't find trained model at"):
        fresh.export_saved_model(str(tmp_path / "e"), models.serving_fn())
    est = trained("mlp")
    ckpt = est.latest_checkpoint()
    # more training: the explicit checkpoint_path is honoured
    est.train(models.train_input_fn())
    path = est.export_saved_model(str(tmp_path / "e1"), models.serving_fn(),
                                  checkpoint_path=ckpt)
    x, _ = models.data(8)
    old = models.predict_all(est.__class__(models.mlp_model_fn, est.model_dir,
                                           params={"hidden": (16, 16)}), x)
    got = sm.load(path)({"x": x})
    ref_old = next(est.predict(models.numpy_input_fn({"x": x}, batch_size=8, shuffle=False),
                               checkpoint_path=ckpt, yield_single_examples=False))
    np.testing.assert_array_equal(got["probabilities"], ref_old["probabilities"])
    assert not np.array_equal(got["probabilities"], old["probabilities"])


def test_warm_start_checkpoint_used_when_no_own_checkpoint(trained_dirs, models, tmp_path):
    est = Estimator(models.mlp_model_fn, str(tmp_path / "ws"), params={"hidden": (16, 16)},
                    warm_start_from=trained_dirs["mlp"])
    path = est.export_saved_model(str(tmp_path / "e"), models.serving_fn())
    assert sm.load(path).meta["checkpoint"].startswith(trained_dirs["mlp"])


def test_missing_variables_in_checkpoint(trained, models, tmp_path):
    est = trained("mlp")
    other = Estimator(models.mlp_model_fn, est.model_dir, params={"hidden": (16, 16, 16)})
    with pytest.raises(ValueError, match="(?s)Could not load all requested variables from "
                                         r"checkpoint.*dense_3/kernel"):
        other.export_saved_model(str(tmp_path / "e"), models.serving_fn())
    assert not (tmp_path / "e").exists() or os.listdir(tmp_path / "e") == []


def test_signature_report_logged(trained, models, tmp_path, caplog):
    est = trained("classify")
    with caplog.at_level(logging.INFO, logger="estcore"):
        est.export_saved_model(str(tmp_path / "e"), models.serving_fn())
    text = caplog.text
    assert "Signatures INCLUDED in export for Classify: ['classification']" in text
    assert "Signatures INCLUDED in export for Regress: None" in text
    assert "Signatures INCLUDED in export for Predict: ['serving_default']" in text
    assert "Export includes no default signature!" not in text


def test_alternatives_and_no_default_signature(tmp_path, caplog, models):
    def model_fn(features, labels, mode):
        y = ec.layers.dense(features["x"], 2)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions=y,
                                 export_outputs={"a": PredictOutput(y), "serving_default":
                                                 PredictOutput({"twice": y * 2.0})})
        loss = ec.reduce_mean(y)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"))
    est.train(models.train_input_fn(), steps=1)

    def receiver_fn():
        x = ec.placeholder(ec.float32, [None, 64], name="x")
        raw = ec.placeholder(ec.float64, [None, 64], name="raw")
        return ServingInputReceiver({"x": x}, {"x": x},
                                    receiver_tensors_alternatives={"f64": {"raw": raw}})

    # the alternative's inputs do not feed the features: export refuses clearly
    with pytest.raises(ValueError, match="needs placeholder 'x', which is not among its "
                                         r"receiver tensors \['raw'\]"):
        est.export_saved_model(str(tmp_path / "e"), receiver_fn)

    def receiver_fn2():
        raw = ec.placeholder(ec.float64, [None, 64], name="raw")
        x = ec.cast(raw, ec.float32)
        return ServingInputReceiver({"x": x}, {"raw": raw},
                                    receiver_tensors_alternatives={"alt": {"raw": raw}})

    path = est.export_saved_model(str(tmp_path / "e"), receiver_fn2)
    pred = sm.load(path)
    assert sorted(pred.signatures) == ["a", "alt:a", "alt:serving_default", "serving_default"]
    x = np.ones((3, 64))
    np.testing.assert_allclose(pred({"raw": x})["twice"], 2 * pred({"raw": x}, "a")["output"],
                               rtol=1e-6)

    # EstimatorSpec always provides serving_default (a single output is duplicated under
    # it, as TF); the report still warns when a signature map lacks it.
    with caplog.at_level(logging.INFO, logger="estcore"):
        exporting._log_signature_report({"only": ("predict", {}, {})})
    assert "Export includes no default signature!" in caplog.text


def test_assets_extra_and_as_text(trained, models, tmp_path):
    src = tmp_path / "vocab.txt"
    src.write_text("a\nb\n")
    est = trained("mlp")
    path = est.export_saved_model(str(tmp_path / "e"), models.serving_fn(),
                                  assets_extra={"sub/vocab.txt": str(src)}, as_text=True)
    with open(os.path.join(os.fsdecode(path), "assets.extra", "sub", "vocab.txt")) as f:
        assert f.read() == "a\nb\n"
    with pytest.raises(ValueError, match="must be a relative path"):
        est.export_saved_model(str(tmp_path / "e"), models.serving_fn(),
                               assets_extra={"../x": str(src)})


def test_deprecated_alias_and_modes(trained, models, tmp_path):
    est = trained("mlp")
    with pytest.warns(DeprecationWarning, match="export_savedmodel is deprecated"):
        path = est.export_savedmodel(str(tmp_path / "e"), models.serving_fn())
    assert os.path.isdir(path)
    with pytest.raises(ValueError, match="PREDICT graph only"):
        est.export_saved_model(str(tmp_path / "e"), models.serving_fn(),
                               experimental_mode=ModeKeys.TRAIN)


def test_unexportable_attr_is_named(tmp_path, models):
    def model_fn(features, labels, mode):
        y = ec.layers.dense(features["x"], 2)
        if mode == ModeKeys.PREDICT:
            z = ec.graph.ops.make("Identity", [y], name="weird")
            z.op.attrs["fn"] = print  # a Python callable cannot be exported
            return EstimatorSpec(mode, predictions=z)
        loss = ec.reduce_mean(y)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"))
    est.train(models.train_input_fn(), steps=1)
    with pytest.raises(ValueError, match=r"Cannot export node 'weird' \(Identity\): attribute "
                                         r"'weird/fn' holds the Python function print\(\) "
                                         r"\(Python code\), which an export cannot store"):
        est.export_saved_model(str(tmp_path / "e"), models.serving_fn())


def test_failed_write_leaves_nothing(trained, models, tmp_path):
    est = trained("mlp")
    base = tmp_path / "e"
    with pytest.raises(FileNotFoundError):
        est.export_saved_model(str(base), models.serving_fn(),
                               assets_extra={"a.txt": str(tmp_path / "missing.txt")})
    assert os.listdir(base) == []  # neither temp-<ts> nor <ts>


def _csv_model_fn(features, labels, mode):
    w = ec.get_variable("w", [], initializer=ec.zeros_initializer())
    pred = features["x"] * 2.0 + w
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"pred": pred, "name": features["name"]})
    loss = ec.reduce_mean(ec.square(pred - labels))
    return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
        0.1).minimize(loss, ec.train.get_global_step()))


def test_a_serving_fn_with_decode_csv_string_defaults_round_trips(tmp_path):
    # decode_csv's defaults (b"" and b"anon") and na_value are bytes attributes.
    est = Estimator(_csv_model_fn, str(tmp_path / "m"))
    est.train(lambda: ({"x": np.array([1.0, 2.0], np.float32), "name": np.array(["a", "b"])},
                       np.array([3.0, 5.0], np.float32)), steps=3)
    w = float(est.get_variable_value("w"))

    def serving_fn():
        row = ec.placeholder(ec.string, [None])
        x, name = ec.io.decode_csv(row, record_defaults=[[0.5], ["anon"]], na_value="NA")
        return ServingInputReceiver({"x": x, "name": name}, {"csv_row": row})

    path = est.export_saved_model(str(tmp_path / "e"), serving_fn)
    with open(os.path.join(path, b"saved_model.json")) as f:
        node = [n for n in json.load(f)["graph"]["nodes"] if n["type"] == "DecodeCSV"][0]
    assert node["attrs"]["defaults"] == {"$tuple": [0.5, {"$bytes": "anon"}]}
    assert node["attrs"]["na_value"] == {"$bytes": "NA"}
    out = sm.load(path).predict({"csv_row": np.array([b"1.5,bob", b",", b"NA,caf\xc3\xa9",
                                                      b"4,NA"], dtype=object)})
    np.testing.assert_allclose(out["pred"], np.array([1.5, 0.5, 0.5, 4.0]) * 2 + w,
                               rtol=1e-6)
    assert list(out["name"]) == [b"bob", b"anon", "café".encode(), b"anon"]
