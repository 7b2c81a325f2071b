"""Fuzz tests (hypothesis) of the byte parsers: the checkpoint reader, the export loader
and the ``tf.Example`` parser, with random and mutated inputs.

Each input must either parse or raise the format's own error (CheckpointCorruptError,
ExportFormatError, ProtoDecodeError / InvalidArgumentError), and the parse must not
allocate more than a small multiple of the input's size (tracemalloc peak, which numpy's
buffers report too; :data:`MEMORY_FACTOR` times the input plus :data:`MEMORY_SLACK`).

CI runs a few hundred derandomized examples per test. For a long run::

    ESTCORE_FUZZ_EXAMPLES=20000 python -m pytest tests/reliability/test_fuzz.py

(random seeds then; a failure prints the input to reproduce it with ``@example``).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import estcore as ec
import estcore.saved_model as sm
from estcore.checkpoint.format import CheckpointCorruptError, read_checkpoint, write_checkpoint
from estcore.errors import InvalidArgumentError
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.export import ExportFormatError
from estcore.export import format as fmt
from estcore.graph.example_proto import ProtoDecodeError, decode_example, encode_example

_LONG = int(os.environ.get("ESTCORE_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_LONG or 200, derandomize=not _LONG, deadline=None,
                database=None, suppress_health_check=list(HealthCheck))
SLOW_FUZZ = settings(FUZZ, max_examples=_LONG or 60)

MEMORY_FACTOR = 16
MEMORY_SLACK = 1 << 20


def _peak(fn, *args):
    """``(result or exception, tracemalloc peak in bytes)`` of ``fn(*args)``."""
    tracemalloc.start()
    try:
        try:
            out = fn(*args)
        except Exception as e:  # noqa: BLE001 - the caller checks the type
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _mutate(data: bytes, edits) -> bytes:
    """Apply ``(kind, position, value)`` edits: overwrite, insert, delete, cut."""
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            buf = bytearray(value.to_bytes(1, "little"))
            continue
        i = pos % len(buf)
        if kind == 0:
            buf[i] = value
        elif kind == 1:
            buf[i:i] = bytes([value])
        elif kind == 2:
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**31), st.integers(0, 255)),
                 min_size=1, max_size=8)


# ----------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    path = write_checkpoint(str(d / "model.ckpt-1"), {
        "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4),
        "dense/bias": np.ones(4, np.float64), "global_step": np.int64(1),
        "flags": np.array([True, False]), "empty": np.zeros((0, 5), np.int32)},
        meta={"global_step": 1})
    with open(path, "rb") as f:
        return f.read()


def _read_checkpoint_bytes(tmp_path, data: bytes):
    path = str(tmp_path / "fuzz.ckpt.data")
    with open(path, "wb") as f:
        f.write(data)
    out, peak = _peak(read_checkpoint, path)
    assert out.__class__ is tuple or isinstance(out, CheckpointCorruptError), repr(out)
    assert peak <= MEMORY_FACTOR * len(data) + MEMORY_SLACK, (peak, len(data))
    return out


@FUZZ
@given(data=st.binary(max_size=4096))
def test_checkpoint_reader_on_random_bytes(tmp_path_factory, data):
    out = _read_checkpoint_bytes(tmp_path_factory.mktemp("r"), data)
    assert isinstance(out, CheckpointCorruptError)


@FUZZ
@given(edits=EDITS)
def test_checkpoint_reader_on_mutated_checkpoints(tmp_path_factory, checkpoint_bytes, edits):
    _read_checkpoint_bytes(tmp_path_factory.mktemp("m"), _mutate(checkpoint_bytes, edits))


@FUZZ
@given(header=st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["tensors", "meta", "name", "dtype", "shape", "offset", "nbytes"]),
        c, max_size=5), max_leaves=30))
def test_checkpoint_reader_on_crafted_headers(tmp_path_factory, header):
    """Valid markers and CRC around an arbitrary JSON header (sizes, offsets, shapes of
    any value): the bounds are checked before anything is allocated."""
    raw = json.dumps(header).encode()
    head = b"ESTCKPT\0" + struct.pack("<IQ", 1, len(raw)) + raw
    body = head + b"\0" * ((-len(head)) % 64) + b"\x01" * 256
    data = body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF) + b"ESTCEND\0"
    _read_checkpoint_bytes(tmp_path_factory.mktemp("h"), data)


# ----------------------------------------------------------------------- exports
def _model_fn(features, labels, mode):
    x = ec.reshape(features["x"], [-1, 4, 4, 1])
    c = ec.layers.conv2d(x, 2, [3, 3], padding="same", activation=ec.nn.relu)
    p = ec.layers.average_pooling2d(c, pool_size=[2, 2], strides=2)
    logits = ec.layers.dense(ec.layers.flatten(p), 3)
    pred = {"classes": ec.argmax(logits, 1), "probabilities": ec.nn.softmax(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=pred)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    x = np.random.default_rng(0).normal(size=(20, 16)).astype(np.float32)
    est = Estimator(_model_fn, str(d / "model"), RunConfig(log_step_count_steps=None,
                                                           save_summary_steps=None))
    est.train(numpy_input_fn({"x": x}, (x[:, 0] > 0).astype(np.int32), batch_size=10,
                             num_epochs=1, shuffle=False))
    serving = ec.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": np.zeros((1, 16), np.float32)})
    return os.fsdecode(est.export_saved_model(str(d / "out"), serving))


def _export_size(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def _load_copy(export_dir, tmp_path, change):
    d = str(tmp_path / "e")
    shutil.copytree(export_dir, d)
    change(d)
    out, peak = _peak(sm.load, d)
    assert isinstance(out, (sm.Predictor, ExportFormatError)), repr(out)
    # the graph's JSON becomes Python objects: a larger factor than for raw bytes, and
    # the load compiles a plan for a batch of one (a few MiB at most for this model)
    assert peak <= 4 * MEMORY_FACTOR * _export_size(d) + 8 * MEMORY_SLACK, peak
    if isinstance(out, sm.Predictor):
        try:
            out({"x": np.ones((2, 16), np.float32)})
        except (ValueError, TypeError, KeyError, InvalidArgumentError, ec.errors.OpError):
            pass
    return out


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6) | st.sampled_from([{"$tuple": [0, 0]}, {"$shape": [2**21, 16]},
                                            {"$dtype": "float64"}, {"$array": "nope"}]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=10)


@SLOW_FUZZ
@given(which=st.integers(0, 2**31), value=JSON_VALUES, where=st.integers(0, 4))
def test_export_loader_on_edited_graph_json(tmp_path_factory, export_dir, which, value,
                                            where):
    """One field of saved_model.json replaced by arbitrary JSON, checksum recomputed
    (so the edit reaches the validation behind it)."""
    def change(d):
        f = os.path.join(d, fmt.GRAPH_FILE)
        with open(f) as fh:
            data = json.load(fh)
        nodes = data["graph"]["nodes"]
        node = nodes[which % len(nodes)]
        if where == 0 and node["attrs"]:
            keys = sorted(node["attrs"])
            node["attrs"][keys[which % len(keys)]] = value
        elif where == 1:
            node["outputs"] = value
        elif where == 2:
            node["inputs"] = value
        elif where == 3:
            sig = data["signatures"]["serving_default"]
            part = sig["inputs" if which % 2 else "outputs"]
            key = sorted(part)[which % len(part)]
            part[key] = value if not isinstance(value, dict) else {**part[key], **value}
        else:
            data["graph"]["nodes"] = nodes[: which % (len(nodes) + 1)]
        data["checksum"] = fmt.json_checksum(data)
        with open(f, "w") as fh:
            json.dump(data, fh)
    _load_copy(export_dir, tmp_path_factory.mktemp("j"), change)


@SLOW_FUZZ
@given(victim=st.sampled_from([fmt.GRAPH_FILE, fmt.VARIABLES_FILE, fmt.CONSTS_FILE]),
       edits=EDITS)
def test_export_loader_on_mutated_files(tmp_path_factory, export_dir, victim, edits):
    def change(d):
        f = os.path.join(d, victim)
        with open(f, "rb") as fh:
            data = fh.read()
        with open(f, "wb") as fh:
            fh.write(_mutate(data, edits))
    out = _load_copy(export_dir, tmp_path_factory.mktemp("b"), change)
    if not isinstance(out, ExportFormatError):
        # only a mutation that changed nothing loads: the same bytes, or for the JSON
        # whitespace (its checksum covers the canonical JSON)
        with open(os.path.join(export_dir, victim), "rb") as a, \
                open(os.path.join(out.export_dir, victim), "rb") as b:
            before, after = a.read(), b.read()
        if victim == fmt.GRAPH_FILE:
            assert json.loads(before) == json.loads(after)
        else:
            assert before == after


# ----------------------------------------------------------------------- tf.Example
EXAMPLES = st.dictionaries(
    st.text(max_size=5),
    st.lists(st.floats(width=32, allow_nan=False), max_size=6)
    | st.lists(st.integers(-2**63, 2**63 - 1), max_size=6)
    | st.lists(st.binary(max_size=6), min_size=1, max_size=4),
    max_size=4)


def _decode(data: bytes):
    out, peak = _peak(decode_example, data)
    assert isinstance(out, (dict, ProtoDecodeError)), repr(out)
    assert peak <= MEMORY_FACTOR * len(data) + MEMORY_SLACK, (peak, len(data))
    return out


@FUZZ
@given(data=st.binary(max_size=2048))
def test_example_parser_on_random_bytes(data):
    _decode(data)


@FUZZ
@given(features=EXAMPLES, edits=EDITS)
def test_example_parser_on_mutated_examples(features, edits):
    data = encode_example(features)
    decoded = _decode(data)
    assert set(decoded) == set(features)  # the unmutated Example round-trips
    for key, values in features.items():
        kind, got = decoded[key]
        if values and isinstance(values[0], bytes):
            assert got == values
        else:
            np.testing.assert_array_equal(got, np.asarray(values, got.dtype))
    _decode(_mutate(data, edits))


@pytest.mark.parametrize("payload", [
    b"\x80" * 4096,                                   # a varint that never ends
    b"\x0a\xff\xff\xff\xff\x0f" + b"\0" * 16,         # a length far beyond the input
    b"\x1a\x82\x80\x80" + b"\x01" * 64,               # packed ints in a Features field
    b"\x0a\x08\x0a\x06\x0a\x00\x12\x02\x1a\x00" * 1000,  # many empty Int64Lists
])
def test_example_parser_on_crafted_inputs(payload):
    _decode(payload)


def test_dense_packed_int64_lists_stay_within_the_memory_bound():
    """One-byte varints decode to int64 (8 bytes each): the worst case for the bound."""
    values = np.full(200_000, 5, np.int64)
    _decode(encode_example({"x": values}))
    values = np.full(100_000, 300, np.int64)  # two-byte varints
    _decode(encode_example({"x": values}))


@FUZZ
@given(batch=st.lists(st.binary(max_size=64) | EXAMPLES.map(encode_example), min_size=1,
                      max_size=4))
def test_parse_example_op_raises_invalid_argument_only(batch):
    with ec.Graph().as_default() as g:
        ser = ec.placeholder(ec.string, [None])
        parsed = ec.io.parse_example(ser, {
            "a": ec.io.FixedLenFeature([], ec.float32, default_value=0.0),
            "b": ec.io.FixedLenFeature([2], ec.int64, default_value=[0, 0]),
            "s": ec.io.FixedLenFeature([1], ec.string, default_value=[b""])})
        g.finalize()
        with ec.Session(graph=g) as sess:
            try:
                sess.run(parsed, {ser: np.array(batch, dtype=object)})
            except InvalidArgumentError:
                pass
