"""The shape of estcore.compat.v1: TF 1.15's tree, missing names named, version."""

from __future__ import annotations

import pytest

import estcore
import estcore.compat
import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("path", [
    "tf.contrib.learn", "tf.contrib.slim", "tf.train.SyncReplicasOptimizer", "tf.nn.ctc_loss",
    "tf.contrib.rnn.AttentionCellWrapper",
    "tf.keras.layers.LSTM", "tf.estimator.BoostedTreesClassifier", "tf.estimator.inputs.nonsense",
    "tf.data.nonsense", "tf.feature_column.sequence_input_layer", "tf.saved_model.builder",
    "tf.logging.nonsense",
    "tf.flags.nonsense", "tf.app.nonsense", "tf.layers.conv3d",
])
def test_a_missing_name_says_so_and_points_to_the_docs(path):
    obj = tf
    parts = path.split(".")[1:]
    for part in parts[:-1]:
        obj = getattr(obj, part)
    with pytest.raises(AttributeError) as info:
        getattr(obj, parts[-1])
    msg = str(info.value)
    assert msg.startswith(f"`{path}` is not available in estcore.compat.v1")
    assert msg.endswith("(see docs/compat.md)")


def test_compat_v1_points_to_itself_and_estcore_top_level_stays_estcores():
    assert tf.compat.v1 is tf
    assert estcore.compat.v1 is tf
    assert not hasattr(estcore, "logging") or estcore.logging.__name__ == "estcore.logging"
    assert not hasattr(estcore, "app") and not hasattr(estcore, "to_float")


def test_version_is_a_1x_string_with_estcores_version():
    assert tf.__version__ == f"1.15.0+estcore.{estcore.__version__}"
    major, minor = (int(p) for p in tf.__version__.split(".")[:2])
    assert (major, minor) == (1, 15)
    assert tf.__version__.startswith("1.")


def test_tf1_names_estcore_keeps_elsewhere_are_where_tf1_had_them():
    import estcore.hooks.basic_hooks as bh
    assert tf.train.LoggingTensorHook is bh.LoggingTensorHook
    assert tf.estimator.LoggingTensorHook is bh.LoggingTensorHook
    assert tf.train.get_or_create_global_step is estcore.train.get_or_create_global_step
    assert tf.saved_model.tag_constants.SERVING == "serve"
    assert tf.layers.dense is estcore.layers.dense
    assert tf.estimator.inputs.numpy_input_fn is estcore.estimator.inputs.numpy_input_fn


def test_dunder_probes_are_plain_attribute_errors():
    assert not hasattr(tf.contrib, "__wrapped__")
    assert getattr(tf.train, "__path__", None) is None
