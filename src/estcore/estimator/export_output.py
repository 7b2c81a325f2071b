"""Serving signatures a model_fn can declare (TF's ``tf.estimator.export`` outputs)."""

from __future__ import annotations

from typing import Any

from estcore.graph.ops.core import is_tensor

__all__ = ["ExportOutput", "PredictOutput", "ClassificationOutput", "RegressionOutput",
           "DEFAULT_SERVING_SIGNATURE_DEF_KEY"]

DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"


def _dtype_name(t: Any) -> str:
    dtype = getattr(t, "dtype", None)
    return getattr(dtype, "name", str(dtype))


def _is_floating(t: Any) -> bool:
    dtype = getattr(t, "dtype", None)
    flag = getattr(dtype, "is_floating", None)
    if flag is not None:
        return bool(flag)
    return _dtype_name(t) in ("float16", "float32", "float64", "bfloat16")


class ExportOutput:
    """Base class: one named signature's outputs, as a dict key -> Tensor."""

    _SEPARATOR_CHAR = "/"

    @property
    def outputs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _check_output_key(self, key: Any, error_label: str) -> str:
        if isinstance(key, tuple):
            key = self._SEPARATOR_CHAR.join(key)
        if not isinstance(key, str):
            raise ValueError(f"{error_label} output key must be a string; got {key}.")
        return key

    def _wrap_and_check_outputs(self, outputs: Any, single_output_default_name: str,
                                error_label: str | None = None) -> dict[str, Any]:
        if not isinstance(outputs, dict):
            outputs = {single_output_default_name: outputs}
        result = {}
        for key, value in outputs.items():
            error_name = error_label or single_output_default_name
            key = self._check_output_key(key, error_name)
            if not is_tensor(value):
                raise ValueError(f"{error_name} output value must be a Tensor; got {value}.")
            result[key] = value
        return result


class PredictOutput(ExportOutput):
    """Arbitrary named output tensors (a single tensor gets the key ``output``)."""

    _SINGLE_OUTPUT_DEFAULT_NAME = "output"

    def __init__(self, outputs: Any):
        self._outputs = self._wrap_and_check_outputs(
            outputs, self._SINGLE_OUTPUT_DEFAULT_NAME, error_label="Prediction")

    @property
    def outputs(self) -> dict[str, Any]:
        return self._outputs


class ClassificationOutput(ExportOutput):
    """Class scores (float) and/or class names (string); at least one."""

    def __init__(self, scores: Any = None, classes: Any = None):
        if scores is not None and not (is_tensor(scores) and _is_floating(scores)):
            raise ValueError(f"Classification scores must be a float32 Tensor; got {scores}")
        if classes is not None and not (is_tensor(classes)
                                        and _dtype_name(classes) == "string"):
            raise ValueError(f"Classification classes must be a string Tensor; got {classes}")
        if scores is None and classes is None:
            raise ValueError("Cannot create a ClassificationOutput with empty arguments. "
                             "At least one of `scores` and `classes` must be defined.")
        self._scores = scores
        self._classes = classes

    @property
    def scores(self) -> Any:
        return self._scores

    @property
    def classes(self) -> Any:
        return self._classes

    @property
    def outputs(self) -> dict[str, Any]:
        out = {}
        if self._scores is not None:
            out["scores"] = self._scores
        if self._classes is not None:
            out["classes"] = self._classes
        return out


class RegressionOutput(ExportOutput):
    """One float output tensor (key ``outputs``)."""

    def __init__(self, value: Any):
        if not (is_tensor(value) and _is_floating(value)):
            raise ValueError(f"Regression output value must be a float32 Tensor; got {value}")
        self._value = value

    @property
    def value(self) -> Any:
        return self._value

    @property
    def outputs(self) -> dict[str, Any]:
        return {"outputs": self._value}
