"""Argument checks with one message template.

Every message names the argument, says what was expected and shows what was
received::

    `batch_size` must be a positive int. Received: batch_size=0 (int)

Validate at the public entry point (``numpy_input_fn(...)``, a constructor),
never deep inside training.

Must not: import anything of estcore but :mod:`estcore.errors` (every layer uses it);
coerce a bad value into a good one silently (it raises, or returns the checked value).
"""

from __future__ import annotations

import numbers
from typing import Any

from estcore.errors import InvalidArgumentError

__all__ = [
    "describe",
    "invalid",
    "check_bool",
    "check_int",
    "check_positive_int",
    "check_non_negative_int",
    "check_optional_positive_int",
    "check_number",
]


def describe(name: str, value: Any) -> str:
    """``name=<repr> (<type>)``, shortened for long reprs."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{name}={text} ({type(value).__name__})"


def invalid(name: str, expected: str, value: Any, cls: type[Exception] = InvalidArgumentError):
    """Build (not raise) the standard error for argument ``name``."""
    return cls(f"`{name}` must be {expected}. Received: {describe(name, value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(name, "a bool (True or False)", value, TypeError)
    return value


def check_int(name: str, value: Any) -> int:
    if not _is_int(value):
        raise invalid(name, "an int", value, TypeError)
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    if not _is_int(value):
        raise invalid(name, "a positive int", value, TypeError)
    if value <= 0:
        raise invalid(name, "a positive int", value)
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    if not _is_int(value):
        raise invalid(name, "a non-negative int", value, TypeError)
    if value < 0:
        raise invalid(name, "a non-negative int", value)
    return int(value)


def check_optional_positive_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value):
        raise invalid(name, "a positive int or None", value, TypeError)
    if value <= 0:
        raise invalid(name, "a positive int or None", value)
    return int(value)


def check_number(name: str, value: Any, *, minimum: float | None = None,
                 exclusive: bool = False, maximum: float | None = None) -> float:
    """``value`` as a float; a real number (not a bool), ``>= minimum`` (``> minimum``
    when ``exclusive``) and ``<= maximum`` when those are given."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise invalid(name, "a number", value, TypeError)
    if maximum is not None:
        low = -float("inf") if minimum is None else minimum
        if not low <= value <= maximum:
            raise invalid(name, f"a number in [{low}, {maximum}]", value)
    elif minimum is not None:
        ok = value > minimum if exclusive else value >= minimum  # False for NaN
        if not ok:
            op = ">" if exclusive else ">="
            raise invalid(name, f"a number {op} {minimum}", value)
    return float(value)
