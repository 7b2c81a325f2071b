"""``estcore.estimator.experimental``: early-stopping hooks, ``InMemoryEvaluatorHook`` and
the premade logit builders (TF's names).

Re-exports only (from :mod:`estcore.hooks.early_stopping`,
:mod:`estcore.estimator.in_memory_eval` and :mod:`estcore.estimator.canned`). Must not:
hold code; be imported by estcore's own modules.
"""

from estcore.estimator.canned.dnn import dnn_logit_fn_builder
from estcore.estimator.canned.linear import linear_logit_fn_builder
from estcore.estimator.in_memory_eval import InMemoryEvaluatorHook
from estcore.hooks.early_stopping import (
    make_early_stopping_hook,
    stop_if_higher_hook,
    stop_if_lower_hook,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)

__all__ = [
    "InMemoryEvaluatorHook",
    "dnn_logit_fn_builder",
    "linear_logit_fn_builder",
    "make_early_stopping_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_decrease_hook",
    "stop_if_no_increase_hook",
]
