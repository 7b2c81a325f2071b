"""Serving input receivers (TF's ``tf.estimator.export.ServingInputReceiver`` & co).

A ``serving_input_receiver_fn`` is called with no arguments inside the export graph
and returns a :class:`ServingInputReceiver`: the ``features`` handed to the model_fn
and the ``receiver_tensors`` (placeholders) a client feeds. The receiver tensors
become the inputs of every signature of the export. Builds placeholders on the graph;
must not import the estimator (it sits below export).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.graph.dtypes import as_dtype, string
from estcore.graph.ops.array_ops import placeholder
from estcore.graph.ops.core import is_tensor
from estcore.graph.ops.parsing_ops import VarLenFeature, check_feature_spec, parse_example
from estcore.graph.sparse_tensor import is_sparse

__all__ = ["ServingInputReceiver", "TensorServingInputReceiver",
           "build_raw_serving_input_receiver_fn", "build_parsing_serving_input_receiver_fn"]

_SINGLE_FEATURE_DEFAULT_NAME = "feature"
_SINGLE_RECEIVER_DEFAULT_NAME = "input"


def _wrap_and_check(tensors: Any, field: str, default_name: str,
                    int_keys_ok: bool = False) -> dict:
    if tensors is None:
        raise ValueError(f"{field}s must be defined.")
    if not isinstance(tensors, dict):
        tensors = {default_name: tensors}
    for name, tensor in tensors.items():
        if not isinstance(name, str) and not (int_keys_ok and isinstance(name, int)):
            allowed = "string or int" if int_keys_ok else "string"
            raise ValueError(f"{field} keys must be {allowed}s: {name}.")
        if not (is_tensor(tensor) or (field == "feature" and is_sparse(tensor))):
            raise ValueError(f"{field} {name} must be a Tensor, SparseTensor, or RaggedTensor.")
    return dict(tensors)


def _check_alternatives(alternatives: Any) -> dict | None:
    if alternatives is None:
        return None
    if not isinstance(alternatives, dict):
        raise ValueError(f"receiver_tensors_alternatives must be a dict: {alternatives}.")
    out = {}
    for alt_name, receiver_tensors in alternatives.items():
        out[alt_name] = _wrap_and_check(receiver_tensors, "receiver_tensor",
                                        _SINGLE_RECEIVER_DEFAULT_NAME)
    return out


class ServingInputReceiver(collections.namedtuple(
        "ServingInputReceiver",
        ["features", "receiver_tensors", "receiver_tensors_alternatives"])):
    """What a serving_input_receiver_fn returns.

    Args:
        features: a Tensor or a dict (string/int key -> Tensor) passed to the
            model_fn; a single Tensor is wrapped as ``{'feature': t}``.
        receiver_tensors: a Tensor or dict (string key -> Tensor) of the inputs a
            client feeds (usually placeholders); a single Tensor gets key ``input``.
        receiver_tensors_alternatives: optional dict name -> receiver tensors
            (Tensor or dict), each giving extra ``<name>:<output>`` signatures.

    Raises:
        ValueError: a key is not a string or a value is not a Tensor.
    """

    def __new__(cls, features: Any, receiver_tensors: Any,
                receiver_tensors_alternatives: Any = None):
        features = _wrap_and_check(features, "feature", _SINGLE_FEATURE_DEFAULT_NAME,
                                   int_keys_ok=True)
        receiver_tensors = _wrap_and_check(receiver_tensors, "receiver_tensor",
                                           _SINGLE_RECEIVER_DEFAULT_NAME)
        alternatives = _check_alternatives(receiver_tensors_alternatives)
        return super().__new__(cls, features, receiver_tensors, alternatives)


class TensorServingInputReceiver(collections.namedtuple(
        "TensorServingInputReceiver",
        ["features", "receiver_tensors", "receiver_tensors_alternatives"])):
    """Like :class:`ServingInputReceiver`, but ``features`` is one bare Tensor that
    reaches the model_fn unwrapped."""

    def __new__(cls, features: Any, receiver_tensors: Any,
                receiver_tensors_alternatives: Any = None):
        if features is None:
            raise ValueError("features must be defined.")
        if not is_tensor(features):
            raise ValueError("feature must be a Tensor, SparseTensor, or RaggedTensor.")
        receiver_tensors = _wrap_and_check(receiver_tensors, "receiver_tensor",
                                           _SINGLE_RECEIVER_DEFAULT_NAME)
        alternatives = _check_alternatives(receiver_tensors_alternatives)
        return super().__new__(cls, features, receiver_tensors, alternatives)


def _spec_of(value: Any, name: str) -> tuple[Any, list]:
    """(dtype, per-example shape) from a Tensor, a placeholder-like or a numpy array."""
    if is_tensor(value):
        shape = value.shape.as_list() if value.shape.rank is not None else None
        if shape is None:
            raise ValueError(f"feature {name!r}: the tensor must have a known rank to build "
                             "a serving placeholder.")
        return value.dtype, shape[1:]
    if isinstance(value, np.ndarray):
        return as_dtype(value.dtype), list(value.shape[1:])
    raise ValueError(f"`features` values must be Tensors or numpy arrays (batch first). "
                     f"Received: features[{name!r}]={value!r} ({type(value).__name__})")


def _check_default_batch_size(default_batch_size: Any) -> None:
    if default_batch_size is not None and (not isinstance(default_batch_size, int)
                                           or isinstance(default_batch_size, bool)
                                           or default_batch_size <= 0):
        raise ValueError("`default_batch_size` must be None or a positive int. Received: "
                         f"default_batch_size={default_batch_size!r}")


def build_parsing_serving_input_receiver_fn(feature_spec: dict,
                                            default_batch_size: int | None = None
                                            ) -> Callable[[], ServingInputReceiver]:
    """A receiver fn for clients that send serialized ``tf.train.Example`` protos (TF's).

    Args:
        feature_spec: dict name -> :class:`estcore.io.FixedLenFeature` or
            :class:`estcore.io.VarLenFeature` (a SparseTensor feature), as for
            :func:`estcore.io.parse_example`.
        default_batch_size: the batch dimension of the input (None: any).

    Returns:
        A function returning a :class:`ServingInputReceiver` whose one receiver tensor
        ``examples`` is a string placeholder ``input_example_tensor`` ``[batch]`` and
        whose features are the parsed tensors. Classify and regress signatures then
        take it as their ``inputs`` (TF Serving's convention).

    Raises:
        ValueError: a spec is invalid (checked here, before any graph is built).
    """
    _check_default_batch_size(default_batch_size)
    if not isinstance(feature_spec, dict) or not feature_spec:
        raise ValueError("`feature_spec` must be a non-empty dict of name -> FixedLenFeature. "
                         f"Received: {feature_spec!r}")
    for key, spec in feature_spec.items():
        if isinstance(spec, VarLenFeature):   # parsed into a SparseTensor feature
            name = as_dtype(spec.dtype).name
            if name not in ("float32", "int64", "string"):
                raise ValueError(f"Feature {key!r}: unsupported dtype {name}; a serialized "
                                 "Example holds float32, int64 or string values.")
        else:
            check_feature_spec(key, spec)
    spec_copy = dict(feature_spec)

    def serving_input_receiver_fn() -> ServingInputReceiver:
        examples = placeholder(string, [default_batch_size], name="input_example_tensor")
        features = parse_example(examples, spec_copy)
        return ServingInputReceiver(features, {"examples": examples})

    return serving_input_receiver_fn


def build_raw_serving_input_receiver_fn(features: Any, default_batch_size: int | None = None
                                        ) -> Callable[[], ServingInputReceiver]:
    """A receiver fn feeding raw tensors: one placeholder per feature.

    Args:
        features: dict name -> Tensor (or a numpy batch) giving each feature's dtype
            and shape (the first dimension is the batch); a single Tensor is taken as
            ``{'feature': t}``.
        default_batch_size: the placeholders' batch dimension (None: any batch size).

    Returns:
        A function returning a :class:`ServingInputReceiver` whose receiver tensors
        are the placeholders, keyed by feature name (placeholder ``<name>``).
    """
    _check_default_batch_size(default_batch_size)
    single = not isinstance(features, dict)
    items = {_SINGLE_FEATURE_DEFAULT_NAME: features} if single else dict(features)
    specs = {name: _spec_of(v, str(name)) for name, v in items.items()}

    def serving_input_receiver_fn() -> ServingInputReceiver:
        placeholders = {}
        for name, (dtype, shape) in specs.items():
            placeholders[name] = placeholder(dtype, [default_batch_size] + list(shape),
                                             name=str(name))
        receiver = dict(placeholders)
        return ServingInputReceiver(placeholders, receiver)

    return serving_input_receiver_fn
