"""A restore reads and checks its checkpoint once (issue 14 leftover), in both formats.

Choosing the checkpoint (restorable_checkpoint) reads it whole and verifies it; the
restore that follows takes what was read (estcore.checkpoint.verified) while the files are
unchanged, and reads and verifies them again otherwise. export_saved_model chooses its
checkpoint as train / evaluate / predict do (past a damaged newest one).
"""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint import format as fmt
from estcore.checkpoint import tf_bundle, verified
from estcore.checkpoint.format import CheckpointCorruptError, read_checkpoint
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import restorable_checkpoint
from estcore.estimator import Estimator, RunConfig
from estcore.export.receivers import build_raw_serving_input_receiver_fn
from estcore.graph import dtypes


@pytest.fixture(autouse=True)
def _empty_stash():
    verified.discard()
    yield
    verified.discard()


def model_fn(features, labels, mode):
    w = ec.get_variable("w", shape=[3, 1], initializer=ec.ones_initializer())
    pred = ec.matmul(features, w)
    if mode == ec.estimator.ModeKeys.PREDICT:
        return ec.estimator.EstimatorSpec(mode, predictions={"y": pred})
    loss = ec.reduce_mean(ec.square(pred - labels))
    step = ec.train.get_global_step()
    train = ec.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=step)
    return ec.estimator.EstimatorSpec(mode, loss=loss, train_op=train)


def input_fn():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    return ec.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(2)


@pytest.fixture
def checks(monkeypatch):
    """Counts every full verification: estcore's whole-file CRC (per file) and TF's
    per-tensor CRC (per file and tensor)."""
    counts: collections.Counter = collections.Counter()
    parse, decode = fmt._parse, tf_bundle._decode

    def counting_parse(path, data):
        counts[os.path.basename(path)] += 1
        return parse(path, data)

    def counting_decode(index, entry, raw, copy):
        counts[(os.path.basename(index.prefix), entry.name)] += 1
        return decode(index, entry, raw, copy)

    monkeypatch.setattr(fmt, "_parse", counting_parse)
    monkeypatch.setattr(tf_bundle, "_decode", counting_decode)
    return counts


def _trained(tmp_path, checkpoint_format="estcore") -> Estimator:
    est = Estimator(model_fn, model_dir=str(tmp_path),
                    config=RunConfig(checkpoint_format=checkpoint_format))
    est.train(input_fn, steps=2)
    return est


def test_evaluate_and_train_read_an_estcore_checkpoint_once(tmp_path, checks):
    est = _trained(tmp_path)
    checks.clear()
    est.evaluate(input_fn)
    assert checks == {"model.ckpt-2.data": 1}
    checks.clear()
    est.train(input_fn, steps=1)
    assert checks["model.ckpt-2.data"] == 1
    checks.clear()
    list(est.predict(lambda: input_fn().map(lambda x, y: x)))
    assert checks == {"model.ckpt-3.data": 1}


def test_evaluate_and_train_read_each_tensor_of_a_tf_checkpoint_once(tmp_path, checks):
    est = _trained(tmp_path, "tf")
    checks.clear()
    est.evaluate(input_fn)
    assert set(checks.values()) == {1}
    assert {name for _, name in checks} == {"w", "global_step"}
    checks.clear()
    est.train(input_fn, steps=1)
    assert {k: v for k, v in checks.items() if k[0] == "model.ckpt-2"} == {
        ("model.ckpt-2", "w"): 1, ("model.ckpt-2", "global_step"): 1}


@pytest.fixture
def model_dir(tmp_path):
    saver = Saver(max_to_keep=3)
    for step in (10, 20):
        saver.save({"w": np.full(4, step, np.float32)}, str(tmp_path / "model.ckpt"), step)
    return tmp_path


def test_the_kept_read_is_taken_once(model_dir, checks):
    prefix = restorable_checkpoint(str(model_dir))
    assert checks == {"model.ckpt-20.data": 1}
    values, _ = read_checkpoint(prefix)
    assert checks == {"model.ckpt-20.data": 1}
    values["w"][0] = -1.0  # copy=True: writable, and not the kept arrays
    again, _ = read_checkpoint(prefix)
    assert checks == {"model.ckpt-20.data": 2}
    np.testing.assert_array_equal(again["w"], np.full(4, 20, np.float32))


@pytest.mark.parametrize("change", ["truncate", "replace"])
def test_a_checkpoint_changed_after_the_choice_is_read_and_checked_again(model_dir, change):
    prefix = restorable_checkpoint(str(model_dir))
    path = Path(prefix + ".data")
    data = bytearray(path.read_bytes())
    if change == "truncate":
        path.write_bytes(bytes(data[:-5]))
    else:  # same size, a new file in its place (as an atomic rewrite does)
        data[len(data) // 2] ^= 0x10
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(data))
        os.replace(tmp, path)
    with pytest.raises(CheckpointCorruptError, match="model.ckpt-20.data is corrupted"):
        read_checkpoint(prefix, copy=False)


def test_another_checkpoint_is_not_served_from_the_kept_read(model_dir, checks):
    restorable_checkpoint(str(model_dir))
    values, _ = read_checkpoint(str(model_dir / "model.ckpt-10"))
    np.testing.assert_array_equal(values["w"], np.full(4, 10, np.float32))
    assert checks == {"model.ckpt-20.data": 1, "model.ckpt-10.data": 1}


def _serving_fn():
    return build_raw_serving_input_receiver_fn(
        {"x": ec.placeholder(dtypes.float32, [None, 3], name="x")})


def _export_model_fn(features, labels, mode):
    x = features["x"] if isinstance(features, dict) else features
    return model_fn(x, labels, mode)


def test_export_skips_a_damaged_newest_checkpoint(tmp_path, caplog):
    est = Estimator(_export_model_fn, model_dir=str(tmp_path))
    est.train(lambda: input_fn().map(lambda x, y: ({"x": x}, y)), steps=2)
    est.train(lambda: input_fn().map(lambda x, y: ({"x": x}, y)), steps=1)
    newest = Path(est.latest_checkpoint() + ".data")
    assert newest.name == "model.ckpt-3.data"
    newest.write_bytes(newest.read_bytes()[:-3])
    with caplog.at_level(logging.WARNING, logger="estcore"):
        export_dir = est.export_saved_model(str(tmp_path / "export"), _serving_fn())
    assert os.path.isdir(export_dir)
    assert "model.ckpt-3" in caplog.text and "Restoring from" in caplog.text
    assert "model.ckpt-2" in caplog.text
    for path in tmp_path.glob("model.ckpt-*.data"):
        path.write_bytes(b"ESTCKPT\0 not a checkpoint any more")
    with pytest.raises(CheckpointCorruptError, match="none loads"):
        est.export_saved_model(str(tmp_path / "export"), _serving_fn())
