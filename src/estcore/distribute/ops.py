"""The gradient allreduce as a graph op (``MPIAllReduceMean``).

One node per gradient dtype takes every gradient of that dtype and outputs
their cross-process averages (same shapes). Its kernel, planned once per input
signature, owns one fused flat buffer: each step it copies the local gradients
in scaled by this process's example count ``w`` (the last element holds ``w``),
runs ONE in-place ``MPI_Iallreduce`` (SUM) on it, then writes
``sum_r(w_r * g_r) / sum_r(w_r)`` to the outputs. With equal shards that is the
plain mean; with the short last batch of a finite input it is exactly the
gradient of the mean loss over the whole global batch.

The op is stateful (never folded or deduplicated) and has no gradient. Without
a C emitter it runs as a numpy closure between the C programs of the plan.

Must not: import the estimator or the optimizers (``Optimizer.apply_gradients`` builds
this op through the active strategy); call MPI other than through the strategy's bounded
``allreduce_sum_``.
"""

from __future__ import annotations

import itertools
import time
import weakref
from typing import Any

import numpy as np

from estcore.graph.ops.core import make_op, row

__all__ = ["allreduce_mean"]

_STRATEGIES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_IDS = itertools.count(1)


def _infer(ctx) -> list:
    for i, s in enumerate(ctx.shapes):
        if not s.is_fully_defined():
            raise ctx.fail(f"gradient {i} has shape {ctx.fmt(i)}; the allreduce needs fully "
                           "defined shapes (gradients of variables)")
    return list(zip(ctx.dtypes, ctx.shapes, strict=True))


def _build(k) -> Any:
    strategy = _STRATEGIES[k.attrs["strategy"]]
    ins, outs = list(k.ins), list(k.outs)
    dtype = ins[0].dtype
    sizes = [a.size for a in ins]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    fused = np.zeros(int(offsets[-1]) + 1, dtype)
    slots = [fused[int(o):int(o) + n].reshape(a.shape)
             for o, n, a in zip(offsets[:-1], sizes, ins, strict=True)]

    def run() -> None:
        w = dtype.type(strategy.local_weight)
        for a, s in zip(ins, slots, strict=True):
            np.multiply(a, w, out=s)
        fused[-1] = w
        t0 = time.perf_counter()
        strategy.allreduce_sum_(fused)
        strategy.allreduce_seconds += time.perf_counter() - t0
        strategy.allreduce_calls += 1
        inv = dtype.type(1) / fused[-1]
        for s, o in zip(slots, outs, strict=True):
            np.multiply(s, inv, out=o)

    return run


row("MPIAllReduceMean", _infer, _build, None, stateful=True,
    doc="Cross-process weighted mean of gradients through one fused MPI allreduce.")


def _key(strategy: Any) -> int:
    key = getattr(strategy, "_graph_key", None)
    if key is None:
        key = next(_IDS)
        strategy._graph_key = key
        _STRATEGIES[key] = strategy
    return key


def allreduce_mean(strategy: Any, grads_and_vars: list) -> list:
    """``grads_and_vars`` with every non-None gradient averaged across processes.

    Args:
        strategy: an :class:`~estcore.distribute.MPIStrategy`.
        grads_and_vars: list of ``(gradient tensor or None, variable)``.

    Returns:
        The same list with the gradients replaced by ``MPIAllReduceMean`` outputs.
    """
    groups: dict[Any, list[int]] = {}
    for i, (g, _) in enumerate(grads_and_vars):
        if g is not None:
            groups.setdefault(g.dtype, []).append(i)
    out = list(grads_and_vars)
    key = _key(strategy)
    for dtype, idx in groups.items():
        op = make_op("MPIAllReduceMean", [grads_and_vars[i][0] for i in idx],
                     {"strategy": key}, name=f"allreduce_{dtype.name}")
        for j, i in enumerate(idx):
            out[i] = (op.outputs[j], grads_and_vars[i][1])
    return out
