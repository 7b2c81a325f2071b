"""``tf.GPUOptions`` / ``ConfigProto(gpu_options=...)``: accepted as TF1 programs write them
(constructor, attribute assignment on the default message, a dict), type-checked, shown in the
config text, and without effect on a training run."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.estimator.session_config import GPUOptions, SessionConfig


def test_constructor_and_text_form():
    config = tf.ConfigProto(gpu_options=tf.GPUOptions(per_process_gpu_memory_fraction=0.4,
                                                      allow_growth=True),
                            intra_op_parallelism_threads=2)
    assert config.gpu_options.allow_growth is True
    assert config.gpu_options.per_process_gpu_memory_fraction == 0.4
    assert repr(config) == ("intra_op_parallelism_threads: 2\n"
                            "gpu_options {\n  per_process_gpu_memory_fraction: 0.4\n"
                            "  allow_growth: true\n}\n")


def test_default_message_is_assignable_as_in_tf():
    config = tf.ConfigProto()
    assert config.gpu_options == GPUOptions() and repr(config) == ""
    config.gpu_options.allow_growth = True
    config.gpu_options.visible_device_list = "0"
    assert config.gpu_options.proto_fields() == {"allow_growth": True,
                                                 "visible_device_list": "0"}
    assert tf.ConfigProto().gpu_options.allow_growth is False   # not shared between configs


def test_dict_is_converted_and_equality():
    a = SessionConfig(gpu_options={"allow_growth": True})
    b = SessionConfig(gpu_options=GPUOptions(allow_growth=True))
    assert isinstance(a.gpu_options, GPUOptions) and a == b
    assert a != SessionConfig()


@pytest.mark.parametrize("make, error, match", [
    (lambda: tf.GPUOptions(allow_grwoth=True), ValueError, "allow_grwoth"),
    (lambda: tf.GPUOptions(allow_growth="yes"), TypeError, "allow_growth must be bool"),
    (lambda: tf.GPUOptions(per_process_gpu_memory_fraction="0.5"), TypeError,
     "per_process_gpu_memory_fraction"),
    (lambda: setattr(tf.GPUOptions(), "memory", 1), AttributeError, "no field 'memory'"),
])
def test_bad_fields(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_training_run_with_gpu_options(tmp_path):
    def model_fn(features, labels, mode):
        w = tf.get_variable("w", [2, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) - labels))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss,
                                                                 tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    config = tf.ConfigProto(gpu_options=tf.GPUOptions(allow_growth=True))
    config.gpu_options.per_process_gpu_memory_fraction = 0.3
    est = tf.estimator.Estimator(model_fn, str(tmp_path),
                                 config=tf.estimator.RunConfig(session_config=config))
    x = np.eye(2, dtype=np.float32)
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x}, np.ones((2, 1), np.float32),
                                                 batch_size=2, num_epochs=None, shuffle=False),
              steps=3)
    assert est.get_variable_value("global_step") == 3
    assert est.config.session_config.gpu_options.allow_growth is True
