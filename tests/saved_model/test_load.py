"""estcore.saved_model.load: round trips, fresh process, validation, no code execution."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import estcore.saved_model as sm
from estcore import errors
from estcore.export import ExportFormatError

from .export_json import edit_json


@pytest.mark.smoke
@pytest.mark.parametrize("kind", ["mlp", "cnn", "bn", "linear", "classify"])
def test_round_trip_bit_identical(exported, models, kind):
    est, path = exported(kind)
    x, _ = models.data(40, seed=3)
    ref = models.predict_all(est, x)
    pred = sm.load(path)
    out = pred.predict({"x": x}, signature="predict" if kind == "linear" else None)
    assert set(out) == set(ref)
    for k in ref:
        assert out[k].dtype == ref[k].dtype
        np.testing.assert_array_equal(out[k], ref[k])


def test_signatures_describe_inputs_and_outputs(exported):
    _, path = exported("mlp")
    pred = sm.load(path)
    sig = pred.signatures["serving_default"]
    assert sig.method_name == "predict"
    assert list(sig.inputs) == ["x"]
    assert sig.inputs["x"].dtype == np.float32 and sig.inputs["x"].shape == [None, 64]
    assert set(sig.outputs) == {"classes", "probabilities"}
    assert sig.outputs["classes"].dtype == np.int64
    assert sig.outputs["probabilities"].shape == [None, 3]


def test_regression_and_classification_signatures(exported, models):
    est, path = exported("linear")
    pred = sm.load(path)
    assert pred.signatures["serving_default"].method_name == "regress"
    assert list(pred.signatures["serving_default"].outputs) == ["outputs"]
    x, _ = models.data(8)
    np.testing.assert_array_equal(pred({"x": x})["outputs"],
                                  models.predict_all(est, x)["predictions"])
    est, path = exported("classify")
    pred = sm.load(path)
    assert pred.signatures["classification"].method_name == "classify"
    out = pred({"x": x}, signature="classification")
    np.testing.assert_array_equal(out["scores"], models.predict_all(est, x)["probabilities"])


def test_fresh_process_after_model_dir_deleted(exported, models, tmp_path):
    est, path = exported("cnn")
    x, _ = models.data(16, seed=5)
    ref = models.predict_all(est, x)
    shutil.rmtree(est.model_dir)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import sys, numpy as np
        import estcore.saved_model as sm
        assert "cnn_model_fn" not in sys.modules
        out = sm.load({path!r})({{"x": np.load({str(tmp_path / 'x.npy')!r})}})
        np.savez({str(tmp_path / 'out.npz')!r}, **out)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=str(tmp_path))
    with np.load(tmp_path / "out.npz") as got:
        for k in ref:
            np.testing.assert_array_equal(got[k], ref[k])


def test_predictor_input_errors(exported, models):
    _, path = exported("mlp")
    pred = sm.load(path)
    x, _ = models.data(4)
    with pytest.raises(KeyError, match=r"missing: \['x'\], unexpected: \['y'\]"):
        pred({"y": x})
    with pytest.raises(errors.InvalidArgumentError, match="input 'x' has shape"):
        pred({"x": x[:, :10]})
    with pytest.raises(errors.InvalidArgumentError, match="input 'x' has dtype float32"):
        pred({"x": np.ones((2, 64), np.complex64)})
    with pytest.raises(KeyError, match="No signature 'nope'"):
        pred({"x": x}, signature="nope")
    np.testing.assert_array_equal(pred(x)["classes"], pred({"x": x})["classes"])
    # a lossless integer input is accepted and converted
    assert pred({"x": np.ones((2, 64), np.int8)})["probabilities"].shape == (2, 3)
    # numpy's default float64 and plain lists of floats are cast to the input's float32
    ref = pred({"x": x})["probabilities"]
    np.testing.assert_array_equal(pred({"x": x.astype(np.float64)})["probabilities"], ref)
    np.testing.assert_array_equal(pred({"x": x.tolist()})["probabilities"], ref)


def test_missing_directory_and_files(exported, tmp_path):
    with pytest.raises(ExportFormatError, match="does not exist"):
        sm.load(str(tmp_path / "nothing"))
    _, path = exported("mlp")
    for victim, pattern in (("variables/variables.data", "variables file"),
                            ("consts.data", "constants file"),
                            ("saved_model.json", "not an estcore export")):
        broken = str(tmp_path / ("broken_" + os.path.basename(victim)))
        shutil.copytree(path, broken)
        os.remove(os.path.join(broken, victim))
        with pytest.raises(ExportFormatError, match=pattern):
            sm.load(broken)


@pytest.mark.parametrize("victim", ["saved_model.json", "variables/variables.data"])
def test_truncated_and_corrupted_files(exported, tmp_path, victim):
    _, path = exported("mlp")
    for how in ("truncate", "flip"):
        broken = str(tmp_path / how)
        shutil.copytree(path, broken)
        f = os.path.join(broken, victim)
        with open(f, "rb") as fh:
            data = bytearray(fh.read())
        if how == "truncate":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0x5A
        with open(f, "wb") as fh:
            fh.write(bytes(data))
        with pytest.raises(ExportFormatError, match="corrupted|truncated|not understood|"
                                                    "malformed|does not rebuild|JSON"):
            sm.load(broken)


def test_edited_json_fails_checksum(exported):
    _, path = exported("mlp")
    f = os.path.join(path, "saved_model.json")
    with open(f) as fh:
        text = fh.read()
    with open(f, "w") as fh:
        fh.write(text.replace('"Softmax"', '"Sigmoid"', 1))
    with pytest.raises(ExportFormatError, match="checksum mismatch"):
        sm.load(path)


def test_wrong_version(exported):
    _, path = exported("mlp")
    edit_json(path, lambda d: d.update(format_version=99))
    with pytest.raises(ExportFormatError, match="format_version 99; this estcore reads "
                                                "format_version 1"):
        sm.load(path)


def test_unknown_op_type_never_imported(exported, tmp_path):
    _, path = exported("mlp")
    marker = tmp_path / "pwned"

    def craft(d):
        d["graph"]["nodes"][1]["type"] = "os.system"
        d["graph"]["nodes"][1]["attrs"] = {"command": f"touch {marker}"}
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="unknown op type 'os.system'"):
        sm.load(path)
    assert not marker.exists()


def test_python_objects_in_attrs_rejected(exported):
    _, path = exported("mlp")

    def craft(d):
        d["graph"]["nodes"][-1]["attrs"]["axis"] = {"$pickle": "cos\nsystem\n"}
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="unknown tag"):
        sm.load(path)


def test_state_changing_ops_rejected(exported):
    _, path = exported("mlp")

    def craft(d):
        d["graph"]["nodes"][1]["type"] = "Assign"
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="not allowed in a serving graph"):
        sm.load(path)


def test_dangling_input(exported):
    _, path = exported("mlp")
    edit_json(path, lambda d: d["graph"]["nodes"][3]["inputs"].__setitem__(0, "ghost:0"))
    with pytest.raises(ExportFormatError, match="input 'ghost:0' is dangling"):
        sm.load(path)


def test_shape_rule_mismatch(exported):
    _, path = exported("mlp")

    def craft(d):
        node = next(n for n in d["graph"]["nodes"] if n["type"] == "Softmax")
        node["outputs"][0]["shape"] = [None, 7]
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match=r"declared shape \[None, 7\]"):
        sm.load(path)


def test_variable_shape_mismatch(exported):
    _, path = exported("mlp")

    def craft(d):
        node = next(n for n in d["graph"]["nodes"] if n["type"] == "VariableV2")
        node["attrs"]["shape"] = {"$shape": [3, 3]}
        node["outputs"][0]["shape"] = [3, 3]
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="variable .* has shape"):
        sm.load(path)


def test_signature_names_unknown_tensor(exported):
    _, path = exported("mlp")
    edit_json(path, lambda d: d["signatures"]["serving_default"]["outputs"]["classes"]
               .update(tensor="nope:0"))
    with pytest.raises(ExportFormatError, match="names no tensor"):
        sm.load(path)


def test_signature_dtype_mismatch(exported):
    _, path = exported("mlp")
    edit_json(path, lambda d: d["signatures"]["serving_default"]["inputs"]["x"]
               .update(dtype="int32"))
    with pytest.raises(ExportFormatError, match="dtype 'int32' does not match"):
        sm.load(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_garbage_attrs_and_fields_give_format_errors_only(exported, models, kind):
    """Every attribute / field replaced by garbage: load succeeds or raises
    ExportFormatError; running still works or raises a clear error."""
    _, path = exported(kind)
    with open(os.path.join(path, "saved_model.json")) as f:
        original = json.load(f)
    garbage = ["junk", -3, None, [1, "a"], {"$dtype": "nope"}, {"$shape": [-1]},
               {"$array": "missing"}, 1e300, True]
    x, _ = models.data(3)
    tried = 0
    for i, node in enumerate(original["graph"]["nodes"]):
        candidates = [("attrs", k) for k in node["attrs"]] + [("outputs", None),
                                                              ("inputs", None)]
        for where, key in candidates:
            for g in garbage:
                def craft(d, i=i, where=where, key=key, g=g):
                    n = d["graph"]["nodes"][i]
                    if where == "attrs":
                        n["attrs"][key] = g
                    else:
                        n[where] = g

                shutil.rmtree(path + "_g", ignore_errors=True)
                shutil.copytree(path, path + "_g")
                edit_json(path + "_g", craft)
                tried += 1
                try:
                    pred = sm.load(path + "_g")
                except ExportFormatError:
                    continue
                try:
                    pred({"x": x})
                except (ValueError, TypeError, KeyError, errors.OpError):
                    pass
    assert tried > 50


def test_random_ops_draw_the_same_numbers_as_estimator_predict(tmp_path, models):
    import estcore as ec
    from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig

    def model_fn(features, labels, mode):
        y = ec.layers.dense(features["x"], 4)
        if mode == ModeKeys.PREDICT:
            noisy = ec.nn.dropout(y, rate=0.5, training=True) + ec.random_normal(
                [4], seed=3)
            return EstimatorSpec(mode, predictions={"noisy": noisy})
        loss = ec.reduce_mean(y)
        return EstimatorSpec(mode, loss=loss, train_op=ec.train.GradientDescentOptimizer(
            0.1).minimize(loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path / "m"), RunConfig(tf_random_seed=5))
    est.train(models.train_input_fn(), steps=1)
    path = est.export_saved_model(str(tmp_path / "e"), models.serving_fn())
    x, _ = models.data(6)
    ref = models.predict_all(est, x)
    np.testing.assert_array_equal(sm.load(path)({"x": x})["noisy"], ref["noisy"])
