"""Tensor contractions: ``einsum`` and ``tensordot`` (one ``Einsum`` row).

``Einsum`` runs numpy's ``einsum`` with ``optimize=True`` (pairwise contractions on BLAS
through ``tensordot``). ``tensordot`` builds the equation for its axes. The gradient of
input ``i`` is an einsum of the output gradient with the other inputs, producing input
``i``'s subscripts; a subscript only input ``i`` has (summed over) is broadcast back, and
``...`` dimensions that were broadcast are summed back to the input's shape.

Must not: accept a subscript repeated within one input (a diagonal: not supported,
refused with a clear error) or an equation numpy would reject without saying why.
"""

from __future__ import annotations

import string

import numpy as np

from estcore.graph.ops import array_ops as A
from estcore.graph.ops.core import convert_to_tensor, make, row
from estcore.graph.ops.math_ops import unbroadcast
from estcore.graph.shapes import TensorShape, broadcast_static
from estcore.graph.tensor import Tensor

__all__ = ["einsum", "tensordot"]


def _parse(equation: str, n: int) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "").replace(".", "")
        out = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum equation {equation!r} names {len(ins)} inputs, but "
                         f"{n} were given")
    for spec in [*ins, out]:
        body = spec.replace("...", "")
        if "." in body or not all(c in string.ascii_letters for c in body):
            raise ValueError(f"einsum equation {equation!r}: subscripts must be letters "
                             f"and '...'. Received: {spec!r}")
    for spec in ins:
        body = spec.replace("...", "")
        if len(set(body)) != len(body):
            raise ValueError(f"einsum equation {equation!r}: a subscript repeated within "
                             f"one input ({spec!r}, a diagonal) is not supported")
    return ins, out


def _einsum_infer(ctx):
    ins, out = _parse(ctx.attrs["equation"], len(ctx.dtypes))
    d0 = ctx.dtypes[0]
    for i, d in enumerate(ctx.dtypes):
        if d is not d0:
            raise ctx.fail(f"inputs must have the same dtype: input 0 is {d0.name}, input "
                           f"{i} is {d.name}", TypeError)
    sizes: dict[str, int | None] = {}
    ell = TensorShape([])
    known_rank = True
    for i, (spec, s) in enumerate(zip(ins, ctx.shapes, strict=True)):
        body = spec.replace("...", "")
        if s.rank is None:
            known_rank = False
            continue
        if "..." not in spec and s.rank != len(body):
            raise ctx.fail(f"input {i} has rank {s.rank} but subscripts {spec!r}")
        if "..." in spec and s.rank < len(body):
            raise ctx.fail(f"input {i} has rank {s.rank}, fewer than subscripts {spec!r}")
        head, _, tail = spec.partition("...")
        n_ell = s.rank - len(body)
        dims = list(s.dims)
        named = dims[:len(head)] + dims[len(dims) - len(tail):] if tail else dims[:len(head)]
        if "..." in spec:
            e = TensorShape(dims[len(head):len(head) + n_ell])
            b = broadcast_static(ell, e)
            if b is None:
                raise ctx.fail(f"the '...' dimensions of input {i} ({e}) do not broadcast "
                               f"with the others ({ell})")
            ell = b
        for c, d in zip(head + tail, named, strict=True):
            prev = sizes.get(c)
            if prev is not None and d is not None and prev != d:
                raise ctx.fail(f"subscript {c!r} has size {prev} and {d} in different inputs")
            if d is not None or c not in sizes:
                sizes[c] = d if d is not None else prev
    for c in out.replace("...", ""):
        if c not in sizes and known_rank:
            raise ctx.fail(f"output subscript {c!r} appears in no input")
    if not known_rank:
        return [(d0, TensorShape(None))]
    head, _, tail = out.partition("...")
    dims = [sizes.get(c) for c in head] + (list(ell.dims) if "..." in out else []) + \
        [sizes.get(c) for c in tail]
    return [(d0, TensorShape(dims))]


def _einsum_build(k):
    eq, ins, o = k.attrs["equation"], k.ins, k.outs[0]

    def run():
        np.copyto(o, np.einsum(eq, *ins, optimize=len(ins) > 1))
    return run


def _einsum_grad(op, g):
    ins, out = _parse(op.attrs["equation"], len(op.inputs))
    grads = []
    for i, x in enumerate(op.inputs):
        if g[0] is None or not x.dtype.is_floating:
            grads.append(None)
            continue
        others = [s for j, s in enumerate(ins) if j != i]
        have = set(out.replace("...", "")) | {c for s in others for c in s.replace("...", "")}
        spec = ins[i]
        kept = "".join(c for c in spec.replace("...", "") if c in have)
        head, _, tail = spec.partition("...")
        target = "".join(c for c in head if c in have) + ("..." if "..." in spec else "") + \
            "".join(c for c in tail if c in have)
        eq = ",".join([out, *others]) + "->" + target
        r = make("Einsum", [g[0], *[t for j, t in enumerate(op.inputs) if j != i]],
                 {"equation": eq})
        if len(kept) != len(spec.replace("...", "")):
            # subscripts summed away inside input i: put them back as size-1 dims, broadcast
            # (head positions from the front in order, tail ones from the back)
            pos = [j for j, c in enumerate(head + tail) if c not in have]
            for p in [q for q in pos if q < len(head)]:
                r = A.expand_dims(r, p)
            for p in reversed([q for q in pos if q >= len(head)]):
                r = A.expand_dims(r, p - len(head + tail))
            r = make("BroadcastLike", [r, x])
        grads.append(unbroadcast(r, x) if "..." in spec else r)
    return grads


row("Einsum", _einsum_infer, _einsum_build, _einsum_grad)


def einsum(equation: str, *inputs, **kwargs) -> Tensor:
    """Contraction over subscripts (TF1 ``tf.einsum``): ``einsum("ij,jk->ik", a, b)``.

    Args:
        equation: numpy/TF subscripts; ``->`` optional (implicit output: the letters
            that appear once, sorted); ``...`` for broadcast dimensions.
        *inputs: tensors of one dtype.
        **kwargs: ``name`` only.

    Returns:
        The contraction, shaped by the output subscripts.

    Raises:
        ValueError: malformed equation, wrong number of inputs, ranks or sizes that do
            not match the subscripts, a repeated subscript within one input.
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"einsum() got unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(equation, str):
        raise TypeError(f"`equation` must be a string. Received: {equation!r}")
    ts = [convert_to_tensor(x) for x in inputs]
    if not ts:
        raise ValueError("einsum needs at least one input tensor")
    _parse(equation, len(ts))
    return make("Einsum", ts, {"equation": equation.replace(" ", "")}, name=name or "einsum")


def tensordot(a, b, axes, name=None) -> Tensor:
    """Sum of products over ``axes`` (TF1 ``tf.tensordot``).

    Args:
        a, b: tensors of one dtype with known ranks.
        axes: an int ``n`` (the last ``n`` axes of ``a`` with the first ``n`` of ``b``),
            or a pair of axis lists ``[[a axes], [b axes]]`` (or a pair of ints).

    Returns:
        Tensor of shape ``a``'s free dims + ``b``'s free dims.
    """
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    ra, rb = a.shape.rank, b.shape.rank
    if ra is None or rb is None:
        raise ValueError("tensordot needs inputs of known rank. Received: shapes "
                         f"{a.shape} and {b.shape}")
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if not 0 <= n <= min(ra, rb):
            raise ValueError(f"`axes` must be in [0, {min(ra, rb)}] for inputs of rank {ra} "
                             f"and {rb}. Received: axes={n}")
        ax_a, ax_b = list(range(ra - n, ra)), list(range(n))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ValueError(f"`axes` must be an int or a pair of axis lists. Received: "
                             f"{axes!r}") from None
        ax_a = [int(ax_a)] if isinstance(ax_a, (int, np.integer)) else [int(x) for x in ax_a]
        ax_b = [int(ax_b)] if isinstance(ax_b, (int, np.integer)) else [int(x) for x in ax_b]
        if len(ax_a) != len(ax_b):
            raise ValueError(f"`axes` lists must have the same length. Received: {axes!r}")
        ax_a = [x % ra for x in ax_a]
        ax_b = [x % rb for x in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(ra)]
    sb = [next(letters) for _ in range(rb)]
    for i, j in zip(ax_a, ax_b, strict=True):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + \
        [c for j, c in enumerate(sb) if j not in ax_b]
    eq = f"{''.join(sa)},{''.join(sb)}->{''.join(out)}"
    return make("Einsum", [a, b], {"equation": eq}, name=name or "Tensordot")
