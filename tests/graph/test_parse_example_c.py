"""ParseExample's C kernel (csrc/pipeline/est_example.c) against the Python reference
decoder (graph/example_proto.py) it falls back to: the same values for random Examples
(packed and unpacked lists, duplicate keys, entries without a value, unknown fields,
missing keys with defaults), the same error for the same record whatever the thread
count."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

import estcore as ec
from estcore import errors
from estcore.graph.ops import parsing_ops as P
from estcore.io import FixedLenFeature, encode_example
from estcore.proto.wire import field_bytes, varint

SPEC = {"f": FixedLenFeature([2], ec.float32, default_value=[-1.0, -2.0]),
        "i": FixedLenFeature([], ec.int64, default_value=7),
        "s": FixedLenFeature([2], ec.string, default_value=[b"d0", b"d1"]),
        "req": FixedLenFeature([3], ec.int64)}


def _entry(key: str, feature: bytes | None) -> bytes:
    body = field_bytes(1, key.encode()) + (b"" if feature is None else field_bytes(2, feature))
    return field_bytes(1, body)


def _float_feature(values, packed: bool) -> bytes:
    if packed:
        lst = field_bytes(1, struct.pack(f"<{len(values)}f", *values))
    else:
        lst = b"".join(varint(1 << 3 | 5) + struct.pack("<f", v) for v in values)
    return field_bytes(2, lst + varint(9 << 3) + varint(1))  # an unknown field inside


def _int_feature(values, packed: bool) -> bytes:
    if packed:
        lst = field_bytes(1, b"".join(varint(v & (2**64 - 1)) for v in values))
    else:
        lst = b"".join(varint(1 << 3) + varint(v & (2**64 - 1)) for v in values)
    return field_bytes(3, lst)


def _bytes_feature(values) -> bytes:
    return field_bytes(1, b"".join(field_bytes(1, v) for v in values))


def _random_example(rng: random.Random) -> bytes:
    entries = []
    if rng.random() < 0.8:
        entries.append(_entry("f", _float_feature([rng.uniform(-9, 9) for _ in range(2)],
                                                  rng.random() < 0.5)))
    if rng.random() < 0.8:
        entries.append(_entry("i", _int_feature([rng.randint(-2**63, 2**63 - 1)],
                                                rng.random() < 0.5)))
    if rng.random() < 0.8:
        entries.append(_entry("s", _bytes_feature([rng.randbytes(rng.randint(0, 5))
                                                   for _ in range(2)])))
    entries.append(_entry("req", _int_feature([rng.randint(-5, 5) for _ in range(3)],
                                              rng.random() < 0.5)))
    if rng.random() < 0.3:   # a duplicate: the last valid entry wins
        entries.append(_entry("f", _float_feature([1.0, 2.0], True)))
    if rng.random() < 0.2:   # replaces nothing
        entries.append(_entry("i", None))
    if rng.random() < 0.2:
        entries.append(_entry("other", _bytes_feature([b"x"])))
    rng.shuffle(entries)
    top = varint(5 << 3) + varint(3) + field_bytes(1, b"".join(entries))  # unknown field 5
    return top


def _run(records, threads: int = 1):
    previous = P.set_parse_threads(threads)
    try:
        with ec.Graph().as_default():
            x = ec.placeholder(ec.string, [None])
            parsed = P.parse_example(x, SPEC)
            with ec.Session() as s:
                return s.run(parsed, {x: np.array(records, dtype=object)})
    finally:
        P.set_parse_threads(previous)


def _reference(records):
    """The Python decoder on the same records (the kernel's fallback, run from 0)."""
    keys = tuple(sorted(SPEC))
    checked = [P.check_feature_spec(k, SPEC[k]) for k in keys]
    n = len(records)
    outs = [np.empty((n, *dims), dtype.np) for _, dtype, dims, _ in checked]
    specs = [(k, d, dims, default, o) for (k, d, dims, default), o in zip(checked, outs,
                                                                          strict=True)]
    P._parse_in_python(np.array(records, dtype=object), 0, specs, keys, "")
    return dict(zip(keys, outs, strict=True))


def test_random_examples_match_the_python_decoder():
    rng = random.Random(4)
    records = [_random_example(rng) for _ in range(3000)]
    records += [encode_example({"f": [1.5, 2.5], "i": [3], "s": [b"a", b"b"], "req": [1, 2, 3]})]
    want = _reference(records)
    for threads in (1, 2, 5):
        got = _run(records, threads)
        for k in SPEC:
            assert got[k].dtype == want[k].dtype
            if got[k].dtype == object:
                assert got[k].tolist() == want[k].tolist()
            else:
                np.testing.assert_array_equal(got[k], want[k])
    assert got["i"][-1] == 3 and got["s"][-1].tolist() == [b"a", b"b"]
    missing = [j for j, r in enumerate(records) if b'\n\x01i' not in r]
    assert missing and all(got["i"][j] == 7 for j in missing)


@pytest.mark.parametrize("bad,match", [
    (b"\x0a\x7f\x01", "Could not parse example input 1700"),
    (field_bytes(1, _entry("req", _int_feature([1, 2, 3], True))
                 + _entry("f", _float_feature([1.0, 2.0, 3.0], True))),
     r"Key: f, Index: 1700.  Number of float values != expected"),
    (field_bytes(1, _entry("req", _int_feature([1, 2, 3], True))
                 + _entry("i", _float_feature([1.0], True))),
     r"Key: i, Index: 1700.  Data types don't match"),
    (field_bytes(1, _entry("f", _float_feature([1.0, 2.0], True))),
     r"Feature: req \(data type: int64\) is required but could not be found"),
])
def test_first_bad_record_worded_by_the_python_decoder(bad, match):
    rng = random.Random(5)
    records = [_random_example(rng) for _ in range(3000)]
    records[1700] = bad
    records[2900] = b"\x0a\x7f\x01"   # a later bad record is not the one reported
    for threads in (1, 3):
        with pytest.raises(errors.InvalidArgumentError, match=match):
            _run(records, threads)


def test_non_bytes_element_is_named():
    records = np.array([encode_example({"req": [1, 2, 3]}), 5], dtype=object)
    with ec.Graph().as_default():
        x = ec.placeholder(ec.string, [None])
        parsed = P.parse_example(x, {"req": SPEC["req"]})
        with ec.Session() as s, pytest.raises(errors.InvalidArgumentError,
                                              match="serialized example 1 is a int, not bytes"):
            s.run(parsed, {x: records})
