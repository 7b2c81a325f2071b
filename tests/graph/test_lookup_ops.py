"""Lookup tables (graph/ops/lookup_ops.py) against values computed once with TF 2.15's
``tensorflow.compat.v1`` lookup ops (OOV ids are FarmHash Fingerprint64 buckets)."""

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore import errors
from estcore.graph.ops import lookup_ops as lo
from estcore.graph.sparse_tensor import SparseTensor

WORDS = ["apple", "cherry", "zzz", "hello", "b2", "", "banana"]


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in {"vocab": "apple\nbanana\ncherry\n", "cols": "apple,7,x\nbanana,3,y\n"
                       "cherry,11,z\n", "dup": "a\nb\na\n", "ints": "42\n7\n",
                       "ws": "a b\nc \n d\n"}.items():
        p = tmp_path / f"{name}.txt"
        p.write_text(text)
        paths[name] = str(p)
    return paths


def _run(build, init=True):
    with ec.Graph().as_default():
        out = build()
        with ec.Session() as s:
            if init:
                s.run(lo.tables_initializer())
            return s.run(out)


def _ids(table, keys, dtype=ec.string):
    return _run(lambda: table().lookup(ec.constant(keys, dtype)))


# ---------------------------------------------------------------- values (TF's)
def test_index_table_from_tensor_oov_buckets():
    got = _ids(lambda: lo.index_table_from_tensor(ec.constant(["apple", "banana", "cherry"]),
                                                  num_oov_buckets=3), WORDS)
    np.testing.assert_array_equal(got, [0, 2, 3, 4, 3, 5, 1])
    assert got.dtype == np.int64


def test_index_table_from_file_oov_and_default(files):
    got = _ids(lambda: lo.index_table_from_file(files["vocab"], num_oov_buckets=1), WORDS)
    np.testing.assert_array_equal(got, [0, 2, 3, 3, 3, 3, 1])
    got = _ids(lambda: lo.index_table_from_file(files["vocab"], default_value=-5),
               [["apple", "x"], ["cherry", "banana"]])
    np.testing.assert_array_equal(got, [[0, -5], [2, 1]])


def test_vocab_size_limits_the_lines(files):
    got = _ids(lambda: lo.index_table_from_file(files["vocab"], vocab_size=2), WORDS)
    np.testing.assert_array_equal(got, [0, -1, -1, -1, -1, -1, 1])


def test_whole_lines_keep_their_spaces(files):
    got = _ids(lambda: lo.index_table_from_file(files["ws"]), ["a b", "c ", " d", "a"])
    np.testing.assert_array_equal(got, [0, 1, 2, -1])


def test_columns_and_delimiter(files):
    got = _ids(lambda: lo.index_table_from_file(files["cols"], key_column_index=0,
                                                value_column_index=1, delimiter=","), WORDS)
    np.testing.assert_array_equal(got, [7, 11, -1, -1, -1, -1, 3])
    got = _ids(lambda: lo.index_table_from_file(files["cols"], num_oov_buckets=2,
                                                key_column_index=0, value_column_index=1,
                                                delimiter=","), WORDS)
    np.testing.assert_array_equal(got, [7, 11, 3, 3, 3, 4, 3])
    got = _ids(lambda: lo.StaticHashTable(lo.TextFileInitializer(
        files["cols"], ec.string, 2, ec.int64, 1, delimiter=","), -1), ["x", "z", "q"])
    np.testing.assert_array_equal(got, [7, 11, -1])
    got = _ids(lambda: lo.StaticHashTable(lo.TextFileInitializer(
        files["cols"], ec.int64, 1, ec.string, 0, delimiter=","), "none"), [7, 11, 5],
        ec.int64)
    assert got.tolist() == [b"apple", b"cherry", b"none"]


def test_int64_keys(files):
    got = _ids(lambda: lo.index_table_from_tensor(ec.constant([10, 20, 30], ec.int64),
                                                  num_oov_buckets=2, dtype=ec.int64),
               [20, 5, 99, -1, 30], ec.int64)
    np.testing.assert_array_equal(got, [1, 4, 3, 3, 2])
    got = _ids(lambda: lo.index_table_from_tensor(ec.constant([10, 20, 30], ec.int64),
                                                  dtype=ec.int64), [20, 5], ec.int64)
    np.testing.assert_array_equal(got, [1, -1])
    got = _ids(lambda: lo.index_table_from_file(files["ints"], key_dtype=ec.int64,
                                                num_oov_buckets=3), [42, 7, 100, 8], ec.int64)
    np.testing.assert_array_equal(got, [0, 1, 2, 3])


def test_index_to_string(files):
    got = _ids(lambda: lo.index_to_string_table_from_file(files["vocab"], default_value="UNK"),
               [0, 2, 7, -1], ec.int64)
    assert got.tolist() == [b"apple", b"cherry", b"UNK", b"UNK"]
    got = _ids(lambda: lo.index_to_string_table_from_tensor(ec.constant(["a", "b"])), [1, 3],
               ec.int64)
    assert got.tolist() == [b"b", b"UNK"]


def test_key_value_tables():
    got = _ids(lambda: lo.StaticHashTable(lo.KeyValueTensorInitializer(["x", "y"], [1.5, 2.5]),
                                          -1.0), ["y", "q"])
    np.testing.assert_array_equal(got, [2.5, -1.0])
    got = _ids(lambda: lo.HashTable(lo.KeyValueTensorInitializer(
        ec.constant([1, 2], ec.int64), ec.constant([10, 20], ec.int64)), -1), [2, 3], ec.int64)
    np.testing.assert_array_equal(got, [20, -1])
    # equal duplicates are accepted, as TF's HashTable
    got = _ids(lambda: lo.HashTable(lo.KeyValueTensorInitializer(["x", "x"], [1, 1]), -1),
               ["x"])
    np.testing.assert_array_equal(got, [1])


def test_size_and_attributes(files):
    def build():
        t = lo.index_table_from_file(files["vocab"], num_oov_buckets=4)
        h = lo.StaticHashTable(lo.KeyValueTensorInitializer(["x", "y"], [1, 2]), -1)
        assert (t.key_dtype, t.value_dtype) == (ec.string, ec.int64)
        assert h.value_dtype == ec.int32 and h.init is h.initializer
        return [t.size(), h.size()]
    assert _run(build) == [7, 2]


def test_sparse_keys_give_sparse_ids():
    def build():
        t = lo.index_table_from_tensor(ec.constant(["a", "b"]), num_oov_buckets=1)
        r = t.lookup(SparseTensor([[0, 0], [1, 2]], ["b", "q"], [2, 3]))
        assert isinstance(r, SparseTensor)
        return r.indices, r.values, r.dense_shape
    idx, vals, shape = _run(build)
    np.testing.assert_array_equal(idx, [[0, 0], [1, 2]])
    np.testing.assert_array_equal(vals, [1, 2])
    np.testing.assert_array_equal(shape, [2, 3])


# ---------------------------------------------------------------- initialization
def test_lookup_without_initializer_loads_the_table(files):
    got = _run(lambda: lo.index_table_from_file(files["vocab"]).lookup(
        ec.constant(["banana"])), init=False)
    np.testing.assert_array_equal(got, [1])


def test_tables_initializer_without_tables_is_a_no_op():
    with ec.Graph().as_default():
        op = lo.tables_initializer()
        assert op.type == "NoOp"
        with ec.Session() as s:
            s.run(op)


def test_file_is_read_when_the_session_initializes(files, tmp_path):
    path = tmp_path / "later.txt"
    with ec.Graph().as_default():
        ids = lo.index_table_from_file(str(path)).lookup(ec.constant(["b"]))
        path.write_text("a\nb\n")       # written after the graph was built
        with ec.Session() as s:
            s.run(lo.tables_initializer())
            np.testing.assert_array_equal(s.run(ids), [1])


# ---------------------------------------------------------------- errors
def test_missing_file_raises_at_initializer_time_naming_it(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with ec.Graph().as_default():
        lo.index_table_from_file(missing)
        with ec.Session() as s, pytest.raises(errors.NotFoundError, match="nope.txt"):
            s.run(lo.tables_initializer())


def test_duplicate_keys_fail_as_tf(files):
    with pytest.raises(errors.FailedPreconditionError,
                       match="different value for same key.*Key a has 0 and trying to add "
                             "value 2"):
        _ids(lambda: lo.index_table_from_tensor(ec.constant(["a", "b", "a"])), ["a"])
    with pytest.raises(errors.FailedPreconditionError, match="dup.txt, line 2"):
        _ids(lambda: lo.index_table_from_file(files["dup"]), ["a"])


def test_malformed_files(files):
    with pytest.raises(errors.InvalidArgumentError, match="expected 5 but got 3"):
        _ids(lambda: lo.index_table_from_file(files["vocab"], vocab_size=5), ["a"])
    with pytest.raises(errors.InvalidArgumentError, match="expected at least 6 got 3"):
        _ids(lambda: lo.index_table_from_file(files["cols"], key_column_index=5,
                                              value_column_index=1, delimiter=","), ["a"])
    with pytest.raises(errors.InvalidArgumentError, match="Field x in line 0 .* int64"):
        _ids(lambda: lo.index_table_from_file(files["cols"], key_column_index=0,
                                              value_column_index=2, delimiter=","), ["a"])


def test_wrong_key_dtype_names_expected_and_received(files):
    with pytest.raises(TypeError, match="`keys` must be string, received: int64"):
        _ids(lambda: lo.index_table_from_file(files["vocab"]), [1], ec.int64)
    with pytest.raises(TypeError, match="`keys` must be int64, received: int32"):
        _ids(lambda: lo.HashTable(lo.KeyValueTensorInitializer(
            ec.constant([1], ec.int64), ec.constant([1], ec.int64)), -1), [1], ec.int32)


@pytest.mark.parametrize(("build", "match"), [
    (lambda f: lo.index_table_from_file(f, num_oov_buckets=-1),
     "num_oov_buckets.*Received: num_oov_buckets=-1"),
    (lambda f: lo.index_table_from_file(None), "vocabulary_file"),
    (lambda f: lo.index_table_from_file(f, vocab_size=0), "vocab_size"),
    (lambda f: lo.index_table_from_file(f, num_oov_buckets=1, default_value=0),
     "default_value.*Received: default_value=0"),
    (lambda f: lo.index_table_from_tensor(ec.constant([1.0, 2.0])),
     "expected string, got float32"),
    (lambda f: lo.KeyValueTensorInitializer(["x", "y"], [1]), "2 keys, 1 values"),
    (lambda f: lo.KeyValueTensorInitializer(ec.placeholder(ec.string, [2]), [1, 2]),
     "`keys` must be known"),
], ids=["neg_oov", "no_file", "vocab_size0", "oov_default", "float_keys", "kv_len",
        "kv_fed"])
def test_argument_errors(files, build, match):
    with ec.Graph().as_default(), pytest.raises(ValueError, match=match):
        build(files["vocab"])


def test_negative_values_are_values_not_misses():
    """A label map {"neg": -1}: TF 2.15 gives [-5, 7, -1, 100]."""
    with tf.Graph().as_default(), tf.Session() as sess:
        t = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            ["a", "b", "c"], tf.constant([-5, 7, -1], tf.int64)), tf.constant(100, tf.int64))
        assert sess.run(t.lookup(tf.constant(["a", "b", "c", "z"]))).tolist() == \
            [-5, 7, -1, 100]


def test_file_lines_end_at_newline_only(tmp_path):
    """TF's reader splits on "\\n" only and drops a trailing "\\r" (TF 2.15: ids
    [0, 1, 2, -1, 3], size 4), not on the other Unicode line breaks."""
    path = tmp_path / "v.txt"
    path.write_bytes("a\u2028b\n c\x1cd\n e\r\n f\n".encode())
    with tf.Graph().as_default(), tf.Session() as sess:
        t = tf.contrib.lookup.index_table_from_file(str(path))
        ids, size = sess.run([t.lookup(tf.constant(["a\u2028b", " c\x1cd", " e", "zz", " f"])),
                              t.size()])
    assert ids.tolist() == [0, 1, 2, -1, 3] and size == 4


def test_file_names_relative_bytes_or_constant_tensors(tmp_path, monkeypatch):
    (tmp_path / "v.txt").write_text("a\nb\n")
    monkeypatch.chdir(tmp_path)
    with tf.Graph().as_default(), tf.Session() as sess:
        tables = [tf.contrib.lookup.index_table_from_file(f)
                  for f in ("v.txt", b"v.txt", tf.constant("v.txt"))]
        monkeypatch.chdir("/")  # the path was made absolute when the table was built
        assert [sess.run(t.lookup(tf.constant(["b", "q"]))).tolist() for t in tables] == \
            [[1, -1]] * 3
        with pytest.raises(ValueError, match="`vocabulary_file` must be a str or a constant"):
            tf.contrib.lookup.index_table_from_file(tf.placeholder(tf.string, []))
