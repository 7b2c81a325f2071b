"""``estcore.estimator.experimental``: early-stopping hooks (TF's names).

Re-exports only (from :mod:`estcore.hooks.early_stopping`). Must not: hold code; be
imported by estcore's own modules.
"""

from estcore.hooks.early_stopping import (
    make_early_stopping_hook,
    stop_if_higher_hook,
    stop_if_lower_hook,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)

__all__ = [
    "make_early_stopping_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_decrease_hook",
    "stop_if_no_increase_hook",
]
