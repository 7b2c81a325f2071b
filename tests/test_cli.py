"""``estcore predict`` through subprocess: ``python -m estcore.cli`` and the installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.export import ServingInputReceiver, build_raw_serving_input_receiver_fn
from estcore.estimator.inputs import numpy_input_fn


def _model_fn(features, labels, mode):
    x = features["x"]
    if "z" in features:
        x = x + features["z"]
    logits = ec.layers.dense(ec.layers.dense(x, 8, activation=ec.nn.relu), 3)
    preds = {"classes": ec.argmax(logits, 1), "probabilities": ec.nn.softmax(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=preds)
    loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
    return EstimatorSpec(mode, loss=loss, train_op=ec.train.AdamOptimizer(0.01).minimize(
        loss, ec.train.get_global_step()))


@pytest.fixture(scope="module")
def export_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    est = Estimator(_model_fn, str(base / "model"), RunConfig(tf_random_seed=3))
    est.train(numpy_input_fn({"x": x}, y, batch_size=10, num_epochs=1, shuffle=False))
    one = os.fsdecode(est.export_saved_model(
        str(base / "one"), build_raw_serving_input_receiver_fn({"x": x})))

    def two_inputs():
        a = ec.placeholder(ec.float32, [None, 4], name="x")
        b = ec.placeholder(ec.float32, [None, 4], name="z")
        return ServingInputReceiver({"x": a, "z": b}, {"x": a, "z": b})

    two = os.fsdecode(est.export_saved_model(str(base / "two"), two_inputs))
    ref = next(est.predict(numpy_input_fn({"x": x}, batch_size=20, shuffle=False),
                           yield_single_examples=False))
    shutil.rmtree(est.model_dir)
    return {"one": one, "two": two, "x": x, "ref": ref, "base": base}


def _commands():
    cmds = [[sys.executable, "-m", "estcore.cli"]]
    script = shutil.which("estcore") or os.path.join(os.path.dirname(sys.executable), "estcore")
    cmds.append([script])
    return cmds


@pytest.fixture(params=["module", "script"])
def cli(request):
    cmd = _commands()[0 if request.param == "module" else 1]
    if request.param == "script" and not os.path.exists(cmd[0]):
        pytest.fail(f"the installed `estcore` script is missing at {cmd[0]}")

    def run(*args, check=True):
        proc = subprocess.run(cmd + list(args), capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
        return proc
    return run


@pytest.mark.slow
def test_predict_npz_to_npz(cli, export_dirs, tmp_path):
    np.savez(tmp_path / "in.npz", x=export_dirs["x"])
    cli("predict", export_dirs["one"], "--input", str(tmp_path / "in.npz"),
        "--output", str(tmp_path / "out.npz"), "--batch-size", "7")
    with np.load(tmp_path / "out.npz") as out:
        for k, v in export_dirs["ref"].items():
            np.testing.assert_array_equal(out[k], v)


@pytest.mark.slow
def test_predict_npy_prints_json_lines(cli, export_dirs, tmp_path):
    np.save(tmp_path / "in.npy", export_dirs["x"])
    proc = cli("predict", export_dirs["one"], "--input", str(tmp_path / "in.npy"))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 20
    ref = export_dirs["ref"]
    assert [row["classes"] for row in lines] == ref["classes"].tolist()
    np.testing.assert_allclose([row["probabilities"] for row in lines], ref["probabilities"],
                               rtol=1e-6)


@pytest.mark.slow
def test_predict_csv_to_csv(cli, export_dirs, tmp_path):
    np.savetxt(tmp_path / "in.csv", export_dirs["x"], delimiter=",", fmt="%.9g")
    cli("predict", export_dirs["one"], "--input", str(tmp_path / "in.csv"),
        "--output", str(tmp_path / "out.csv"))
    with open(tmp_path / "out.csv") as f:
        header = f.readline().strip().split(",")
    assert header == ["classes", "probabilities_0", "probabilities_1", "probabilities_2"]
    table = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    ref = export_dirs["ref"]
    np.testing.assert_array_equal(table[:, 0], ref["classes"])
    np.testing.assert_allclose(table[:, 1:], ref["probabilities"], rtol=1e-6)


@pytest.mark.slow
def test_errors(cli, export_dirs, tmp_path):
    np.save(tmp_path / "in.npy", export_dirs["x"])
    proc = cli("predict", export_dirs["two"], "--input", str(tmp_path / "in.npy"), check=False)
    assert proc.returncode == 2
    assert "has 2 inputs ['x', 'z']" in proc.stderr and "use a .npz" in proc.stderr
    np.savez(tmp_path / "bad.npz", y=export_dirs["x"])
    proc = cli("predict", export_dirs["one"], "--input", str(tmp_path / "bad.npz"), check=False)
    assert proc.returncode == 2 and "missing: ['x'], unexpected: ['y']" in proc.stderr
    proc = cli("predict", str(tmp_path / "nowhere"), "--input", str(tmp_path / "in.npy"),
               check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = cli("predict", export_dirs["one"], "--input", str(tmp_path / "in.npy"),
               "--signature", "nope", check=False)
    assert proc.returncode == 2 and "'nope' is not a signature" in proc.stderr


@pytest.mark.smoke
def test_two_inputs_npz_in_process(export_dirs, tmp_path, capsys):
    from estcore.cli import main

    x = export_dirs["x"]
    np.savez(tmp_path / "in.npz", x=x, z=np.zeros_like(x))
    assert main(["predict", export_dirs["two"], "--input", str(tmp_path / "in.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(s)["classes"] for s in lines] == export_dirs["ref"]["classes"].tolist()
    assert main(["predict", export_dirs["one"], "--input", str(tmp_path / "in.npz"),
                 "--batch-size", "0"]) == 2


@pytest.mark.smoke
def test_version(cli):
    proc = cli("--version")
    assert proc.stdout.strip() == f"estcore {ec.__version__}"


@pytest.mark.smoke
def test_base_directory_names_the_exports_found(export_dirs, tmp_path, capsys):
    from estcore.cli import main

    base = os.path.dirname(export_dirs["one"])
    newest = os.path.basename(export_dirs["one"])
    np.save(tmp_path / "in.npy", export_dirs["x"])
    assert main(["predict", base, "--input", str(tmp_path / "in.npy")]) == 2
    err = capsys.readouterr().err
    assert "is an export base directory" in err
    assert f"[{newest!r}]" in err and os.path.join(base, newest) in err
