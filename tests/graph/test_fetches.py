"""Session.run fetch structures through estcore.graph.fetches (built on estcore.nest)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import estcore as ec
from estcore.graph.fetches import flatten_fetches, structure_key

pytestmark = pytest.mark.smoke

Pair = collections.namedtuple("Pair", ["a", "b"])


def test_flatten_fetches_walks_dicts_in_caller_order():
    leaves, rebuild = flatten_fetches({"z": "a", 1: ["b", ("c",)]}, str.upper)
    assert leaves == ["A", "B", "C"]
    assert rebuild([1, 2, 3]) == {"z": 1, 1: [2, (3,)]}


def test_flatten_fetches_flat_list_rebuilds_with_its_type():
    leaves, rebuild = flatten_fetches(("a", "a"), str.upper)
    assert leaves == ["A", "A"] and rebuild([1, 2]) == (1, 2)


def test_structure_key_tells_defaultdict_factories_apart():
    a = collections.defaultdict(list, x=1)
    b = collections.defaultdict(int, x=1)
    assert structure_key(a) != structure_key(b)
    assert structure_key({"x": [1]}) == structure_key({"x": [1]})


def test_defaultdict_fetch_keeps_type_and_factory():
    # TF1's Session returns a defaultdict with the caller's default_factory (was a dict).
    a = ec.constant(1.0)
    with ec.Session() as sess:
        out = sess.run(collections.defaultdict(list, {"b": a, "a": [a]}))
        assert type(out) is collections.defaultdict and out.default_factory is list
        assert list(out) == ["b", "a"] and out["b"] == 1.0 and out["a"] == [1.0]
        other = sess.run(collections.defaultdict(int, {"b": a, "a": [a]}))
        assert other.default_factory is int


def test_dict_keys_of_mixed_types_and_same_tensor_twice():
    a = ec.constant(2.0)
    b = ec.constant([1, 2], dtype=ec.int32)
    with ec.Session() as sess:
        out = sess.run({"z": a, 3: (a, b), a: Pair(b, a)})
        assert list(out) == ["z", 3, a]
        assert out["z"] == 2.0 and out[3][0] == 2.0
        np.testing.assert_array_equal(out[3][1], [1, 2])
        assert isinstance(out[a], Pair) and out[a].b == 2.0
        # The cached family rebuilds the same structure on the next call.
        again = sess.run({"z": a, 3: (a, b), a: Pair(b, a)})
        assert list(again) == ["z", 3, a] and again["z"] == 2.0


def test_invalid_leaf_is_a_type_error():
    a = ec.constant(1.0)
    with ec.Session() as sess, pytest.raises(TypeError, match="invalid type"):
        sess.run({"a": a, "b": 3})
