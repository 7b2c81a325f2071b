"""Errors raised while running a plan name the user's op and tensors, not the C
program's instruction numbers; static shapes in messages print as Python tuples."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.errors import InvalidArgumentError
from estcore.estimator import Estimator, EstimatorSpec, RunConfig
from estcore.graph.executor import in_user_terms

pytestmark = pytest.mark.smoke


def _classifier():
    x = ec.placeholder(ec.float32, [None, 4], name="x")
    y = ec.placeholder(ec.int32, [None], name="labels")
    logits = ec.layers.dense(x, 3, name="logits")
    return x, y, ec.losses.sparse_softmax_cross_entropy(y, logits)


def test_label_out_of_range_names_the_op_and_its_tensors():
    x, y, loss = _classifier()
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        with pytest.raises(InvalidArgumentError) as info:
            sess.run(loss, {x: np.zeros((2, 4), np.float32), y: np.array([0, 5], np.int32)})
    msg = str(info.value)
    assert "Program" not in msg and "instruction" not in msg
    assert msg.startswith("SparseSoftmaxCrossEntropyWithLogits "
                          "'sparse_softmax_cross_entropy_loss/")
    assert "'labels:0'" in msg and "'logits/" in msg
    assert msg.endswith("`labels` must be in [0, 3) (the number of classes). "
                        "Received: labels[1]=5")
    assert info.value.op.type == "SparseSoftmaxCrossEntropyWithLogits"
    assert isinstance(info.value, ValueError)


def test_label_out_of_range_in_estimator_train(tmp_path):
    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features["x"], 3, name="logits")
        loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
        opt = ec.train.GradientDescentOptimizer(0.1)
        return EstimatorSpec(mode, loss=loss, train_op=opt.minimize(
            loss, ec.train.get_global_step()))

    est = Estimator(model_fn, str(tmp_path), RunConfig())
    batch = ({"x": np.zeros((4, 4), np.float32)}, np.array([0, 1, 2, 3], np.int32))
    with pytest.raises(InvalidArgumentError, match=r"SparseSoftmaxCrossEntropyWithLogits "
                       r"'sparse_softmax_cross_entropy_loss/.*'labels:0'.*labels\[3\]=3"):
        est.train(lambda: [batch], steps=1)


class _Node:
    def __init__(self, name, op_type="MatMul", inputs=()):
        self.name, self.type, self.inputs = name, op_type, list(inputs)


class _T:
    def __init__(self, name):
        self.name = name


def test_in_user_terms_rules():
    a, b = _Node("dense/MatMul", inputs=[_T("x:0"), _T("dense/kernel:0")]), _Node("relu")
    err = InvalidArgumentError("Program.run: instruction 1 (relu): bad value")
    new = in_user_terms(err, [a, b])
    assert type(new) is InvalidArgumentError and str(new) == "MatMul 'relu': bad value"
    assert new.op is b
    err = InvalidArgumentError("Program.run: instruction 0 (matmul): no good")
    assert str(in_user_terms(err, [a])) == (
        "MatMul 'dense/MatMul' (inputs 'x:0', 'dense/kernel:0'): no good")
    unknown = InvalidArgumentError("Program.run: instruction 7 (x): ?")
    assert in_user_terms(unknown, [a]) is unknown  # no such instruction: unchanged
    closure = InvalidArgumentError("something failed")
    assert str(in_user_terms(closure, a)).startswith("MatMul 'dense/MatMul' (inputs")
    named = InvalidArgumentError("MatMul 'dense/MatMul': already named")
    assert in_user_terms(named, a) is named
    assert in_user_terms(closure, None) is closure


def test_one_dimensional_shapes_print_as_tuples():
    with pytest.raises(ValueError, match=r"predictions\.shape=\(None, 2\), "
                                         r"labels\.shape=\(None,\)"):
        ec.metrics.accuracy(ec.placeholder(ec.int32, [None]),
                            ec.placeholder(ec.int32, [None, 2]))
