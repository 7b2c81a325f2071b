"""Time one session run kernel by kernel: :func:`trace_next_run` (ProfilerHook's engine).

``trace = trace_next_run(session)`` arms the session: its next run (``Session.run`` or a
``make_callable`` callable) executes its compiled plan with every step timed, and records one
:class:`KernelEvent` per kernel in ``trace.events``: a numpy kernel is timed around its
call; a C program is run with ``Program.profile()``, which times each of its instructions
inside C (one event per instruction, laid end to end from the program's start). Plans
compiled during that run are timed too. After the run, whether it succeeded or raised,
the session is exactly as before (nothing stays armed, no plan keeps a timed step).

A plan that is not a single list of steps (a plan split at data-dependent shapes) is
recorded as one event for the whole run.

Owns the arming and the timing. Must not: change what a run computes or its order (a timed
run executes the same steps on the same buffers); write files (the hook does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KernelEvent", "RunTrace", "trace_next_run", "disarm"]


@dataclass
class KernelEvent:
    """One timed kernel: ``name`` / ``op`` of its graph node (``"<run>"`` when unknown),
    ``inputs`` (tensor names), ``start_ns`` from the trace's start, ``dur_ns``,
    ``output_bytes`` (of the node's planned output buffers; 0 when unknown) and ``kind``
    (``"c"`` for a C program instruction, ``"numpy"``, or ``"plan"`` for a whole run)."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    start_ns: int
    dur_ns: int
    output_bytes: int
    kind: str


@dataclass
class RunTrace:
    """What :func:`trace_next_run` recorded: ``events`` in run order, ``planned_bytes``
    (the bytes of every planned buffer of the plans that ran: estcore allocates them when a
    plan is compiled, none during the run), ``done`` once the run finished, ``wall_ns`` its
    duration."""

    events: list[KernelEvent] = field(default_factory=list)
    planned_bytes: int = 0
    done: bool = False
    wall_ns: int = 0


def _node_event(node: Any, start: int, dur: int, kind: str, buffers: dict) -> KernelEvent:
    if node is None:
        return KernelEvent("<run>", "<run>", [], [], start, dur, 0, kind)
    outs = list(getattr(node, "outputs", ()) or ())
    nbytes = 0
    for t in outs:
        buf = buffers.get(id(t))
        nbytes += int(getattr(buf, "nbytes", 0) or 0)
    return KernelEvent(node.name, node.type, [t.name for t in getattr(node, "inputs", ())],
                       [t.name for t in outs], start, dur, nbytes, kind)


def _timed_step(step: Any, nodes: Any, trace: RunTrace, t0: int, buffers: dict):
    prog = getattr(step, "__self__", None)
    if prog is not None and hasattr(prog, "profile") and isinstance(nodes, list):
        def run_program() -> None:
            start = time.perf_counter_ns() - t0
            at = start
            for index, _name, ns in prog.profile():
                node = nodes[index] if 0 <= index < len(nodes) else None
                trace.events.append(_node_event(node, at, ns, "c", buffers))
                at += ns
        return run_program

    node = nodes if not isinstance(nodes, list) else None

    def run_numpy() -> None:
        start = time.perf_counter_ns()
        try:
            step()
        finally:
            end = time.perf_counter_ns()
            trace.events.append(_node_event(node, start - t0, end - start, "numpy", buffers))
    return run_numpy


def _planned_bytes(plan: Any) -> int:
    seen: set[int] = set()
    total = 0
    for buf in (getattr(plan, "buffers", None) or {}).values():
        base = buf.base if getattr(buf, "base", None) is not None else buf
        if id(base) not in seen and hasattr(base, "nbytes"):
            seen.add(id(base))
            total += int(base.nbytes)
    return total


class _Armed:
    """The one-shot instrumentation of a session (see :func:`trace_next_run`)."""

    def __init__(self, session: Any, trace: RunTrace):
        self.session = session
        self.trace = trace
        self.saved: list[tuple[Any, list, Any]] = []  # (plan, steps, program)
        self.t0 = 0

    def instrument(self, plan: Any) -> None:
        steps = getattr(plan, "steps", None)
        if not isinstance(steps, list) or any(p is plan for p, _, _ in self.saved):
            return
        self.saved.append((plan, steps, plan.program))
        buffers = getattr(plan, "buffers", None) or {}
        nodes = getattr(plan, "step_nodes", None) or [None] * len(steps)
        plan.steps = [_timed_step(s, n, self.trace, self.t0, buffers)
                      for s, n in zip(steps, nodes, strict=True)]
        plan.program = None  # the step by step path (feeds copied into the planned buffers)
        self.trace.planned_bytes += _planned_bytes(plan)

    def restore(self) -> None:
        for plan, steps, program in self.saved:
            plan.steps = steps
            plan.program = program
        self.saved.clear()
        for name in ("_execute", "_compile"):
            self.session.__dict__.pop(name, None)

    def execute(self, fam: Any, values: Any) -> list:
        session = self.session
        original_execute = type(session)._execute
        original_compile = type(session)._compile
        session.__dict__.pop("_execute", None)   # one shot: later runs are plain

        def compile_and_instrument(fam_: Any, skey: tuple) -> Any:
            plan = original_compile(session, fam_, skey)
            self.instrument(plan)
            return plan

        session.__dict__["_compile"] = compile_and_instrument
        self.t0 = time.perf_counter_ns()
        for plan in list(fam.plans.values()):   # this run's family (a callable's is not
            self.instrument(plan)                # in the session's table)
        try:
            return original_execute(session, fam, values)
        finally:
            end = time.perf_counter_ns()
            self.trace.wall_ns = end - self.t0
            if not self.trace.events:  # a plan without a step list: the run as one event
                self.trace.events.append(KernelEvent("<run>", "<run>", [], [], 0,
                                                     end - self.t0, 0, "plan"))
            self.trace.done = True
            self.restore()


def trace_next_run(session: Any) -> RunTrace:
    """Arm ``session`` so that its next run is timed kernel by kernel.

    Args:
        session: an :class:`estcore.Session`.

    Returns:
        The :class:`RunTrace` the next run fills (``done`` becomes True when it ends).

    Raises:
        TypeError: ``session`` is not an estcore Session.
    """
    if not hasattr(session, "_execute") or not hasattr(session, "_families"):
        raise TypeError(f"trace_next_run needs an estcore Session, got {type(session).__name__}")
    trace = RunTrace()
    armed = _Armed(session, trace)
    session.__dict__["_execute"] = armed.execute
    return trace


def disarm(session: Any) -> None:
    """Undo :func:`trace_next_run` when the armed run did not happen (nothing if it did)."""
    session.__dict__.pop("_execute", None)
