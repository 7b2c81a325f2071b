"""``add_metrics``: an Estimator with extra evaluation metrics (TF 1.15's extenders).

Owns :func:`add_metrics`. Must not: change the wrapped estimator (a new Estimator is
returned, sharing its model_dir, config and warm start).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from estcore.estimator.estimator import Estimator
from estcore.estimator.mode_keys import ModeKeys

__all__ = ["add_metrics"]

_VALID_METRIC_FN_ARGS = frozenset({"features", "labels", "predictions", "config"})


def _metric_fn_args(metric_fn: Callable) -> list[str]:
    try:
        return list(inspect.signature(metric_fn).parameters)
    except (TypeError, ValueError) as e:
        raise ValueError(f"metric_fn must be a function; got {metric_fn!r}") from e


def add_metrics(estimator: Estimator, metric_fn: Callable) -> Estimator:
    """A new Estimator whose evaluation adds ``metric_fn``'s metrics to ``estimator``'s.

    Args:
        estimator: an :class:`Estimator` (a premade one or any other).
        metric_fn: a function of some of ``predictions``, ``features``, ``labels`` and
            ``config`` (by name) returning ``{name: (value, update_op)}``, e.g. from
            ``estcore.metrics``. A name the estimator already reports is replaced.

    Returns:
        An Estimator with the same model_dir, config and warm start.

    Raises:
        ValueError: ``metric_fn`` has another argument.
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"`estimator` must be an estcore Estimator. Received: {estimator!r}")
    args = _metric_fn_args(metric_fn)
    extra = [a for a in args if a not in _VALID_METRIC_FN_ARGS]
    if extra:
        raise ValueError(f"metric_fn ({metric_fn}) has following not expected args: {extra}")

    def new_model_fn(features, labels, mode, config):
        spec = estimator.model_fn(features, labels, mode, config)
        if mode != ModeKeys.EVAL:
            return spec
        values = {"features": features, "labels": labels, "predictions": spec.predictions,
                  "config": config}
        new_metrics = metric_fn(**{a: values[a] for a in args})
        if not isinstance(new_metrics, dict):
            raise ValueError(f"metric_fn must return a dict of metric name -> (value, "
                             f"update_op); got {type(new_metrics).__name__}.")
        metrics = dict(spec.eval_metric_ops or {})
        metrics.update(new_metrics)
        return spec._replace(eval_metric_ops=metrics)

    return Estimator(model_fn=new_model_fn, model_dir=estimator.model_dir,
                     config=estimator.config,
                     warm_start_from=estimator._warm_start_settings)
