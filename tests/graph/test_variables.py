"""variable_scope naming and reuse, initializers, seeds, global step."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.global_step import (
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)


@pytest.mark.smoke
def test_variable_scope_naming_like_tf1():
    def layer():
        with ec.variable_scope(None, default_name="dense"):
            return ec.get_variable("kernel", [2, 3]), ec.get_variable("bias", [3])

    k0, b0 = layer()
    k1, _ = layer()
    assert (k0.name, b0.name, k1.name) == ("dense/kernel:0", "dense/bias:0", "dense_1/kernel:0")
    assert k0.op.name == "dense/kernel"
    with ec.variable_scope("outer"):
        with ec.variable_scope("inner"):
            v = ec.get_variable("w", [1])
            assert ec.get_variable_scope().name == "outer/inner"
            c = ec.constant(1.0, name="c")
    assert v.name == "outer/inner/w:0" and c.name == "outer/inner/c:0"
    with ec.name_scope("ns"):
        v2 = ec.get_variable("free", [1])  # name_scope does not prefix get_variable
    assert v2.name == "free:0"



def test_default_name_opens_the_name_scope_default_name_as_tf1():
    """TF1 names a ``variable_scope(None, default_name=d)``'s ops (and its ``tf.Variable``s)
    by ``name_scope(d)``, made unique among name scopes, not by the variable scope's own
    unique name: under two different name scopes both are ``.../d``. Names from TF 2.15."""
    with ec.Graph().as_default():
        consts = []
        with ec.variable_scope(None, default_name="foo"):
            consts.append(ec.constant(1.0))
            v1 = ec.get_variable("v", [1])
        with ec.name_scope("s"):
            with ec.variable_scope(None, default_name="foo"):
                consts.append(ec.constant(1.0))
                v2 = ec.get_variable("v", [1])
        with ec.variable_scope(None, default_name="foo"):
            consts.append(ec.constant(1.0))
            v3 = ec.get_variable("v", [1])
        ec.constant(0.0, name="bar")
        with ec.variable_scope(None, default_name="bar") as vs:
            consts.append(ec.constant(1.0))
            v4 = ec.get_variable("v", [1])
        assert (vs.name, vs.original_name_scope) == ("bar", "bar_1/")
        assert [c.name for c in consts] == ["foo/Const:0", "s/foo/Const:0", "foo_1/Const:0",
                                            "bar_1/Const:0"]
        assert [v.name for v in (v1, v2, v3, v4)] == ["foo/v:0", "foo_1/v:0", "foo_2/v:0",
                                                      "bar/v:0"]

def test_reuse_rules():
    with ec.variable_scope("s"):
        v = ec.get_variable("w", [2])
    with pytest.raises(ValueError, match="Variable s/w already exists, disallowed"):
        with ec.variable_scope("s"):
            ec.get_variable("w", [2])
    with ec.variable_scope("s", reuse=True):
        assert ec.get_variable("w", [2]) is v
        with pytest.raises(ValueError, match="Variable s/nope does not exist"):
            ec.get_variable("nope", [1])
        with pytest.raises(ValueError, match=r"specified shape \(3,\) and found shape \(2,\)"):
            ec.get_variable("w", [3])
    with ec.variable_scope("s", reuse=ec.AUTO_REUSE):
        assert ec.get_variable("w", [2]) is v
        n = ec.get_variable("new", [1])
    with ec.variable_scope("s", reuse=ec.AUTO_REUSE):
        assert ec.get_variable("new", [1]) is n
    with ec.variable_scope("s") as scope:
        scope.reuse_variables()
        assert ec.get_variable("w") is v
    with ec.variable_scope(scope, reuse=True):
        assert ec.get_variable("w") is v


def test_trainable_and_collections():
    a = ec.get_variable("a", [1])
    b = ec.get_variable("b", [1], trainable=False)
    c = ec.Variable(1.0, collections=[ec.GraphKeys.LOCAL_VARIABLES], trainable=False)
    assert ec.trainable_variables() == [a]
    assert ec.global_variables() == [a, b]
    assert ec.local_variables() == [c]
    reg = ec.get_variable("r", [2], regularizer=lambda v: ec.reduce_sum(v) * 0.1)
    assert len(ec.get_collection(ec.GraphKeys.REGULARIZATION_LOSSES)) == 1
    assert reg.trainable


def _init_values(seed, shape=(5, 4), init=None, dtype=ec.float32):
    with ec.Graph().as_default():
        ec.set_random_seed(seed)
        ec.get_variable("first", [3])
        v = ec.get_variable("w", list(shape), dtype=dtype, initializer=init)
        with ec.Session() as sess:
            sess.run(ec.global_variables_initializer())
            return sess.run(v)


@pytest.mark.parametrize("init", [
    None, ec.glorot_normal_initializer(), ec.random_normal_initializer(0, 2.0),
    ec.truncated_normal_initializer(stddev=0.1), ec.random_uniform_initializer(-1, 1),
    ec.variance_scaling_initializer(2.0, "fan_out", "uniform"), ec.he_normal(),
    ec.initializers.he_uniform(),
], ids=lambda i: type(i).__name__)
def test_initializers_are_deterministic_from_the_graph_seed(init):
    a, b, c = _init_values(1, init=init), _init_values(1, init=init), _init_values(2, init=init)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32


def test_initializer_values_and_statistics():
    glorot = _init_values(0, shape=(200, 300))
    lim = np.sqrt(6.0 / 500)
    assert glorot.min() >= -lim and glorot.max() <= lim and abs(glorot.mean()) < 0.01
    tn = _init_values(0, shape=(200, 300), init=ec.truncated_normal_initializer(stddev=1.0))
    assert np.abs(tn).max() <= 2.0
    np.testing.assert_array_equal(_init_values(0, (2,), ec.constant_initializer([3, 4])),
                                  [3, 4])
    np.testing.assert_array_equal(_init_values(0, (2,), ec.zeros_initializer()), [0, 0])
    np.testing.assert_array_equal(_init_values(0, (2,), ec.ones_initializer(), ec.float64),
                                  [1, 1])
    # an explicit initializer seed wins over the graph seed
    a = _init_values(1, init=ec.random_normal_initializer(seed=5))
    b = _init_values(2, init=ec.random_normal_initializer(seed=5))
    np.testing.assert_array_equal(a, b)
    # float32 and float64 variables start from the same draws
    f64 = _init_values(3, dtype=ec.float64)
    np.testing.assert_allclose(_init_values(3), f64, rtol=1e-6)
    with pytest.raises(ValueError, match="has 3 elements"):
        _init_values(0, (2,), ec.constant_initializer([1, 2, 3]))


def test_variable_from_value_and_assign_methods():
    v = ec.Variable([1.0, 2.0], name="v")
    assert v.dtype is ec.float32 and v.shape.as_list() == [2] and v.name == "v:0"
    w = ec.get_variable("w", initializer=np.arange(3.0))
    assert w.dtype is ec.float64
    y = v * 2.0 + 1.0
    a = v.assign([5.0, 6.0])
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(y), [3.0, 5.0])
        np.testing.assert_array_equal(sess.run(a), [5.0, 6.0])
        np.testing.assert_array_equal(sess.run(v.assign_sub([1.0, 1.0])), [4.0, 5.0])
        np.testing.assert_array_equal(sess.run(w), [0.0, 1.0, 2.0])
        v.load([0.0, 0.0], sess)
        np.testing.assert_array_equal(sess.run(v), [0.0, 0.0])


def test_global_step():
    assert get_global_step() is None
    gs = get_or_create_global_step()
    assert gs.name == "global_step:0" and gs.dtype is ec.int64 and gs.shape.as_list() == []
    assert not gs.trainable and gs in ec.global_variables()
    assert get_or_create_global_step() is gs and get_global_step() is gs
    with pytest.raises(ValueError, match="already exists"):
        create_global_step()
    inc = ec.assign_add(gs, 1)
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        sess.run(inc)
        out = sess.run([inc, gs])
        assert out[1] == 2 and isinstance(out[1], np.int64)


def test_global_step_found_by_name_is_checked_like_the_collection_one():
    with ec.Graph().as_default():
        ec.get_variable("global_step", shape=[], dtype=ec.float32,
                        initializer=ec.zeros_initializer())
        with pytest.raises(TypeError, match="must be an integer scalar; found dtype float32"):
            get_global_step()
    with ec.Graph().as_default():
        v = ec.get_variable("global_step", shape=[], dtype=ec.int64,
                            initializer=ec.zeros_initializer(), trainable=False)
        assert get_global_step() is v


def test_get_variable_and_variable_scope_refuse_what_they_would_ignore():
    with ec.Graph().as_default():
        with pytest.raises(TypeError, match="intializer"):
            ec.get_variable("w", [2], intializer=ec.ones_initializer())
        with pytest.raises(NotImplementedError, match="`custom_getter` is not supported"):
            ec.get_variable("w", [2], custom_getter=lambda getter, *a, **k: getter(*a, **k))
        with pytest.raises(NotImplementedError, match="`constraint` is not supported"):
            ec.get_variable("w", [2], constraint=lambda v: v)
        with pytest.raises(NotImplementedError, match="`partitioner` is not supported"):
            with ec.variable_scope("s", partitioner=lambda shape, dtype: [1]):
                pass
        with pytest.raises(TypeError, match="resue"):
            with ec.variable_scope("s", resue=True):
                pass
        # TF1's harmless options are still accepted.
        v = ec.get_variable("w", [2], use_resource=True, caching_device="/cpu:0",
                            synchronization=None, aggregation=None)
        assert v.shape.as_list() == [2]
