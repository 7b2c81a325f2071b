"""TF1's legacy structures read up to the types' structure (tf.data's
``nest.map_structure_up_to``: tuples and dicts nest, a list is one shape), as
``from_generator``'s ``output_shapes`` and ``padded_batch``'s ``padded_shapes`` use them.
Expected values and messages checked in TF 2.15.1 (tf.compat.v1)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data import Dataset
from estcore.data.structure import legacy_structure, map_up_to
from estcore.errors import InvalidArgumentError
from estcore.nest import map_structure

from .conftest import values

pytestmark = pytest.mark.smoke


def _dims(structure):
    return map_structure(lambda s: None if s.rank is None else s.as_list(), structure)


def _pair():
    yield [1, 2], 3


@pytest.mark.parametrize(("types", "shapes", "expected"), [
    ((tf.int64, tf.int64), ([None], []), ([None], [])),
    ((tf.int64, tf.int64), ([None], [None]), ([None], [None])),
    ((tf.int64, tf.int64), ([3], []), ([3], [])),
    ((tf.int64, tf.int64), ((2,), ()), ([2], [])),
    ((tf.int64, tf.int64), (None, []), (None, [])),
    ((tf.int64, tf.int64), None, (None, None)),
    ({"a": tf.int64, "b": tf.int64}, {"a": [], "b": []}, {"a": [], "b": []}),
    (((tf.int64, tf.int32), tf.int64), (([None], [2]), []), (([None], [2]), [])),
    (tf.int64, [None], [None]),
    (tf.int64, [], []),
    (tf.int64, (2, 3), [2, 3]),
    (tf.int64, tf.TensorShape([2]), [2]),
], ids=["vector_scalar", "two_vectors", "fixed", "tuples", "none_entry", "no_shapes", "dict",
        "nested", "single_list", "single_scalar", "single_tuple", "single_tensorshape"])
def test_from_generator_output_shapes_follow_the_types(types, shapes, expected):
    ds = Dataset.from_generator(_pair, types, shapes)
    assert _dims(ds.output_shapes) == expected


@pytest.mark.parametrize(("types", "shapes", "error", "message"), [
    ((tf.int64, tf.int64), ([None],), ValueError,
     "Input structure has length 1, while shallow structure has length 2."),
    ((tf.int64, tf.int64), [None, None], TypeError,
     "If shallow structure is a sequence, input must also be a sequence. Input has type: "
     "'list'."),
    ((tf.int64, tf.int64), 3, TypeError, "Input has type: 'int'"),
    ((tf.int64, tf.int64), {"a": [], "b": []}, TypeError,
     "Input structure has type 'dict', while shallow structure has type 'tuple'."),
    ({"a": tf.int64, "b": tf.int64}, {"a": []}, ValueError, "length 1, while shallow "
                                                            "structure has length 2"),
    ({"a": tf.int64}, {"b": []}, ValueError, "same keys"),
    ([tf.int64, tf.int64], ([None], []), TypeError, "dtype"),  # a list is no structure
], ids=["short", "flat_list", "scalar", "dict_for_tuple", "missing_key", "other_key",
        "list_types"])
def test_from_generator_refuses_shapes_of_another_structure(types, shapes, error, message):
    with pytest.raises(error, match=message):
        Dataset.from_generator(_pair, types, shapes)


def test_from_generator_elements_are_read_up_to_the_types():
    ds = Dataset.from_generator(_pair, (tf.int64, tf.int64), ([None], []))
    assert values(ds) == [([1, 2], 3)]  # TF: (array([1, 2]), 3)
    graph = tf.Graph()
    with graph.as_default():
        a, b = ds.make_one_shot_iterator().get_next()
    assert a.shape.as_list() == [None] and b.shape.as_list() == []
    assert tf.Session(graph=graph).run([a, b])[0].tolist() == [1, 2]
    as_dict = Dataset.from_generator(lambda: iter([{"a": [1, 2], "b": 3}]),
                                     {"a": tf.int64, "b": tf.int64})
    assert values(as_dict) == [{"a": [1, 2], "b": 3}]
    assert values(Dataset.from_generator(lambda: iter([[1, 2, 3]]), tf.int64)) == [[1, 2, 3]]
    for bad, message in [(lambda: iter([[[1, 2], 3]]), "input must also be a sequence"),
                         (lambda: iter([(1, 2, 3)]), "length 3, while shallow structure has "
                                                     "length 2")]:
        with pytest.raises(TypeError, match=message):
            values(Dataset.from_generator(bad, (tf.int64, tf.int64)))
        graph = tf.Graph()
        with graph.as_default():
            nxt = Dataset.from_generator(bad, (tf.int64, tf.int64)).make_one_shot_iterator() \
                .get_next()
        with pytest.raises(InvalidArgumentError, match="does not match the declared structure"):
            tf.Session(graph=graph).run(nxt)


def _ragged():
    return Dataset.range(3).map(lambda v: (tf.fill([v], v), v))


@pytest.mark.parametrize(("shapes", "expected"), [
    (([None], []), ([None, None], [None])),
    (([4], []), ([None, 4], [None])),
    (([1], []), ([None, 1], [None])),  # accepted when built (the input size is unknown)
], ids=["none", "fixed", "smaller"])
def test_padded_shapes_follow_the_element_structure(shapes, expected):
    assert _dims(_ragged().padded_batch(2, shapes).output_shapes) == expected


def test_padded_batch_shapes_and_values_in_structures():
    ds = _ragged().padded_batch(2, ([4], []), (np.int64(-1), np.int64(0)))
    assert values(ds) == [([[-1, -1, -1, -1], [1, -1, -1, -1]], [0, 1]),
                          ([[2, 2, -1, -1]], [2])]
    single = Dataset.range(3).map(lambda v: tf.fill([v], v)).padded_batch(2, [None])
    assert _dims(single.output_shapes) == [None, None]
    assert _dims(Dataset.range(3).map(lambda v: tf.fill([v], v)).padded_batch(
        2, (5,)).output_shapes) == [None, 5]
    as_dict = Dataset.range(3).map(lambda v: {"a": tf.fill([v], v), "b": v}).padded_batch(
        2, {"a": [None], "b": []})
    assert _dims(as_dict.output_shapes) == {"a": [None, None], "b": [None]}


@pytest.mark.parametrize(("shapes", "error", "message"), [
    (([4],), ValueError, "Input structure has length 1, while shallow structure has length 2."),
    ([4, None], TypeError, "input must also be a sequence. Input has type: 'list'."),
    (([1, 2], []), ValueError, r"The padded shape \(1, 2\) is not compatible with the shape "
                               r"\(None,\) of the corresponding input component\."),
], ids=["short", "flat_list", "rank"])
def test_padded_batch_refuses_shapes_that_do_not_fit(shapes, error, message):
    with pytest.raises(error, match=message):
        _ragged().padded_batch(2, shapes)


def test_map_up_to_keeps_the_shallow_structure():
    got = map_up_to({"b": 0, "a": (0, 0)}, lambda s, v: (s, v), {"a": ([1], 2), "b": [3]})
    assert got == {"b": (0, [3]), "a": ((0, [1]), (0, 2))}
    spec = legacy_structure((tf.float32, tf.int64), ([None, 2], None),
                            (tf.Tensor, tf.SparseTensor))
    assert _dims((spec[0].shape, spec[1].shape)) == ([None, 2], [None, None])
    assert not spec[0].is_sparse and spec[1].is_sparse
