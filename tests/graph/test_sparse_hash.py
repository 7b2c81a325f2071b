"""FarmHash Fingerprint64 (C) and the hash-bucket / cross ops against TF's values
(tests/feature_column/fixtures/feature_column_tf.json, made with TensorFlow)."""

import json
import pathlib

import numpy as np

import estcore as ec
from estcore._lib import _kernels
from estcore.graph.ops import sparse_ids

DATA = json.loads((pathlib.Path(__file__).parents[1] / "feature_column" / "fixtures"
                   / "feature_column_tf.json").read_text())
STRINGS = DATA["hash_strings"]


def test_fingerprint64_equals_tf_for_every_length_and_utf8():
    for mod, want in DATA["hashes"].items():
        got = [_kernels.fingerprint64(s) % int(mod) for s in STRINGS]
        assert got == want, mod


def test_bytes_and_str_hash_alike():
    for s in STRINGS:
        assert _kernels.fingerprint64(s) == _kernels.fingerprint64(s.encode("utf-8"))


def test_hash_bucket_op_over_a_batch():
    x = np.array(STRINGS, object).reshape(-1, 1)
    ids = sparse_ids.string_to_hash_bucket_fast(ec.constant(x, ec.string), 1000003)
    with ec.Session() as s:
        got = s.run(ids)
    assert got.dtype == np.int64 and got.shape == x.shape
    assert got.ravel().tolist() == DATA["hashes"]["1000003"]


def test_fingerprint_cat64_numpy_equals_c():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2 ** 63, 50, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    b = rng.integers(0, 2 ** 63, 50, dtype=np.int64).astype(np.uint64)
    got = sparse_ids.fingerprint_cat64(a, b)
    want = [_kernels.fingerprint_cat64(int(x), int(y)) for x, y in zip(a, b, strict=True)]
    assert got.tolist() == want


def test_hash_strings_rejects_a_bad_out_and_non_strings():
    import pytest

    from estcore import errors
    with pytest.raises(errors.InvalidArgumentError, match="out"):
        _kernels.hash_strings(["a"], np.zeros(2, np.int64))
    with pytest.raises(TypeError, match="str or bytes"):
        _kernels.hash_strings([3], np.zeros(1, np.int64))
