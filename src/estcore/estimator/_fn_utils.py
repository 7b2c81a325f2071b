"""Argument inspection of user functions (model_fn, input_fn) as TF's ``fn_args``.

Plain functions, bound methods (``self`` dropped), callables (their
``__call__``) and ``functools.partial`` (bound arguments removed) are handled.
Keyword-only parameters and ``**kwargs`` are invisible, as in TF.

Must not: decide which arguments a model_fn gets (``estimator.py`` does, through
:func:`call_with_optional_args`); call a user function except in
:func:`call_with_optional_args`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["fn_args", "verify_model_fn_args", "call_with_optional_args"]

_VALID_MODEL_FN_ARGS = {"features", "labels", "mode", "params", "self", "config"}


def fn_args(fn: Callable) -> tuple[str, ...]:
    """Names of the positional-or-keyword parameters ``fn`` takes (TF's fn_args)."""
    if isinstance(fn, functools.partial):
        args = fn_args(fn.func)
        bound_positional = len(fn.args)
        args = args[bound_positional:]
        return tuple(a for a in args if a not in (fn.keywords or {}))
    target = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and callable(fn):
        call = fn.__call__
        if inspect.ismethod(call) or inspect.isfunction(call):
            target = call
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in sig.parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def verify_model_fn_args(model_fn: Callable, params: Any) -> None:
    """TF's ``_verify_model_fn_args`` checks and messages (spec 3.1)."""
    args = set(fn_args(model_fn))
    if "features" not in args:
        raise ValueError(f"model_fn ({model_fn}) must include features argument.")
    if params is not None and "params" not in args:
        raise ValueError(f"model_fn ({model_fn}) does not include params argument, but params "
                         f"({params}) is passed to Estimator.")
    if params is None and "params" in args:
        logging.getLogger("estcore").warning(
            "Estimator's model_fn (%s) includes params argument, but params are not passed "
            "to Estimator.", model_fn)
    non_valid = sorted(args - _VALID_MODEL_FN_ARGS)
    if non_valid:
        raise ValueError(f"model_fn ({model_fn}) has following not expected args: {non_valid}")


def call_with_optional_args(fn: Callable, **optional: Any) -> Any:
    """Call ``fn`` passing each of ``optional`` only if ``fn`` declares it."""
    args = fn_args(fn)
    return fn(**{k: v for k, v in optional.items() if k in args})
