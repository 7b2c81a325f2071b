"""numpy_input_fn: packing (TF spec 1.3), dtypes, layouts, element_spec, seeds, state."""

from __future__ import annotations

import json

import numpy as np
import pytest

import estcore.estimator.inputs as est_inputs
from estcore.inputs import NumpyInputStream, TensorSpec, numpy_input_fn, seed_scope

pytestmark = pytest.mark.smoke


def rows_of(batches):
    return [b.tolist() for b in batches]


def test_public_names():
    assert est_inputs.numpy_input_fn is numpy_input_fn
    assert set(est_inputs.__all__) == {"numpy_input_fn", "pandas_input_fn", "NumpyInputStream",
                                       "TensorSpec", "seed_scope", "shard_scope",
                                       "current_shard"}


@pytest.mark.parametrize(("n", "batch", "epochs", "want"), [
    (3, 2, 3, [[0, 1], [2, 0], [1, 2], [0, 1], [2]]),  # TF's numpy_io_test example
    (5, 2, 1, [[0, 1], [2, 3], [4]]),
    (4, 10, 1, [[0, 1, 2, 3]]),
    (2, 3, 2, [[0, 1, 0], [1]]),
])
def test_tf_batch_boundaries(n, batch, epochs, want, drain):
    fn = numpy_input_fn(np.arange(n), batch_size=batch, num_epochs=epochs, shuffle=False)
    assert rows_of(drain(fn())) == want


def test_array_x_and_y(drain):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int64) * 3
    batches = drain(numpy_input_fn(x, y, batch_size=4, shuffle=False)())
    assert [len(f) for f, _ in batches] == [4, 4, 2]
    f, l = batches[0]
    assert f.dtype == np.float32 and f.shape == (4, 2) and l.dtype == np.int64
    np.testing.assert_array_equal(f, x[:4])
    np.testing.assert_array_equal(l, y[:4])


def test_dict_x_and_dict_y_sorted_keys():
    x = {"b": np.arange(6), "a": np.arange(6) * 10.0}
    y = {"z": np.arange(6) % 2, "c": np.ones((6, 2, 2), np.int8)}
    stream = numpy_input_fn(x, y, batch_size=6, shuffle=True, seed=1)()
    f, l = next(stream)
    assert list(f) == ["a", "b"] and list(l) == ["c", "z"]
    order = f["b"]
    np.testing.assert_array_equal(f["a"], order * 10.0)
    np.testing.assert_array_equal(l["z"], order % 2)
    assert l["c"].shape == (6, 2, 2)
    stream.close()


def test_y_none_gives_features_only():
    stream = numpy_input_fn({"a": np.arange(3)}, batch_size=2, shuffle=False)()
    batch = next(stream)
    assert isinstance(batch, dict) and batch["a"].tolist() == [0, 1]
    stream.close()


def test_target_key_in_x_is_fine(drain):
    x = {"__target_key__": np.arange(4)}
    (f, l), = drain(numpy_input_fn(x, np.arange(4) + 1, batch_size=4, shuffle=False)())
    assert f["__target_key__"].tolist() == [0, 1, 2, 3] and l.tolist() == [1, 2, 3, 4]


DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
          np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, "S5", "U7", "<M8[s]", ">i4",
          np.complex64]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (28, 28, 1)], ids=["scalar", "28x28x1"])
def test_dtypes_and_shapes_preserved(dtype, shape, drain):
    n = 37
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 100, size=(n, *shape))
    x = raw.astype(dtype)
    batches = drain(numpy_input_fn(x, batch_size=8, shuffle=True, seed=5, num_threads=2)())
    assert all(b.dtype == x.dtype and b.shape[1:] == x.shape[1:] for b in batches)
    got = np.concatenate(batches)
    assert got.shape == x.shape
    order = numpy_input_fn(np.arange(n), batch_size=8, shuffle=True, seed=5)
    idx = np.concatenate(drain(order()))
    np.testing.assert_array_equal(got, x[idx])


def _layouts():
    base = np.arange(40 * 6 * 5, dtype=np.float64).reshape(40, 6, 5)
    return {
        "c": base,
        "fortran": np.asfortranarray(base),
        "rows_strided": base[::2],
        "inner_sliced": base[:, 1:5, ::2],
        "reversed": base[::-1, ::-1],
        "transposed": base.transpose(0, 2, 1),
        "broadcast": np.broadcast_to(np.arange(5.0), (40, 6, 5)),
        "readonly": np.frombuffer(base.tobytes(), np.float64).reshape(40, 6, 5),
    }


@pytest.mark.parametrize("name", list(_layouts()))
def test_non_contiguous_inputs(name, drain):
    x = _layouts()[name]
    n = x.shape[0]
    y = np.arange(n)
    batches = drain(numpy_input_fn(x, y, batch_size=7, shuffle=True, seed=2,
                                   num_threads=2)())
    feats = np.concatenate([f for f, _ in batches])
    idx = np.concatenate([l for _, l in batches])
    np.testing.assert_array_equal(feats, x[idx])
    assert sorted(idx.tolist()) == list(range(n))


def test_more_than_16_dims_copies(drain):
    x = np.arange(2 ** 18, dtype=np.uint8).reshape((4,) + (2,) * 16)[..., ::-1]
    batches = drain(numpy_input_fn(x, batch_size=4, shuffle=False)())
    np.testing.assert_array_equal(batches[0], x)


def test_x_never_mutated():
    x = {"b": np.arange(5), "a": np.arange(5)}
    before = list(x)
    numpy_input_fn(x, {"y": np.arange(5)}, shuffle=True)().close()
    assert list(x) == before and x["a"].tolist() == list(range(5))


def test_batches_are_writable_views_on_pooled_buffers():
    stream = numpy_input_fn(np.zeros((8, 3)), batch_size=4, shuffle=False)()
    b = next(stream)
    assert b.flags.writeable and not b.flags.owndata
    b += 1  # the user's copy to modify
    stream.close()
    assert b.sum() == 12  # still valid after close


def test_element_spec():
    x = {"img": np.zeros((10, 28, 28, 1), np.float32), "id": np.zeros(10, np.int64)}
    finite = numpy_input_fn(x, np.zeros(10, np.int32), batch_size=4, shuffle=False)()
    feats, labels = finite.element_spec
    assert feats == {"id": TensorSpec((None,), np.dtype(np.int64)),
                     "img": TensorSpec((None, 28, 28, 1), np.dtype(np.float32))}
    assert labels == TensorSpec((None,), np.dtype(np.int32))
    endless = numpy_input_fn(x["img"], batch_size=4, num_epochs=None, shuffle=True)()
    assert endless.element_spec == TensorSpec((4, 28, 28, 1), np.dtype(np.float32))
    dict_y = numpy_input_fn(x["id"], {"a": x["img"]}, batch_size=4, shuffle=False)()
    assert dict_y.element_spec[1]["a"].shape == (None, 28, 28, 1)
    for s in (finite, endless, dict_y):
        s.close()


def test_endless_stream_full_batches():
    stream = numpy_input_fn(np.arange(5), batch_size=3, num_epochs=None, shuffle=True,
                            seed=1)()
    got = [next(stream) for _ in range(10)]
    assert all(len(b) == 3 for b in got)
    flat = np.concatenate(got)
    for e in range(6):
        assert sorted(flat[5 * e:5 * e + 5].tolist()) == list(range(5))
    stream.close()


def test_seed_sources():
    x = np.arange(100)
    fn = numpy_input_fn(x, batch_size=100, shuffle=True)
    a, b = fn(), fn()
    assert a.seed != b.seed  # fresh entropy each time
    with seed_scope(7):
        c, d = fn(), fn()
        assert c.seed == d.seed == 7
        with seed_scope(None):
            assert fn().seed != 7
    np.testing.assert_array_equal(next(c), next(d))
    explicit = numpy_input_fn(x, batch_size=100, shuffle=True, seed=7)
    with seed_scope(8):
        e = explicit()
    assert e.seed == 7
    np.testing.assert_array_equal(next(e), next(numpy_input_fn(x, batch_size=100,
                                                               shuffle=True, seed=7)()))
    for s in (a, b, c, d, e):
        s.close()


def test_epochs_have_different_orders(drain):
    batches = drain(numpy_input_fn(np.arange(50), batch_size=50, num_epochs=3, shuffle=True,
                                   seed=3)())
    assert len({tuple(b.tolist()) for b in batches}) == 3


def test_state_roundtrip_and_json(drain):
    x = np.arange(23)
    fn = numpy_input_fn(x, x * 2, batch_size=4, num_epochs=3, shuffle=True, seed=11)
    full = drain(fn())
    stream = fn()
    head = [next(stream) for _ in range(7)]
    state = json.loads(json.dumps(stream.get_state()))
    assert state["batches_consumed"] == 7 and state["epoch"] == 1 and state["position"] == 5
    stream.close()
    rest = drain(fn(state=state))
    got = [(np.array(f), np.array(l)) for f, l in head] + rest
    assert len(got) == len(full)
    for (f1, l1), (f2, l2) in zip(got, full, strict=True):
        np.testing.assert_array_equal(f1, f2)
        np.testing.assert_array_equal(l1, l2)
    # numpy_input_fn(state=...) does the same; a finished stream resumes empty.
    again = drain(numpy_input_fn(x, x * 2, batch_size=4, num_epochs=3, shuffle=True,
                                 state=state)())
    assert len(again) == len(rest)
    done = fn()
    drain(done)
    assert drain(fn(state=done.get_state())) == []


def test_repr_and_context_manager():
    with numpy_input_fn(np.arange(3), shuffle=False)() as stream:
        assert isinstance(stream, NumpyInputStream)
        assert "batch_size=128" in repr(stream)
    assert stream.closed
