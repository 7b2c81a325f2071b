"""EstimatorSpec's loss check: "Loss must be scalar" for every non-scalar loss, also
one whose size is unknown until run time (it once failed deep in the plan compiler:
"Reshape 'Reshape': cannot reshape a tensor of shape (4,) ...")."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys
from estcore.estimator.inputs import numpy_input_fn

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("shape", [[None], [None, 1], [1, None], [None, None]])
@pytest.mark.parametrize("mode", [ModeKeys.TRAIN, ModeKeys.EVAL])
def test_loss_with_an_unknown_dimension_is_not_scalar(shape, mode):
    with ec.Graph().as_default():
        loss = ec.placeholder(ec.float32, shape, name="per_example")
        with pytest.raises(ValueError, match=r"Loss must be scalar, given: <estcore.Tensor "
                                             r"'per_example:0'.*unknown size.*reduce_mean"):
            EstimatorSpec(mode, loss=loss, train_op=ec.no_op())


@pytest.mark.parametrize("shape", [[], [1], [1, 1]])
def test_one_element_losses_become_scalars(shape):
    with ec.Graph().as_default():
        loss = ec.placeholder(ec.float32, shape)
        spec = EstimatorSpec(ModeKeys.EVAL, loss=loss)
        assert spec.loss.shape.as_list() == []


def test_train_with_per_example_loss_fails_in_the_model_fn_call(tmp_path):
    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features["x"], 2)
        per_example = ec.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                     logits=logits)
        train_op = ec.train.GradientDescentOptimizer(0.1).minimize(
            ec.reduce_mean(per_example), global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=per_example, train_op=train_op)

    x, y = np.zeros((8, 3), np.float32), np.zeros(8, np.int32)
    est = Estimator(model_fn, str(tmp_path / "m"))
    with pytest.raises(ValueError, match="Loss must be scalar"):
        est.train(numpy_input_fn({"x": x}, y, batch_size=4, shuffle=False, num_epochs=1))
