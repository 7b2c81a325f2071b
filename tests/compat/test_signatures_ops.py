"""compat.v1's control flow, checks, array ops, tf.nn extras, layers and tf.image against
TF 1.15's signatures (parameter names, order and defaults as its API documentation
writes them; estcore may add optional parameters after them)."""

from __future__ import annotations

import inspect

import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke

ANY = object()
_CHECK = "(x, y, data=None, summarize=None, message=None, name=None)"
_UNARY = "(x, data=None, summarize=None, message=None, name=None)"
_CONV_TAIL = ("activation=None, use_bias=True, kernel_initializer=None, bias_initializer=ANY, "
              "kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
              "kernel_constraint=None, bias_constraint=None, trainable=True, name=None")

TABLE = {
    "cond": "(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None)",
    "case": "(pred_fn_pairs, default=None, exclusive=False, strict=False, name='case')",
    "map_fn": "(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, "
              "swap_memory=False, infer_shape=True, name=None)",
    "py_func": "(func, inp, Tout, stateful=True, name=None)",
    "py_function": "(func, inp, Tout, name=None)",
    "Print": "(input_, data, message=None, first_n=None, summarize=None, name=None)",
    "print": "(*inputs, **kwargs)",
    "Assert": "(condition, data, summarize=None, name=None)",
    "assert_equal": _CHECK, "assert_greater": _CHECK, "assert_less": _CHECK,
    "assert_greater_equal": _CHECK, "assert_less_equal": _CHECK,
    "assert_none_equal": _CHECK, "assert_non_negative": _UNARY, "assert_positive": _UNARY,
    "assert_negative": _UNARY, "assert_non_positive": _UNARY,
    "assert_rank": "(x, rank, data=None, summarize=None, message=None, name=None)",
    "debugging.assert_equal": _CHECK, "debugging.assert_greater": _CHECK,
    "debugging.assert_less": _CHECK, "debugging.assert_non_negative": _UNARY,
    "debugging.assert_rank": "(x, rank, data=None, summarize=None, message=None, name=None)",
    "debugging.check_numerics": "(tensor, message, name=None)",
    "debugging.Assert": "(condition, data, summarize=None, name=None)",
    "check_numerics": "(tensor, message, name=None)",
    "strided_slice": "(input_, begin, end, strides=None, begin_mask=0, end_mask=0, "
                     "ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, var=None, "
                     "name=None)",
    "boolean_mask": "(tensor, mask, name='boolean_mask', axis=None)",
    "tensordot": "(a, b, axes, name=None)",
    "einsum": "(equation, *inputs, **kwargs)",
    "where": "(condition, x=None, y=None, name=None)",
    "sigmoid": "(x, name=None)",
    "tanh": "(x, name=None)",
    "nn.sigmoid": "(x, name=None)",
    "nn.tanh": "(x, name=None)",
    "random_crop": "(value, size, seed=None, name=None)",
    "unique": "(x, out_idx=ANY, name=None)",
    "reverse": "(tensor, axis, name=None)",
    "reverse_v2": "(tensor, axis, name=None)",
    "nn.swish": "(features)",
    "nn.lrn": "(input, depth_radius=5, bias=1, alpha=1, beta=0.5, name=None)",
    "nn.local_response_normalization": "(input, depth_radius=5, bias=1, alpha=1, beta=0.5, "
                                       "name=None)",
    "nn.fused_batch_norm": "(x, scale, offset, mean=None, variance=None, epsilon=0.001, "
                           "data_format='NHWC', is_training=True, name=None)",
    "nn.zero_fraction": "(value, name=None)",
    "nn.weighted_cross_entropy_with_logits": "(labels=None, logits=None, pos_weight=None, "
                                             "name=None, targets=None)",
    "nn.conv2d_transpose": "(value=None, filter=None, output_shape=None, strides=None, "
                           "padding='SAME', data_format='NHWC', name=None, input=None, "
                           "filters=None, dilations=None)",
    "nn.depthwise_conv2d": "(input, filter, strides, padding, rate=None, name=None, "
                           "data_format=None, dilations=None)",
    "nn.separable_conv2d": "(input, depthwise_filter, pointwise_filter, strides, padding, "
                           "rate=None, name=None, data_format=None, dilations=None)",
    "layers.conv1d": "(inputs, filters, kernel_size, strides=1, padding='valid', "
                     "data_format='channels_last', dilation_rate=1, " + _CONV_TAIL +
                     ", reuse=None)",
    "layers.Conv1D": "(filters, kernel_size, strides=1, padding='valid', "
                     "data_format='channels_last', dilation_rate=1, " + _CONV_TAIL +
                     ", **kwargs)",
    "layers.conv2d_transpose": "(inputs, filters, kernel_size, strides=(1, 1), "
                               "padding='valid', data_format='channels_last', " + _CONV_TAIL +
                               ", reuse=None)",
    "layers.Conv2DTranspose": "(filters, kernel_size, strides=(1, 1), padding='valid', "
                              "data_format='channels_last', " + _CONV_TAIL + ", **kwargs)",
    "layers.separable_conv2d": (
        "(inputs, filters, kernel_size, strides=(1, 1), padding='valid', "
        "data_format='channels_last', dilation_rate=(1, 1), depth_multiplier=1, "
        "activation=None, use_bias=True, depthwise_initializer=None, "
        "pointwise_initializer=None, bias_initializer=ANY, depthwise_regularizer=None, "
        "pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
        "depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, "
        "trainable=True, name=None, reuse=None)"),
    "layers.SeparableConv2D": (
        "(filters, kernel_size, strides=(1, 1), padding='valid', "
        "data_format='channels_last', dilation_rate=(1, 1), depth_multiplier=1, "
        "activation=None, use_bias=True, depthwise_initializer=None, "
        "pointwise_initializer=None, bias_initializer=ANY, depthwise_regularizer=None, "
        "pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
        "depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, "
        "trainable=True, name=None, **kwargs)"),
    "layers.max_pooling1d": "(inputs, pool_size, strides, padding='valid', "
                            "data_format='channels_last', name=None)",
    "layers.average_pooling1d": "(inputs, pool_size, strides, padding='valid', "
                                "data_format='channels_last', name=None)",
    "layers.MaxPooling1D": "(pool_size, strides, padding='valid', "
                           "data_format='channels_last', name=None, **kwargs)",
    "layers.AveragePooling1D": "(pool_size, strides, padding='valid', "
                               "data_format='channels_last', name=None, **kwargs)",
    "image.resize_images": "(images, size, method=0, align_corners=False, "
                           "preserve_aspect_ratio=False, name=None)",
    "image.per_image_standardization": "(image)",
    "image.random_flip_left_right": "(image, seed=None)",
    "image.random_crop": "(value, size, seed=None, name=None)",
    "image.decode_png": "(contents, channels=0, dtype=ANY, name=None)",
    "image.decode_jpeg": "(contents, channels=0, ratio=1, fancy_upscaling=True, "
                         "try_recover_truncated=False, acceptable_fraction=1, dct_method='', "
                         "name=None)",
}


def _tf_params(text: str) -> list[inspect.Parameter]:
    scope: dict = {"ANY": ANY}
    exec(f"def f{text}: pass", scope)   # noqa: S102 - the table's own literal text
    return list(inspect.signature(scope["f"]).parameters.values())


def _resolve(path: str):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", sorted(TABLE))
def test_signature_matches_tf_1_15(path):
    want = _tf_params(TABLE[path])
    obj = _resolve(path)
    got = list(inspect.signature(obj).parameters.values())
    if inspect.isclass(obj) and got and got[0].name == "self":
        got = got[1:]
    names = [p.name for p in got][:len(want)]
    assert names == [p.name for p in want], f"{path}: parameters {names}"
    for w, g in zip(want, got, strict=False):
        assert g.kind == w.kind or w.kind == w.POSITIONAL_OR_KEYWORD, (path, w.name)
        if w.default is not inspect.Parameter.empty and w.default is not ANY:
            assert g.default == w.default, f"{path}: {w.name}={g.default!r}, TF: {w.default!r}"
    extra = got[len(want):]
    assert all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL,
               p.VAR_KEYWORD) for p in extra), f"{path}: extra required parameters {extra}"


def test_debugging_and_image_namespaces_say_what_is_missing():
    for path, name in (("debugging", "assert_shapes"), ("image", "crop_and_resize")):
        with pytest.raises(AttributeError, match=f"`tf.{path}.{name}` is not available"):
            getattr(_resolve(path), name)
