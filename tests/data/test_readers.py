"""estcore.data.readers against TF 2.15's readers (fixtures/tf_readers.json, written by
fixtures/make_tf_readers.py) and against plain-Python references for chunking, resume,
compression and damage."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import random
import re
import zlib

import numpy as np
import pytest

from estcore import errors
from estcore.data import readers as R
from estcore.io.tf_record import TFRecordOptions, TFRecordWriter

FIX = pathlib.Path(__file__).resolve().parent / "fixtures"
TF = json.loads((FIX / "tf_readers.json").read_text())
TF_RECORDS = [b"", b"a", b"rec-two", bytes(range(256)), b"x" * 3000]  # make_tf_readers.RECORDS


def _latin(xs):
    return [x.encode("latin-1") for x in xs]


def _all(chunks) -> list[bytes]:
    out = []
    for c in chunks:
        assert isinstance(c, np.ndarray) and c.dtype == object and c.ndim == 1 and len(c)
        assert len(c) <= R.CHUNK_RECORDS
        out.extend(c.tolist())
    return out


def _collect(make):
    """(records before the error, the error or None)."""
    got = []
    try:
        for c in make():
            got.extend(c.tolist())
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        return got, e
    return got, None


def _compressed(body: bytes, ct: str) -> bytes:
    return gzip.compress(body) if ct == "GZIP" else zlib.compress(body)


# ------------------------------------------------------------------ text lines
@pytest.mark.parametrize("case", TF["text"], ids=lambda c: repr(c["body"])[:24])
@pytest.mark.parametrize("ct", [None, "GZIP", "ZLIB"])
def test_text_lines_match_tf(tmp_path, case, ct):
    body = case["body"].encode("latin-1")
    p = tmp_path / "t.txt"
    p.write_bytes(body if ct is None else _compressed(body, ct))
    assert "error" not in case
    assert _all(R.iter_text_lines(p, compression_type=ct)) == _latin(case["records"])


def _lines_reference(body: bytes) -> list[bytes]:
    parts = body.split(b"\n")
    last = parts.pop()
    out = [x.replace(b"\r", b"") for x in parts]
    last = last.replace(b"\r", b"")
    return out + ([last] if last else [])


def _random_text(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        k = rng.choices([0, 1, 5, 40, 300, 5000], weights=[5, 5, 5, 5, 2, 0.1])[0]
        lines.append(bytes(rng.choices(b"abc,\r\t\"x", k=k)))
    return b"\n".join(lines) + (b"\n" if seed % 2 else b"")


@pytest.mark.parametrize("buffer_size", [None, 64, 1000])
def test_text_lines_chunks_and_resume(tmp_path, buffer_size):
    body = _random_text(buffer_size or 1, 9000)
    want = _lines_reference(body)
    p = tmp_path / "big.txt"
    p.write_bytes(body)
    gz = tmp_path / "big.txt.gz"
    gz.write_bytes(gzip.compress(body))
    chunks = list(R.iter_text_lines(p, buffer_size=buffer_size))
    assert len(chunks) > 2  # 9000 lines never come as one chunk
    assert _all(chunks) == want
    assert _all(R.iter_text_lines(gz, compression_type="GZIP", buffer_size=buffer_size)) == want
    for start in (1, 4095, 4096, 4097, len(want) - 1, len(want), len(want) + 5):
        assert _all(R.iter_text_lines(p, start=start, buffer_size=buffer_size)) == want[start:]
        assert _all(R.iter_text_lines(gz, compression_type="GZIP", start=start)) == want[start:]


def test_text_line_longer_than_buffer(tmp_path):
    body = b"y" * 1_000_000 + b"\nshort\n" + b"z" * 300_000
    p = tmp_path / "long.txt"
    p.write_bytes(body)
    assert _all(R.iter_text_lines(p, buffer_size=100)) == [b"y" * 1_000_000, b"short",
                                                          b"z" * 300_000]


def test_concatenated_gzip_members(tmp_path):
    p = tmp_path / "two.gz"
    p.write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\nd"))
    assert _all(R.iter_text_lines(p, compression_type="GZIP")) == [b"a", b"b", b"c", b"d"]


def test_corrupted_compressed_stream(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(b"this is not gzip at all\n")
    with pytest.raises(errors.DataLossError, match=r"bad\.gz: the compressed stream is corrupted"):
        list(R.iter_text_lines(p, compression_type="GZIP"))


# ------------------------------------------------------------------ fixed length
@pytest.mark.parametrize("case", TF["fixed"], ids=lambda c: f"{c['body']}-{c['record_bytes']}-"
                         f"{c['header_bytes']}-{c['footer_bytes']}")
@pytest.mark.parametrize("ct", [None, "GZIP"])
def test_fixed_length_match_tf(tmp_path, case, ct):
    body = case["body"].encode("latin-1")
    p = tmp_path / "f.bin"
    p.write_bytes(body if ct is None else gzip.compress(body))
    want = case["plain" if ct is None else "gzip"]
    args = (p, case["record_bytes"], case["header_bytes"], case["footer_bytes"])
    for fn in (R.iter_fixed_length_records, R.iter_fixed_length_matrices):
        got, err = _collect(lambda fn=fn: fn(*args, compression_type=ct))
        if fn is R.iter_fixed_length_matrices:
            got = [bytes(r) for r in got]
        assert got == _latin(want["records"])
        if "error" not in want:
            assert err is None
            continue
        assert type(err).__name__ == want["error"]
        length = len(body) - case["header_bytes"] - case["footer_bytes"]
        assert str(err).startswith(f"{p}: ")
        if length >= 0:
            assert f"body length {length} bytes is not an exact multiple of the record " \
                   f"length ({case['record_bytes']} bytes)" in str(err)


def test_fixed_length_short_file_and_resume(tmp_path):
    p = tmp_path / "short.bin"
    p.write_bytes(b"HH")
    with pytest.raises(errors.InvalidArgumentError, match="fewer than the header"):
        list(R.iter_fixed_length_records(p, 4, header_bytes=3))
    data = bytes(range(256)) * 40
    p.write_bytes(b"h" * 7 + data + b"f" * 3)
    rows = [data[i:i + 10] for i in range(0, len(data), 10)]
    for start in (0, 3, 1023, 1024):
        got = _all(R.iter_fixed_length_records(p, 10, 7, 3, start=start, buffer_size=64))
        assert got == rows[start:]
        mats = list(R.iter_fixed_length_matrices(p, 10, 7, 3, start=start))
        assert all(m.dtype == np.uint8 and m.shape[1] == 10 for m in mats)
        flat = np.concatenate(mats) if mats else np.zeros((0, 10), np.uint8)
        assert [bytes(r) for r in flat] == rows[start:]


# ------------------------------------------------------------------ TFRecord
@pytest.mark.parametrize("suffix,ct", [("", None), (".gz", "GZIP"), (".zlib", "ZLIB")])
def test_tfrecords_written_by_tf(suffix, ct):
    path = FIX / f"tf_records.tfrecord{suffix}"
    assert _latin(TF["tfrecord"][suffix or "plain"]["records"]) == TF_RECORDS
    assert _all(R.iter_tfrecords(path, compression_type=ct)) == TF_RECORDS
    assert list(R.tf_record_iterator(str(path), TFRecordOptions(ct))) == TF_RECORDS


def test_writer_bytes_equal_tfs(tmp_path):
    p = tmp_path / "ours.tfrecord"
    with TFRecordWriter(str(p)) as w:
        for r in TF_RECORDS:
            w.write(r)
    assert p.read_bytes() == (FIX / "tf_records.tfrecord").read_bytes()
    for ct, suffix in (("GZIP", ".gz"), ("ZLIB", ".zlib")):
        q = tmp_path / f"ours{suffix}"
        with TFRecordWriter(str(q), ct) as w:
            for r in TF_RECORDS:
                w.write(r)
        ours = q.read_bytes()
        theirs = (FIX / f"tf_records.tfrecord{suffix}").read_bytes()
        unpack = gzip.decompress if ct == "GZIP" else zlib.decompress
        assert unpack(ours) == unpack(theirs) == p.read_bytes()


@pytest.mark.parametrize("name", sorted(TF["damaged"]))
def test_damaged_tfrecords_match_tf(tmp_path, name):
    case = TF["damaged"][name]
    data = (FIX / "tf_records.tfrecord").read_bytes()
    if case["how"] == "cut":
        body = data[:case["at"]]
    else:
        b = bytearray(data)
        b[case["at"]] ^= 1
        body = bytes(b)
    p = tmp_path / f"{name}.tfrecord"
    p.write_bytes(body)
    got, err = _collect(lambda: R.iter_tfrecords(p))
    assert got == _latin(case["records"])
    assert err is not None, "every damaged file raises (TF too, but for a cut header)"
    assert isinstance(err, errors.DataLossError)
    assert str(err).startswith(f"{p}: ")
    assert f"(record {len(got)})" in str(err)
    if "error" in case:
        assert case["error"] == "DataLossError"
        core = re.match(r"(truncated|corrupted) record at \d+", case["message"]).group(0)
        assert core + " (record" in str(err)
        if "Is this even a TFRecord file?" in case["message"]:
            assert "Is this even a TFRecord file?" in str(err)
    else:  # TF stops silently inside a cut header; estcore reports the lost bytes
        assert name == "cut_in_header"
        assert "truncated record at" in str(err)


def test_tfrecords_large_records_resume_and_compression(tmp_path):
    rng = random.Random(3)
    recs = [rng.randbytes(rng.choice([0, 1, 100, 70_000, 600_000])) for _ in range(60)]
    recs += [b"r%d" % i for i in range(9000)]
    for ct in (None, "GZIP", "ZLIB"):
        p = tmp_path / f"big{ct}.tfrecord"
        with TFRecordWriter(str(p), ct) as w:
            for r in recs:
                w.write(r)
        assert _all(R.iter_tfrecords(p, compression_type=ct, buffer_size=4096)) == recs
        for start in (0, 59, 60, 4200, len(recs)):
            got = _all(R.iter_tfrecords(p, compression_type=ct, start=start))
            assert got == recs[start:]


# ------------------------------------------------------------------ arguments, files
def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(errors.NotFoundError, match=f"{missing}; No such file or directory"):
        next(R.iter_text_lines(missing))
    with pytest.raises(errors.InvalidArgumentError, match="is a directory"):
        next(R.iter_tfrecords(tmp_path))


@pytest.mark.parametrize("call,match", [
    (lambda p: R.iter_text_lines(p, start=-1), "start must be an int >= 0"),
    (lambda p: R.iter_text_lines(p, buffer_size=-5), "buffer_size must be an int >= 0"),
    (lambda p: R.iter_text_lines(p, compression_type="BZ2"), "compression_type must be"),
    (lambda p: R.iter_tfrecords(p, compression_type=3), "compression_type must be"),
    (lambda p: R.iter_fixed_length_records(p, 0), "record_bytes must be an int >= 1"),
    (lambda p: R.iter_fixed_length_records(p, 4, header_bytes=-1), "header_bytes"),
    (lambda p: R.iter_fixed_length_matrices(p, 4.0), "record_bytes"),
])
def test_bad_arguments_raise_when_called(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "never-opened")


def test_filename_forms(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes(b"a\nb")
    for name in (p, str(p), os.fsencode(p), np.array(os.fsencode(p), dtype=object)):
        assert _all(R.iter_text_lines(name)) == [b"a", b"b"]
    with pytest.raises(TypeError, match="filename must be"):
        R.iter_text_lines(3)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_file_closed_when_generator_closed_or_done(tmp_path):
    p = tmp_path / "many.txt"
    p.write_bytes(b"line\n" * 20000)
    before = _open_fds()
    gen = R.iter_text_lines(p)
    assert _open_fds() == before  # nothing is opened before the first next()
    next(gen)
    assert _open_fds() == before + 1
    gen.close()
    assert _open_fds() == before
    list(R.iter_text_lines(p, compression_type=None))
    assert _open_fds() == before
