"""The strategy active while the Estimator builds and runs a training graph.

Owns only the context variable. It lives in ``estcore.train`` (below the estimator and
``estcore.distribute``, which set it) because the optimizer asks :func:`current_strategy`
on every ``apply_gradients`` whether gradients must be aggregated first. Must not import
MPI or ``estcore.distribute``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["current_strategy", "strategy_scope"]

_ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar("estcore_strategy", default=None)


def current_strategy() -> Any:
    """The strategy of the enclosing :func:`strategy_scope`, or None."""
    return _ACTIVE.get()


@contextlib.contextmanager
def strategy_scope(strategy: Any) -> Iterator[None]:
    """Make ``strategy`` the active one inside the block (None: no strategy)."""
    token = _ACTIVE.set(strategy)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
