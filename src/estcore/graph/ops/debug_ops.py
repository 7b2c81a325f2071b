"""Run-time checks and printing: ``Assert``, ``check_numerics``, ``Print``, ``print``.

Rows (all stateful: never folded or deduplicated, run each time their plan needs them):

* ``Assert(condition, *data)``: no output; when ``condition`` is not all true it raises
  ``InvalidArgumentError("assertion failed: [item] [item] ...")`` as TF does, each data
  item summarized to ``summarize`` elements (TF's ``[1 2 3...]`` form).
* ``CheckNumerics(x)``: ``x``; raises ``"<message> : Tensor had NaN values"`` (or Inf, or
  Inf and NaN). Its gradient checks the gradient the same way, as TF's.
* ``PrintV1(input, *data)``: ``input``, printing ``message`` then each data item to
  stderr (TF1 ``tf.Print``: at most ``first_n`` times per session when given).
* ``PrintV2(*inputs)``: no output; TF's ``tf.print`` (``sep``, ``end``,
  ``output_stream``).

The ``assert_*`` compositions (``assert_equal`` ...) live in ``graph/ops/checks.py``.
Must not: print or raise while the graph is built (only kernels do, when run).
"""

from __future__ import annotations

import sys

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph.ops import _infer as I
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.tensor import Tensor

__all__ = ["Assert", "check_numerics", "Print", "print_v2", "summarize"]


def _item(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}" if np.isfinite(v) else ("nan" if np.isnan(v) else
                                                       ("inf" if v > 0 else "-inf"))
    return str(v)


def summarize(value, n: int | None = 3) -> str:
    """TF's summary of a value (as ``Assert`` and ``Print`` show it, inside their
    brackets): the first ``n`` elements in row-major order, one bracket pair per inner
    dimension, ``...`` where elements were left out (``n`` None or < 0: all)."""
    a = np.asarray(value)
    if a.ndim == 0:
        return _item(a.item() if a.dtype != object else a[()])
    flat = a.reshape(-1)
    limit = flat.size if n is None or n < 0 else min(n, flat.size)
    out: list[str] = []
    pos = [0]

    def dim(d):
        if pos[0] >= limit:
            return
        if d == a.ndim - 1:
            for i in range(a.shape[d]):
                if pos[0] >= limit:
                    if d != 0:
                        out.append("...")
                    return
                if i:
                    out.append(" ")
                out.append(_item(flat[pos[0]]))
                pos[0] += 1
            return
        for _ in range(a.shape[d]):
            opened = pos[0] < limit
            if opened:
                out.append("[")
            dim(d + 1)
            if pos[0] < limit or opened:
                out.append("]")

    dim(0)
    if limit < flat.size:
        out.append("...")
    return "".join(out)


def _bracketed(values, n) -> str:
    return "".join(f"[{summarize(v, n)}]" for v in values)


# ---------------------------------------------------------------- Assert
def _assert_infer(ctx):
    if not ctx.dtypes[0].is_bool:
        raise ctx.fail(f"`condition` must be a bool tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    return []


def _assert_build(k):
    cond, data, n = k.ins[0], k.ins[1:], k.attrs["summarize"]

    def run():
        if not np.all(cond):
            raise errors.InvalidArgumentError(
                "assertion failed: " + " ".join(f"[{summarize(v, n)}]" for v in data))
    return run


row("Assert", _assert_infer, _assert_build, None, stateful=True)


def _as_data(data) -> list[Tensor]:
    out = []
    for d in data:
        if isinstance(d, str):
            d = convert_to_tensor(d, dtype=dt.string)
        out.append(convert_to_tensor(d))
    return out


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF1 name
    """Raise ``InvalidArgumentError`` at run time when ``condition`` is false (TF1
    ``tf.Assert``).

    Args:
        condition: bool tensor; every element must be true.
        data: list of tensors / strings / values printed in the error.
        summarize: elements printed per data item (default 3).
        name: node name.

    Returns:
        The Assert op: run it, or make other ops wait for it with
        ``control_dependencies([...])``.
    """
    c = convert_to_tensor(condition, dtype=dt.bool)
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"`data` must be a list of tensors. Received: {data!r}")
    n = 3 if summarize is None else int(summarize)
    return make_op("Assert", [c, *_as_data(data)], {"summarize": n}, name=name or "Assert")


# ---------------------------------------------------------------- CheckNumerics
def _check_numerics_build(k):
    x, o, msg = k.ins[0], k.outs[0], k.attrs["message"]

    def run():
        bad_nan, bad_inf = bool(np.isnan(x).any()), bool(np.isinf(x).any())
        if bad_nan or bad_inf:
            what = "Inf and NaN" if bad_nan and bad_inf else ("NaN" if bad_nan else "Inf")
            raise errors.InvalidArgumentError(f"{msg} : Tensor had {what} values")
        np.copyto(o, x)
    return run


def _check_numerics_grad(op, g):
    return [check_numerics(g[0], "Not a number (NaN) or infinity (Inf) values detected "
                                 "in gradient. " + op.attrs["message"])]


row("CheckNumerics", I.float_unary, _check_numerics_build, _check_numerics_grad,
    stateful=True)


def check_numerics(tensor, message, name=None) -> Tensor:
    """``tensor``, raising ``InvalidArgumentError`` at run time if it holds NaN or Inf
    (TF1 ``tf.debugging.check_numerics``); floating tensors only."""
    return make("CheckNumerics", [convert_to_tensor(tensor)], {"message": str(message)},
                name=name or "CheckNumerics")


# ---------------------------------------------------------------- Print (TF1)
def _print_build(k):
    x, data, o = k.ins[0], k.ins[1:], k.outs[0]
    attrs, state, node = k.attrs, k.state, k.node

    def run():
        first_n = attrs["first_n"]
        key = ("print_count", node._id)
        count = state.scratch.get(key, 0) if state is not None else 0
        if first_n is None or first_n < 0 or count < first_n:
            if state is not None:
                state.scratch[key] = count + 1
            text = attrs["message"] + _bracketed(data, attrs["summarize"])
            sys.stderr.write(text + "\n")
        np.copyto(o, x)
    return run


row("PrintV1", I.same_as_input(), _print_build,
    lambda op, g: [g[0]] + [None] * (len(op.inputs) - 1), stateful=True)


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802
    """``input_``, printing ``message`` and ``data`` to stderr each time it is computed
    (TF1 ``tf.Print``).

    Args:
        input_: the tensor passed through (its gradient too).
        data: list of tensors printed after ``message``, each as ``[v1 v2 v3...]``.
        message: prefix string.
        first_n: print only the first ``first_n`` times (per session); None or
            negative: always.
        summarize: elements printed per tensor (default 3).
        name: node name.
    """
    x = convert_to_tensor(input_)
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"`data` must be a list of tensors. Received: {data!r}")
    attrs = {"message": "" if message is None else str(message),
             "first_n": None if first_n is None else int(first_n),
             "summarize": 3 if summarize is None else int(summarize)}
    return make("PrintV1", [x, *_as_data(data)], attrs, name=name or "Print")


# ---------------------------------------------------------------- print (TF2 style)
def _format_v2(v, n) -> str:
    a = np.asarray(v)
    if a.dtype == object and a.ndim == 0:
        return _item(a[()])
    if a.ndim == 0:
        return _item(a.item())
    if n is not None and n >= 0 and a.ndim == 1 and a.size > 2 * n:
        items = [_item(x) for x in a[:n]] + ["..."] + [_item(x) for x in a[-n:]]
        return "[" + " ".join(items) + "]"
    if a.ndim == 1:
        return "[" + " ".join(_item(x) for x in a) + "]"
    rows = [_format_v2(r, n) for r in a] if n is None or n < 0 or a.shape[0] <= 2 * n \
        else [_format_v2(r, n) for r in a[:n]] + ["..."] + [_format_v2(r, n) for r in a[-n:]]
    return "[" + "\n ".join(rows) + "]"


def _print_v2_build(k):
    ins, attrs = k.ins, k.attrs

    def run():
        parts = []
        for kind, val in attrs["template"]:
            parts.append(val if kind == "text" else _format_v2(ins[val], attrs["summarize"]))
        text = attrs["sep"].join(parts) + attrs["end"]
        stream = attrs["output_stream"]
        if stream is None:
            sys.stderr.write(text)
        elif stream == "stdout":
            sys.stdout.write(text)
        elif isinstance(stream, str):
            with open(stream[len("file://"):], "a", encoding="utf-8") as f:
                f.write(text)
        elif hasattr(stream, "write"):
            stream.write(text)
        else:
            stream(text.rstrip("\n"))
    return run


row("PrintV2", lambda ctx: [], _print_v2_build, None, stateful=True)


def print_v2(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """An op printing ``inputs`` when run (TF's ``tf.print``): tensors as
    ``[1 2 3]`` (``summarize`` elements from each end), other values with ``str``.

    Args:
        *inputs: tensors and Python values (strings print as they are).
        output_stream: ``sys.stderr`` (default), ``sys.stdout``, a ``"file://path"``
            string (appended to), a logging function (``tf.logging.info``) or an
            object with ``write``.
        summarize: elements printed from each end of each dimension; None or -1: all.
        sep, end: as Python's ``print``.
        name: node name.

    Returns:
        The print op (run it, or use it in ``control_dependencies``).
    """
    if output_stream is sys.stderr:
        stream = None
    elif output_stream is sys.stdout:
        stream = "stdout"
    elif isinstance(output_stream, str):
        if not output_stream.startswith("file://"):
            raise ValueError(f"`output_stream` must be sys.stderr, sys.stdout, a logging "
                             f"function or 'file://<path>'. Received: {output_stream!r}")
        stream = output_stream
    elif output_stream is None or hasattr(output_stream, "write") or callable(output_stream):
        stream = output_stream
    else:
        raise ValueError(f"`output_stream` must be sys.stderr, sys.stdout, a logging "
                         f"function or 'file://<path>'. Received: {output_stream!r}")
    tensors, template = [], []
    for x in inputs:
        if isinstance(x, Tensor) or hasattr(x, "_as_tensor"):
            template.append(("tensor", len(tensors)))
            tensors.append(convert_to_tensor(x))
        else:
            template.append(("text", str(x)))
    attrs = {"template": template, "output_stream": stream,
             "summarize": -1 if summarize is None else int(summarize), "sep": str(sep),
             "end": str(end)}
    return make_op("PrintV2", tensors, attrs, name=name or "PrintV2")
