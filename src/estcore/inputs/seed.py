"""``seed_scope``: the seed an enclosing caller (the Estimator) passes to input_fn().

Owns a context variable (threads and asyncio tasks do not see each other's scopes)
and :func:`resolve_seed` (explicit seed, else the scope's, else fresh OS entropy).
Must not: hold process-global state; import the graph's seeds (the Estimator passes
``tf_random_seed`` in).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

from estcore._validation import check_int

__all__ = ["seed_scope", "current_seed", "resolve_seed"]

_SEED: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "estcore_input_seed", default=None)


@contextlib.contextmanager
def seed_scope(seed: int | None) -> Iterator[None]:
    """Make ``seed`` the default seed of input streams created inside the block.

    ``numpy_input_fn(..., seed=None)`` streams created by ``input_fn()`` inside
    ``with seed_scope(s):`` use ``s``; the Estimator calls ``input_fn()`` this
    way to pass its graph-level seed (``RunConfig.tf_random_seed``). Nested
    scopes override outer ones; ``seed_scope(None)`` restores fresh entropy.
    The scope is a context variable, so threads and asyncio tasks do not see
    each other's scopes.

    Args:
        seed: an int, or None for "no scope".
    """
    if seed is not None:
        seed = check_int("seed", seed)
    token = _SEED.set(seed)
    try:
        yield
    finally:
        _SEED.reset(token)


def current_seed() -> int | None:
    """The seed of the innermost active :func:`seed_scope`, or None."""
    return _SEED.get()


def resolve_seed(seed: int | None) -> int:
    """An explicit seed, else the scope's, else 64 fresh bits from ``os.urandom``."""
    if seed is not None:
        return seed
    scoped = _SEED.get()
    if scoped is not None:
        return scoped
    return int.from_bytes(os.urandom(8), "little")
