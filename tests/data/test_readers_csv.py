"""estcore.data.readers.iter_csv (CSV parsed in the reader's buffer) against the
TextLine + decode_csv path on the same file, and its errors (file and line)."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest

import estcore as ec
from estcore import errors
from estcore.data import readers as R
from estcore.graph.ops import decode_ops as D

DEFAULTS = [[0], [0.0], ["none"], [np.int64(-1)]]


def _csv_text(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [b"id,x,name,big"]
    for i in range(n):
        name = rng.choice([b"a", b"", b'"q,""x"""', b"long" * rng.randint(0, 90)])
        x = rng.choice([repr(rng.uniform(-1e3, 1e3)).encode(), b"", b" 7 ", b"1e-3"])
        big = rng.choice([str(rng.randint(-2**60, 2**60)).encode(), b""])
        lines.append(b"%d,%s,%s,%s" % (i, x, name, big) + (b"\r" if i % 7 == 0 else b""))
    return b"\n".join(lines) + b"\n"


def _reference(path) -> list[np.ndarray]:
    """TextLine + the decode_csv graph op, as a TF1 pipeline reads the same file."""
    lines = np.concatenate(list(R.iter_text_lines(path, start=1)))
    with ec.Graph().as_default():
        x = ec.placeholder(ec.string, [None])
        cols = D.decode_csv(x, DEFAULTS)
        with ec.Session() as s:
            return s.run(cols, {x: lines})


def _bulk(path, **kw) -> list[np.ndarray]:
    chunks = list(R.iter_csv(path, DEFAULTS, header_lines=1, **kw))
    return [np.concatenate([c[k] for c in chunks]) for k in range(len(DEFAULTS))]


@pytest.mark.parametrize("chunk_records,threads", [(65536, 1), (1000, 2), (7, 3)])
def test_iter_csv_equals_textline_and_decode_csv(tmp_path, chunk_records, threads):
    body = _csv_text(5000, chunk_records)
    p = tmp_path / "data.csv"
    p.write_bytes(body)
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress(body))
    want = _reference(p)
    for path, ct in ((p, None), (gz, "GZIP")):
        got = _bulk(path, compression_type=ct, chunk_records=chunk_records,
                    num_threads=threads, buffer_size=4096)
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype
            assert a.tolist() == b.tolist()


def test_iter_csv_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"h\n1,2.5,a,3\n2,x,b,4\n")
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"bad\.csv: line 3: Field 1 in record \d+ is not a valid float: x"):
        list(R.iter_csv(p, DEFAULTS, header_lines=1))


@pytest.mark.parametrize("kwargs,match", [
    ({"header_lines": -1}, "header_lines must be an int >= 0"),
    ({"chunk_records": 0}, "chunk_records must be an int >= 1"),
    ({"num_threads": 0}, "num_threads must be an int >= 1"),
    ({"field_delim": "::"}, "field_delim should be only 1 char"),
    ({"select_cols": [1, 0, 2, 3]}, "select_cols is not strictly increasing"),
])
def test_iter_csv_argument_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        R.iter_csv(tmp_path / "never-opened.csv", DEFAULTS, **kwargs)
