"""Saver rotation deletes only verified checkpoints and nothing newer than the restore."""

from __future__ import annotations

import os

import numpy as np

from estcore.checkpoint.format import checkpoint_file
from estcore.checkpoint.saver import Saver


def _save(saver, d, step):
    return saver.save({"w": np.full(3, step, np.float32)}, os.path.join(str(d), "model.ckpt"),
                      step)


def _files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".data"))


def test_a_listed_file_that_is_not_a_checkpoint_is_never_deleted(tmp_path):
    saver = Saver(max_to_keep=2)
    for step in (1, 2):
        _save(saver, tmp_path, step)
    os.replace(checkpoint_file(str(tmp_path / "model.ckpt-1")), tmp_path / "x")
    (tmp_path / "model.ckpt-1.data").write_bytes(b"someone else's file")
    fresh = Saver(max_to_keep=2)
    fresh.recover_last_checkpoints(str(tmp_path))
    _save(fresh, tmp_path, 3)
    assert (tmp_path / "model.ckpt-1.data").read_bytes() == b"someone else's file"
    assert _files(tmp_path) == ["model.ckpt-1.data", "model.ckpt-2.data", "model.ckpt-3.data"]


def test_unlisted_garbage_is_not_adopted(tmp_path):
    saver = Saver(max_to_keep=2)
    for step in (5, 6):
        _save(saver, tmp_path, step)
    (tmp_path / "model.ckpt-2.data").write_bytes(b"\0" * 64)
    fresh = Saver(max_to_keep=2)
    fresh.recover_last_checkpoints(str(tmp_path))
    assert [os.path.basename(p) for p in fresh.last_checkpoints] == ["model.ckpt-5",
                                                                      "model.ckpt-6"]


def test_checkpoints_newer_than_the_resumed_one_leave_the_rotation(tmp_path):
    saver = Saver(max_to_keep=3)
    for step in (10, 15, 20):
        _save(saver, tmp_path, step)
    (tmp_path / "model.ckpt-3.data").write_bytes(
        (tmp_path / "model.ckpt-10.data").read_bytes())  # an unlisted older one
    fresh = Saver(max_to_keep=3)
    fresh.recover_last_checkpoints(str(tmp_path), str(tmp_path / "model.ckpt-15"))
    assert [os.path.basename(p) for p in fresh.last_checkpoints] == [
        "model.ckpt-3", "model.ckpt-10", "model.ckpt-15"]
    for step in (16, 17, 18, 19):
        _save(fresh, tmp_path, step)
    assert _files(tmp_path) == ["model.ckpt-17.data", "model.ckpt-18.data",
                                "model.ckpt-19.data", "model.ckpt-20.data"]


def test_a_state_file_without_a_checkpoint_path_recovers_nothing(tmp_path):
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "model.ckpt-1"\n')
    saver = Saver()
    saver.recover_last_checkpoints(str(tmp_path))
    assert saver.last_checkpoints == []


def test_a_saver_recovered_without_a_resume_point_keeps_newer_unloadable_checkpoints(tmp_path):
    """A user's CheckpointSaverHook recovers its Saver without knowing what training
    restored: the limit then comes from the state file, which restorable_checkpoint
    repaired to name the checkpoint it restored; the newer (damaged) file is not rotated
    away."""
    import os

    import numpy as np

    from estcore.checkpoint.format import checkpoint_file
    from estcore.checkpoint.saver import Saver
    from estcore.checkpoint.state import restorable_checkpoint

    saver = Saver(max_to_keep=2)
    for step in (10, 15, 20):
        saver.save({"w": np.full(2, step, np.float32)}, str(tmp_path / "model.ckpt"), step)
    newest = checkpoint_file(str(tmp_path / "model.ckpt-20"))
    with open(newest, "r+b") as f:
        f.write(b"XXXXXXXX")  # damaged: restore falls back to 15
    assert restorable_checkpoint(str(tmp_path), repair=True).endswith("model.ckpt-15")
    user = Saver(max_to_keep=2)
    user.recover_last_checkpoints(str(tmp_path))  # no resumed_from
    for step in (16, 17, 18):
        user.save({"w": np.zeros(2, np.float32)}, str(tmp_path / "model.ckpt"), step)
    assert os.path.exists(newest)
