"""restorable_checkpoint: the newest checkpoint that loads, whatever happened to the
state file or the newest files; never random weights when checkpoints exist."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from estcore.checkpoint.format import CheckpointCorruptError, checkpoint_file
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import get_checkpoint_state, restorable_checkpoint


@pytest.fixture
def model_dir(tmp_path):
    """model.ckpt-10/15/20 saved by a Saver (max 3): a valid state file."""
    saver = Saver(max_to_keep=3)
    for step in (10, 15, 20):
        saver.save({"w": np.full(4, step, np.float32)}, str(tmp_path / "model.ckpt"), step)
    return tmp_path


def _prefix(d, step):
    return os.path.join(str(d), f"model.ckpt-{step}")


def test_intact_directory_gives_the_state_files_newest(model_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="estcore"):
        assert restorable_checkpoint(str(model_dir)) == _prefix(model_dir, 20)
    assert caplog.records == []


def test_newest_file_deleted_falls_back_and_repairs(model_dir, caplog):
    os.remove(checkpoint_file(_prefix(model_dir, 20)))
    with caplog.at_level(logging.WARNING, logger="estcore"):
        assert restorable_checkpoint(str(model_dir), repair=True) == _prefix(model_dir, 15)
    assert "model.ckpt-20" in caplog.text
    state = get_checkpoint_state(str(model_dir))
    assert state.model_checkpoint_path == _prefix(model_dir, 15)
    assert state.all_model_checkpoint_paths == [_prefix(model_dir, 10), _prefix(model_dir, 15)]


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "zero"])
def test_newest_file_corrupt_falls_back(model_dir, damage, caplog):
    path = Path(checkpoint_file(_prefix(model_dir, 20)))
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "bitflip":
        data[len(data) // 2] ^= 0x10
    else:
        data[:] = bytes(len(data))
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="estcore"):
        assert restorable_checkpoint(str(model_dir)) == _prefix(model_dir, 15)
    assert "corrupt" in caplog.text


@pytest.mark.parametrize("text", [
    "",                                               # empty
    "model_checkpoint_path: \"model.ckpt-2",          # damaged quoting
    "model_checkpoint_path: \"model.ckpt-21\"\n",     # one character changed
    "garbage\x00\x01",
])
def test_damaged_state_file_falls_back_to_files_on_disk(model_dir, text):
    (model_dir / "checkpoint").write_text(text)
    assert restorable_checkpoint(str(model_dir), repair=True) == _prefix(model_dir, 20)
    assert get_checkpoint_state(str(model_dir)).model_checkpoint_path == _prefix(model_dir, 20)


def test_missing_state_file_falls_back(model_dir):
    os.remove(model_dir / "checkpoint")
    assert restorable_checkpoint(str(model_dir)) == _prefix(model_dir, 20)
    assert not (model_dir / "checkpoint").exists()  # no repair asked: nothing written


@pytest.mark.parametrize("entry", ["../other/model.ckpt-99", "/abs/elsewhere/model.ckpt-99"])
def test_state_file_may_only_name_files_inside(model_dir, tmp_path_factory, entry):
    outside = tmp_path_factory.mktemp("other")
    Saver().save({"w": np.zeros(4, np.float32)}, str(outside / "model.ckpt"), 99)
    entry = entry.replace("/abs/elsewhere", str(outside)).replace("../other", str(outside))
    (model_dir / "checkpoint").write_text(f'model_checkpoint_path: "{entry}"\n')
    assert restorable_checkpoint(str(model_dir)) == _prefix(model_dir, 20)


def test_relative_escape_in_state_file_is_refused(model_dir, tmp_path):
    sub = model_dir / "sub"
    sub.mkdir()
    Saver().save({"w": np.zeros(4, np.float32)}, str(model_dir / "model.ckpt"), 30)
    # sub's state file points up into the parent through ../
    (sub / "checkpoint").write_text('model_checkpoint_path: "../model.ckpt-30"\n')
    assert restorable_checkpoint(str(sub)) is None


def test_no_checkpoint_files_is_none(tmp_path):
    assert restorable_checkpoint(str(tmp_path)) is None
    assert restorable_checkpoint(str(tmp_path / "missing")) is None


def test_files_but_none_loads_is_an_error(model_dir):
    for step in (10, 15, 20):
        with open(checkpoint_file(_prefix(model_dir, step)), "r+b") as f:
            f.write(b"XXXXXXXX")
    with pytest.raises(CheckpointCorruptError, match="none loads"):
        restorable_checkpoint(str(model_dir))


def test_rotation_adopts_unlisted_older_checkpoints(tmp_path):
    """A kill between the state-file write and the deletion left model.ckpt-5 unlisted:
    the next Saver rotates it out as if it had been listed; a newer unlisted file stays."""
    saver = Saver(max_to_keep=3)
    for step in (5, 10, 15, 20):
        saver.save({"w": np.zeros(2, np.float32)}, str(tmp_path / "model.ckpt"), step)
    assert not os.path.exists(checkpoint_file(_prefix(tmp_path, 5)))
    # recreate the leftover of an interrupted rotation, and a newer unlisted file
    Saver(max_to_keep=0).save({"w": np.zeros(2, np.float32)}, str(tmp_path / "x" / "m"), 1)
    for step, src in ((5, 20), (99, 20)):
        Path(checkpoint_file(_prefix(tmp_path, step))).write_bytes(
            Path(checkpoint_file(_prefix(tmp_path, src))).read_bytes())
    state_text = (tmp_path / "checkpoint").read_text()
    again = Saver(max_to_keep=3)
    again.recover_last_checkpoints(str(tmp_path))
    assert again.last_checkpoints[0] == _prefix(tmp_path, 5)
    again.save({"w": np.zeros(2, np.float32)}, str(tmp_path / "model.ckpt"), 21)
    on_disk = sorted(p for p in os.listdir(tmp_path) if p.endswith(".data"))
    assert on_disk == ["model.ckpt-15.data", "model.ckpt-20.data", "model.ckpt-21.data",
                       "model.ckpt-99.data"]
    assert "model.ckpt-5" not in (tmp_path / "checkpoint").read_text()
    assert state_text != (tmp_path / "checkpoint").read_text()
