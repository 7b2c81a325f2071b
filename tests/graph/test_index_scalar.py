"""Indexing every axis with an int (``p[0, 1]``) gives a value read at run time.

numpy returns a scalar *copy* for such a key; the StridedSlice view (and its gradient's
write-through view) used to be that copy, taken once from the planned buffer when the plan
was built, so every run returned whatever the buffer held then (garbage for a feed).
"""

import numpy as np
import pytest

import estcore as ec

pytestmark = pytest.mark.smoke

X = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.mark.parametrize("c_kernels", [True, False])
def test_scalar_index_of_a_feed_reads_the_fed_value(c_kernels):
    p = ec.placeholder(ec.float32, [2, 3])
    v = ec.placeholder(ec.float32, [3])
    y, y1, z, e, n = p[0, 1], v[1], p[1, 2] * 2.0, p[..., 2], p[None, 1, 2]
    sess = ec.Session(config={"use_c_kernels": c_kernels})
    for scale in (1.0, 10.0):        # a second run sees the second feed
        got = sess.run([y, y1, z, e, n], {p: X * scale, v: X[0] * scale})
        assert got[0] == 1.0 * scale and got[1] == 1.0 * scale and got[2] == 10.0 * scale
        np.testing.assert_array_equal(got[3], [2.0 * scale, 5.0 * scale])
        np.testing.assert_array_equal(got[4], [5.0 * scale])


def test_gradient_of_a_scalar_index():
    w = ec.Variable(np.ones((2, 3), np.float32))
    (g,) = ec.gradients(w[1, 2] * 3.0, [w])
    sess = ec.Session()
    sess.run(ec.global_variables_initializer())
    np.testing.assert_array_equal(sess.run(g), [[0, 0, 0], [0, 0, 3]])
