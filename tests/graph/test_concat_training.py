"""A loss that goes through ``concat`` trains (its gradient, SplitLike, once resolved the
estcore ``range`` op instead of the builtin while the plan was compiled on a finalized
graph: "Graph is finalized and cannot be modified")."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import state_ops

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("axis", [0, 1])
def test_gradient_step_through_concat_on_a_finalized_graph(axis):
    g = ec.Graph()
    with g.as_default():
        a = ec.get_variable("a", initializer=np.array([[1.0, 2.0]], np.float64))
        b = ec.get_variable("b", initializer=np.array([[3.0, 4.0]], np.float64))
        joined = ec.concat([a, b], axis=axis)
        weights = ec.constant(np.arange(4, dtype=np.float64).reshape(joined.shape.as_list()))
        loss = ec.reduce_sum(joined * weights)
        ga, gb = ec.gradients(loss, [a, b])
        train = ec.group(state_ops.apply_gradient_descent(a, 1.0, ga),
                         state_ops.apply_gradient_descent(b, 1.0, gb))
        init = ec.global_variables_initializer()
        g.finalize()
        with ec.Session(graph=g) as sess:
            sess.run(init)
            sess.run(train)
            got_a, got_b = sess.run([a, b])
    w = np.arange(4, dtype=np.float64).reshape(joined.shape.as_list())
    wa, wb = np.split(w, 2, axis=axis)
    np.testing.assert_array_equal(got_a, np.array([[1.0, 2.0]]) - wa)
    np.testing.assert_array_equal(got_b, np.array([[3.0, 4.0]]) - wb)
