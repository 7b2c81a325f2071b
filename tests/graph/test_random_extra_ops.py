"""random_shuffle and categorical / multinomial: what TF documents (a permutation of the
rows on every run; class indices drawn from softmax(logits), never a -inf class; the same
graph seed gives the same draws)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops.random_extra_ops import categorical, multinomial, random_shuffle

pytestmark = pytest.mark.smoke


def test_shuffle_permutes_rows_and_differs_per_run():
    x = ec.placeholder(ec.int64, [None, 2])
    s = random_shuffle(x, seed=3)
    rows = np.stack([np.arange(50), np.arange(50) * 10], 1)
    with ec.Session() as sess:
        a, b = sess.run(s, {x: rows}), sess.run(s, {x: rows})
    for out in (a, b):
        assert out.shape == (50, 2)
        np.testing.assert_array_equal(out[:, 1], out[:, 0] * 10)    # rows stay whole
        assert sorted(out[:, 0]) == list(range(50))
    assert not np.array_equal(a, b) and not np.array_equal(a, rows)
    with pytest.raises(ValueError, match="rank >= 1"):
        random_shuffle(ec.constant(1.0))
    assert ec.gradients(ec.reduce_sum(random_shuffle(ec.constant([1.0, 2.0]))),
                        [ec.constant(1.0)]) == [None]


def test_shuffle_is_reproducible_with_a_graph_seed():
    def draw():
        g = ec.Graph()
        with g.as_default():
            ec.set_random_seed(11)
            s = random_shuffle(ec.constant(np.arange(20)))
            with ec.Session() as sess:
                return sess.run(s), sess.run(s)
    a, b = draw()
    np.testing.assert_array_equal(a, draw()[0])
    assert not np.array_equal(a, b)


def test_categorical_frequencies_follow_softmax():
    logits = ec.constant(np.log(np.array([[1.0, 3.0, 0.0 + 1e-300], [1.0, 1.0, 2.0]])))
    c = categorical(logits, 20000, seed=5)
    m = multinomial(ec.constant([[-np.inf, 0.0]]), 10, output_dtype=ec.int32)
    assert c.dtype == ec.int64 and c.shape.as_list() == [2, 20000] and m.dtype == ec.int32
    with ec.Session() as sess:
        cv, mv = sess.run([c, m])
    freq0 = np.bincount(cv[0], minlength=3) / cv.shape[1]
    freq1 = np.bincount(cv[1], minlength=3) / cv.shape[1]
    np.testing.assert_allclose(freq0, [0.25, 0.75, 0.0], atol=0.02)
    np.testing.assert_allclose(freq1, [0.25, 0.25, 0.5], atol=0.02)
    assert (mv == 1).all()


def test_categorical_bad_arguments():
    with pytest.raises(TypeError, match="num_samples"):
        categorical(ec.constant([[0.0, 1.0]]), 2.5)
    with pytest.raises(ValueError, match="2-D"):
        categorical(ec.constant([0.0, 1.0]), 2)
    with pytest.raises(TypeError, match="int32 or int64"):
        categorical(ec.constant([[0.0, 1.0]]), 2, dtype=ec.float32)
