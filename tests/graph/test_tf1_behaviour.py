"""TF1 behaviours of names estcore already had (tf1_surface.md, "Behaviour differences").

Label casting in softmax cross-entropy, variable_scope closing its sub-scope counters,
TensorShape indexing giving a Dimension with ``.value``.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import estcore as ec
from estcore.graph.shapes import Dimension, dimension_value

pytestmark = pytest.mark.smoke


def _softmax_xent(logits, onehot):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(onehot * logp).sum(axis=1)


@pytest.mark.parametrize("label_dtype", [ec.float64, ec.int32, ec.int64])
def test_softmax_xent_casts_labels_to_the_logits_dtype(label_dtype):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 3)).astype(np.float32)
    onehot = np.eye(3)[rng.integers(0, 3, 5)]
    with ec.Graph().as_default():
        lg = ec.placeholder(ec.float32, [None, 3])
        lab = ec.placeholder(label_dtype, [None, 3])
        out = ec.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=lg)
        assert out.dtype == ec.float32
        with ec.Session() as sess:
            got = sess.run(out, {lg: logits, lab: onehot.astype(label_dtype.as_numpy_dtype)})
    np.testing.assert_allclose(got, _softmax_xent(logits, onehot), rtol=1e-5)


def test_softmax_cross_entropy_loss_takes_int32_one_hot_labels():
    with ec.Graph().as_default():
        loss = ec.losses.softmax_cross_entropy(
            ec.one_hot(ec.constant([0, 2]), 3, dtype=ec.int32),
            ec.constant([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]]))
        with ec.Session() as sess:
            got = sess.run(loss)
    want = _softmax_xent(np.array([[2.0, 0, 0], [0, 0, 2.0]]), np.eye(3)[[0, 2]]).mean()
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _tower(x):
    h = ec.layers.conv2d(x, 2, 3)
    return ec.layers.dense(ec.layers.flatten(h), 2)


def test_a_second_tower_under_reuse_gets_the_first_towers_variables():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 6, 6, 1])
        with ec.variable_scope("tower"):
            _tower(x)
        with ec.variable_scope("tower", reuse=True):
            _tower(x)
        names = [v.op.name for v in ec.global_variables()]
    assert names == ["tower/conv2d/kernel", "tower/conv2d/bias", "tower/dense/kernel",
                     "tower/dense/bias"]


def test_leaving_a_scope_resets_only_its_own_sub_scopes():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 3])
        ec.layers.dense(x, 1)                       # dense
        with ec.variable_scope("a"):
            ec.layers.dense(x, 1)                   # a/dense
            ec.layers.dense(x, 1)                   # a/dense_1
        ec.layers.dense(x, 1)                       # dense_1: the outer counter goes on
        with ec.variable_scope("a", reuse=True):
            ec.layers.dense(x, 1)                   # a/dense again
        names = [v.op.name for v in ec.trainable_variables() if v.op.name.endswith("kernel")]
    assert names == ["dense/kernel", "a/dense/kernel", "a/dense_1/kernel", "dense_1/kernel"]


def test_reentering_a_scope_object_restores_the_counters():
    with ec.Graph().as_default():
        x = ec.placeholder(ec.float32, [None, 3])
        with ec.variable_scope("s") as scope:
            pass
        with ec.variable_scope(scope):
            ec.layers.dense(x, 1)
        with ec.variable_scope(scope, reuse=True):
            ec.layers.dense(x, 1)
        assert [v.op.name for v in ec.global_variables()] == ["s/dense/kernel", "s/dense/bias"]


def test_tensor_shape_index_is_a_dimension_with_value():
    x = ec.placeholder(ec.float32, [None, 4, 5])
    last = x.get_shape()[-1]
    assert isinstance(last, Dimension) and last.value == 5 and last == 5
    assert x.shape[0] is None
    assert (x.shape[1] * x.shape[2]).value == 20
    assert (last + 1).value == 6 and (2 * last).value == 10 and (last - 1).value == 4
    assert last + None is None
    assert [dimension_value(d) for d in x.shape] == [None, 4, 5]
    assert x.shape.as_list() == [None, 4, 5]
    assert type(x.shape.as_list()[1]) is int
    assert repr(last) == "Dimension(5)" and str(last) == "5"
    assert json.dumps([last]) == "[5]" and pickle.loads(pickle.dumps(last)) == 5
    assert ec.reshape(ec.zeros([2, 4, 5]), [-1, x.shape[1] * x.shape[2]]).shape.as_list() == \
        [2, 20]
