"""TensorShape / Dimension methods TF1 code calls (with_rank, concatenate, assert_*), and
the v1 shape view (TF1TensorShape) with its Dimension ``dims``."""

from __future__ import annotations

import pickle

import pytest

import estcore as ec
from estcore.graph.shapes import Dimension, TensorShape, as_shape, tf1_shape

pytestmark = pytest.mark.smoke


def test_rank_checks_and_concatenate():
    s = TensorShape([None, 3])
    assert s.with_rank(2) is s and s.with_rank_at_least(1) is s and s.with_rank_at_most(2) is s
    assert TensorShape(None).with_rank(3).as_list() == [None, None, None]
    with pytest.raises(ValueError, match="must have rank 3"):
        s.with_rank(3)
    with pytest.raises(ValueError, match="at least 3"):
        s.with_rank_at_least(3)
    with pytest.raises(ValueError, match="at most 1"):
        s.with_rank_at_most(1)
    s.assert_has_rank(2)
    s.assert_same_rank([4, None])
    with pytest.raises(ValueError, match="same rank"):
        s.assert_same_rank([1])
    s.assert_is_compatible_with([7, 3])
    with pytest.raises(ValueError, match="incompatible"):
        s.assert_is_compatible_with([7, 4])
    with pytest.raises(ValueError, match="not fully defined"):
        s.assert_is_fully_defined()
    assert s.concatenate([5]).as_list() == [None, 3, 5]
    assert s.concatenate(TensorShape(None)).rank is None


def test_dimension_compatibility():
    assert Dimension(3).is_compatible_with(3) and Dimension(3).is_compatible_with(None)
    assert not Dimension(3).is_compatible_with(Dimension(4))
    assert Dimension(3).merge_with(Dimension(None)) == 3
    with pytest.raises(ValueError, match="not compatible"):
        Dimension(3).merge_with(4)
    Dimension(None).assert_is_compatible_with(5)
    assert Dimension(None).merge_with(5).value == 5


def test_v1_view_dims_and_round_trip():
    x = ec.placeholder(ec.float32, [None, 2])
    v1 = tf1_shape(x.shape)
    assert [d.value for d in v1.dims] == [None, 2] and v1.as_list() == [None, 2]
    assert v1.with_rank(2)[0].value is None
    plain = as_shape(v1)
    assert type(plain) is TensorShape and plain.dims == (None, 2) and plain == v1
    assert pickle.loads(pickle.dumps(v1)) == v1
    assert type(pickle.loads(pickle.dumps(x.shape))) is TensorShape
