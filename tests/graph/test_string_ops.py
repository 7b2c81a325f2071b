"""decode_csv, string_to_number, decode_raw and the string ops against TF 2.15's outputs
(fixtures/tf_string_ops.json, written by fixtures/make_tf_string_ops.py), plus the
properties the Dataset vectoriser relies on (elementwise over leading dimensions, the
same result for any thread count) and graph-construction errors."""

from __future__ import annotations

import json
import pathlib
import random
import re

import numpy as np
import pytest

import estcore as ec
from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops import parsing_ops as P
from estcore.graph.ops import string_ops as S
from estcore.graph.sparse_tensor import unpad_value

TF = json.loads((pathlib.Path(__file__).resolve().parent / "fixtures" /
                 "tf_string_ops.json").read_text())


def _b(x):
    if isinstance(x, list):
        return [_b(v) for v in x]
    return x.encode("latin-1")


def _strings(x) -> np.ndarray:
    a = np.empty(np.shape(x), dtype=object)
    a[...] = _b(x) if np.ndim(x) == 0 else np.array(_b(x), dtype=object)
    return a


def _run(build, value):
    """Build the op on a placeholder fed ``value`` (a string array), run it."""
    value = np.asarray(value, dtype=object)
    with ec.Graph().as_default():
        x = ec.placeholder(ec.string, [None] * value.ndim)
        out = build(x)
        with ec.Session() as s:
            if hasattr(out, "padded_values"):
                return unpad_value(*s.run([out.cols, out.padded_values, out.dense_shape],
                                          {x: value}))
            return s.run(out, {x: value})


def _check(got, want):
    """Compare estcore's result (array or list of arrays) with a fixture entry."""
    if "error" in want:
        assert isinstance(got, Exception), f"expected {want['error']}: {want['message']}"
        assert type(got).__name__ == want["error"] or (
            want["error"] == "InvalidArgumentError" and isinstance(got, ValueError)), got
        assert want["message"] in str(got)
        return
    assert not isinstance(got, Exception), got
    outs = got if isinstance(got, list) else [got]
    assert len(outs) == len(want["out"])
    for o, w in zip(outs, want["out"], strict=True):
        assert list(o.shape) == w["shape"]
        if w["dtype"] == "string":
            assert o.dtype == object
            assert o.tolist() == _b(w["values"])
        else:
            assert o.dtype.name == w["dtype"]
            if o.dtype.kind == "f":
                exp = np.array([float.fromhex(v) for v in w["values"]], o.dtype)
                np.testing.assert_array_equal(o.reshape(-1), exp)  # nan == nan here
                assert (np.signbit(o.reshape(-1)) == np.signbit(exp)).all()
            else:
                assert o.reshape(-1).tolist() == w["values"]


def _attempt(fn):
    try:
        return fn()
    except (errors.OpError, ValueError, TypeError) as e:
        return e


# ------------------------------------------------------------------ decode_csv
def _defaults(spec):
    out = []
    for d, v in spec:
        if v is None:
            out.append(ec.constant([], getattr(ec, d)))
        elif d == "string":
            out.append([v])
        else:
            out.append(ec.constant([v], getattr(ec, d)))
    return out


@pytest.mark.parametrize("case", TF["csv"], ids=lambda c: repr(c["records"])[:30])
def test_decode_csv_matches_tf(case):
    def build(x):
        return P.decode_csv(x, _defaults(case["defaults"]), **case["kwargs"])
    _check(_attempt(lambda: _run(build, _strings(case["records"]))), case)


def test_decode_csv_python_defaults_pick_tf_dtypes():
    with ec.Graph().as_default():
        outs = P.decode_csv(["1,2,a,3"], [[0], [0.0], [""], 4])
        assert [o.dtype for o in outs] == [dt.int32, dt.float32, dt.string, dt.int32]
        outs = P.decode_csv(["1"], [np.array([0], np.int64)])
        assert outs[0].dtype is dt.int64
        outs = P.decode_csv(["1"], [[]])  # TF: tf.constant([]) is a required float32
        assert outs[0].dtype is dt.float32


@pytest.mark.parametrize("kwargs,defaults,exc,match", [
    ({"select_cols": [1, 0]}, [[0], [0]], ValueError, "select_cols is not strictly increasing."),
    ({"select_cols": [0, 0]}, [[0], [0]], ValueError, "select_cols is not strictly increasing."),
    ({"select_cols": [-1, 0]}, [[0], [0]], ValueError, "select_cols contains negative values."),
    ({"select_cols": [0, 1]}, [[0], [0], [0]], ValueError,
     "Length of select_cols and record_defaults do not match."),
    ({"field_delim": "ab"}, [[0]], ValueError, "field_delim should be only 1 char"),
    ({"field_delim": ""}, [[0]], ValueError, "field_delim should be only 1 char"),
    ({}, [[0, 1]], errors.InvalidArgumentError,
     "There should only be 1 default per field but field 0 has 2"),
    ({}, [[[0]]], errors.InvalidArgumentError, "Each record default should be at most rank 1"),
    ({}, [[True]], TypeError, "not in the list of allowed values: float, double, int32"),
    ({}, [], ValueError, "at least one column"),
    ({}, "abc", TypeError, "record_defaults must be a list"),
])
def test_decode_csv_argument_errors(kwargs, defaults, exc, match):
    with ec.Graph().as_default(), pytest.raises(exc, match=match):
        P.decode_csv(["1,2"], defaults, **kwargs)


def test_decode_csv_non_constant_default_is_refused():
    with ec.Graph().as_default():
        p = ec.placeholder(ec.int32, [1])
        with pytest.raises(ValueError, match=r"record_defaults\[0\] is the tensor"):
            P.decode_csv(["1"], [p])


def _random_csv(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        f = rng.uniform(-1e6, 1e6) * 10.0 ** rng.randint(-30, 30)
        s = rng.choice(["plain", "with,comma", 'q"uote', ""])
        q = '"' + s.replace('"', '""') + '"' if rng.random() < 0.5 or ',' in s or '"' in s \
            else s
        lines.append(f"{i},{f!r},{q},{rng.randint(-2**40, 2**40)}".encode())
    return lines


def test_decode_csv_large_input_same_for_any_thread_count_and_elementwise():
    lines = _random_csv(30000, 5)
    defaults = [[0], [0.0], ["dflt"], [np.int64(0)]]
    previous = P.set_parse_threads(1)
    try:
        ref = _run(lambda x: P.decode_csv(x, defaults), np.array(lines, dtype=object))
        for threads in (2, 3, 8):
            P.set_parse_threads(threads)
            got = _run(lambda x: P.decode_csv(x, defaults), np.array(lines, dtype=object))
            for a, b in zip(ref, got, strict=True):
                assert a.tolist() == b.tolist()
        # elementwise over leading dimensions: a [k, m] input gives [k, m] outputs equal
        # to the flat parse, and each record alone parses to its element
        grid = _run(lambda x: P.decode_csv(x, defaults),
                    np.array(lines[:600], dtype=object).reshape(20, 30))
        for a, b in zip(ref, grid, strict=True):
            assert b.shape == (20, 30)
            assert b.reshape(-1).tolist() == a[:600].tolist()
        one = _run(lambda x: P.decode_csv(x, defaults), np.array(lines[7], dtype=object))
        assert [np.ndim(o) for o in one] == [0] * 4
        assert [np.asarray(o).item() for o in one] == [a[7] for a in ref]
    finally:
        P.set_parse_threads(previous)
    # values: floats are Python's correctly rounded float32; strings unquoted
    ints, floats, strs, big = ref
    for i in range(0, 30000, 997):
        fields = lines[i].decode()
        first, rest = fields.split(",", 1)
        assert ints[i] == int(first)
        f_text = rest.split(",", 1)[0]
        assert floats[i] == np.float32(float(f_text))
        assert big[i] == int(fields.rsplit(",", 1)[1])
        assert isinstance(strs[i], bytes) and b'""' not in strs[i]


def test_decode_csv_lowest_bad_record_reported_with_threads():
    lines = _random_csv(40000, 9)
    lines[31000] = b"1,2"
    lines[12345] = b"x,1.0,a,1"
    previous = P.set_parse_threads(4)
    try:
        with pytest.raises(errors.InvalidArgumentError,
                           match="Field 0 in record 12345 is not a valid int32: x"):
            _run(lambda x: P.decode_csv(x, [[0], [0.0], [""], [np.int64(0)]]),
                 np.array(lines, dtype=object))
    finally:
        P.set_parse_threads(previous)


def test_set_parse_threads_checks_its_argument():
    with pytest.raises(ValueError, match="num_threads must be an int in 1.."):
        P.set_parse_threads(0)
    prev = P.set_parse_threads(3)
    assert P.set_parse_threads(prev) == 3


def test_decode_csv_str_elements_and_static_shapes():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.string, [None, 3])
        a, b = P.decode_csv(x, [[1], ["s"]], name="parse")
        assert a.shape.as_list() == [None, 3] and b.op.type == "DecodeCSV"
        assert a.op.name == "parse"
        with ec.Session() as s:
            got = s.run([a, b], {x: np.array([["1,é", "2,b", ","]], dtype=object)})
    assert got[0].tolist() == [[1, 2, 1]]
    assert got[1].tolist() == [["é".encode(), b"b", b"s"]]


# ------------------------------------------------------------------ string_to_number
@pytest.mark.parametrize("case", TF["to_number"], ids=lambda c: f"{c['strings']}-{c['out_type']}")
def test_string_to_number_matches_tf(case):
    def build(x):
        return P.string_to_number(x, getattr(ec, case["out_type"]))
    _check(_attempt(lambda: _run(build, _strings(case["strings"]))), case)


def test_string_to_number_default_and_bad_type():
    with ec.Graph().as_default():
        assert P.string_to_number(["1"]).dtype is dt.float32
        with pytest.raises(TypeError, match="out_type must be one of"):
            P.string_to_number(["1"], ec.uint8)


# ------------------------------------------------------------------ decode_raw
@pytest.mark.parametrize("case", TF["raw"], ids=lambda c: f"{c['strings']}-{c['out_type']}")
def test_decode_raw_matches_tf(case):
    fixed = case["fixed_length"]

    def build(x):
        return P.decode_raw(x, getattr(ec, case["out_type"]), case["little_endian"],
                            fixed_length=fixed)
    want = case
    if fixed is not None and fixed % np.dtype(case["out_type"]).itemsize:
        with ec.Graph().as_default(), pytest.raises(ValueError, match=want["message"][:30]):
            build(ec.placeholder(ec.string, [None]))
        return
    _check(_attempt(lambda: _run(build, _strings(case["strings"]))), want)


def test_decode_raw_shapes_and_args():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.string, [None])
        assert P.decode_raw(x, ec.float32).shape.as_list() == [None, None]
        assert P.decode_raw(x, ec.float32, fixed_length=12).shape.as_list() == [None, 3]
        assert P.decode_raw(bytes=x, out_type=ec.uint8).op.type == "DecodeRaw"  # TF1 name
        with pytest.raises(TypeError, match="not in the list of allowed values"):
            P.decode_raw(x, ec.string)
        with pytest.raises(ValueError, match="fixed_length must be a non-negative int"):
            P.decode_raw(x, ec.uint8, fixed_length=-1)
        # the dynamic last dimension feeds a static tail (reshape to the known size)
        img = ec.reshape(ec.cast(P.decode_raw(x, ec.uint8), ec.float32), [-1, 2, 2])
        with ec.Session() as s:
            got = s.run(img, {x: np.array([bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8])],
                                          dtype=object)})
    assert got.shape == (2, 2, 2) and got[1, 1, 1] == 8.0


# ------------------------------------------------------------------ string ops
_FNS = {"length": S.length, "strip": S.strip, "lower": S.lower, "upper": S.upper,
        "substr": S.substr, "regex_full_match": S.regex_full_match,
        "regex_replace": S.regex_replace}


@pytest.mark.parametrize("name", sorted(k for k in TF["strings"] if "join" not in k))
def test_string_ops_match_tf(name):
    case = TF["strings"][name]
    fn = _FNS[next(k for k in sorted(_FNS, key=len, reverse=True) if name.startswith(k))]
    _check(_attempt(lambda: _run(lambda x: fn(x, **case["kwargs"]),
                                 _strings(case["strings"]))), case)


def test_join_matches_tf():
    with ec.Graph().as_default(), ec.Session() as s:
        got = s.run(S.join(["a", ["b", "c"]], separator="-"))
    _check(got, TF["strings"]["join"])
    want = TF["strings"]["join_mismatch"]
    with ec.Graph().as_default(), pytest.raises(ValueError, match=re.escape(want["message"])):
        S.join([["a", "b"], ["b", "c", "d"]])


def test_string_ops_elementwise_over_leading_dims():
    grid = np.array([[b"Ab1", b" x "], [b"", b"QQ"]], dtype=object)
    for fn in (S.length, S.strip, S.lower, S.upper, lambda x: S.substr(x, 0, 1),
               lambda x: S.regex_full_match(x, ".*1"), lambda x: S.regex_replace(x, "Q", "z"),
               lambda x: S.join([x, "!"]), lambda x: P.string_to_number(
                   S.regex_replace(x, ".*", "7", replace_global=False))):
        whole = _run(fn, grid)
        assert whole.shape == grid.shape
        for idx in np.ndindex(grid.shape):
            single = _run(fn, np.array(grid[idx], dtype=object))
            assert np.ndim(single) == 0
            assert single == whole[idx]


@pytest.mark.parametrize("case", TF["splits"], ids=lambda c: f"{c['fn']}-{c['kwargs']}")
def test_splits_match_tf(case):
    fn = S.string_split if case["fn"] == "string_split" else S.split
    got = _run(lambda x: fn(x, **case["kwargs"]), _strings(case["source"]))
    want = case["sparse"]
    assert got.indices.tolist() == want["indices"]
    assert got.values.tolist() == _b(want["values"])
    assert got.dense_shape.tolist() == want["dense_shape"]


def test_split_arguments():
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match="input must be a vector"):
            S.string_split(["a b"][0])
        with pytest.raises(ValueError, match="no RaggedTensor"):
            S.split(["a b"], result_type="RaggedTensor")
        st = S.split(source=["a b"])
        assert st.dtype is dt.string and st.shape.as_list() == [1, None]


@pytest.mark.parametrize("case", TF["as_string"], ids=lambda c: f"{c['dtype']}-{c['kwargs']}")
def test_as_string_matches_tf(case):
    with ec.Graph().as_default(), ec.Session() as s:
        got = s.run(S.as_string(ec.constant(case["values"], getattr(ec, case["dtype"])),
                                **case["kwargs"]))
    _check(got, case)


def test_regex_bad_pattern_named():
    with ec.Graph().as_default(), pytest.raises(errors.InvalidArgumentError,
                                                match="Invalid pattern"):
        S.regex_full_match(["a"], "(")


def test_decode_csv_string_columns_match_pythons_csv_module():
    import csv  # noqa: PLC0415 - the reference parser of this test only

    rng = random.Random(11)
    words = [b"setosa", b"versicolor", b"virginica", b"", b"x" * 40]
    lines = []
    for _ in range(20000):
        a = rng.choice(words) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 9))
        a = a.replace(b'"', b"'").replace(b"\n", b" ").replace(b"\r", b" ")
        b = rng.choice([b"plain", b'with "quote"', b"a,b", b"x" * rng.randint(1, 70)])
        quoted_b = b'"' + b.replace(b'"', b'""') + b'"' if b'"' in b or b"," in b else b
        quoted_a = b'"' + a + b'"' if b"," in a or not a else a
        lines.append(quoted_a + b"," + quoted_b)
    got = _run(lambda x: P.decode_csv(x, [["dflt"], [""]]), np.array(lines, dtype=object))
    texts = [line.decode("latin-1") for line in lines]
    want = list(csv.reader(texts))
    assert [v.decode("latin-1") for v in got[0]] == [r[0] or "dflt" for r in want]
    assert [v.decode("latin-1") for v in got[1]] == [r[1] for r in want]
