"""A damaged TF checkpoint is an error naming the file and the variable, never weights.

The reliability rules of estcore's own format (tests/reliability) applied to TF's
tensor bundle: truncation and flipped bytes in the index and the data files, sizes,
offsets and shards that do not fit, random and mutated indexes (hypothesis), and
the Estimator's fall-back past a damaged newest checkpoint. Each read either returns
exactly the values TF wrote or raises :class:`CheckpointCorruptError` (TF's
``DataLossError``), within a memory bound.
"""

from __future__ import annotations

import os
import shutil
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estcore.checkpoint import tf_bundle
from estcore.checkpoint.format import CheckpointCorruptError, read_checkpoint
from estcore.checkpoint.state import CheckpointReader, restorable_checkpoint
from estcore.checkpoint.tf_sstable import build_table, read_table
from estcore.errors import DataLossError, NotFoundError
from estcore.estimator import Estimator, RunConfig
from estcore.proto import wire

from . import tf_models as tm

_LONG = int(os.environ.get("ESTCORE_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_LONG or 150, derandomize=not _LONG, deadline=None,
                database=None, suppress_health_check=list(HealthCheck))
MEMORY_FACTOR = 16
MEMORY_SLACK = 1 << 20


def open_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _copy(tmp_path, name="mlp_adam") -> str:
    model_dir = str(tmp_path / name)
    shutil.copytree(tm.FIXTURES / name, model_dir)
    return model_dir


def _files(model_dir: str, step: int) -> tuple[str, str, str]:
    prefix = os.path.join(model_dir, f"model.ckpt-{step}")
    return prefix, prefix + ".index", prefix + ".data-00000-of-00001"


def _read_all(prefix: str):
    values, _ = read_checkpoint(prefix)
    return {k: v.copy() for k, v in values.items()}


@pytest.fixture(scope="module")
def reference():
    return _read_all(str(tm.FIXTURES / "mlp_adam" / "model.ckpt-6"))


def _same(got: dict, want: dict) -> bool:
    return sorted(got) == sorted(want) and all(
        got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]) for k in want)


def test_every_truncation_of_the_index_is_an_error_naming_it(tmp_path):
    prefix, index, _ = _files(_copy(tmp_path), 6)
    original = open_bytes(index)
    for n in range(len(original)):
        with open(index, "wb") as f:
            f.write(original[:n])
        with pytest.raises(CheckpointCorruptError, match="model.ckpt-6.index"):
            read_checkpoint(prefix)


def test_every_truncation_of_the_data_is_an_error_naming_file_and_variable(tmp_path):
    prefix, _, data = _files(_copy(tmp_path), 6)
    original = open_bytes(data)
    for n in range(0, len(original), 7):
        with open(data, "wb") as f:
            f.write(original[:n])
        with pytest.raises(CheckpointCorruptError, match="data-00000-of-00001.*variable '"):
            read_checkpoint(prefix)


def test_every_flipped_byte_of_the_index_is_detected_or_harmless(tmp_path, reference):
    """Bytes under a block CRC, the handles and the magic are detected; the footer's
    zero padding is not covered by any checksum (nor in TF): a flip there changes
    nothing read."""
    prefix, index, _ = _files(_copy(tmp_path), 6)
    original = open_bytes(index)
    detected = 0
    for i in range(len(original)):
        damaged = bytearray(original)
        damaged[i] ^= 0x5A
        with open(index, "wb") as f:
            f.write(damaged)
        try:
            got = _read_all(prefix)
        except CheckpointCorruptError as e:
            assert "model.ckpt-6" in str(e)
            detected += 1
            continue
        assert _same(got, reference), f"byte {i}: different values read without an error"
    assert detected >= len(original) - 40


def test_every_flipped_byte_of_the_data_names_its_variable(tmp_path):
    prefix, _, data = _files(_copy(tmp_path), 6)
    original = open_bytes(data)
    index = tf_bundle.read_index(prefix)
    owner = {}
    for entry in index.entries.values():
        for pos in range(entry.offset, entry.offset + entry.size):
            owner[pos] = entry.name
    assert sorted(owner) == list(range(len(original)))  # no byte outside a tensor
    for i in range(0, len(original), 3):
        damaged = bytearray(original)
        damaged[i] ^= 0x01
        with open(data, "wb") as f:
            f.write(damaged)
        with pytest.raises(CheckpointCorruptError,
                           match=f"checksum mismatch for variable '{owner[i]}'"):
            read_checkpoint(prefix)
        with pytest.raises(DataLossError):
            CheckpointReader(prefix).get_tensor(owner[i])


def _rewrite_entry(index_path: str, name: str, **fields) -> None:
    """Re-encode variable ``name``'s BundleEntryProto with ``fields`` (dtype, shard,
    offset, size, shape) replaced, keeping the table's checksums valid."""
    items = read_table(open_bytes(index_path), index_path)
    out = []
    for key, value in items:
        if key == name.encode():
            entry = {f: v for f, _, v in wire.iter_fields(value)}
            numbers = {"dtype": 1, "shard": 3, "offset": 4, "size": 5}
            for field, v in fields.items():
                if field == "shape":
                    entry[2] = b"".join(wire.field_bytes(2, wire.field_varint(1, d))
                                        for d in v)
                else:
                    entry[numbers[field]] = v
            value = b""
            for f, v in sorted(entry.items()):
                if f == 6:
                    value += wire.tag(6, wire.FIXED32) + struct.pack("<I", v)
                elif isinstance(v, bytes):
                    value += wire.field_bytes(f, v)
                else:
                    value += wire.field_varint(f, v)
        out.append((key, value))
    with open(index_path, "wb") as f:
        f.write(build_table(out))


@pytest.mark.parametrize("fields,match", [
    (dict(size=1 << 62), "bytes stored for shape"),
    (dict(shape=[1 << 40, 1 << 30]), "bytes stored for shape"),
    (dict(offset=1 << 40), "runs past the end"),
    (dict(offset=810), "runs past the end"),
    (dict(shard=3), "shard 3 of 1"),
    (dict(size=28), "bytes stored for shape"),
])
def test_entries_that_do_not_fit_are_refused_before_reading(tmp_path, fields, match):
    prefix, index, _ = _files(_copy(tmp_path), 6)
    _rewrite_entry(index, "dense/bias", **fields)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointCorruptError, match=match) as info:
            read_checkpoint(prefix)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "'dense/bias'" in str(info.value)
    assert peak < MEMORY_SLACK


def test_a_changed_dtype_fails_the_size_or_checksum_check(tmp_path):
    prefix, index, _ = _files(_copy(tmp_path), 6)
    _rewrite_entry(index, "dense/bias", dtype=3)  # int32: same size, wrong meaning
    values, _ = read_checkpoint(prefix)  # the bytes are intact: TF reads them as int32 too
    assert values["dense/bias"].dtype == np.int32
    _rewrite_entry(index, "dense/bias", dtype=2)  # float64: twice the size
    with pytest.raises(CheckpointCorruptError, match="'dense/bias'"):
        read_checkpoint(prefix)


def test_a_missing_data_shard_is_an_error_naming_it(tmp_path):
    model_dir = _copy(tmp_path, "sharded")
    os.remove(os.path.join(model_dir, "model.ckpt-3.data-00001-of-00002"))
    with pytest.raises(CheckpointCorruptError, match="data-00001-of-00002 .* is missing"):
        read_checkpoint(os.path.join(model_dir, "model.ckpt-3"))


def test_a_bad_header_is_refused(tmp_path):
    prefix, index, _ = _files(_copy(tmp_path), 6)
    items = read_table(open_bytes(index), index)
    for header, match in [(wire.field_varint(1, 0), "0 shards"),
                          (wire.field_varint(1, 1) + wire.field_bytes(
                              3, wire.field_varint(1, 9) + wire.field_varint(2, 2)),
                           "newer than"),
                          (b"\xff", "not a valid protobuf")]:
        with open(index, "wb") as f:
            f.write(build_table([(b"", header)] + items[1:]))
        with pytest.raises(CheckpointCorruptError, match=match):
            read_checkpoint(prefix)
    with open(index, "wb") as f:
        f.write(build_table(items[1:]))
    with pytest.raises(CheckpointCorruptError, match="header .* is missing"):
        read_checkpoint(prefix)


def _two_checkpoints(tmp_path) -> str:
    """A TF model_dir with model.ckpt-6 (TF's) and model.ckpt-7 (its copy)."""
    model_dir = _copy(tmp_path)
    values, _ = read_checkpoint(os.path.join(model_dir, "model.ckpt-6"))
    values = dict(values)
    values["global_step"] = np.asarray(7, np.int64)
    tf_bundle.write_bundle(os.path.join(model_dir, "model.ckpt-7"), values)
    with open(os.path.join(model_dir, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-7"\n'
                'all_model_checkpoint_paths: "model.ckpt-6"\n'
                'all_model_checkpoint_paths: "model.ckpt-7"\n')
    return model_dir


def test_training_restores_the_newest_tf_checkpoint_that_loads(tmp_path, caplog):
    model_dir = _two_checkpoints(tmp_path)
    _, index, data = _files(model_dir, 7)
    with open(data, "r+b") as f:
        f.seek(10)
        f.write(b"\xff\xff")
    assert restorable_checkpoint(model_dir) == os.path.join(model_dir, "model.ckpt-6")
    assert "checksum mismatch for variable" in caplog.text
    _, arrays = tm.load_record("mlp_adam")
    est = Estimator(tm.mlp_model_fn, model_dir=model_dir,
                    config=RunConfig(save_summary_steps=None, log_step_count_steps=None))
    est.train(tm.ordered_input_fn(arrays, 16), steps=1)
    assert est.get_variable_value("global_step") == 7


def test_no_loadable_tf_checkpoint_is_an_error_not_random_weights(tmp_path):
    model_dir = _two_checkpoints(tmp_path)
    for step in (6, 7):
        _, index, _ = _files(model_dir, step)
        with open(index, "r+b") as f:
            f.seek(3)
            f.write(b"\x00\x00")
    _, arrays = tm.load_record("mlp_adam")
    est = Estimator(tm.mlp_model_fn, model_dir=model_dir,
                    config=RunConfig(save_summary_steps=None, log_step_count_steps=None))
    with pytest.raises(CheckpointCorruptError, match="can be restored"):
        est.train(tm.ordered_input_fn(arrays, 16), steps=1)


def _parse_or_error(prefix: str):
    tracemalloc.start()
    try:
        try:
            out = _read_all(prefix)
        except (CheckpointCorruptError, NotFoundError) as e:
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@FUZZ
@given(data=st.binary(max_size=400))
def test_fuzz_random_index_bytes(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("rand")
    prefix = str(directory / "model.ckpt-1")
    with open(prefix + ".index", "wb") as f:
        f.write(data)
    out, peak = _parse_or_error(prefix)
    assert isinstance(out, (CheckpointCorruptError, NotFoundError, dict))
    assert peak < MEMORY_FACTOR * len(data) + MEMORY_SLACK


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                      min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10_000)),
       target=st.sampled_from(["index", "data"]))
def test_fuzz_mutated_tf_checkpoint(tmp_path_factory, reference, edits, cut, target):
    model_dir = str(tmp_path_factory.mktemp("mut") / "m")
    shutil.copytree(tm.FIXTURES / "mlp_adam", model_dir)
    prefix, index, data = _files(model_dir, 6)
    path = index if target == "index" else data
    raw = bytearray(open_bytes(path))
    for pos, value in edits:
        raw[pos % len(raw)] = value
    if cut is not None:
        raw = raw[:cut % (len(raw) + 1)]
    with open(path, "wb") as f:
        f.write(raw)
    out, peak = _parse_or_error(prefix)
    if isinstance(out, dict):
        assert _same(out, reference)  # only edits that changed nothing checked read back
    else:
        assert isinstance(out, CheckpointCorruptError)
    assert peak < MEMORY_FACTOR * 2000 + MEMORY_SLACK


@FUZZ
@given(items=st.dictionaries(st.binary(min_size=1, max_size=30), st.binary(max_size=50),
                             max_size=60),
       block_size=st.integers(1, 2000))
def test_fuzz_table_round_trip(items, block_size):
    ordered = sorted(items.items())
    assert read_table(build_table(ordered, block_size=block_size), "t") == ordered


_ENTRY_FIELDS = st.one_of(
    st.tuples(st.sampled_from([1, 3, 4, 5]), st.integers(0, (1 << 64) - 1)).map(
        lambda fv: wire.field_varint(fv[0], fv[1])),
    st.lists(st.integers(-3, 1 << 40), max_size=4).map(
        lambda dims: wire.field_bytes(2, b"".join(
            wire.field_bytes(2, wire.field_varint(1, d)) for d in dims))),
    st.integers(0, 0xFFFFFFFF).map(
        lambda c: wire.tag(6, wire.FIXED32) + struct.pack("<I", c)),
    st.binary(max_size=12),
)


@FUZZ
@given(fields=st.lists(_ENTRY_FIELDS, max_size=7), header=st.one_of(
    st.just(wire.field_varint(1, 1)), st.binary(max_size=12)))
def test_fuzz_entry_protos_inside_a_valid_table(tmp_path_factory, fields, header):
    """The table's checksums hold; the BundleEntryProto and header bytes are random:
    either an error of the format or values that are exactly the checked extents."""
    model_dir = str(tmp_path_factory.mktemp("ent") / "m")
    shutil.copytree(tm.FIXTURES / "mlp_adam", model_dir)
    prefix, index, _ = _files(model_dir, 6)
    items = read_table(open_bytes(index), index)
    items = [(b"", header)] + [(k, b"".join(fields) if k == b"dense/bias" else v)
                               for k, v in items[1:]]
    with open(index, "wb") as f:
        f.write(build_table(items))
    out, peak = _parse_or_error(prefix)
    if isinstance(out, dict):
        for name, value in out.items():
            assert isinstance(value, np.ndarray), name
    assert peak < MEMORY_FACTOR * 2000 + MEMORY_SLACK
