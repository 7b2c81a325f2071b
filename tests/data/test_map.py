"""map / filter: traced once, run vectorised where every op has a batching rule, per
element where one does not, on numpy values where tracing fails; same values each way."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.data import Dataset, map_mode
from estcore.graph import dtypes as dt
from estcore.graph.ops import string_ops as so
from estcore.io import decode_csv, encode_example

from .conftest import values

pytestmark = pytest.mark.smoke

X = np.arange(60, dtype=np.float32).reshape(10, 2, 3)


def mapped(fn, data=X):
    ds = Dataset.from_tensor_slices(data).map(fn)
    return ds, np.asarray(values(ds))


@pytest.mark.parametrize(("fn", "ref"), [
    (lambda x: x * 2.0 + 1.0, lambda x: x * 2 + 1),
    (lambda x: ec.cast(x, dt.int32) // 4, lambda x: x.astype(np.int32) // 4),
    (lambda x: ec.maximum(x, ec.constant([1.0, 20.0, 3.0])), lambda x: np.maximum(x, [1, 20, 3])),
    (lambda x: x + ec.reduce_sum(x, axis=1, keepdims=True), lambda x: x + x.sum(1, keepdims=True)),
    (lambda x: ec.reduce_mean(x), lambda x: x.mean()),
    (lambda x: ec.reshape(x, [6]), lambda x: x.reshape(6)),
    (lambda x: ec.reshape(x, [-1, 2]), lambda x: x.reshape(-1, 2)),
    (lambda x: ec.transpose(x), lambda x: x.T),
    (lambda x: ec.expand_dims(x, 0), lambda x: x[None]),
    (lambda x: ec.squeeze(ec.expand_dims(x, -1)), lambda x: x),
    (lambda x: ec.concat([x, x * 0.0], axis=0), lambda x: np.concatenate([x, x * 0])),
    (lambda x: ec.stack([x, x], axis=-1), lambda x: np.stack([x, x], -1)),
    (lambda x: ec.argmax(x, axis=1), lambda x: x.argmax(1)),
    (lambda x: ec.one_hot(ec.cast(x[0], dt.int32) % 4, 4), None),
    (lambda x: ec.cast(ec.shape(x)[0], dt.float32) * x, lambda x: 2 * x),
    (lambda x: x[..., 1:], lambda x: x[..., 1:]),
    (lambda x: x[::-1, None, :2], lambda x: x[::-1, None, :2]),
    (lambda x: x[1, -1] + x[0], lambda x: x[1, -1] + x[0]),
    (lambda x: ec.gather(x, [2, 0], axis=1), lambda x: x[:, [2, 0]]),
    (lambda x: ec.gather(x, [1], axis=-2), lambda x: x[[1]]),
])
def test_vectorised_maps_equal_the_per_element_reference(fn, ref):
    ds, got = mapped(fn)
    if ref is None:
        want = np.eye(4, dtype=np.float32)[(X[:, 0].astype(int)) % 4]
    else:
        want = np.stack([ref(x) for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert map_mode(ds) in ("vectorized", "per_element")


def test_which_path_each_function_takes():
    assert map_mode(mapped(lambda x: x * 2.0)[0]) == "vectorized"
    assert map_mode(mapped(lambda x: ec.reshape(x, [6]))[0]) == "vectorized"
    ds, got = mapped(lambda x: x[0])  # StridedSlice: x[:, 0] over the chunk
    assert map_mode(ds) == "vectorized"
    np.testing.assert_array_equal(got, X[:, 0])
    ds, got = mapped(lambda x: ec.matmul(x, ec.ones([3, 1])))
    assert map_mode(ds) == "per_element"
    np.testing.assert_allclose(got, X @ np.ones((3, 1), np.float32))
    ds, got = mapped(lambda x: np.sqrt(x))  # numpy on a symbolic tensor fails: numpy path
    assert map_mode(ds) == "numpy"
    np.testing.assert_allclose(got, np.sqrt(X))


def test_python_control_flow_runs_on_numpy_values():
    ds = Dataset.range(6).map(lambda v: v * 10 if v % 2 else -v)
    assert map_mode(ds) == "numpy" and values(ds) == [0, 10, -2, 30, -4, 50]


def test_tuple_elements_are_unpacked_and_structures_returned():
    ds = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10))
    out = ds.map(lambda a, b: {"s": a + b, "d": b - a})
    assert map_mode(out) == "vectorized"
    assert values(out) == [{"s": 11 * i, "d": 9 * i} for i in range(4)]
    pair = ds.map(lambda a, b: [b, a])  # a list result is a tuple (as in TF)
    assert values(pair)[1] == (10, 1)


def test_constant_outputs_are_repeated_per_element():
    ds = Dataset.range(3).map(lambda v: (v, ec.constant(7)))
    assert map_mode(ds) == "vectorized" and values(ds) == [(0, 7), (1, 7), (2, 7)]


def test_map_after_batch_runs_once_per_batch():
    ds = Dataset.range(10).batch(4).map(lambda b: ec.reduce_sum(b))
    assert map_mode(ds) == "vectorized" and values(ds) == [6, 22, 17]


def test_parse_single_example_is_vectorised_as_parse_example():
    records = [encode_example({"x": np.array([i, i + 1.0], np.float32),
                               "y": np.array([i], np.int64)}) for i in range(5)]
    spec = {"x": ec.io.FixedLenFeature([2], dt.float32), "y": ec.io.FixedLenFeature([], dt.int64)}
    ds = Dataset.from_tensor_slices(np.array(records, dtype=object))
    ds = ds.map(lambda r: ec.io.parse_single_example(r, spec))
    assert map_mode(ds) == "vectorized"
    got = values(ds.batch(5))[0]
    np.testing.assert_array_equal(got["x"], [[i, i + 1] for i in range(5)])
    assert got["y"] == list(range(5))


def test_random_ops_run_per_element():
    ds = Dataset.range(4).map(lambda v: ec.random_uniform([]) + ec.cast(v, dt.float32))
    assert map_mode(ds) == "per_element"
    got = np.asarray(values(ds))
    assert np.all((got >= np.arange(4)) & (got < np.arange(4) + 1))


def test_filter_vectorised_and_numpy():
    ds = Dataset.range(10).filter(lambda v: ec.equal(v % 3, 0))
    assert map_mode(ds) == "vectorized" and values(ds) == [0, 3, 6, 9]
    ds = Dataset.range(10).filter(lambda v: int(v) % 3 == 1)
    assert map_mode(ds) == "numpy" and values(ds) == [1, 4, 7]
    with pytest.raises(ValueError, match="scalar boolean"):
        Dataset.range(3).filter(lambda v: v * 2)


def test_a_tensor_from_another_graph_is_refused():
    outside = ec.constant(1.0)
    with pytest.raises(ValueError, match="another graph"):
        Dataset.range(3).map(lambda v: outside)


def test_string_ops_and_decoders_are_vectorised():
    words = np.array(["Ab", "cD ", "x"])
    ds = Dataset.from_tensor_slices(words).map(
        lambda s: (so.upper(s), so.length(s), so.join([s, s], separator="-"),
                   so.substr(s, 0, 1), so.regex_full_match(s, "[a-z].*")))
    assert map_mode(ds) == "vectorized"
    assert values(ds) == [(w.upper().encode(), len(w), f"{w}-{w}".encode(), w[:1].encode(),
                           w[0].islower()) for w in words.tolist()]
    lines = Dataset.from_tensor_slices(np.array(["1,a", "2,b"])).map(
        lambda line: decode_csv(line, [[0], [""]]))
    assert map_mode(lines) == "vectorized" and values(lines) == [(1, b"a"), (2, b"b")]


def test_a_function_failing_both_ways_reports_both():
    with pytest.raises(ValueError, match="could not be traced on tensors .*Reshape.* nor run"):
        Dataset.range(3).map(lambda v: ec.reshape(v, [2]))
    with pytest.raises(NameError, match="not defined"):
        Dataset.range(3).map(lambda v: undefined_name + v)  # noqa: F821


def test_shape_values_stay_constants_in_the_batched_graph():
    ds, got = mapped(lambda x: x * ec.cast(ec.size(x), dt.float32) + ec.cast(ec.rank(x),
                                                                             dt.float32))
    assert map_mode(ds) == "vectorized"
    np.testing.assert_allclose(got, X * 6 + 2)
