"""Recovery wired into the Estimator: damaged newest files fall back, leftovers go away,
rotation never deletes what it did not verify or what is newer than the restore."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from estcore import placeholder
from estcore.checkpoint.format import CheckpointCorruptError, checkpoint_file
from estcore.checkpoint.state import STATE_FILENAME, CheckpointReader, get_checkpoint_state
from estcore.export.receivers import build_raw_serving_input_receiver_fn
from estcore.inputs import numpy_input_fn

from .model import BATCH, X, Y, make_estimator


def fn(num_epochs=1):
    return numpy_input_fn({"x": X}, Y, batch_size=BATCH, num_epochs=num_epochs, shuffle=False)


def trained(model_dir, steps=15, **config):
    est = make_estimator(model_dir, save_checkpoints_steps=5, **config)
    est.train(fn(None), max_steps=steps)
    return est


def _ckpt(d, step):
    return checkpoint_file(os.path.join(str(d), f"model.ckpt-{step}"))


def _flip(path, offset=-20):
    with open(path, "r+b") as f:
        f.seek(offset, os.SEEK_END)
        b = f.read(1)
        f.seek(offset, os.SEEK_END)
        f.write(bytes([b[0] ^ 0x40]))


def _step_of_latest(est):
    return int(CheckpointReader(est.latest_checkpoint()).get_tensor("global_step"))


@pytest.mark.smoke
def test_train_resumes_from_the_newest_valid_after_the_newest_file_is_deleted(tmp_path):
    est = trained(tmp_path)
    os.remove(_ckpt(tmp_path, 15))
    est.train(fn(None), steps=1)
    assert _step_of_latest(est) == 11  # resumed at 10, not at 0
    assert os.path.isfile(_ckpt(tmp_path, 5))  # nothing valid lost to the rotation


def test_train_resumes_past_a_damaged_state_file(tmp_path, caplog):
    est = trained(tmp_path)
    state = tmp_path / STATE_FILENAME
    state.write_text(state.read_text().replace('"model.ckpt-15"', '"model.ckpt-1S"', 1))
    caplog.set_level(logging.WARNING, logger="estcore")
    est.train(fn(None), steps=1)
    assert _step_of_latest(est) == 16
    assert any("Skipping checkpoint candidate" in r.getMessage() for r in caplog.records)


def test_rotation_never_deletes_a_checkpoint_newer_than_the_restore(tmp_path):
    est = trained(tmp_path)  # model.ckpt-5/10/15
    _flip(_ckpt(tmp_path, 15))
    damaged = Path(_ckpt(tmp_path, 15)).read_bytes()
    est = make_estimator(tmp_path, save_checkpoints_steps=4)
    est.train(fn(None), steps=14)  # resumes at 10; saves 10, 14, 18, 22, 24
    assert Path(_ckpt(tmp_path, 15)).read_bytes() == damaged  # kept for inspection
    state = get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        "model.ckpt-18", "model.ckpt-22", "model.ckpt-24"]
    assert not os.path.exists(_ckpt(tmp_path, 5))


@pytest.mark.parametrize("call", ["evaluate", "predict"])
def test_evaluate_and_predict_refuse_random_weights_when_nothing_loads(tmp_path, call):
    est = trained(tmp_path)
    for step in (5, 10, 15):
        _flip(_ckpt(tmp_path, step))
    with pytest.raises(CheckpointCorruptError, match="none loads"):
        if call == "evaluate":
            est.evaluate(fn())
        else:
            next(est.predict(numpy_input_fn({"x": X}, batch_size=BATCH, shuffle=False)))


def test_evaluate_falls_back_to_the_newest_that_loads(tmp_path, caplog):
    est = trained(tmp_path)
    _flip(_ckpt(tmp_path, 15))
    caplog.set_level(logging.WARNING, logger="estcore")
    assert est.evaluate(fn())["global_step"] == 10
    assert any("checksum" in r.getMessage() for r in caplog.records)
    assert "model.ckpt-15" in get_checkpoint_state(str(tmp_path)).model_checkpoint_path


def test_evaluate_without_any_checkpoint_runs_initialization_as_tf(tmp_path, caplog):
    est = make_estimator(tmp_path)
    caplog.set_level(logging.INFO, logger="estcore")
    assert est.evaluate(fn())["global_step"] == 0
    assert any("Could not find trained model" in r.getMessage() for r in caplog.records)


def test_chief_removes_temp_files_before_training(tmp_path):
    est = trained(tmp_path)
    leftover = tmp_path / ".tmp-model.ckpt-20.data.abc123"
    leftover.write_bytes(b"\0" * 1000)
    keep = tmp_path / "notes.tmp"
    keep.write_text("mine")
    est.evaluate(fn())
    assert leftover.exists()  # only a training chief cleans up
    est.train(fn(None), steps=1)
    assert not leftover.exists() and keep.exists()


def _serving_fn():
    return build_raw_serving_input_receiver_fn(
        {"x": placeholder("float32", [None, 4], name="x")})


def test_export_removes_temp_dirs_of_interrupted_exports(tmp_path):
    est = trained(tmp_path / "model")
    base = tmp_path / "export"
    (base / "temp-1700000000" / "variables").mkdir(parents=True)
    (base / "temp-1700000000" / "variables" / "variables.data").write_bytes(b"x" * 100)
    (base / "temp-notes").mkdir()
    out = os.fsdecode(est.export_saved_model(str(base), _serving_fn()))
    assert sorted(os.listdir(base)) == sorted([os.path.basename(out), "temp-notes"])


def test_latest_checkpoint_keeps_tfs_meaning(tmp_path):
    est = trained(tmp_path)
    os.remove(_ckpt(tmp_path, 15))
    assert est.latest_checkpoint() is None  # the state file names a missing file
    assert np.isfinite(est.evaluate(fn())["loss"])  # the calls still find ckpt-10
