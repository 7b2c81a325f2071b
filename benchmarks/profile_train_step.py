"""Where the time of one MLP train step goes: per-instruction profile (a script).

Builds the step of ``bench_train_step.py`` (784-256-256-10, batch 128, Adam, float32,
``Session.run``), takes the C ``Program`` its plan compiled, and times every
instruction with ``Program.profile()``; the 8-GEMM-only Program of the benchmark is
profiled interleaved with it, round by round, so both see the same machine load.
Prints per-instruction medians (us), the per-layer comparison against the bare GEMMs
and the step/GEMM ratio of the summed medians.

Run: ``python benchmarks/profile_train_step.py [threads] [rounds]``. Under pytest
(``pytest benchmarks/profile_train_step.py``) two short rounds run, so the script
cannot rot.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_train_step import EstcoreStep, GemmProgram, _batch, _init_params  # noqa: E402
from estcore._lib import _kernels  # noqa: E402

GEMM_NAMES = ("h1 = x @ W1", "h2 = h1 @ W2", "z = h2 @ W3", "dW3 = h2^T d3", "d2 = d3 @ W3^T",
              "dW2 = h1^T d2", "d1 = d2 @ W2^T", "dW1 = x^T d1")


def step_program(step: EstcoreStep) -> _kernels.Program:
    """The single C Program the session compiled for the train step, with the batch in
    its feed buffers (the session itself reads feeds in place, ``Program.run_with``)."""
    batch = _batch()
    step(*batch)
    def ops(plan):
        return [op for s in plan.steps for op in getattr(getattr(s, "__self__", None), "ops", ())]

    plans = [p for fam in step.sess._families.values() for p in fam.plans.values()
             if p.n_runs > 0 and any(op.startswith("dense_backward") for op in ops(p))]
    progs = [s.__self__ for p in plans for s in p.steps
             if isinstance(getattr(s, "__self__", None), _kernels.Program)]
    if len(plans) != 1 or len(progs) != 1:
        raise RuntimeError(f"expected one Program in one train-step plan, found {len(progs)}")
    for buf, value in zip(plans[0].feed_bufs, batch, strict=True):
        np.copyto(buf, value)
    return progs[0]


def main(threads: int | None = None, rounds: int = 300) -> None:
    if threads:
        _kernels.set_num_threads(threads)
    params = _init_params()
    x, y = _batch()
    step = EstcoreStep(params)
    prog = step_program(step)
    gemm = GemmProgram(params)
    gemm.x[...] = x
    for _ in range(10):
        step(x, y)
        gemm.program.run()
    names = prog.ops
    a = np.empty((rounds, len(prog)))
    b = np.empty((rounds, len(gemm.program)))
    for r in range(rounds):
        a[r] = [ns for _, _, ns in prog.profile()]
        b[r] = [ns for _, _, ns in gemm.program.profile()]
    a /= 1e3
    b /= 1e3
    ma, mb = np.median(a, axis=0), np.median(b, axis=0)
    total_a, total_b = np.median(a.sum(axis=1)), np.median(b.sum(axis=1))
    print(f"threads {_kernels.get_num_threads()}, {rounds} interleaved rounds, medians in us")
    print("train-step Program:")
    for i, (n, t) in enumerate(zip(names, ma, strict=True)):
        print(f"  {i:3d} {n:22s} {t:9.1f}  {100 * t / total_a:5.1f}%")
    print(f"      {'total':22s} {total_a:9.1f}")
    print("GEMM-only Program:")
    for n, t in zip(GEMM_NAMES, mb, strict=True):
        print(f"      {n:22s} {t:9.1f}")
    print(f"      {'total':22s} {total_b:9.1f}")
    fwd = [i for i, n in enumerate(names) if n == "dense_forward"]
    bwd = [i for i, n in enumerate(names) if n.startswith("dense_backward")]
    if len(fwd) == 3 and len(bwd) == 3:
        last = "backward 1" + (" + Adam W1" if "+" in names[bwd[2]] else "")
        pairs = [("forward 1", ma[fwd[0]], mb[0]), ("forward 2", ma[fwd[1]], mb[1]),
                 ("forward 3", ma[fwd[2]], mb[2]), ("backward 3", ma[bwd[0]], mb[3] + mb[4]),
                 ("backward 2", ma[bwd[1]], mb[5] + mb[6]), (last, ma[bwd[2]], mb[7])]
        print("fused layer vs its GEMMs:")
        for n, t, g in pairs:
            print(f"      {n:22s} {t:9.1f} {g:9.1f}  {t / g:5.2f}x")
    other = total_a - sum(ma[i] for i in fwd + bwd)
    print(f"non-dense instructions: {other:.1f} us ({100 * other / total_a:.1f}%)")
    print(f"step Program / GEMM-only Program = {total_a / total_b:.3f}")


def test_profile_train_step_runs(capsys):
    """Two rounds on one thread (the script must not rot: it reads the plan's steps)."""
    main(1, 2)
    out = capsys.readouterr().out
    assert "fused layer vs its GEMMs:" in out
    assert "step Program / GEMM-only Program = " in out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None,
         int(sys.argv[2]) if len(sys.argv) > 2 else 300)
