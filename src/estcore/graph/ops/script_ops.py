"""Python escape hatches: ``py_func`` (numpy in, numpy out) and ``py_function``.

One row, ``PyFunc``: a stateful node (never folded or deduplicated) whose kernel calls
the user's Python function on the input values when the plan runs. Its output shapes are
unknown until then (a data-dependent row, :mod:`estcore.graph.ops.dynamic_ops`), so the
nodes downstream of it are planned per run by :mod:`estcore.graph.segments`. As TF1:
each returned value must have exactly its ``Tout`` dtype (``InvalidArgumentError``
otherwise); a ``ValueError`` / ``TypeError`` raised by the function becomes
``InvalidArgumentError`` and ``StopIteration`` ``OutOfRangeError``; other exceptions
propagate unchanged. No gradient (TF1's py_func has none: ``LookupError``).

Must not: hold the function anywhere but the node's attrs; run it at graph-build time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import convert_to_tensor, make_op
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.shapes import TensorShape

__all__ = ["py_func", "py_function", "EagerValue"]


class EagerValue(np.ndarray):
    """What a ``py_function``'s function receives: a numpy array with TF's eager-tensor
    ``.numpy()`` (the array itself) and ``.dtype`` / ``.shape`` as numpy's."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


def _infer(ctx):
    return [(d, TensorShape(None)) for d in ctx.attrs["Tout"]]


def _check(node, i: int, value, want) -> np.ndarray:
    arr = np.asarray(value)
    if want is dt.string:
        if arr.dtype.kind in "OSU":
            try:
                return dt.as_string_array(arr, f"PyFunc '{node.name}'")
            except TypeError as e:
                raise errors.InvalidArgumentError(f"{e} (its {i}-th value)") from None
    elif arr.dtype == want.np:
        return arr
    got = "double" if arr.dtype == np.float64 else arr.dtype.name
    raise errors.InvalidArgumentError(
        f"PyFunc '{node.name}': {i}-th value returned by the function is {got}, but expects "
        f"{'float' if want is dt.float32 else want.name}")


def _eager(k):
    attrs = k.attrs
    node = k.node
    args = list(k.ins)
    if attrs["eager"]:
        args = [np.asarray(a).view(EagerValue) for a in args]
    try:
        result = attrs["func"](*args)
    except (ValueError, TypeError) as e:
        raise errors.InvalidArgumentError(
            f"PyFunc '{node.name}': {type(e).__name__}: {e}") from e
    except StopIteration as e:
        raise errors.OutOfRangeError(f"PyFunc '{node.name}': StopIteration") from e
    tout = attrs["Tout"]
    if not attrs["single"]:
        if result is None and not tout:
            return []
        if not isinstance(result, (list, tuple)):
            result = [result]
        if len(result) != len(tout):
            raise errors.InvalidArgumentError(
                f"PyFunc '{node.name}': the function returned {len(result)} values, Tout "
                f"lists {len(tout)}")
    else:
        result = [result]
    return [_check(node, i, np.asarray(v.numpy() if hasattr(v, "numpy") else v), d)
            for i, (v, d) in enumerate(zip(result, tout, strict=True))]


dynamic_row("PyFunc", _infer, _eager, None, stateful=True)


def _call(func, inp, Tout, name, eager: bool):  # noqa: N803 - TF1 argument name
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: {func!r} ({type(func).__name__})")
    single = not isinstance(Tout, (list, tuple))
    tout = [dt.as_dtype(Tout)] if single else [dt.as_dtype(d) for d in Tout]
    inputs = [convert_to_tensor(x) for x in (inp if isinstance(inp, (list, tuple)) else [inp])]
    op = make_op("PyFunc", inputs, {"func": func, "Tout": tout, "single": single,
                                    "eager": eager}, name=name or "PyFunc")
    if single:
        return op.outputs[0]
    return list(op.outputs) if op.outputs else op


def py_func(func: Callable, inp, Tout, stateful: bool = True, name=None):  # noqa: N803
    """Call ``func`` on numpy values when the graph runs (TF1 ``tf.py_func``).

    Args:
        func: ``func(*arrays)`` returning one array (``Tout`` a dtype) or a list of
            arrays (``Tout`` a list); string tensors arrive as object arrays of bytes.
        inp: a tensor or list of tensors, the arguments.
        Tout: a dtype or a list of dtypes; each returned value must have exactly that
            dtype (a float64 result for float32 is an error, as in TF).
        stateful: accepted for TF1 compatibility; the node is always treated as
            stateful (run each time, never folded).
        name: node name.

    Returns:
        A tensor (``Tout`` a dtype) or a list of tensors, of unknown shape (use
        ``set_shape`` to declare one); the node itself when ``Tout`` is an empty list.
    """
    return _call(func, inp, Tout, name, eager=False)


def py_function(func: Callable, inp, Tout, name=None):  # noqa: N803 - TF1 argument name
    """Like :func:`py_func`, with ``func`` receiving values that have ``.numpy()`` (TF's
    eager tensors; here numpy arrays with that method) (TF1 ``tf.py_function``)."""
    return _call(func, inp, Tout, name, eager=True)
