"""numeric_column, bucketized_column, input_layer and linear_model over dense inputs."""

import numpy as np
import pytest

import estcore as ec
from estcore import feature_column as fc


def _run(*fetches):
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        return s.run(list(fetches))


def test_numeric_column_defaults_and_repr():
    c = fc.numeric_column("a")
    assert c.shape == (1,) and c.default_value is None and c.dtype == ec.float32
    assert c.name == "a" and c == fc.numeric_column("a") and hash(c) == hash(fc.numeric_column("a"))
    assert repr(c).startswith("NumericColumn(key='a', shape=(1,)")


@pytest.mark.parametrize("kw, err", [({"shape": 0}, ValueError), ({"shape": (2, "x")}, TypeError),
                                     ({"dtype": ec.string}, ValueError),
                                     ({"normalizer_fn": 3}, TypeError),
                                     ({"default_value": "x"}, TypeError),
                                     ({"shape": 2, "default_value": [1, 2, 3]}, ValueError)])
def test_numeric_column_rejects_bad_arguments(kw, err):
    with pytest.raises(err):
        fc.numeric_column("a", **kw)


def test_input_layer_sorts_by_name_and_flattens():
    a = fc.numeric_column("a")
    b = fc.numeric_column("b", shape=(2,))
    n = fc.numeric_column("n", normalizer_fn=lambda x: x * 2.0)
    feats = {"a": np.array([0.5, 2.0], np.float32), "b": np.array([[1, 2], [3, 4]], np.int64),
             "n": np.array([[1.0], [3.0]], np.float32)}
    out = fc.input_layer(feats, [n, b, a])
    assert out.shape.as_list() == [2, 4]
    (v,) = _run(out)
    np.testing.assert_array_equal(v, [[0.5, 1, 2, 2], [2, 3, 4, 6]])


def test_bucketized_dense_is_one_hot_of_upper_bound():
    a = fc.numeric_column("a")
    bk = fc.bucketized_column(a, [0.0, 1.0, 2.0])
    assert bk.name == "a_bucketized"
    x = np.array([[-1.0], [0.0], [0.5], [1.0], [2.5]], np.float32)
    (v,) = _run(fc.input_layer({"a": x}, [bk]))
    np.testing.assert_array_equal(v.argmax(1), [0, 1, 1, 2, 3])
    np.testing.assert_array_equal(v.sum(1), 1)


@pytest.mark.parametrize("b", [[1.0, 0.0], [], None, "ab", [0.0, float("nan")]])
def test_bucketized_rejects_unsorted_boundaries(b):
    with pytest.raises(ValueError, match="boundaries"):
        fc.bucketized_column(fc.numeric_column("a"), b)


def test_input_layer_rejects_categorical_duplicates_and_empty():
    a = fc.numeric_column("a")
    with pytest.raises(ValueError, match="feature_columns must not be empty"):
        fc.input_layer({"a": [1.0]}, [])
    with pytest.raises(ValueError, match="Duplicate feature column name"):
        fc.input_layer({"a": [1.0]}, [a, fc.numeric_column("a", shape=2)])
    with pytest.raises(ValueError, match="not in features"):
        fc.input_layer({"b": [1.0]}, [a])


def test_linear_model_variables_and_value():
    a = fc.numeric_column("a")
    b = fc.numeric_column("b", shape=(2,))
    bk = fc.bucketized_column(a, [0.0, 1.0])
    feats = {"a": np.array([[0.5], [2.0]], np.float32),
             "b": np.array([[1, 2], [3, 4]], np.float32)}
    cols_to_vars = {}
    out = fc.linear_model(feats, [b, a, bk], units=2, cols_to_vars=cols_to_vars)
    names = sorted(v.op.name for v in ec.global_variables())
    assert names == ["linear_model/a/weights", "linear_model/a_bucketized/weights",
                     "linear_model/b/weights", "linear_model/bias_weights"]
    assert {v.op.name for v in ec.get_collection(ec.GraphKeys.MODEL_VARIABLES)} == set(names)
    assert [v.op.name for v in cols_to_vars[bk]] == ["linear_model/a_bucketized/weights"]
    assert cols_to_vars["bias"][0].op.name == "linear_model/bias_weights"
    wa, wbk, wb, bias = (cols_to_vars[a][0], cols_to_vars[bk][0], cols_to_vars[b][0],
                         cols_to_vars["bias"][0])
    vals = {wa: [[2.0, 1.0]], wbk: [[1.0, 0], [10.0, 0], [100.0, 0]],
            wb: [[1.0, 0], [0.0, 1]], bias: [0.5, -0.5]}
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        for var, val in vals.items():
            s.run(var.assign(np.array(val, np.float32)))
        got = s.run(out)
    # row 0: a=0.5 -> 1.0 + 0.5*[2,1]; bucket 1 -> 10; b=[1,2]; bias
    want = np.array([[1.0 + 10 + 1 + 0.5, 0.5 + 0 + 2 - 0.5],
                     [4.0 + 100 + 3 + 0.5, 2.0 + 0 + 4 - 0.5]], np.float32)
    np.testing.assert_allclose(got, want)


def test_linear_model_under_scope_and_twice():
    a = fc.numeric_column("a")
    with ec.variable_scope("linear"):
        fc.linear_model({"a": [[1.0]]}, [a])
    fc.linear_model({"a": [[1.0]]}, [a])
    names = sorted(v.op.name for v in ec.global_variables())
    assert names == ["linear/linear_model/a/weights", "linear/linear_model/bias_weights",
                     "linear_model/a/weights", "linear_model/bias_weights"]


def test_linear_model_trains_with_sgd():
    a = fc.numeric_column("a")
    bk = fc.bucketized_column(a, [0.0])
    x = np.array([[-1.0], [1.0]], np.float32)
    y = np.array([[0.0], [1.0]], np.float32)
    pred = fc.linear_model({"a": x}, [bk])
    loss = ec.reduce_mean(ec.square(pred - y))
    train = ec.train.GradientDescentOptimizer(0.5).minimize(loss)
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        for _ in range(50):
            s.run(train)
        assert s.run(loss) < 1e-4


def test_weighted_column_weights_must_match_the_ids():
    col = fc.weighted_categorical_column(fc.categorical_column_with_identity("i", 5), "w")
    feats = {"i": np.array([[1, -1], [2, 3]]), "w": np.array([[1.0, 2.0], [1.0, 1.0]])}
    out = fc.input_layer(feats, [fc.indicator_column(col)])
    with ec.Session() as s:
        with pytest.raises(ec.errors.InvalidArgumentError, match="same indices"):
            s.run(out)


def test_bucket_zero_counts_in_linear_model():
    """Bucket id 0 (values below the first boundary) is a real id, not a missing one."""
    bk = fc.bucketized_column(fc.numeric_column("a"), [0.0])
    cols_to_vars = {}
    out = fc.linear_model({"a": np.array([[-1.0], [1.0]], np.float32)}, [bk],
                          cols_to_vars=cols_to_vars)
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        s.run(cols_to_vars[bk][0].assign([[5.0], [7.0]]))
        np.testing.assert_allclose(s.run(out), [[5.0], [7.0]])


# ---------------------------------------------------------------- values per example
# TF 1.15 reshapes each column to (shape(tensor)[0], num_elements): a feature whose values
# per example differ from the column's shape fails ("Input to reshape is a tensor with 4
# values, but the requested shape has 8"), never regroups rows. estcore names the column
# and fails while the graph is built when the static shape proves it.

@pytest.mark.parametrize("fn", [fc.input_layer, fc.linear_model], ids=["input_layer",
                                                                       "linear_model"])
@pytest.mark.parametrize("shape, per_example", [([None], 1), ([None, 4], 4), ([3, 1], 1)])
def test_a_feature_with_other_values_per_example_fails_when_the_graph_is_built(
        fn, shape, per_example):
    where = "input_layer" if fn is fc.input_layer else "linear_model"
    with ec.Graph().as_default():
        f = {"n": ec.placeholder(ec.float32, shape)}
        with pytest.raises(ValueError, match=(
                rf"^{where}: feature column 'n' expects 2 values per example \(shape \(2,\)\), "
                rf"but the feature has {per_example} per example \(tensor shape .*\): a batch "
                rf"of B examples has {per_example}\*B values where 2\*B are needed")):
            fn(f, [fc.numeric_column("n", shape=[2])])


def test_numpy_features_are_checked_too():
    with ec.Graph().as_default(), pytest.raises(ValueError, match="feature column 'n' expects "
                                                                   "2 values per example"):
        fc.input_layer({"n": np.arange(4, dtype=np.float32)}, [fc.numeric_column("n", shape=[2])])


@pytest.mark.parametrize("fn", [fc.input_layer, fc.linear_model], ids=["input_layer",
                                                                       "linear_model"])
def test_unknown_per_example_dimensions_are_checked_at_run_time(fn):
    where = "input_layer" if fn is fc.input_layer else "linear_model"
    with ec.Graph().as_default():
        p = ec.placeholder(ec.float32, [None, None])
        out = fn({"n": p}, [fc.numeric_column("n", shape=[2])])
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            ok = s.run(out, {p: np.ones((3, 2), np.float32)})
            assert ok.shape == ((3, 2) if fn is fc.input_layer else (3, 1))
            with pytest.raises(ec.errors.InvalidArgumentError, match=(
                    rf"assertion failed: \[{where}: feature column 'n' expects 2 values per "
                    r"example \(shape \(2,\)\): a batch of\] \[2\] \[examples needs\] \[4\] "
                    r"\[values, but the feature has\] \[6\] \[values \(tensor shape\] \[2 3\]")):
                s.run(out, {p: np.ones((2, 3), np.float32)})   # 6 values: would regroup to 3x2


def test_a_matching_feature_of_another_rank_is_flattened_per_example():
    with ec.Graph().as_default():
        p = ec.placeholder(ec.float32, [None, 2, 3])
        out = fc.input_layer({"n": p}, [fc.numeric_column("n", shape=[6])])
        x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
        with ec.Session() as s:
            np.testing.assert_array_equal(s.run(out, {p: x}), x.reshape(2, 6))


@pytest.mark.parametrize("fn", [fc.input_layer, fc.linear_model], ids=["input_layer",
                                                                       "linear_model"])
def test_a_bucketized_column_names_its_source_when_the_source_shape_differs(fn):
    src = fc.numeric_column("n", shape=[2])
    with ec.Graph().as_default():
        f = {"n": ec.placeholder(ec.float32, [None])}
        with pytest.raises(ValueError, match=r"^bucketized_column 'n_bucketized': feature "
                                             r"column 'n' expects 2 values per example"):
            fn(f, [fc.bucketized_column(src, [0.0])])


def test_a_bucketized_column_with_unknown_source_dimensions_is_checked_at_run_time():
    src = fc.numeric_column("n", shape=[2])
    with ec.Graph().as_default():
        p = ec.placeholder(ec.float32, [None, None])
        out = fc.linear_model({"n": p}, [fc.bucketized_column(src, [0.0])])
        with ec.Session() as s:
            s.run(ec.global_variables_initializer())
            assert s.run(out, {p: np.ones((3, 2), np.float32)}).shape == (3, 1)
            with pytest.raises(ec.errors.InvalidArgumentError,
                               match=r"bucketized_column 'n_bucketized': feature column 'n' "
                                     r"expects 2 values per example"):
                s.run(out, {p: np.ones((2, 3), np.float32)})
