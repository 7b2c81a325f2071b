"""``ProfilerHook`` (TF1 ``tf.train.ProfilerHook``): Chrome-trace timelines of training steps.

Every ``save_steps`` steps (or ``save_secs`` seconds) the hook has the session time its next
run kernel by kernel (:func:`estcore.graph.profiling.trace_next_run`) and writes
``<output_dir>/timeline-<global step>.json`` in the Chrome trace format (open it in
``chrome://tracing`` or https://ui.perfetto.dev). What the file holds:

* one complete event (``"ph": "X"``) per kernel the step's compiled plan ran, in run order:
  a C-program instruction (timed inside C by ``Program.profile()``) or a numpy kernel
  (timed around its call). ``name`` is the op type, ``args`` hold the graph node's
  ``name``, ``op``, its inputs (``input0``, ...), ``kernel`` (``"c"`` / ``"numpy"``) and
  ``output_bytes``; times are microseconds from the start of the run. A fused kernel
  (matmul + bias + activation, one update per variable) is one event named after the node
  the plan kept. The run's feed copy and fetch copies are outside the events.
* ``show_dataflow``: a flow arrow (``"ph": "s"`` / ``"f"``) from the kernel that produced
  each input tensor to the kernel that read it, as TF's timeline draws them.
* ``show_memory``: a counter (``"ph": "C"``) ``Planned buffers`` with the bytes of every
  buffer of the plan (estcore allocates them when the plan is compiled, none during a run;
  TF's allocator timeline has no equivalent).

The timed step computes exactly what an untimed one does. TF's hook also adds the run
metadata to the summary file (TensorBoard's "compute time" graph overlay); estcore has no
step stats in that form, so it writes only the timeline.

Must not: change the step's results; keep the session armed after the step.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from estcore.graph import profiling
from estcore.hooks.basic_hooks import require_global_step
from estcore.hooks.schedule import SecondOrStepTimer
from estcore.hooks.session_run_hook import SessionRunArgs, SessionRunHook

__all__ = ["ProfilerHook", "chrome_trace"]

_log = logging.getLogger("estcore")


def chrome_trace(trace: profiling.RunTrace, show_dataflow: bool = True,
                 show_memory: bool = False) -> dict:
    """The Chrome trace (a JSON-able dict) of a :class:`~estcore.graph.profiling.RunTrace`."""
    pid, tid = 0, 0
    events: list[dict] = [
        {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": "/cpu:0 Compute"}},
        {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
         "args": {"name": "estcore plan"}},
    ]
    producer: dict[str, int] = {}
    flows: list[dict] = []
    for i, e in enumerate(trace.events):
        ts = e.start_ns / 1000.0
        args: dict[str, Any] = {"name": e.name, "op": e.op, "kernel": e.kind,
                                "output_bytes": e.output_bytes}
        for j, name in enumerate(e.inputs):
            args[f"input{j}"] = name
        events.append({"name": e.op, "cat": "Op", "ph": "X", "pid": pid, "tid": tid,
                       "ts": ts, "dur": e.dur_ns / 1000.0, "args": args})
        if show_dataflow:
            for name in e.inputs:
                src = producer.get(name)
                if src is None:
                    continue
                flow_id = len(flows) // 2
                start = trace.events[src].start_ns / 1000.0
                flows.append({"name": name, "cat": "DataFlow", "ph": "s", "id": flow_id,
                              "pid": pid, "tid": tid, "ts": start})
                flows.append({"name": name, "cat": "DataFlow", "ph": "f", "bp": "e",
                              "id": flow_id, "pid": pid, "tid": tid, "ts": ts})
        for name in e.outputs:
            producer[name] = i
    events.extend(flows)
    if show_memory:
        events.append({"name": "Planned buffers", "ph": "C", "pid": pid, "ts": 0,
                       "args": {"bytes": trace.planned_bytes}})
    return {"traceEvents": events}


class ProfilerHook(SessionRunHook):
    """Writes Chrome-trace timelines of a step every N steps or seconds (TF1's
    ``tf.train.ProfilerHook``; see the module docstring for the file's contents).

    As TF's: the first step is never traced (it primes the timer); a traced step's file is
    ``timeline-<global step after the step>.json``.

    Args:
        save_steps: trace every this many steps (exactly one of ``save_steps``, ``save_secs``).
        save_secs: trace every this many seconds.
        output_dir: the directory of the timeline files (created when needed).
        show_dataflow: draw producer -> consumer arrows between kernels.
        show_memory: add the plan's buffer bytes as a counter.

    Raises:
        ValueError: neither or both of ``save_steps`` and ``save_secs``.
        RuntimeError (at ``begin``): the graph has no global step.
    """

    def __init__(self, save_steps: int | None = None, save_secs: float | None = None,
                 output_dir: str = "", show_dataflow: bool = True, show_memory: bool = False):
        self._output_file = os.path.join(os.fspath(output_dir), "timeline-{}.json")
        self._show_dataflow = bool(show_dataflow)
        self._show_memory = bool(show_memory)
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._next_step: int | None = None
        self._global_step_tensor: Any = None
        self._trace: profiling.RunTrace | None = None
        self._session: Any = None

    def begin(self) -> None:
        self._next_step = None
        self._global_step_tensor = require_global_step("ProfilerHook")

    def before_run(self, run_context: Any) -> SessionRunArgs:
        request = (self._next_step is not None
                   and self._timer.should_trigger_for_step(self._next_step))
        self._disarm()
        if request:
            self._session = run_context.session
            self._trace = profiling.trace_next_run(self._session)
        return SessionRunArgs({"global_step": self._global_step_tensor})

    def after_run(self, run_context: Any, run_values: Any) -> None:
        stale_global_step = int(run_values.results["global_step"])
        if self._next_step is None:
            self._timer.update_last_triggered_step(stale_global_step)
        global_step = stale_global_step + 1
        trace, self._trace = self._trace, None
        if trace is not None:
            self._disarm()
            global_step = int(run_context.session.run(self._global_step_tensor))
            self._timer.update_last_triggered_step(global_step)
            if trace.done:
                self._save(global_step, self._output_file.format(global_step), trace)
        self._next_step = global_step + 1

    def end(self, session: Any) -> None:
        self._disarm()

    def _disarm(self) -> None:
        if self._session is not None:
            profiling.disarm(self._session)
            self._session = None

    def _save(self, step: int, path: str, trace: profiling.RunTrace) -> None:
        _log.info("Saving timeline for %d into '%s'.", step, path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        data = chrome_trace(trace, self._show_dataflow, self._show_memory)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
