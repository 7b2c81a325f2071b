"""Element-level semantics of each Dataset operation, as TF documents them (checked in
TF 2.15.1: tensorflow-cpu in /work/tf-venv; outputs noted where the docs give none)."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import estcore as ec
from estcore.data import Dataset
from estcore.data.node import CHUNK_ROWS
from estcore.errors import FailedPreconditionError, InvalidArgumentError
from estcore.graph import dtypes as dt

from .conftest import values

pytestmark = pytest.mark.smoke


def test_range_forms_and_dtype():
    assert values(Dataset.range(5)) == list(range(5))
    assert values(Dataset.range(2, 5)) == [2, 3, 4]
    assert values(Dataset.range(1, 5, 2)) == [1, 3]
    assert values(Dataset.range(5, 1, -2)) == [5, 3]
    assert values(Dataset.range(0)) == []
    assert Dataset.range(3).element_spec.dtype is dt.int64
    assert Dataset.range(3, output_type=dt.int32).element_spec.dtype is dt.int32


def test_from_tensor_slices_structures_and_tf_dtype_rules():
    # TF 2.15: Python ints -> int32, floats -> float32, numpy keeps float64, str -> bytes
    assert Dataset.from_tensor_slices([1, 2]).element_spec.dtype is dt.int32
    assert Dataset.from_tensor_slices([1.0, 2.0]).element_spec.dtype is dt.float32
    assert Dataset.from_tensor_slices(np.array([1.0])).element_spec.dtype is dt.float64
    assert values(Dataset.from_tensor_slices(["a", "b"])) == [b"a", b"b"]
    ds = Dataset.from_tensor_slices(({"a": np.arange(3), "b": [[1, 2], [3, 4], [5, 6]]},
                                     [7, 8, 9]))
    assert values(ds) == [({"a": 0, "b": [1, 2]}, 7), ({"a": 1, "b": [3, 4]}, 8),
                          ({"a": 2, "b": [5, 6]}, 9)]
    Point = collections.namedtuple("Point", "x y")
    got = list(Dataset.from_tensor_slices(Point(np.arange(2), np.arange(2) * 10)))
    assert isinstance(got[1], Point) and (got[1].x, got[1].y) == (1, 10)


def test_from_tensor_slices_rejects_unequal_lengths_and_scalars():
    with pytest.raises(ValueError, match="same size in the first dimension"):
        Dataset.from_tensor_slices((np.arange(3), np.arange(4)))
    with pytest.raises(ValueError, match="at least one dimension"):
        Dataset.from_tensor_slices(np.float32(1))


def test_from_tensors_is_one_element():
    assert values(Dataset.from_tensors(([1, 2], 3))) == [([1, 2], 3)]


def test_batch_last_partial_and_drop_remainder_and_static_shapes():
    assert values(Dataset.range(7).batch(3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert values(Dataset.range(7).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5]]
    assert Dataset.range(7).batch(3).element_spec.shape.as_list() == [None]
    assert Dataset.range(7).batch(3, True).element_spec.shape.as_list() == [3]
    assert Dataset.range(7).repeat().batch(3).element_spec.shape.as_list() == [None]


def test_batches_do_not_depend_on_chunk_boundaries():
    n = CHUNK_ROWS * 2 + 5
    got = values(Dataset.range(n).batch(1000))
    want = [list(range(i, min(i + 1000, n))) for i in range(0, n, 1000)]
    assert got == want


def test_repeat_before_and_after_batch():
    # before: batches cross the epoch boundary; after: each pass ends with its own short batch
    assert values(Dataset.range(3).repeat(2).batch(2)) == [[0, 1], [2, 0], [1, 2]]
    assert values(Dataset.range(3).batch(2).repeat(2)) == [[0, 1], [2], [0, 1], [2]]
    assert values(Dataset.range(2).repeat(0)) == []
    assert values(Dataset.range(2).repeat().take(5)) == [0, 1, 0, 1, 0]
    assert values(Dataset.range(0).repeat().take(3)) == []  # TF: an empty pass ends it


def test_take_skip_counts():
    assert values(Dataset.range(5).take(2)) == [0, 1]
    assert values(Dataset.range(5).take(-1)) == list(range(5))
    assert values(Dataset.range(5).skip(2)) == [2, 3, 4]
    assert values(Dataset.range(5).skip(-1)) == []
    assert values(Dataset.range(5).skip(9)) == []


def test_unbatch_inverts_batch():
    assert values(Dataset.range(7).batch(3).unbatch()) == list(range(7))


def test_padded_batch_matches_tf_docs():
    ds = Dataset.range(1, 5).map(lambda x: np.full([x], x))
    assert values(ds.padded_batch(2, padded_shapes=[None])) == [
        [[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    assert values(ds.padded_batch(2, padded_shapes=[5], padding_values=-1)) == [
        [[1, -1, -1, -1, -1], [2, 2, -1, -1, -1]], [[3, 3, 3, -1, -1], [4, 4, 4, 4, -1]]]
    with pytest.raises(ValueError, match="larger than the padded shape"):
        list(ds.padded_batch(2, padded_shapes=[2]))


def test_batch_of_varying_shapes_says_to_pad():
    ds = Dataset.range(1, 4).map(lambda x: np.full([x], x))
    with pytest.raises(ValueError, match="padded_batch"):
        list(ds.batch(2))


def test_shard_enumerate_zip_concatenate():
    assert values(Dataset.range(10).shard(3, 1)) == [1, 4, 7]
    assert values(Dataset.range(3).enumerate(5)) == [(5, 0), (6, 1), (7, 2)]
    assert values(Dataset.zip((Dataset.range(3), Dataset.range(4).batch(2)))) == [
        (0, [0, 1]), (1, [2, 3])]
    zipped = Dataset.zip({"a": Dataset.range(2), "b": Dataset.range(5, 8)})
    assert values(zipped) == [{"a": 0, "b": 5}, {"a": 1, "b": 6}]
    both = Dataset.range(3).batch(2).concatenate(Dataset.range(3).batch(3, True))
    assert values(both) == [[0, 1], [2], [0, 1, 2]]
    assert both.element_spec.shape.as_list() == [None]
    with pytest.raises(TypeError, match="incompatible dtypes"):
        Dataset.range(2).concatenate(Dataset.from_tensor_slices([1.0]))


def test_interleave_matches_tf_docs_example():
    ds = Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6),
                                        cycle_length=2, block_length=4)
    assert values(ds) == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3,
                          4, 4, 5, 5, 5, 5, 5, 5]


def test_flat_map():
    ds = Dataset.from_tensor_slices([[1, 2, 3], [4, 5, 6]]).flat_map(Dataset.from_tensor_slices)
    assert values(ds) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(TypeError, match="must return a Dataset"):
        Dataset.range(2).flat_map(lambda x: x)


def test_cache_replays_the_first_pass():
    calls = []

    def gen():
        calls.append(1)
        yield from range(3)

    ds = Dataset.from_generator(gen, output_types=dt.int64).cache()
    assert values(ds) == [0, 1, 2] and values(ds) == [0, 1, 2]
    assert len(calls) == 1


def test_from_generator_checks_types_and_shapes():
    def gen():
        yield [1, 2]
        yield [1, 2, 3]

    ds = Dataset.from_generator(gen, output_types=dt.int32, output_shapes=[None])
    assert values(ds) == [[1, 2], [1, 2, 3]]
    fixed = Dataset.from_generator(gen, output_types=dt.int32, output_shapes=[2])
    with pytest.raises(ValueError, match="element 1"):
        list(fixed)
    pairs = Dataset.from_generator(lambda: iter([(1, b"a")]), output_types=(dt.int64, dt.string))
    assert values(pairs) == [(1, b"a")]


def test_cardinality_and_len():
    assert Dataset.range(10).batch(3).cardinality() == 4
    assert Dataset.range(10).repeat().cardinality() == -1
    assert Dataset.range(10).filter(lambda x: x > 2).cardinality() == -2
    assert len(Dataset.range(10).take(4)) == 4
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(3).repeat())


def test_list_files_sorted_without_shuffle_and_shuffled_by_default(tmp_path):
    for name in ("b.txt", "a.txt", "c.csv"):
        (tmp_path / name).write_text("x")
    ds = Dataset.list_files(str(tmp_path / "*.txt"), shuffle=False)
    assert values(ds) == [str(tmp_path / "a.txt").encode(), str(tmp_path / "b.txt").encode()]
    shuffled = Dataset.list_files(str(tmp_path / "*"), seed=3)
    assert sorted(values(shuffled)) == sorted(str(p).encode() for p in tmp_path.iterdir())
    with pytest.raises(InvalidArgumentError, match="No files matched"):
        Dataset.list_files(str(tmp_path / "*.none"))


def test_bad_arguments_name_the_argument():
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="count"):
        Dataset.range(3).take("2")
    with pytest.raises(InvalidArgumentError, match="buffer_size"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(InvalidArgumentError, match="index"):
        Dataset.range(3).shard(2, 2)


def test_output_shapes_types_classes_and_element_spec():
    ds = Dataset.from_tensor_slices(({"x": np.zeros((4, 3), np.float32)}, np.arange(4)))
    ds = ds.batch(2)
    assert ds.output_shapes[0]["x"].as_list() == [None, 3]
    assert ds.output_types[1] is dt.int64
    assert ds.element_spec[0]["x"].shape.as_list() == [None, 3]


def test_interleave_default_cycle_is_the_cpu_count():
    cores = len(os.sched_getaffinity(0))
    ds = Dataset.range(1, 5).interleave(lambda x: Dataset.from_tensors(x).repeat(3))
    want = values(Dataset.range(1, 5).interleave(lambda x: Dataset.from_tensors(x).repeat(3),
                                                 cycle_length=cores))
    assert values(ds) == want
    if cores == 2:  # TF 2.15 on a 2-core machine
        assert want == [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]


# Outputs of TF 2.15.1 (tensorflow-cpu, /work/tf-venv) for
# range(1, 6).interleave(lambda x: range(10x, 10x + x), cycle_length, block_length):
# an input found exhausted (at its turn or inside its block) is replaced by the next
# element's dataset, first read at the slot's next turn.
TF_INTERLEAVE = {
    (2, 1): [10, 20, 21, 30, 31, 40, 32, 41, 42, 50, 43, 51, 52, 53, 54],
    (2, 2): [10, 20, 21, 30, 31, 32, 40, 41, 50, 51, 42, 43, 52, 53, 54],
    (3, 2): [10, 20, 21, 30, 31, 40, 41, 32, 42, 43, 50, 51, 52, 53, 54],
    (1, 3): [10, 20, 21, 30, 31, 32, 40, 41, 42, 43, 50, 51, 52, 53, 54],
}


@pytest.mark.parametrize(("cycle", "block"), sorted(TF_INTERLEAVE))
def test_interleave_replaces_exhausted_inputs_as_tf(cycle, block):
    ds = Dataset.range(1, 6).interleave(lambda x: Dataset.range(x * 10, x * 10 + x),
                                        cycle_length=cycle, block_length=block)
    assert values(ds) == TF_INTERLEAVE[(cycle, block)]
    empty_ones = Dataset.range(4).interleave(
        lambda x: Dataset.range(x * 10, x * 10 + (x % 2) * 3), cycle_length=2, block_length=2)
    assert values(empty_ones) == [10, 11, 12, 30, 31, 32]  # TF 2.15.1


def test_constant_tensors_are_values_and_placeholders_wait_for_an_initializer():
    graph = ec.Graph()
    with graph.as_default():
        assert values(Dataset.from_tensor_slices(ec.constant([1, 2]))) == [1, 2]
        ph = ec.placeholder(ec.float32, [None, 2], name="x_ph")
        ds = Dataset.from_tensor_slices(ph)  # fed by an initializable iterator
        assert ds.element_spec.shape.as_list() == [2]
        with pytest.raises(FailedPreconditionError, match="'x_ph:0'.*initializer"):
            list(ds)
        one = Dataset.from_tensors(ph)  # also fed by an initializer (TF1)
        assert one.element_spec.shape.as_list() == [None, 2]
        with pytest.raises(FailedPreconditionError, match="'x_ph:0'.*initializer"):
            list(one)


def test_padding_values_must_be_scalars():
    ds = Dataset.range(1, 3).map(lambda x: np.full([x], x))
    with pytest.raises(InvalidArgumentError, match="padding_values"):
        ds.padded_batch(2, padded_shapes=[None], padding_values=[0, 1])
