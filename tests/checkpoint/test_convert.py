"""``estcore checkpoint convert`` and :mod:`estcore.checkpoint.convert`."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from estcore.checkpoint import tf_bundle
from estcore.checkpoint.convert import convert_checkpoint, convert_model_dir
from estcore.checkpoint.format import read_checkpoint, stored_format, write_checkpoint
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import get_checkpoint_state, latest_checkpoint
from estcore.cli import main
from estcore.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError

from .tf_models import FIXTURES


def _assert_same_values(a: str, b: str) -> None:
    va, ma = read_checkpoint(a)
    vb, mb = read_checkpoint(b)
    assert sorted(va) == sorted(vb) and ma == mb
    for name in va:
        assert va[name].dtype == vb[name].dtype, name
        np.testing.assert_array_equal(va[name], vb[name], err_msg=name)


def test_tf_model_dir_to_estcore_and_back_is_byte_identical_data(tmp_path, capsys):
    src = str(FIXTURES / "mlp_adam")
    assert main(["checkpoint", "convert", src, str(tmp_path / "est"), "--to", "estcore"]) == 0
    out = capsys.readouterr().out
    assert "model.ckpt-6 (tf, 15 variables) -> " in out and "(estcore)" in out
    est_prefix = str(tmp_path / "est" / "model.ckpt-6")
    assert stored_format(est_prefix) == "estcore"
    assert latest_checkpoint(str(tmp_path / "est")) == est_prefix
    _assert_same_values(os.path.join(src, "model.ckpt-6"), est_prefix)
    assert main(["checkpoint", "convert", str(tmp_path / "est"), str(tmp_path / "tf"),
                 "--to", "tf"]) == 0
    name = "model.ckpt-6.data-00000-of-00001"
    # TF's data file is its tensors back to back in key order: estcore writes the same
    assert (tmp_path / "tf" / name).read_bytes() == (FIXTURES / "mlp_adam" / name).read_bytes()


def test_model_dir_keeps_order_and_save_times(tmp_path):
    src = tmp_path / "src"
    saver = Saver(max_to_keep=3, clock=iter([10.0, 20.0, 30.0, 40.0]).__next__)
    for step in (1, 2, 3):
        saver.save({"w": np.full(2, step, np.float32)}, str(src / "model.ckpt"), step,
                   meta={"note": step})
    done = convert_model_dir(str(src), str(tmp_path / "dst"), "tf")
    assert [os.path.basename(c.destination) for c in done] == [
        "model.ckpt-1", "model.ckpt-2", "model.ckpt-3"]
    state = get_checkpoint_state(str(tmp_path / "dst"))
    assert state.all_model_checkpoint_timestamps == [20.0, 30.0, 40.0]
    assert state.model_checkpoint_path == str(tmp_path / "dst" / "model.ckpt-3")
    for c in done:
        _assert_same_values(c.source, c.destination)
    assert read_checkpoint(str(tmp_path / "dst" / "model.ckpt-2"))[1]["note"] == 2


def test_single_prefix_into_a_directory_or_prefix(tmp_path):
    src = str(FIXTURES / "dtypes" / "model.ckpt-3")
    (tmp_path / "d").mkdir()
    one = convert_checkpoint(src, str(tmp_path / "d"), "estcore")
    assert one.destination == str(tmp_path / "d" / "model.ckpt-3")
    two = convert_checkpoint(src, str(tmp_path / "x" / "renamed-7"), "estcore")
    _assert_same_values(src, two.destination)
    assert not os.path.exists(tmp_path / "x" / "checkpoint")  # a prefix: no state file


def test_existing_destination_needs_overwrite(tmp_path, capsys):
    src = str(FIXTURES / "mlp_adam")
    assert main(["checkpoint", "convert", src, str(tmp_path), "--to", "estcore"]) == 0
    assert main(["checkpoint", "convert", src, str(tmp_path), "--to", "estcore"]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(AlreadyExistsError):
        convert_model_dir(src, str(tmp_path), "estcore")
    assert main(["checkpoint", "convert", src, str(tmp_path), "--to", "estcore",
                 "--overwrite"]) == 0


def test_unconvertible_variables_and_missing_sources_are_clear_errors(tmp_path, capsys):
    assert main(["checkpoint", "convert", str(FIXTURES / "unsupported"), str(tmp_path / "o"),
                 "--to", "estcore"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("estcore: error: Cannot read variable 'complex'")
    assert "complex64" in err
    with pytest.raises(NotFoundError, match="no checkpoint"):
        convert_checkpoint(str(tmp_path / "model.ckpt-1"), str(tmp_path / "y"), "tf")
    with pytest.raises(NotFoundError, match="no checkpoint in"):
        convert_model_dir(str(tmp_path), str(tmp_path / "z"), "tf")
    with pytest.raises(InvalidArgumentError, match="'to' must be one of"):
        convert_checkpoint(str(FIXTURES / "dtypes" / "model.ckpt-3"), str(tmp_path), "onnx")
    with pytest.raises(SystemExit):
        main(["checkpoint", "convert", "a", "b", "--to", "onnx"])


def test_a_tf_to_tf_conversion_copies_a_sharded_checkpoint_into_one_shard(tmp_path):
    src = str(FIXTURES / "sharded" / "model.ckpt-3")
    dst = str(tmp_path / "model.ckpt-3")
    convert_checkpoint(src, dst, "tf")
    assert tf_bundle.read_index(dst).num_shards == 1
    _assert_same_values(src, dst)


def test_source_is_never_modified(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "mlp_adam", src)
    write_checkpoint(str(src / "model.ckpt-2"), {"w": np.zeros(1)})
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    convert_model_dir(str(src), str(tmp_path / "dst"), "tf")
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    assert sorted(os.listdir(tmp_path / "dst")) == [
        "checkpoint", "model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index",
        "model.ckpt-6.data-00000-of-00001", "model.ckpt-6.index"]
