"""The library names of issue 16 (metrics, losses, train, summary, hooks, saved_model, keras)
in estcore.compat.v1 against TF 1.15's signatures (parameter names, order and defaults as
TF 1.15's API documentation writes them; estcore may add optional parameters after them)."""

from __future__ import annotations

import inspect

import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke

_AT_K = ("(labels, predictions, k, class_id=None, weights=None, metrics_collections=None, "
         "updates_collections=None, name=None)")
_AT_TOP_K = ("(labels, predictions_idx, k=None, class_id=None, weights=None, "
             "metrics_collections=None, updates_collections=None, name=None)")
_KERNEL_ARGS = ("activation=None, use_bias=True, kernel_initializer='glorot_uniform', "
                "bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None, "
                "activity_regularizer=None, kernel_constraint=None, bias_constraint=None, "
                "**kwargs")

TABLE = {
    "metrics.mean_iou": "(labels, predictions, num_classes, weights=None, "
                        "metrics_collections=None, updates_collections=None, name=None)",
    "metrics.precision_at_k": _AT_K,
    "metrics.recall_at_k": _AT_K,
    "metrics.sparse_precision_at_k": _AT_K,
    "metrics.precision_at_top_k": _AT_TOP_K,
    "metrics.recall_at_top_k": _AT_TOP_K,
    "metrics.specificity_at_sensitivity": "(labels, predictions, sensitivity, weights=None, "
                                          "num_thresholds=200, metrics_collections=None, "
                                          "updates_collections=None, name=None)",
    "metrics.sensitivity_at_specificity": "(labels, predictions, specificity, weights=None, "
                                          "num_thresholds=200, metrics_collections=None, "
                                          "updates_collections=None, name=None)",
    "metrics.percentage_below": "(values, threshold, weights=None, metrics_collections=None, "
                                "updates_collections=None, name=None)",
    "metrics.mean_relative_error": "(labels, predictions, normalizer, weights=None, "
                                   "metrics_collections=None, updates_collections=None, "
                                   "name=None)",
    "metrics.mean_cosine_distance": "(labels, predictions, dim, weights=None, "
                                    "metrics_collections=None, updates_collections=None, "
                                    "name=None)",
    "metrics.mean_tensor": "(values, weights=None, metrics_collections=None, "
                           "updates_collections=None, name=None)",
    "losses.cosine_distance": "(labels, predictions, axis=None, weights=1.0, scope=None, "
                              "loss_collection='losses', "
                              "reduction='weighted_sum_by_nonzero_weights', dim=None)",
    "train.ExponentialMovingAverage": "(decay, num_updates=None, zero_debias=False, "
                                      "name='ExponentialMovingAverage')",
    "train.ExponentialMovingAverage.apply": "(self, var_list=None)",
    "train.ExponentialMovingAverage.average": "(self, var)",
    "train.ExponentialMovingAverage.average_name": "(self, var)",
    "train.ExponentialMovingAverage.variables_to_restore": "(self, moving_avg_variables=None)",
    "train.AdagradDAOptimizer": "(learning_rate, global_step, "
                                "initial_gradient_squared_accumulator_value=0.1, "
                                "l1_regularization_strength=0.0, "
                                "l2_regularization_strength=0.0, use_locking=False, "
                                "name='AdagradDA')",
    "train.ProfilerHook": "(save_steps=None, save_secs=None, output_dir='', "
                          "show_dataflow=True, show_memory=False)",
    "summary.audio": "(name, tensor, sample_rate, max_outputs=3, collections=None, "
                     "family=None)",
    "summary.tensor_summary": "(name, tensor, summary_description=None, collections=None, "
                              "summary_metadata=None, family=None, display_name=None)",
    "saved_model.simple_save": "(session, export_dir, inputs, outputs, legacy_init_op=None)",
    "keras.regularizers.l1": "(l=0.01)",
    "keras.regularizers.l2": "(l=0.01)",
    "keras.regularizers.l1_l2": "(l1=0.01, l2=0.01)",
    "keras.regularizers.L1L2": "(l1=0.0, l2=0.0)",
    "keras.layers.Dense": f"(units, {_KERNEL_ARGS})",
    "keras.layers.Conv2D": "(filters, kernel_size, strides=(1, 1), padding='valid', "
                           f"data_format=None, dilation_rate=(1, 1), {_KERNEL_ARGS})",
    "keras.layers.MaxPooling2D": "(pool_size=(2, 2), strides=None, padding='valid', "
                                 "data_format=None, **kwargs)",
    "keras.layers.AveragePooling2D": "(pool_size=(2, 2), strides=None, padding='valid', "
                                     "data_format=None, **kwargs)",
    "keras.layers.Flatten": "(data_format=None, **kwargs)",
    "keras.layers.Dropout": "(rate, noise_shape=None, seed=None, **kwargs)",
    "keras.layers.BatchNormalization": (
        "(axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, "
        "beta_initializer='zeros', gamma_initializer='ones', moving_mean_initializer='zeros', "
        "moving_variance_initializer='ones', beta_regularizer=None, gamma_regularizer=None, "
        "beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None, "
        "renorm_momentum=0.99, fused=None, trainable=True, virtual_batch_size=None, "
        "adjustment=None, name=None, **kwargs)"),
}


def _want(text: str) -> list[inspect.Parameter]:
    scope: dict = {}
    exec(f"def f{text}: pass", scope)   # noqa: S102 - the table's own literal text
    return list(inspect.signature(scope["f"]).parameters.values())


def _resolve(path: str):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", sorted(TABLE))
def test_signature_matches_tf_1_15(path):
    want = _want(TABLE[path])
    obj = _resolve(path)
    got = list(inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
               .parameters.values())
    if inspect.isclass(obj):
        got = got[1:]   # self
    names = [p.name for p in got][:len(want)]
    assert names == [p.name for p in want], f"{path}: parameters {names}"
    for w, g in zip(want, got, strict=False):
        assert g.kind == w.kind or w.kind == w.POSITIONAL_OR_KEYWORD, (path, w.name)
        if w.default is not inspect.Parameter.empty:
            assert g.default == w.default, f"{path}: {w.name}={g.default!r}, TF: {w.default!r}"
    extra = got[len(want):]
    assert all(p.default is not inspect.Parameter.empty
               or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in extra), (path, extra)


def test_gpu_options_is_a_message_of_tf_fields():
    assert tf.GPUOptions(allow_growth=True, per_process_gpu_memory_fraction=0.5,
                         visible_device_list="0", force_gpu_compatible=False)
