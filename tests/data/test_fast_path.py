"""In-memory pipelines on the C stream: which pipelines take it, and that it keeps the
chunk path's element semantics for any number of worker threads; unshuffled ones as
read-only views inside ``views_scope`` (the Estimator's input)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estcore.data import Dataset, Options
from estcore.data.iterators import DatasetIterator
from estcore.inputs import shard_scope
from estcore.inputs.resume import resume_scope
from estcore.inputs.views import views_scope

from .conftest import values

pytestmark = pytest.mark.smoke


def threads(ds, n):
    opts = Options()
    opts.threading.private_threadpool_size = n
    return ds.with_options(opts)


def chunk_path(ds):
    """The same pipeline forced onto the chunk path (a prefetch the matcher would skip is
    not enough: an identity numpy map is)."""
    return ds.map(lambda *e: e if len(e) > 1 else e[0])


def rows(n):
    return {"x": np.arange(n * 3, dtype=np.float32).reshape(n, 3), "i": np.arange(n)}


@pytest.mark.parametrize("make", [
    lambda d: d.batch(4),
    lambda d: d.shuffle(1000, seed=1).batch(4),
    lambda d: d.shuffle(50).repeat(3).batch(7, drop_remainder=True),
    lambda d: d.repeat().batch(4).take(9),
    lambda d: d.batch(4).repeat(2).prefetch(1),
    lambda d: d.shuffle(5, seed=1).batch(4),  # buffer smaller than the data: order table
    lambda d: d.shuffle(50, reshuffle_each_iteration=False).repeat(2).batch(4),
    lambda d: d.shuffle(3).repeat().batch(4),
])
def test_in_memory_pipelines_run_on_the_c_stream(make):
    assert iter(make(Dataset.from_tensor_slices(rows(10)))).path == "c_stream"


@pytest.mark.parametrize("make", [
    lambda d: d.batch(4).map(lambda e: e),
    lambda d: d.take(3).batch(2),
])
def test_other_pipelines_run_on_chunks(make):
    assert iter(make(Dataset.from_tensor_slices(rows(10)))).path == "chunks"


def test_strings_stay_on_chunks():
    ds = Dataset.from_tensor_slices(np.array(["a", "b", "c"])).batch(2)
    assert iter(ds).path == "chunks" and values(ds) == [[b"a", b"b"], [b"c"]]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), batch=st.integers(1, 50), inner=st.integers(0, 3),
       outer=st.integers(1, 3), drop=st.booleans(), take=st.integers(-1, 20))
def test_without_shuffle_the_c_stream_equals_the_chunk_path(n, batch, inner, outer, drop,
                                                             take):
    ds = Dataset.from_tensor_slices(rows(n)).repeat(inner).batch(batch, drop).repeat(outer)
    ds = ds.take(take)
    fast = values(ds)
    assert iter(ds).path == "c_stream"
    slow = chunk_path(ds)
    assert iter(slow).path == "chunks"
    assert fast == values(slow)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), batch=st.integers(1, 50), epochs=st.integers(1, 3),
       seed=st.integers(0, 2**64 - 1), nthreads=st.integers(2, 4))
def test_shuffled_stream_is_exactly_once_per_epoch_and_the_same_for_any_thread_count(
        n, batch, epochs, seed, nthreads):
    ds = Dataset.from_tensor_slices(rows(n)).shuffle(n, seed=seed).repeat(epochs).batch(batch)
    one = values(ds)
    many = values(threads(Dataset.from_tensor_slices(rows(n)).shuffle(n, seed=seed)
                          .repeat(epochs).batch(batch), nthreads))
    assert one == many
    order = [i for b in one for i in b["i"]]
    for e in range(epochs):
        assert sorted(order[e * n:(e + 1) * n]) == list(range(n))
    x = np.concatenate([np.asarray(b["x"]) for b in one])
    np.testing.assert_array_equal(x[:, 0], np.asarray(order, np.float32) * 3)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 150), buffer=st.integers(1, 160), batch=st.integers(1, 40),
       epochs=st.integers(1, 3), reshuffle=st.booleans(), seed=st.integers(0, 2**64 - 1),
       nthreads=st.integers(1, 4))
def test_buffer_shuffle_on_the_c_stream_keeps_tf_buffer_semantics(n, buffer, batch, epochs,
                                                                   reshuffle, seed, nthreads):
    def make(t):
        ds = Dataset.from_tensor_slices(rows(n)).shuffle(buffer, seed=seed,
                                                         reshuffle_each_iteration=reshuffle)
        return threads(ds.repeat(epochs).batch(batch), t)

    got = values(make(nthreads))
    assert got == values(make(1))  # the same for any thread count
    order = [i for b in got for i in b["i"]]
    passes = [order[e * n:(e + 1) * n] for e in range(epochs)]
    for p in passes:
        assert sorted(p) == list(range(n))
        assert all(x < j + buffer for j, x in enumerate(p))
    if not reshuffle:
        assert all(p == passes[0] for p in passes)


@pytest.mark.parametrize("n", [10, 7, 128])
def test_endless_buffer_shuffle_keeps_batch_boundaries(n):
    ds = Dataset.from_tensor_slices(rows(n)).shuffle(3, seed=4).repeat().batch(16).take(40)
    assert iter(ds).path == "c_stream"
    got = [b["i"] for b in values(ds)]
    assert all(len(b) == 16 for b in got)
    flat = sum(got, [])
    for e in range(len(flat) // n):
        assert sorted(flat[e * n:(e + 1) * n]) == list(range(n))


def test_batches_are_pooled_views_and_stay_valid():
    ds = Dataset.from_tensor_slices(rows(100)).batch(10)
    kept = list(ds)
    assert [b["i"][0] for b in kept] == list(range(0, 100, 10))


def test_closing_an_iterator_stops_the_stream():
    it = DatasetIterator(Dataset.from_tensor_slices(rows(1000)).repeat().batch(8)._node,
                         Options())
    next(it)
    it.close()
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.parametrize("make", [
    lambda: Dataset.from_tensor_slices(rows(23)).shuffle(23, seed=3).batch(4),  # C stream
    lambda: Dataset.from_tensor_slices(rows(23)).batch(4).map(lambda e: e),      # chunks
])
def test_data_parallel_workers_split_the_batches(make):
    whole = [b["i"] for b in values(make())]
    parts = []
    for index in range(3):
        with shard_scope(index, 3):
            it = iter(make())
        parts.append([b["i"] for b in values(it)])
        assert parts[-1] == whole[index::3]
    assert sorted(i for p in parts for b in p for i in b) == list(range(23))


# element structures (leaves x and i): the C stream and the views path build each
ELEMENTS = [
    lambda x, i: x,
    lambda x, i: {"x": x, "i": i},
    lambda x, i: (x, i),
    lambda x, i: ({"x": x}, i),
    lambda x, i: (x, {"i": i}),
    lambda x, i: ({"x": x}, {"i": i, "j": i}),
    lambda x, i: ({"a": {"x": x}}, (i, i)),  # any other structure: packed in Python
    lambda x, i: (x, i, x),
]


@pytest.mark.parametrize("element", ELEMENTS)
def test_every_element_structure_comes_back_from_the_c_stream(element):
    r = rows(9)
    ds = Dataset.from_tensor_slices(element(r["x"], r["i"])).batch(4)
    assert iter(ds).path == "c_stream"
    assert values(ds) == values(chunk_path(ds))


# ---- views: unshuffled pipelines read by a consumer that only reads (views_scope) ------

def in_views_scope(ds):
    with views_scope():
        return iter(ds)


def test_unshuffled_pipelines_are_views_only_inside_the_scope():
    plain = Dataset.from_tensor_slices(rows(10)).repeat().batch(4)
    shuffled = Dataset.from_tensor_slices(rows(10)).shuffle(10, seed=1).batch(4)
    assert in_views_scope(plain).path == "views"
    assert in_views_scope(shuffled).path == "c_stream"  # a gather: the stream does it
    assert in_views_scope(chunk_path(plain)).path == "chunks"
    assert iter(plain).path == "c_stream"  # outside the scope: writable copies, as before


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 200), batch=st.integers(1, 50), inner=st.integers(-1, 3),
       outer=st.integers(1, 3), drop=st.booleans(), take=st.integers(-1, 20))
def test_views_equal_the_c_stream_and_the_chunk_path(n, batch, inner, outer, drop, take):
    if inner < 0 and take < 0:
        take = 7  # an endless pipeline: look at a few batches
    ds = Dataset.from_tensor_slices(rows(n)).repeat(inner).batch(batch, drop).repeat(outer)
    ds = ds.take(take)
    it = in_views_scope(ds)
    assert it.path == "views"
    got = values(it)
    assert got == values(ds)  # the C stream
    assert got == values(chunk_path(ds))


def test_views_are_read_only_and_copy_nothing_inside_a_pass():
    r = rows(10)
    ds = Dataset.from_tensor_slices(r).repeat(2).batch(4)  # batches 0-3, 4-7, 8-1, ...
    batches = list(in_views_scope(ds))
    assert [b["i"].tolist() for b in batches[:3]] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    for b in batches:
        for a in b.values():
            assert not a.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                a[0] = 0
    assert np.shares_memory(batches[1]["x"], r["x"])
    assert not np.shares_memory(batches[2]["x"], r["x"])  # across the pass end: a copy
    assert r["i"].tolist() == list(range(10)) and r["x"].flags.writeable


def test_a_batch_longer_than_the_data_takes_its_rows_pass_after_pass():
    ds = Dataset.from_tensor_slices(np.arange(3)).repeat().batch(8).take(2)
    assert values(in_views_scope(ds)) == [[0, 1, 2, 0, 1, 2, 0, 1], [2, 0, 1, 2, 0, 1, 2, 0]]


@pytest.mark.parametrize("element", ELEMENTS)
def test_views_build_the_same_containers_as_the_c_stream(element):
    r = rows(9)
    ds = Dataset.from_tensor_slices(element(r["x"], r["i"])).batch(4)

    def shape(e):  # containers, key order and dtypes, values aside
        if isinstance(e, dict):
            return (type(e), [(k, shape(v)) for k, v in e.items()])
        if isinstance(e, tuple):
            return (type(e), [shape(v) for v in e])
        return (type(e), e.dtype, e.shape)

    views, stream = list(in_views_scope(ds)), list(ds)
    assert [shape(e) for e in views] == [shape(e) for e in stream]
    assert values(views) == values(stream)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch=st.integers(1, 9), cut=st.integers(0, 30))
def test_views_resume_where_the_state_says(n, batch, cut):
    def make():
        return Dataset.from_tensor_slices(np.arange(n)).repeat(2).batch(batch).repeat(2)

    full = values(make())
    cut = min(cut, len(full))
    first = in_views_scope(make())
    head = values(next(first) for _ in range(cut))
    state = first.get_state()
    with resume_scope(state), views_scope():
        it = iter(make())
    assert it.resumed and it.path == "views"
    assert head + values(it) == full


def test_views_split_between_data_parallel_workers():
    make = lambda: Dataset.from_tensor_slices(rows(23)).repeat(2).batch(4)  # noqa: E731
    whole = [b["i"] for b in values(make())]
    for index in range(3):
        with shard_scope(index, 3), views_scope():
            it = iter(make())
        assert it.path == "views"
        assert [b["i"] for b in values(it)] == whole[index::3]


@pytest.mark.parametrize("make", [
    lambda d: d.repeat().batch(4).take(3),
    lambda d: d.shuffle(4).repeat().batch(4).take(3),
    lambda d: d.batch(4),
])
def test_an_empty_source_yields_nothing_even_repeated_forever(make):
    # TF: repeat() of an empty dataset is empty; the C stream refused to start on it
    # ("numpy_input_fn: could not start the input stream: invalid argument")
    ds = make(Dataset.from_tensor_slices(np.zeros((0, 3), np.float32)))
    assert values(ds) == [] and values(in_views_scope(ds)) == []
    assert values(chunk_path(ds)) == []
