"""Categorical columns: input forms (bytes / str / ints / SparseTensor), missing values and
the errors for bad arguments and inputs."""

import numpy as np
import pytest

import estcore as ec
from estcore import feature_column as fc
from estcore.feature_column.base import LazyBuilder
from estcore.graph.sparse_tensor import SparseTensor


def _ids(column, features):
    st = column._get_sparse_tensors(LazyBuilder(features)).id_tensor
    with ec.Session() as s:
        return s.run(st)


def test_bytes_and_str_inputs_give_the_same_ids():
    v = fc.categorical_column_with_vocabulary_list("a", ["x", "y"], num_oov_buckets=4)
    h = fc.categorical_column_with_hash_bucket("a", 97)
    as_str = {"a": np.array([["x", "zz"], ["y", ""]], object)}
    as_bytes = {"a": np.array([[b"x", b"zz"], [b"y", b""]], object)}
    for col in (v, h):
        a, b = _ids(col, as_str), _ids(col, as_bytes)
        np.testing.assert_array_equal(a.indices, [[0, 0], [0, 1], [1, 0]])
        np.testing.assert_array_equal(a.values, b.values)


def test_missing_values_are_dropped_and_sparse_inputs_pass_through():
    col = fc.categorical_column_with_identity("i", 10)
    got = _ids(col, {"i": np.array([[3, -1, 4], [-1, -1, -1]])})
    np.testing.assert_array_equal(got.indices, [[0, 0], [0, 2]])
    np.testing.assert_array_equal(got.values, [3, 4])
    sp = SparseTensor([[0, 1], [1, 0]], np.array([7, 2], np.int64), [2, 4])
    got = _ids(col, {"i": sp})
    np.testing.assert_array_equal(got.values, [7, 2])
    np.testing.assert_array_equal(got.dense_shape, [2, 4])


def test_pandas_series_feature():
    pd = pytest.importorskip("pandas")
    col = fc.categorical_column_with_vocabulary_list("c", ["a", "b"])
    got = _ids(col, {"c": pd.Series(["b", "a", "q"])})
    np.testing.assert_array_equal(got.values, [1, 0, -1])


def test_identity_out_of_range_without_default_is_a_run_time_error():
    col = fc.categorical_column_with_identity("i", 3)
    with pytest.raises(ec.errors.InvalidArgumentError, match="id 5 is not in \\[0, 3\\)"):
        _ids(col, {"i": np.array([[1], [5]])})


@pytest.mark.parametrize("make, err, match", [
    (lambda: fc.categorical_column_with_hash_bucket("a", 0), ValueError, "at least 1"),
    (lambda: fc.categorical_column_with_hash_bucket("a", 5, dtype=ec.float32), ValueError,
     "string or integer"),
    (lambda: fc.categorical_column_with_vocabulary_list("a", []), ValueError, "non-empty"),
    (lambda: fc.categorical_column_with_vocabulary_list("a", ["x", "x"]), ValueError,
     "Duplicate keys"),
    (lambda: fc.categorical_column_with_vocabulary_list("a", ["x", 1]), ValueError,
     "only strings or only integers"),
    (lambda: fc.categorical_column_with_vocabulary_list("a", ["x"], default_value=0,
                                                        num_oov_buckets=2), ValueError,
     "both num_oov_buckets and default_value"),
    (lambda: fc.categorical_column_with_vocabulary_file("a", "/nonexistent/vocab.txt"),
     ValueError, "does not exist"),
    (lambda: fc.categorical_column_with_identity("a", 3, default_value=3), ValueError,
     "not in range"),
    (lambda: fc.crossed_column(["a"], 10), ValueError, "length > 1"),
    (lambda: fc.crossed_column(["a", fc.categorical_column_with_hash_bucket("b", 3)], 10),
     ValueError, "Hashing before crossing"),
    (lambda: fc.crossed_column(["a", 3], 10), ValueError, "Unsupported key type"),
    (lambda: fc.embedding_column(fc.numeric_column("a"), 3), ValueError,
     "categorical column"),
    (lambda: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 0), ValueError,
     "Invalid dimension"),
    (lambda: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 2,
                                 combiner="max"), ValueError, "combiner"),
    (lambda: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 2,
                                 ckpt_to_load_from="x", tensor_name_in_ckpt="y"),
     NotImplementedError, "WarmStartSettings"),
    (lambda: fc.shared_embedding_columns([fc.categorical_column_with_identity("a", 3),
                                          fc.categorical_column_with_identity("b", 4)], 2),
     ValueError, "same number of buckets"),
    (lambda: fc.indicator_column(fc.numeric_column("a")), ValueError, "CategoricalColumn"),
])
def test_bad_arguments_are_refused_naming_what_is_wrong(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_column_dtype_must_match_the_input():
    col = fc.categorical_column_with_hash_bucket("a", 5)          # strings
    with pytest.raises(ValueError, match="must be compatible"):
        _ids(col, {"a": np.array([[1, 2]])})
    with pytest.raises(ValueError, match="string or integer input"):
        _ids(col, {"a": np.array([[1.5]])})
    with pytest.raises(ValueError, match="rank 0"):
        _ids(col, {"a": ec.constant("x")})
    with pytest.raises(TypeError, match="only str or bytes"):
        fc.input_layer({"a": np.array(["x", 3], object)},
                       [fc.indicator_column(col)])


def test_input_layer_refuses_a_bare_categorical_column():
    with pytest.raises(ValueError, match="embedding_column or indicator_column"):
        fc.input_layer({"a": ["x"]}, [fc.categorical_column_with_hash_bucket("a", 5)])


def test_shared_embedding_columns_share_one_variable():
    a = fc.categorical_column_with_identity("a", 4)
    b = fc.categorical_column_with_identity("b", 4)
    ea, eb = fc.shared_embedding_columns([a, b], 2)
    assert ea.name == "a_shared_embedding"
    out = fc.input_layer({"a": [[1]], "b": [[1]]}, [ea, eb])
    names = [v.op.name for v in ec.global_variables()]
    assert names == ["input_layer/a_b_shared_embedding/embedding_weights"]
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        got = s.run(out)
    np.testing.assert_array_equal(got[:, :2], got[:, 2:])
