"""EncodeBase64 / DecodeBase64 (TF's web-safe alphabet, padding only on request, both
paddings decoded, bad input named) and MatchingFiles (globbed when the graph runs)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError
from estcore.graph.ops import base64_ops as B


def _run(t):
    with ec.Session() as sess:
        return sess.run(t)


def test_round_trip_web_safe_and_padding():
    rng = np.random.default_rng(0)
    raw = [bytes(rng.integers(0, 256, size=n, dtype=np.uint8)) for n in range(7)] + [b"?>?"]
    x = np.array(raw, dtype=object).reshape(2, 4)
    enc, padded = _run([B.encode_base64(x), tf.io.encode_base64(x, pad=True)])
    for e, p, r in zip(enc.ravel(), padded.ravel(), raw, strict=True):
        assert p == base64.urlsafe_b64encode(r) and e == p.rstrip(b"=")
        assert b"+" not in p and b"/" not in p
    assert enc.shape == (2, 4)
    back = _run([tf.decode_base64(enc), tf.io.decode_base64(padded)])
    assert back[0].ravel().tolist() == raw and back[1].ravel().tolist() == raw


def test_bad_input():
    with pytest.raises(InvalidArgumentError, match="element 1: Invalid character"):
        _run(B.decode_base64(["aGk", "a+b/"]))       # standard alphabet is not TF's
    with pytest.raises(InvalidArgumentError, match="element 0"):
        _run(B.decode_base64(["abcde"]))             # no base64 string has this length
    with pytest.raises(TypeError, match="string tensor"):
        B.encode_base64(ec.constant([1, 2]))


def test_matching_files_is_read_when_the_graph_runs(tmp_path):
    for name in ("a.txt", "b.txt", "c.csv"):
        (tmp_path / name).write_text("")
    pattern = tf.placeholder(tf.string, [])
    found = tf.io.matching_files(pattern)
    both = tf.matching_files([str(tmp_path / "*.csv"), str(tmp_path / "a*")])
    fixed = tf.matching_files(str(tmp_path / "*.txt"))
    with ec.Session() as sess:
        assert sess.run(found, {pattern: str(tmp_path / "*.txt")}).tolist() == [
            str(tmp_path / "a.txt").encode(), str(tmp_path / "b.txt").encode()]
        assert sess.run(both).tolist() == [str(tmp_path / "a.txt").encode(),
                                           str(tmp_path / "c.csv").encode()]
        assert sess.run(found, {pattern: str(tmp_path / "none*")}).tolist() == []
        assert len(sess.run(fixed)) == 2
        (tmp_path / "d.txt").write_text("")
        assert len(sess.run(fixed)) == 3       # not folded when the graph was built
