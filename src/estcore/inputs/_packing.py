"""Validation of numpy_input_fn's x / y and their packing into C columns (internal).

Follows TF's ``numpy_io.py`` order and messages (spec section 1.2/1.3): x is
checked first, then y, then every array, then the lengths. TF's own messages
are kept word for word; checks TF does not make use :mod:`estcore._validation`'s
template.

Must not: start streams or call the C pipeline (``numpy_io.py`` does); copy an array
that is already contiguous and of a supported dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.errors import InvalidArgumentError

DIRECT_KEY = "__direct_np_input__"  # TF's internal key for an array x
TARGET_KEY = "__target_key__"  # TF's internal key for an array y
MAX_DIMS = 16  # per-example dims the C gather handles without a copy (est_stream.h)

SHUFFLE_MESSAGE = ("shuffle must be provided and explicitly set as boolean "
                   "(it is recommended to set it as True for training); got {}")


@dataclass(frozen=True)
class Layout:
    """The arrays of x and y in C column order, and how a batch is packed.

    Attributes:
        columns: arrays in column order: x's (sorted keys, or the one array),
            then y's (sorted keys, or the one array).
        names: one display name per column ("x", "x['a']", "y", "y['b']").
        x_keys: sorted feature keys, or None when x is one array.
        y_keys: None (no y), "" (y is one array) or the sorted label keys.
        num_rows: the common ``shape[0]``.
    """

    columns: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    x_keys: tuple[str, ...] | None
    y_keys: tuple[str, ...] | str | None
    num_rows: int


def check_shuffle(shuffle: Any) -> bool:
    if not isinstance(shuffle, bool):
        raise ValueError(SHUFFLE_MESSAGE.format(shuffle))
    return shuffle


def _sorted_dict(d: dict, what: str) -> dict[str, Any]:
    for k in d:
        if not isinstance(k, str):
            raise invalid(f"{what} keys", "str", k, TypeError)
    return dict(sorted(d.items(), key=lambda kv: kv[0]))


def _check_array(name: str, a: Any) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise invalid(name, "a numpy array", a, TypeError)
    if a.ndim == 0:
        raise invalid(name, "an array with at least one dimension (the examples)", a)
    if a.dtype.hasobject or a.dtype.itemsize == 0:
        raise InvalidArgumentError(
            f"`{name}` has an unsupported dtype: {a.dtype}. numpy_input_fn copies fixed-size "
            "dtypes only (numbers, bool, fixed-width bytes 'S' and str 'U', datetime64, "
            "structured dtypes without objects); convert object arrays first. "
            f"Received: {name}.dtype={a.dtype}")
    if a.ndim - 1 > MAX_DIMS and not a.flags.c_contiguous:
        # Documented: the only case where the pipeline copies the source array.
        a = np.ascontiguousarray(a)
    return a


def build_layout(x: Any, y: Any) -> Layout:
    """Validate x and y as TF's numpy_input_fn does and lay them out as columns."""
    if isinstance(x, dict):
        if not x:
            raise ValueError("x cannot be an empty dict")
        xd = _sorted_dict(x, "x")
        x_keys: tuple[str, ...] | None = tuple(xd)
    elif isinstance(x, np.ndarray):
        if x.size == 0:
            raise ValueError("x cannot be an empty array")
        xd = {DIRECT_KEY: x}
        x_keys = None
    else:
        raise TypeError(f"x must be a dict or array; got {type(x).__name__}")

    if y is None:
        yd: dict[str, Any] = {}
        y_keys: tuple[str, ...] | str | None = None
    elif isinstance(y, dict):
        if not y:
            raise ValueError("y cannot be empty dict, use None instead.")
        yd = _sorted_dict(y, "y")
        shared = set(xd).intersection(yd)
        if shared:
            raise ValueError(f"{len(shared)} duplicate keys are found in both x and y: {shared}")
        y_keys = tuple(yd)
    elif isinstance(y, np.ndarray):
        yd = {TARGET_KEY: y}
        y_keys = ""
    else:
        raise invalid("y", "None, a dict of numpy arrays or a numpy array", y, TypeError)

    def name(side: str, key: str) -> str:
        return side if key in (DIRECT_KEY, TARGET_KEY) else f"{side}[{key!r}]"

    xa = {k: _check_array(name("x", k), v) for k, v in xd.items()}
    ya = {k: _check_array(name("y", k), v) for k, v in yd.items()}

    lengths = {a.shape[0] for a in (*xa.values(), *ya.values())}
    if len(lengths) != 1:
        shapes_x = {k: a.shape for k, a in xa.items()}
        if y_keys is None:
            shapes_y: Any = None
        elif y_keys == "":
            shapes_y = ya[TARGET_KEY].shape
        else:
            shapes_y = {k: a.shape for k, a in ya.items()}
        raise ValueError("Length of tensors in x and y is mismatched. All elements in x and y "
                         "must have the same length.\n"
                         f"Shapes in x: {shapes_x}\n"
                         f"Shapes in y: {shapes_y}\n")
    (num_rows,) = lengths
    if num_rows == 0:
        first = next(iter(xa))
        raise invalid(name("x", first), "an array with at least one row",
                      xa[first])

    names = tuple(name("x", k) for k in xa) + tuple(name("y", k) for k in ya)
    return Layout(columns=(*xa.values(), *ya.values()), names=names, x_keys=x_keys,
                  y_keys=y_keys, num_rows=int(num_rows))
