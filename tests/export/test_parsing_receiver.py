"""build_parsing_serving_input_receiver_fn: exports fed with serialized tf.train.Example."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore.estimator.export import build_parsing_serving_input_receiver_fn
from estcore.io import FixedLenFeature, encode_example
from estcore.summary.writer import frame_record

SPEC = {"x": FixedLenFeature([64], ec.float32)}


def _export(est, tmp_path, spec=SPEC, **kw) -> str:
    path = est.export_saved_model(str(tmp_path / "export"),
                                  build_parsing_serving_input_receiver_fn(spec, **kw))
    return os.fsdecode(path)


def _examples(x: np.ndarray) -> list[bytes]:
    return [encode_example({"x": row}) for row in x]


@pytest.mark.smoke
def test_predictions_from_serialized_examples_match_estimator_predict(trained, models, tmp_path):
    est = trained("mlp")
    path = _export(est, tmp_path)
    pred = sm.load(path)
    sig = pred.signatures["serving_default"]
    assert list(sig.inputs) == ["examples"] and sig.inputs["examples"].dtype == np.dtype(object)
    with open(os.path.join(path, "saved_model.json")) as f:
        inputs = json.load(f)["signatures"]["serving_default"]["inputs"]
    assert inputs == {"examples": {"tensor": "input_example_tensor:0", "dtype": "string",
                                   "shape": [None]}}
    x, _ = models.data(20, seed=5)
    ref = models.predict_all(est, x)
    got = pred({"examples": _examples(x)})
    np.testing.assert_array_equal(got["probabilities"], ref["probabilities"])  # bit-identical
    np.testing.assert_array_equal(got["classes"], ref["classes"])


def test_examples_ending_in_nul_bytes_survive_the_predictor(trained, tmp_path):
    # int64 0 is the varint b"\x00": numpy's "S" dtype would strip it
    est = trained("mlp")
    spec = dict(SPEC, pad=FixedLenFeature([1], ec.int64, default_value=1))
    pred = sm.load(_export(est, tmp_path, spec))
    ex = encode_example({"x": np.zeros(64, np.float32), "pad": [0]})
    assert ex.endswith(b"\x00")
    assert pred([ex])["classes"].shape == (1,)


def test_classify_and_regress_signatures_take_inputs_like_tf_serving(trained, models, tmp_path):
    est = trained("classify")
    pred = sm.load(_export(est, tmp_path))
    assert list(pred.signatures["classification"].inputs) == ["inputs"]
    assert pred.signatures["classification"].method_name == "classify"
    assert list(pred.signatures["serving_default"].inputs) == ["examples"]
    x, _ = models.data(6, seed=2)
    scores = pred({"inputs": _examples(x)}, signature="classification")["scores"]
    np.testing.assert_array_equal(scores, models.predict_all(est, x)["probabilities"])
    reg = sm.load(_export(trained("linear"), tmp_path))
    assert list(reg.signatures["serving_default"].inputs) == ["inputs"]
    assert list(reg.signatures["predict"].inputs) == ["examples"]


def test_onnx_model_takes_the_parsed_features(trained, models, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    est = trained("mlp")
    path = _export(est, tmp_path)
    with open(os.path.join(path, "saved_model.json")) as f:
        meta = json.load(f)
    assert meta["onnx"] == {"file": "model.onnx", "signature": "serving_default",
                            "inputs": "parsed features"}
    sess = ort.InferenceSession(os.path.join(path, "model.onnx"),
                                providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["x"]
    x, _ = models.data(8, seed=9)
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {"x": x}), strict=True))
    np.testing.assert_allclose(got["probabilities"], models.predict_all(est, x)["probabilities"],
                               rtol=1e-5, atol=1e-6)


def test_receiver_fn_validates_its_arguments():
    with pytest.raises(ValueError, match="unsupported dtype int32"):
        build_parsing_serving_input_receiver_fn({"x": ec.io.VarLenFeature(ec.int32)})
    with pytest.raises(ValueError, match="non-empty dict"):
        build_parsing_serving_input_receiver_fn({})
    with pytest.raises(ValueError, match="default_batch_size"):
        build_parsing_serving_input_receiver_fn(SPEC, default_batch_size=0)
    receiver = build_parsing_serving_input_receiver_fn(SPEC, default_batch_size=4)()
    assert receiver.receiver_tensors["examples"].shape.as_list() == [4]
    assert receiver.receiver_tensors["examples"].op.name == "input_example_tensor"
    assert receiver.features["x"].shape.as_list() == [4, 64]


def test_cli_reads_a_tfrecord_of_examples(trained, models, tmp_path):
    est = trained("mlp")
    path = _export(est, tmp_path)
    x, _ = models.data(5, seed=4)
    records = tmp_path / "batch.tfrecord"
    records.write_bytes(b"".join(frame_record(e) for e in _examples(x)))
    out = tmp_path / "preds.npz"
    res = subprocess.run([sys.executable, "-m", "estcore.cli", "predict", path, "--input",
                          str(records), "--output", str(out), "--batch-size", "2"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    with np.load(out) as z:
        np.testing.assert_array_equal(z["classes"], models.predict_all(est, x)["classes"])
    records.write_bytes(records.read_bytes()[:-3])  # a torn last record is an input error
    res = subprocess.run([sys.executable, "-m", "estcore.cli", "predict", path, "--input",
                          str(records)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "truncated record" in res.stderr


def test_varlen_features_serve_what_tf_serves_for_its_own_model_dir(tmp_path):
    """make_parse_example_spec gives VarLenFeature specs for categorical columns: a
    premade export with them serves TF's probabilities for TF's model_dir (several values
    per feature, features missing). fixtures/tf_varlen_serving.json:
    tools/tf_fixtures/make_tf_varlen_serving.py."""
    import importlib.util
    import pathlib
    import shutil

    here = pathlib.Path(__file__).parent
    canned = here.parent / "estimator" / "canned"
    spec = importlib.util.spec_from_file_location("canned_tf_reference_varlen",
                                                  canned / "tf_reference.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    want = json.loads((here / "fixtures" / "tf_varlen_serving.json").read_text())
    model_dir = tmp_path / "m"
    shutil.copytree(canned / "fixtures" / "tf_model_dirs" / want["model_dir"], model_dir)
    est = ref.make_estimator(want["model_dir"], model_dir)
    columns = [ref.column(c) for c in
               ref.FIXTURE["configs"][want["model_dir"]]["kwargs"]["feature_columns"]]
    parse_spec = ec.feature_column.make_parse_example_spec(columns)
    assert {k: type(v).__name__ for k, v in parse_spec.items()} == want["spec"]
    path = _export(est, tmp_path, spec=parse_spec)
    examples = np.array([bytes.fromhex(e) for e in want["examples"]], dtype=object)
    served = sm.load(path)({"examples": examples}, signature="predict")
    for key, value in want["outputs"].items():
        np.testing.assert_allclose(served[key], np.asarray(value), rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    assert served["all_classes"][0].tolist() == [c.encode() for c in want["all_classes"]]
