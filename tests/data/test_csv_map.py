"""TextLineDataset(...).skip(n).map(decode_csv + packaging) on the bulk CSV reader
(estcore.data.csv_map): the same elements, errors, ignore_errors and resume as the
unfused map, and map_mode reports "bulk_csv"."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore import errors
from estcore.data import csv_map, map_mode
from estcore.inputs.resume import resume_scope

NAMES = ["id", "x", "name", "big"]
DEFAULTS = [[0], [0.0], ["none"], [np.int64(-1)]]


def _body(n: int, seed: int, header: bool = True, bad: int | None = None) -> bytes:
    rng = random.Random(seed)
    lines = [b"id,x,name,big"] if header else []
    for i in range(n):
        name = rng.choice([b"a", b"", b'"q,""x"""', b"NA", b"long" * rng.randint(0, 30)])
        x = rng.choice([repr(rng.uniform(-1e3, 1e3)).encode(), b"", b" 7 ", b"1e-3"])
        big = rng.choice([str(rng.randint(-2**60, 2**60)).encode(), b""])
        if i == bad:
            x = b"oops"
        lines.append(b"%d,%s,%s,%s" % (i, x, name, big) + (b"\r" if i % 7 == 0 else b""))
    return b"\n".join(lines) + b"\n"


def _parse(**kw):
    def parse(line):
        fields = tf.decode_csv(line, record_defaults=DEFAULTS, **kw)
        feats = dict(zip(NAMES, fields, strict=True))
        label = feats.pop("x")
        return feats, label
    return parse


def _values(ds) -> list:
    out = []
    for feats, label in ds:
        out.append(({k: _plain(v) for k, v in feats.items()}, _plain(label)))
    return out


def _plain(v) -> tuple:
    a = np.asarray(v)
    return a.dtype.str, repr(a.tolist())


def _both(make, monkeypatch) -> tuple[list, list]:
    ds = make()
    assert map_mode(ds) == csv_map.BULK_CSV
    fused = _values(ds)
    monkeypatch.setattr(csv_map, "ENABLED", False)
    ds = make()
    assert map_mode(ds) == "vectorized"
    return fused, _values(ds)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gz", [False, True])
def test_bulk_csv_equals_unfused_on_random_files(tmp_path, monkeypatch, seed, gz):
    rng = random.Random(seed)
    paths = []
    for i in range(3):
        body = _body(rng.randint(0, 400), seed * 10 + i, header=(i == 0))
        p = tmp_path / f"f{i}.csv{'.gz' if gz else ''}"
        p.write_bytes(gzip.compress(body) if gz else body)
        paths.append(str(p))
    ct = "GZIP" if gz else None
    skip = rng.choice([1, 2, 5])  # the first file has a header

    def make():
        return tf.data.TextLineDataset(paths, compression_type=ct).skip(skip).map(
            _parse(na_value="NA"))

    fused, unfused = _both(make, monkeypatch)
    assert fused == unfused and len(fused) > 0


def test_skip_longer_than_the_first_file_carries_on(tmp_path, monkeypatch):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(_body(3, 1, header=False))
    b.write_bytes(_body(50, 2, header=False))

    def make():
        return tf.data.TextLineDataset([str(a), str(b)]).skip(5).map(_parse())

    fused, unfused = _both(make, monkeypatch)
    assert fused == unfused and len(fused) == 48


@pytest.mark.parametrize("kw", [{"select_cols": [0, 2, 3, 4]}, {"field_delim": ";"},
                                {"use_quote_delim": False}])
def test_other_decode_csv_arguments(tmp_path, monkeypatch, kw):
    body = _body(300, 5, header=False)
    if "select_cols" in kw:
        body = b"\n".join(line.replace(b",", b",9,", 1) for line in body.split(b"\n")[:-1])
    if "field_delim" in kw:
        body = body.replace(b'"q,""x"""', b"q").replace(b",", b";")
    if "use_quote_delim" in kw:
        body = body.replace(b'"q,""x"""', b'q"x"')
    p = tmp_path / "c.csv"
    p.write_bytes(body)

    def make():
        return tf.data.TextLineDataset(str(p)).map(_parse(**kw))

    fused, unfused = _both(make, monkeypatch)
    assert fused == unfused and len(fused) == 300


def test_not_fused_when_the_function_computes_on_the_fields(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(_body(10, 3, header=False))

    def parse(line):
        fields = tf.decode_csv(line, record_defaults=DEFAULTS)
        return fields[1] * 2.0, fields[0]

    assert map_mode(tf.data.TextLineDataset(str(p)).map(parse)) == "vectorized"
    assert map_mode(tf.data.TextLineDataset(str(p)).shuffle(4).map(_parse())) == "vectorized"


def test_an_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(_body(100, 4, bad=60))
    ds = tf.data.TextLineDataset(str(p)).skip(1).map(_parse())
    assert map_mode(ds) == csv_map.BULK_CSV
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"failed on element 60 of the input \(0-based\), "
                             r".*bad\.csv: line 62: .*Field 1 in record 0 is not a valid "
                             r"float: oops"):
        _values(ds)


def test_ignore_errors_leaves_out_the_same_elements(tmp_path, monkeypatch):
    paths = []
    for i in range(2):
        p = tmp_path / f"bad{i}.csv"
        p.write_bytes(_body(200, 7 + i, header=False, bad=50 + i))
        paths.append(str(p))

    def make():
        return tf.data.TextLineDataset(paths).skip(3).map(_parse()).ignore_errors()

    fused = _values(make())
    monkeypatch.setattr(csv_map, "ENABLED", False)
    assert fused == _values(make()) and len(fused) == 395


def test_resume_continues_exactly(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(_body(500, 9))

    def make():
        return tf.data.TextLineDataset(str(p)).skip(1).map(_parse()).batch(7)

    full = [json.dumps(_values_batch(b)) for b in make()]
    it = iter(make())
    head = [json.dumps(_values_batch(next(it))) for _ in range(20)]
    state = json.loads(json.dumps(it.get_state()))
    with resume_scope(state):
        again = iter(make())
    assert again.resumed
    assert head + [json.dumps(_values_batch(b)) for b in again] == full


def _values_batch(batch) -> list:
    feats, label = batch
    return [sorted((k, _plain(v)) for k, v in feats.items()), _plain(label)]


def test_a_corrupted_gzip_file_raises_or_ends_that_file_as_unfused(tmp_path, monkeypatch):
    good, bad = tmp_path / "good.csv.gz", tmp_path / "bad.csv.gz"
    good.write_bytes(gzip.compress(_body(300, 11, header=False)))
    data = bytearray(gzip.compress(_body(3000, 12, header=False)))
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))

    def make():
        return tf.data.TextLineDataset([str(bad), str(good)], compression_type="GZIP").map(
            _parse())

    with pytest.raises(errors.DataLossError):
        _values(make())
    fused = _values(make().ignore_errors())
    monkeypatch.setattr(csv_map, "ENABLED", False)
    with pytest.raises(errors.DataLossError):
        _values(make())
    assert fused == _values(make().ignore_errors()) and len(fused) >= 300
