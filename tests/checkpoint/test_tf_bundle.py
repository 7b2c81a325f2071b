"""TF's tensor bundle: reading TF 2.15's checkpoints, writing ones TF 2.15 reads.

The fixtures under fixtures/tf were written by TF 2.15 (tools/tf_fixtures/
make_tf_checkpoints.py, which also recorded what TF reads back), and by estcore
(make_estcore_checkpoints.py), then read by TF 2.15 (check_estcore_checkpoints.py,
whose record is estcore_written.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct

import numpy as np
import pytest

from estcore._lib._pipeline import crc32c
from estcore.checkpoint import tf_bundle
from estcore.checkpoint.format import (
    CheckpointCorruptError,
    read_checkpoint,
    read_header_unverified,
    read_tensor_unverified,
    stored_format,
    write_checkpoint,
)
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import (
    CheckpointReader,
    checkpoint_exists,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
    restorable_checkpoint,
)
from estcore.checkpoint.tf_sstable import build_table, mask_crc, read_table
from estcore.errors import InvalidArgumentError, NotFoundError
from estcore.proto import wire

from .tf_models import FIXTURES, deterministic_tensors


def _tf_record(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _little_endian_hex(value: np.ndarray) -> str:
    return value.astype(value.dtype.newbyteorder("<")).tobytes().hex()


@pytest.mark.parametrize("name", ["dtypes", "sharded"])
def test_every_variable_reads_as_tf_reads_it(name):
    record = _tf_record(name)
    values, meta = read_checkpoint(str(FIXTURES / name / record["prefix"]))
    assert meta == {}
    assert sorted(values) == sorted(record["variables"])
    for var, want in record["variables"].items():
        got = values[var]
        assert got.dtype.name == want["dtype"], var
        assert list(got.shape) == want["shape"], var
        assert _little_endian_hex(got) == want["hex"], var


def test_sharded_checkpoint_has_two_data_files():
    files = tf_bundle.bundle_files(str(FIXTURES / "sharded" / "model.ckpt-3"))
    assert [os.path.basename(f) for f in files] == [
        "model.ckpt-3.index", "model.ckpt-3.data-00000-of-00002",
        "model.ckpt-3.data-00001-of-00002"]
    index = tf_bundle.read_index(str(FIXTURES / "sharded" / "model.ckpt-3"))
    assert index.num_shards == 2
    assert {e.shard for e in index.entries.values()} == {0, 1}


def test_reader_api_on_a_tf_model_dir():
    model_dir = str(FIXTURES / "dtypes")
    record = _tf_record("dtypes")["variables"]
    assert latest_checkpoint(model_dir) == os.path.join(model_dir, "model.ckpt-3")
    assert checkpoint_exists(os.path.join(model_dir, "model.ckpt-3"))
    assert stored_format(os.path.join(model_dir, "model.ckpt-3")) == "tf"
    assert list_variables(model_dir) == sorted((n, v["shape"]) for n, v in record.items())
    reader = load_checkpoint(model_dir)
    assert reader.format == "tf"
    assert reader.get_variable_to_dtype_map() == {n: v["dtype"] for n, v in record.items()}
    assert _little_endian_hex(load_variable(model_dir, "f64:0")) == record["f64"]["hex"]
    assert reader.has_tensor("i64") and not reader.has_tensor("nope")
    with pytest.raises(NotFoundError, match="^Key nope not found in checkpoint$"):
        reader.get_tensor("nope")
    assert int(read_tensor_unverified(os.path.join(model_dir, "model.ckpt-3"),
                                      "global_step")) == 0


def test_reader_accepts_the_index_file_itself():
    index = str(FIXTURES / "dtypes" / "model.ckpt-3.index")
    assert CheckpointReader(index).get_variable_to_shape_map()["f32"] == [2, 3, 4]
    assert read_checkpoint(index)[0]["i8"].dtype == np.int8


def test_unsupported_variables_are_listed_and_fail_only_when_read():
    model_dir = str(FIXTURES / "unsupported")
    record = _tf_record("unsupported")["variables"]
    assert list_variables(model_dir) == sorted((n, v["shape"]) for n, v in record.items())
    dtypes = load_checkpoint(model_dir).get_variable_to_dtype_map()
    assert dtypes == {n: v["dtype"] for n, v in record.items()}
    assert _little_endian_hex(load_variable(model_dir, "weights")) == record["weights"]["hex"]
    for name, why in [("vocab", "dtype string"), ("complex", "dtype complex64"),
                      ("half_b", "dtype bfloat16"), ("part", "partitioned")]:
        with pytest.raises(InvalidArgumentError, match=f"variable '{name}' .*{why}"):
            load_variable(model_dir, name)
    values, _ = read_checkpoint(os.path.join(model_dir, "model.ckpt-3"))
    assert "vocab" in values and sorted(values) == ["weights"]
    assert values.unreadable == ["complex", "half_b", "part", "vocab"]
    with pytest.raises(InvalidArgumentError, match="'vocab'.*string"):
        values["vocab"]
    with pytest.raises(KeyError):
        values["absent"]


def test_estcore_writes_the_bytes_tf_read_back(tmp_path):
    """The committed estcore_written/dtypes was read by TF 2.15 (its checksums are in
    estcore_written.json); the writer today writes the very same files."""
    tensors = deterministic_tensors()
    Saver(checkpoint_format="tf").save(tensors, str(tmp_path / "model.ckpt"), 3)
    committed = FIXTURES / "estcore_written" / "dtypes"
    for name in ("model.ckpt-3.index", "model.ckpt-3.data-00000-of-00001"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
    seen_by_tf = json.loads((FIXTURES / "estcore_written.json").read_text())["dtypes"]
    assert sorted(seen_by_tf) == sorted(tensors)
    for name, value in tensors.items():
        raw = value.astype(value.dtype.newbyteorder("<")).tobytes()
        assert seen_by_tf[name]["sha256"] == hashlib.sha256(raw).hexdigest(), name
        assert seen_by_tf[name]["dtype"] == value.dtype.name
        assert seen_by_tf[name]["shape"] == list(value.shape)


def test_write_then_read_round_trip_with_meta(tmp_path):
    tensors = deterministic_tensors()
    prefix = str(tmp_path / "m" / "model.ckpt-9")
    tf_bundle.write_bundle(prefix, tensors, {"train_call": {"complete": False}})
    values, meta = read_checkpoint(prefix)
    assert meta == {"train_call": {"complete": False}}
    assert sorted(values) == sorted(tensors)
    for name, value in tensors.items():
        assert values[name].dtype == value.dtype and values[name].shape == value.shape
        np.testing.assert_array_equal(values[name], value)
    assert read_header_unverified(prefix)["meta"] == meta


def test_big_endian_arrays_are_written_little_endian(tmp_path):
    prefix = str(tmp_path / "model.ckpt-1")
    value = np.arange(6, dtype=">f8").reshape(2, 3)
    tf_bundle.write_bundle(prefix, {"w": value})
    data = (tmp_path / "model.ckpt-1.data-00000-of-00001").read_bytes()
    assert data == value.astype("<f8").tobytes()
    np.testing.assert_array_equal(read_checkpoint(prefix)[0]["w"], value)


@pytest.mark.parametrize("bad", [{"s": np.array(["a"])}, {"c": np.ones(2, np.complex64)},
                                 {"": np.ones(1)}, {"\0x": np.ones(1)}])
def test_writer_refuses_what_it_cannot_store_and_writes_nothing(tmp_path, bad):
    with pytest.raises(InvalidArgumentError, match="Cannot save|names must"):
        tf_bundle.write_bundle(str(tmp_path / "model.ckpt-1"), bad)
    assert os.listdir(tmp_path) == []


def test_missing_checkpoint_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="Failed to find any matching files"):
        tf_bundle.read_index(str(tmp_path / "model.ckpt-1"))


def test_saver_tf_format_rotates_every_file_of_a_checkpoint(tmp_path):
    saver = Saver(max_to_keep=2, checkpoint_format="tf")
    for step in (1, 2, 3):
        saver.save({"w": np.full(3, step, np.float32)}, str(tmp_path / "model.ckpt"), step)
    names = sorted(os.listdir(tmp_path))
    assert names == ["checkpoint", "model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index",
                     "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index"]
    assert load_variable(str(tmp_path), "w").tolist() == [3, 3, 3]
    assert restorable_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-3")


def test_saver_rejects_unknown_format():
    with pytest.raises(ValueError, match="checkpoint_format"):
        Saver(checkpoint_format="tensorflow")


def test_estcore_continuing_a_tf_model_dir_rotates_tf_checkpoints_out(tmp_path):
    """The state file lists TF's checkpoint; estcore's saves join the list and rotation
    removes TF's files (index and data) when it falls out, as TF's Saver would."""
    shutil.copytree(FIXTURES / "mlp_adam", tmp_path, dirs_exist_ok=True)
    values, _ = read_checkpoint(str(tmp_path / "model.ckpt-6"))
    saver = Saver(max_to_keep=2)
    saver.recover_last_checkpoints(str(tmp_path))
    assert saver.last_checkpoints == [str(tmp_path / "model.ckpt-6")]
    for step in (7, 8):
        saver.save(dict(values), str(tmp_path / "model.ckpt"), step)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-7.data",
                                           "model.ckpt-8.data"]


def test_both_formats_at_one_prefix_newest_wins(tmp_path):
    prefix = str(tmp_path / "model.ckpt-5")
    write_checkpoint(prefix, {"w": np.zeros(2)})
    tf_bundle.write_bundle(prefix, {"w": np.ones(2)})
    os.utime(prefix + ".data", ns=(1_000_000_000, 1_000_000_000))
    assert stored_format(prefix) == "tf"
    assert read_checkpoint(prefix)[0]["w"].tolist() == [1, 1]
    os.utime(prefix + ".index", ns=(500_000_000, 500_000_000))
    assert stored_format(prefix) == "estcore"
    assert read_checkpoint(prefix)[0]["w"].tolist() == [0, 0]
    saver = Saver(max_to_keep=1)
    saver.save({"w": np.zeros(2)}, str(tmp_path / "model.ckpt"), 5)
    saver.save({"w": np.zeros(2)}, str(tmp_path / "model.ckpt"), 6)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-6.data"]


def test_tf_v1_checkpoint_file_is_named_as_unsupported(tmp_path):
    v1 = tmp_path / "model.ckpt-5"
    v1.write_bytes(b"\x00" * 64)  # TF's V1 format: one file named as the prefix
    with pytest.raises(NotFoundError, match="V1 checkpoint format"):
        read_checkpoint(str(v1))
    assert not checkpoint_exists(str(v1))


def test_big_endian_bundle_reads_in_native_order(tmp_path):
    """A bundle whose header says BIG (TF on a big-endian host) holds big-endian bytes."""
    prefix = str(tmp_path / "model.ckpt-1")
    value = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    tf_bundle.write_bundle(prefix, {"w": value})
    big = value.astype(">f4").tobytes()
    (tmp_path / "model.ckpt-1.data-00000-of-00001").write_bytes(big)
    items = read_table((tmp_path / "model.ckpt-1.index").read_bytes(), "i")
    entry = items[1][1]
    crc_at = entry.rindex(bytes([0x35]))  # the fixed32 crc32c field's tag
    entry = entry[:crc_at + 1] + struct.pack("<I", mask_crc(crc32c(big)))
    header = wire.field_varint(1, 1) + wire.field_varint(2, 1) + wire.field_bytes(
        3, wire.field_varint(1, 1))
    (tmp_path / "model.ckpt-1.index").write_bytes(build_table([(b"", header),
                                                               (b"w", entry)]))
    got = read_checkpoint(prefix)[0]["w"]
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, value)


def test_an_entry_without_crc_field_means_a_masked_crc_of_zero(tmp_path):
    """proto3 leaves a zero fixed32 out: such an entry is checked against 0 (and its
    bytes, whose masked CRC is not 0, are then a checksum mismatch naming it)."""
    prefix = str(tmp_path / "model.ckpt-1")
    tf_bundle.write_bundle(prefix, {"w": np.ones(3, np.float32)})
    items = read_table((tmp_path / "model.ckpt-1.index").read_bytes(), "i")
    entry = items[1][1]
    entry = entry[:entry.rindex(bytes([0x35]))]  # drop the crc32c field
    (tmp_path / "model.ckpt-1.index").write_bytes(build_table([items[0], (b"w", entry)]))
    assert tf_bundle.read_index(prefix).entries["w"].crc == 0
    with pytest.raises(CheckpointCorruptError, match="checksum mismatch for variable 'w'"):
        read_checkpoint(prefix)
