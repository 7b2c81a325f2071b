"""estcore.nest: tf.nest semantics, error messages, and packer() == pack_sequence_as."""

from __future__ import annotations

import collections
import types
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estcore import nest
from estcore.inputs.spec import TensorSpec

pytestmark = pytest.mark.smoke

Point = collections.namedtuple("Point", "y x")


class FrozenMap(Mapping):
    """A read-only Mapping built from (key, value) pairs (the non-mutable branch)."""

    def __init__(self, pairs=()):
        self._d = dict(pairs)

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __eq__(self, other):
        return type(other) is FrozenMap and list(self._d.items()) == list(other._d.items())


class MyList(list):
    pass


# -- flatten / is_nested ------------------------------------------------------------------

def test_leaves():
    arr = np.arange(3)
    for leaf in (None, 1, "ab", b"ab", arr, {1, 2}, TensorSpec((None, 2), np.float32)):
        assert not nest.is_nested(leaf)
        assert nest.flatten(leaf)[0] is leaf and len(nest.flatten(leaf)) == 1
    assert nest.flatten(None) == [None]


def test_structures_are_nested():
    for s in ([], (), {}, collections.OrderedDict(), MyList(), FrozenMap()):
        assert nest.is_nested(s)
        assert nest.flatten(s) == []
    assert nest.is_nested(Point(1, 2))


def test_flatten_order():
    s = {"b": [1, (2, None)], "a": Point(3, {"z": 4, "c": "s"})}
    assert nest.flatten(s) == [3, "s", 4, 1, 2, None]
    # Insertion order of a dict does not matter; namedtuples keep field order.
    assert nest.flatten({"z": 1, "a": 2}) == [2, 1]
    assert nest.flatten(Point(y=1, x=2)) == [1, 2]
    assert nest.flatten({2: "b", 1: "a"}) == ["a", "b"]


def test_unsortable_keys_raise_type_error():
    with pytest.raises(TypeError, match="sortable keys"):
        nest.flatten({"a": 1, 2: 3})


def test_flatten_with_paths():
    s = {"b": [1, (2, None)], "a": Point(3, {"z": 4})}
    assert nest.flatten_with_paths(s) == [
        (("a", "y"), 3), (("a", "x", "z"), 4), (("b", 0), 1), (("b", 1, 0), 2),
        (("b", 1, 1), None)]
    assert nest.flatten_with_paths(7) == [((), 7)]
    assert [leaf for _, leaf in nest.flatten_with_paths(s)] == nest.flatten(s)


# -- pack_sequence_as ---------------------------------------------------------------------

def test_pack_keeps_types_and_key_order():
    od = collections.OrderedDict([("q", 0), ("b", 0)])
    dd = collections.defaultdict(list, {"q": 0, "b": 0})
    s = {"z": od, "a": [dd, (Point(0, 0), MyList([0])), FrozenMap([("k", 0), ("c", 0)])]}
    values = list(range(len(nest.flatten(s))))
    out = nest.pack_sequence_as(s, values)
    assert list(out) == ["z", "a"]
    assert type(out["z"]) is collections.OrderedDict and list(out["z"].items()) == [
        ("q", 8), ("b", 7)]
    got_dd = out["a"][0]
    assert type(got_dd) is collections.defaultdict and got_dd.default_factory is list
    assert list(got_dd.items()) == [("q", 1), ("b", 0)]
    assert out["a"][1] == (Point(2, 3), [4]) and type(out["a"][1][1]) is MyList
    assert out["a"][2] == FrozenMap([("k", 6), ("c", 5)])
    assert nest.flatten(out) == values


def test_pack_leaf_structure():
    assert nest.pack_sequence_as(None, [5]) == 5
    assert nest.pack_sequence_as("leaf", (5,)) == 5
    with pytest.raises(ValueError, match="length 2"):
        nest.pack_sequence_as(None, [1, 2])


def test_pack_errors():
    with pytest.raises(TypeError, match="incompatible type `int`"):
        nest.pack_sequence_as([1], 5)
    with pytest.raises(ValueError, match="Structure had 2 leaves, but flat_sequence had 3"):
        nest.pack_sequence_as([1, 2], [1, 2, 3])


def test_pack_mapping_that_cannot_be_built():
    class NoPairs(FrozenMap):
        def __init__(self, a, b):
            super().__init__([("a", a), ("b", b)])

    with pytest.raises(TypeError, match="iterable of \\(key, value\\) pairs"):
        nest.pack_sequence_as(NoPairs(1, 2), [3, 4])


# -- assert_same_structure / map_structure ------------------------------------------------

def test_same_structure_passes():
    nest.assert_same_structure({"a": [1, (2,)]}, {"a": [np.ones(2), ("x",)]})
    # As in TF: any two mappings agree, list subclasses agree, same-looking namedtuples agree.
    nest.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))
    nest.assert_same_structure([1], MyList([2]))
    other_point = collections.namedtuple("Point", "y x")
    nest.assert_same_structure(Point(1, 2), other_point(3, 4))
    nest.assert_same_structure([1, 2], (1, 2), check_types=False)


@pytest.mark.parametrize("a, b, error, text", [
    ([1, 2], (1, 2), TypeError, "same sequence type"),
    (Point(1, 2), collections.namedtuple("Other", "y x")(1, 2), TypeError, "type Other"),
    ({"a": 1}, {"b": 1}, ValueError, "same set of keys"),
    ([1, [2]], [1, 2], ValueError, r"At path \(1,\): substructure \[2\] is nested"),
    ([1, [2, 3]], [1, [2], 3], ValueError, "sequences of different lengths"),
    ([1, 2], [1], ValueError, r"same number of elements.*\(2 elements\).*\(1 elements\)"),
    ({"a": [1, 2]}, [[1, 2]], TypeError, "same sequence type"),
])
def test_structure_mismatch_names_both(a, b, error, text):
    with pytest.raises(error, match="(?si)" + text) as info:
        nest.assert_same_structure(a, b)
    message = str(info.value)
    assert repr(a) in message and repr(b) in message


def test_mismatch_message_is_shortened():
    big = {f"key{i}": list(range(100)) for i in range(100)}
    with pytest.raises(ValueError) as info:
        nest.assert_same_structure(big, [1])
    assert len(str(info.value)) < 1000


def test_map_structure():
    a = {"b": [1, 2], "a": Point(3, 4)}
    b = {"a": Point(30, 40), "b": [10, 20]}
    out = nest.map_structure(lambda x, y: x + y, a, b)
    assert out == {"b": [11, 22], "a": Point(33, 44)} and list(out) == ["b", "a"]
    assert nest.map_structure(lambda x: x * 2, 4) == 8
    assert nest.map_structure(lambda x, y: (x, y), [1], (2,), check_types=False) == [(1, 2)]
    with pytest.raises(TypeError):
        nest.map_structure(lambda x, y: x, [1], (2,))
    with pytest.raises(ValueError, match="at least one structure"):
        nest.map_structure(lambda: 0)
    with pytest.raises(TypeError, match="callable"):
        nest.map_structure(3, [1])


# -- packer -------------------------------------------------------------------------------

def test_packer_flat_fast_path():
    leaves, rebuild = nest.packer(["a", "b"])
    assert leaves == ["a", "b"] and rebuild([1, 2]) == [1, 2]
    leaves, rebuild = nest.packer(("a", "a"))
    assert leaves == ["a", "a"] and rebuild([1, 2]) == (1, 2)
    leaves, rebuild = nest.packer("a")
    assert leaves == ["a"] and rebuild([9]) == 9


def test_packer_same_leaf_twice():
    t = object()
    leaves, rebuild = nest.packer({"x": t, "y": [t]})
    assert leaves == [t, t] and rebuild([1, 2]) == {"x": 1, "y": [2]}


# -- properties ---------------------------------------------------------------------------

leaves_st = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.binary(max_size=3))
keys_st = st.text(max_size=4)


def _namedtuple_of(children):
    cls = collections.namedtuple("NT", [f"f{i}" for i in range(len(children))])
    return cls(*children)


structures = st.recursive(
    leaves_st,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.lists(kids, min_size=1, max_size=4).map(_namedtuple_of),
        st.dictionaries(keys_st, kids, max_size=4),
        st.dictionaries(keys_st, kids, max_size=4).map(collections.OrderedDict),
        st.dictionaries(st.integers(), kids, max_size=4).map(
            lambda d: collections.defaultdict(int, d)),
    ),
    max_leaves=20,
)


def _same(a, b):
    """Equal with the same container types and mapping key order at every level."""
    if type(a) is not type(b):
        return isinstance(a, tuple) and isinstance(b, tuple) and a._fields == b._fields \
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        if list(a) != list(b):
            return False
        if isinstance(a, collections.defaultdict) and a.default_factory != b.default_factory:
            return False
        return all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=300, deadline=None)
@given(structures)
def test_round_trip(s):
    flat = nest.flatten(s)
    assert _same(nest.pack_sequence_as(s, flat), s)
    leaves, rebuild = nest.packer(s)
    assert leaves == flat
    assert _same(rebuild(flat), s)
    nest.assert_same_structure(s, nest.pack_sequence_as(s, flat))
    assert [leaf for _, leaf in nest.flatten_with_paths(s)] == flat


@settings(max_examples=200, deadline=None)
@given(structures)
def test_packer_matches_pack_sequence_as(s):
    n = len(nest.flatten(s))
    values = [types.SimpleNamespace(i=i) for i in range(n)]
    _, rebuild = nest.packer(s)
    assert _same(rebuild(values), nest.pack_sequence_as(s, values))
    assert nest.flatten(rebuild(values)) == values


def test_packer_unsorted_keys():
    s = {"b": "x", 1: ["y", "z"]}  # keys that cannot be sorted together
    leaves, rebuild = nest.packer(s, sort_keys=False)
    assert leaves == ["x", "y", "z"]
    assert rebuild([1, 2, 3]) == {"b": 1, 1: [2, 3]}
    with pytest.raises(TypeError, match="sortable keys"):
        nest.packer(s)
