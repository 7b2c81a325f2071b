"""Damaged files: every file kind, every kind of damage, the clear error or the
documented fallback; never a crash, a silent restore of random weights or a deleted valid
checkpoint.

Kinds of damage (:data:`DAMAGES`): truncate to half, flip one bit in the middle, zero
the whole content (same size), delete, swap with another file of the same directory.
Files: a checkpoint's ``.data`` and the ``checkpoint`` state file of a model_dir holding
model.ckpt-10/15/20; every file of an export directory (``saved_model.json``,
``variables/variables.data``, ``consts.data``, ``model.onnx``, an ``assets.extra`` file).

Checkpoints: :func:`estcore.checkpoint.state.restorable_checkpoint` (what the Estimator
restores from) returns the newest checksum-valid checkpoint, logs a WARNING for what it
skipped, rewrites the state file (``repair``) and deletes nothing; an Estimator's
evaluate() then runs on those weights. Exports: ``estcore.saved_model.load`` raises
ExportFormatError naming the file or the export directory.
"""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore.checkpoint.format import (
    CheckpointCorruptError,
    checkpoint_file,
    read_checkpoint,
    read_header,
)
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import restorable_checkpoint
from estcore.errors import NotFoundError
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.export import ExportFormatError
from estcore.export import format as fmt

STEPS = (10, 15, 20)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def truncate(path, other):
    _write(path, _read(path)[: os.path.getsize(path) // 2])


def bitflip(path, other):
    data = bytearray(_read(path))
    data[len(data) // 2] ^= 0x10
    _write(path, bytes(data))


def zerofill(path, other):
    _write(path, b"\0" * os.path.getsize(path))


def delete(path, other):
    os.remove(path)


def swap(path, other):
    a, b = _read(path), _read(other)
    _write(path, b)
    _write(other, a)


DAMAGES = {"truncate": truncate, "bitflip": bitflip, "zerofill": zerofill, "delete": delete,
           "swap": swap}


# ----------------------------------------------------------------------- checkpoints
def _checkpoint_dir(d):
    saver = Saver(max_to_keep=3)
    for step in STEPS:
        saver.save({"w": np.full(4, step, np.float32),
                    "global_step": np.int64(step)}, os.path.join(d, "model.ckpt"), step)
    return d


def _valid_steps(d):
    """Steps whose checkpoint file on disk passes every check (and holds that step)."""
    out = set()
    for step in STEPS:
        f = checkpoint_file(os.path.join(d, f"model.ckpt-{step}"))
        try:
            values, _ = read_checkpoint(f)
        except (CheckpointCorruptError, NotFoundError):  # damaged or deleted
            continue
        out.add(int(values["global_step"]))
    return out


# target -> (file damaged, file it is swapped with)
CKPT_TARGETS = {
    "newest_data": ("model.ckpt-20.data", "checkpoint"),
    "middle_data": ("model.ckpt-15.data", "model.ckpt-20.data"),
    "state_file": ("checkpoint", "model.ckpt-20.data"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("target", sorted(CKPT_TARGETS))
def test_damaged_checkpoint_files_fall_back_to_the_newest_valid(tmp_path, caplog, target,
                                                                damage):
    d = _checkpoint_dir(str(tmp_path))
    victim, other = (os.path.join(d, f) for f in CKPT_TARGETS[target])
    DAMAGES[damage](victim, other)
    valid_before = _valid_steps(d)
    files_before = {f for f in os.listdir(d) if f.endswith(".data")}
    with caplog.at_level(logging.WARNING, logger="estcore"):
        chosen = restorable_checkpoint(d, repair=True)
    # the newest valid checkpoint's values, never random weights
    values, _ = read_checkpoint(chosen)
    step = int(values["global_step"])
    if (target, damage) == ("middle_data", "swap"):
        # Two valid files exchanged: the one named -20 (chosen) holds step 15. The
        # weights restored are consistent with the global step restored with them, so
        # training goes on from 15; nothing compares a file's name with its header yet.
        assert chosen.endswith("model.ckpt-20") and step == 15
    else:
        assert step == max(valid_before)
    np.testing.assert_array_equal(values["w"], np.full(4, step, np.float32))
    if not chosen.endswith("model.ckpt-20") or target == "state_file" and damage != "bitflip":
        assert any("Skipping checkpoint candidate" in r.getMessage()
                   or "Rewrote the state file" in r.getMessage() for r in caplog.records)
    # nothing deleted, the repaired state file names the chosen checkpoint
    assert {f for f in os.listdir(d) if f.endswith(".data")} == files_before
    assert _valid_steps(d) == valid_before
    assert restorable_checkpoint(d) == chosen


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "zerofill"])
def test_every_checkpoint_damaged_is_an_error_not_random_weights(tmp_path, damage):
    d = _checkpoint_dir(str(tmp_path))
    for step in STEPS:
        DAMAGES[damage](checkpoint_file(os.path.join(d, f"model.ckpt-{step}")), None)
    with pytest.raises(CheckpointCorruptError, match=f"No checkpoint in {d} can be restored"):
        restorable_checkpoint(d, repair=True)
    assert len([f for f in os.listdir(d) if f.endswith(".data")]) == 3


def _model_fn(features, labels, mode):
    w = ec.get_variable("w", [4], initializer=ec.zeros_initializer())
    pred = ec.reduce_sum(features["x"] * w, axis=1)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"y": pred})
    loss = ec.reduce_mean(ec.square(pred - labels))
    train_op = ec.train.GradientDescentOptimizer(0.01).minimize(
        loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         eval_metric_ops={"w0": ec.metrics.mean(w[0])})


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory):
    """A model_dir trained by an Estimator, checkpoints at steps 10, 15, 20."""
    d = str(tmp_path_factory.mktemp("est"))
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = x.sum(1)
    est = Estimator(_model_fn, d, RunConfig(save_checkpoints_steps=5, keep_checkpoint_max=3,
                                            log_step_count_steps=None,
                                            save_summary_steps=None, tf_random_seed=1))
    est.train(numpy_input_fn({"x": x}, y, batch_size=5, shuffle=False, num_epochs=None),
              steps=20)
    return d, x, y


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("target", ["newest_data", "state_file"])
def test_evaluate_on_a_damaged_model_dir_uses_the_newest_valid_weights(
        trained_model_dir, tmp_path, target, damage):
    src, x, y = trained_model_dir
    d = str(tmp_path / "m")
    shutil.copytree(src, d)
    victim, other = (os.path.join(d, f) for f in CKPT_TARGETS[target])
    expected = max(_valid_steps_of_model_dir(d, after=(victim, other, damage)))
    want_w0 = float(read_checkpoint(os.path.join(d, f"model.ckpt-{expected}"))[0]["w"][0])
    DAMAGES[damage](victim, other)
    est = Estimator(_model_fn, d, RunConfig(log_step_count_steps=None,
                                            save_summary_steps=None))
    result = est.evaluate(numpy_input_fn({"x": x}, y, batch_size=25, shuffle=False), steps=1)
    assert result["global_step"] == expected
    assert result["w0"] == pytest.approx(want_w0)


def _valid_steps_of_model_dir(d, after):
    """The steps that stay valid once ``after`` = (victim, other, damage) is applied."""
    victim, other, damage = after
    hit = {victim} | ({other} if damage == "swap" else set())
    steps = []
    for name in os.listdir(d):
        full = os.path.join(d, name)
        if name.startswith("model.ckpt-") and name.endswith(".data") and full not in hit:
            read_header(full)
            steps.append(int(name[len("model.ckpt-"):-len(".data")]))
    return steps


# ----------------------------------------------------------------------- exports
EXPORT_FILES = {
    "graph_json": (fmt.GRAPH_FILE, fmt.VARIABLES_FILE),
    "variables": (fmt.VARIABLES_FILE, fmt.CONSTS_FILE),
    "consts": (fmt.CONSTS_FILE, "assets.extra/vocab.txt"),
    "onnx": (fmt.ONNX_FILE, fmt.CONSTS_FILE),
    "asset": ("assets.extra/vocab.txt", fmt.ONNX_FILE),
}


@pytest.fixture(scope="module")
def export_dir(trained_model_dir, tmp_path_factory):
    src, _, _ = trained_model_dir
    base = tmp_path_factory.mktemp("exp")
    vocab = base / "vocab.txt"
    vocab.write_text("alpha\nbeta\ngamma\n")
    est = Estimator(_model_fn, src, RunConfig(log_step_count_steps=None,
                                              save_summary_steps=None))
    serving = ec.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": np.zeros((1, 4), np.float32)})
    return os.fsdecode(est.export_saved_model(str(base / "out"), serving,
                                              assets_extra={"vocab.txt": str(vocab)}))


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("target", sorted(EXPORT_FILES))
def test_damaged_export_files_are_named(export_dir, tmp_path, target, damage):
    d = str(tmp_path / "e")
    shutil.copytree(export_dir, d)
    name, other = EXPORT_FILES[target]
    if not os.path.exists(os.path.join(d, name)) or not os.path.exists(os.path.join(d, other)):
        pytest.skip(f"{name} not written (the onnx package is optional)")
    sm.load(d)  # intact: loads
    DAMAGES[damage](os.path.join(d, name), os.path.join(d, other))
    with pytest.raises(ExportFormatError) as info:
        sm.load(d)
    message = str(info.value)
    named = {os.path.join(d, *name.split("/")), os.path.join(d, *other.split("/"))}
    assert any(p in message for p in named) or f"Cannot load the export at {d}" in message
