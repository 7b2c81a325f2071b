"""``Dataset.cache(filename)``: the first complete pass is written to files and read
by every later pass; a partial pass leaves no cache; ``cache('')`` stays in memory."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estcore.data import Dataset, TensorSpec
from estcore.errors import DataLossError, InvalidArgumentError, NotFoundError
from estcore.graph import dtypes as dt

pytestmark = pytest.mark.smoke


def counted(values, calls):
    """A generator dataset of ``(float, string)`` elements counting its passes."""
    def gen():
        calls.append(1)
        for v in values:
            yield np.float32(v), str(v).encode()
    return Dataset.from_generator(gen, output_signature=(TensorSpec([], dt.float32),
                                                         TensorSpec([], dt.string)))


def as_lists(ds):
    return [(float(a), b) for a, b in ds]


def test_first_complete_pass_writes_files_later_passes_read_them(tmp_path):
    base = str(tmp_path / "cache")
    calls = []
    ds = counted(range(5), calls).cache(base)
    expected = [(float(v), str(v).encode()) for v in range(5)]
    assert as_lists(ds) == expected
    assert os.path.exists(base + ".index") and os.path.exists(base + ".data")
    assert sorted(os.listdir(tmp_path)) == ["cache.data", "cache.index"]  # no temp left
    assert as_lists(ds) == expected and as_lists(ds.repeat(2)) == expected * 2
    assert len(calls) == 1  # the input was read once
    # another program building the pipeline reads the files, not its (changed) input
    other_calls = []
    assert as_lists(counted(range(100, 105), other_calls).cache(base)) == expected
    assert other_calls == []


def test_a_partial_pass_leaves_no_cache(tmp_path):
    base = str(tmp_path / "c")
    calls = []
    ds = counted(range(10), calls).cache(base)
    assert as_lists(ds.take(3)) == [(float(v), str(v).encode()) for v in range(3)]
    it = iter(ds)
    next(it)
    it.close()  # an interrupted pass
    assert os.listdir(tmp_path) == []
    assert len(as_lists(ds)) == 10 and len(calls) == 3
    assert as_lists(ds)[-1] == (9.0, b"9") and len(calls) == 3  # now from the files


def test_blocks_of_varying_shapes_and_dtypes_round_trip(tmp_path):
    base = str(tmp_path / "v")
    ds = Dataset.range(1, 6).map(lambda n: (np.arange(n, dtype=np.int16),
                                            np.full([2, n], n > 2)))
    first = list(ds.cache(base))
    second = list(ds.cache(base))
    assert len(second) == 5
    for (a, b), (c, d) in zip(first, second, strict=True):
        assert a.dtype == c.dtype == np.int16 and b.dtype == d.dtype == np.bool_
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    big = Dataset.from_tensor_slices(np.arange(10000, dtype=np.float64).reshape(5000, 2))
    assert np.array_equal(np.stack(list(big.cache(str(tmp_path / "big")))),
                          np.stack(list(big.cache(str(tmp_path / "big")))))


def test_memory_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    ds = counted(range(3), calls).cache()
    assert as_lists(ds) == as_lists(ds) and len(calls) == 1
    assert os.listdir(tmp_path) == []


def test_bad_caches_and_folders_raise_clear_errors(tmp_path):
    base = str(tmp_path / "x")
    list(Dataset.range(3).cache(base))
    with pytest.raises(InvalidArgumentError, match="holds elements"):
        list(Dataset.from_tensor_slices(np.zeros(3, np.float32)).cache(base))
    with open(base + ".data", "r+b") as f:
        f.truncate(5)
    with pytest.raises(DataLossError, match="truncated"):
        list(Dataset.range(3).cache(base))
    with pytest.raises(NotFoundError, match="does not exist"):
        list(Dataset.range(3).cache(str(tmp_path / "missing" / "c")))


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 6), min_size=0, max_size=30),
       kind=st.sampled_from(["f4", "i8", "S", "?"]))
def test_property_file_cache_replays_exactly_what_the_pass_produced(tmp_path_factory, sizes,
                                                                   kind):
    base = str(tmp_path_factory.mktemp("prop") / "c")

    def value(i, n):
        if kind == "S":
            return np.array([bytes([97 + (i + j) % 26]) * j for j in range(n)], dtype=object)
        return (np.arange(n) * (i + 1)).astype(kind)

    leaf_type = dt.string if kind == "S" else dt.as_dtype(np.dtype(kind))
    ds = Dataset.from_generator(
        lambda: ((np.int64(i), value(i, n)) for i, n in enumerate(sizes)),
        output_signature=(TensorSpec([], dt.int64), TensorSpec([None], leaf_type)))
    expected = list(ds)
    for _ in range(2):  # the writing pass, then a pass from the files
        got = list(ds.cache(base))
        assert len(got) == len(expected)
        for (a, b), (c, d) in zip(got, expected, strict=True):
            assert a == c and b.dtype == d.dtype and b.tolist() == d.tolist()
