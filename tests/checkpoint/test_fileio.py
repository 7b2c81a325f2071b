"""atomic_write: errors name the file; nothing is left behind."""

from __future__ import annotations

import errno
import os

import pytest

from estcore.checkpoint import fileio


def test_full_disk_names_the_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "model.ckpt-5.data"

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "write", full)
    with pytest.raises(OSError) as info:
        fileio.atomic_write(str(target), [b"x" * 10])
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(target)
    assert str(target) in str(info.value)
    assert os.listdir(tmp_path) == []


def test_fsync_failure_names_the_file(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint"

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(fileio.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="checkpoint") as info:
        fileio.atomic_write(str(target), [b"abc"])
    assert info.value.errno == errno.EIO
    assert os.listdir(tmp_path) == []


def test_write_replaces_atomically(tmp_path):
    target = tmp_path / "f"
    fileio.atomic_write(str(target), [b"old"])
    fileio.atomic_write(str(target), [b"new", memoryview(b"er")])
    assert target.read_bytes() == b"newer"
    assert os.listdir(tmp_path) == ["f"]


def test_remove_temp_files_removes_only_leftovers(tmp_path):
    (tmp_path / ".tmp-model.ckpt-5.data.abc").write_bytes(b"half")
    (tmp_path / ".tmp-checkpoint.xyz").write_bytes(b"")
    (tmp_path / "model.ckpt-5.data").write_bytes(b"keep")
    (tmp_path / ".tmp-dir").mkdir()
    os.symlink(tmp_path / "model.ckpt-5.data", tmp_path / ".tmp-link")
    removed = fileio.remove_temp_files(str(tmp_path))
    assert sorted(os.path.basename(p) for p in removed) == [
        ".tmp-checkpoint.xyz", ".tmp-link", ".tmp-model.ckpt-5.data.abc"]
    assert sorted(os.listdir(tmp_path)) == [".tmp-dir", "model.ckpt-5.data"]
    assert (tmp_path / "model.ckpt-5.data").read_bytes() == b"keep"
    assert fileio.remove_temp_files(str(tmp_path / "missing")) == []


def test_written_files_get_the_mode_open_would_give(tmp_path):
    """Not mkstemp's 0600: other users (TensorBoard, a server) can read checkpoints."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    target = tmp_path / "atomic"
    fileio.atomic_write(str(target), [b"x"])
    assert (target.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
