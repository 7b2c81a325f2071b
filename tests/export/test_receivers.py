"""ServingInputReceiver / TensorServingInputReceiver / build_raw_serving_input_receiver_fn."""

import numpy as np
import pytest

import estcore as ec
from estcore.estimator.export import (
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_raw_serving_input_receiver_fn,
)


@pytest.mark.smoke
def test_single_tensors_are_wrapped():
    x = ec.placeholder(ec.float32, [None, 3])
    r = ServingInputReceiver(x, x)
    assert r.features == {"feature": x}
    assert r.receiver_tensors == {"input": x}
    assert r.receiver_tensors_alternatives is None


def test_validation_messages():
    x = ec.placeholder(ec.float32, [None, 3])
    with pytest.raises(ValueError, match="features must be defined"):
        ServingInputReceiver(None, x)
    with pytest.raises(ValueError, match="feature keys must be string or ints: 1.5"):
        ServingInputReceiver({1.5: x}, x)
    assert ServingInputReceiver({1: x}, x).features == {1: x}
    with pytest.raises(ValueError, match="feature a must be a Tensor"):
        ServingInputReceiver({"a": np.ones(3)}, x)
    with pytest.raises(ValueError, match="receiver_tensor keys must be strings: 1"):
        ServingInputReceiver(x, {1: x})
    with pytest.raises(ValueError, match="receiver_tensor r must be a Tensor"):
        ServingInputReceiver(x, {"r": 3})
    with pytest.raises(ValueError, match="receiver_tensors_alternatives must be a dict"):
        ServingInputReceiver(x, x, receiver_tensors_alternatives=[x])
    r = ServingInputReceiver(x, x, receiver_tensors_alternatives={"alt": x})
    assert r.receiver_tensors_alternatives == {"alt": {"input": x}}


def test_tensor_serving_input_receiver_keeps_bare_tensor():
    x = ec.placeholder(ec.float32, [None, 3])
    r = TensorServingInputReceiver(x, {"x": x})
    assert r.features is x
    with pytest.raises(ValueError, match="feature must be a Tensor"):
        TensorServingInputReceiver({"x": x}, x)


def test_build_raw_receiver_fn():
    fn = build_raw_serving_input_receiver_fn(
        {"a": ec.placeholder(ec.float32, [None, 4]), "b": np.zeros((2, 5, 2), np.int32)},
        default_batch_size=8)
    g = ec.Graph()
    with g.as_default():
        r = fn()
    assert set(r.receiver_tensors) == {"a", "b"}
    assert r.features["a"] is r.receiver_tensors["a"]
    assert r.features["a"].shape.as_list() == [8, 4]
    assert r.features["b"].shape.as_list() == [8, 5, 2]
    assert r.features["b"].dtype == ec.int32
    assert r.features["a"].op.type == "Placeholder" and r.features["a"].op.name == "a"
    with pytest.raises(ValueError, match="default_batch_size"):
        build_raw_serving_input_receiver_fn({"a": np.zeros((1, 2))}, default_batch_size=0)
    with pytest.raises(ValueError, match="must be Tensors or numpy arrays"):
        build_raw_serving_input_receiver_fn({"a": [1, 2]})
