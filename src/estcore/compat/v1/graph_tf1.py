"""TF1 graph-building contexts and run options that have nothing to do in estcore, for
``estcore.compat.v1``: ``tf.device``, ``tf.colocate_with``, ``tf.init_scope``,
``tf.RunOptions``, ``tf.RunMetadata``.

estcore runs one graph on the CPU: device placement has no effect (``with
tf.device("/gpu:0"):`` builds the same graph), and ``Session.run`` accepts ``options`` /
``run_metadata`` without using them. ``init_scope`` does what matters of TF's: ops made in
it are outside every control-dependency context.

Must not: change how a graph runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from estcore.graph.ir import get_default_graph

__all__ = ["device", "colocate_with", "init_scope", "RunOptions", "RunMetadata"]


@contextlib.contextmanager
def device(device_name_or_function: Any) -> Iterator[None]:
    """Accepted for TF1 compatibility: estcore places every op on the CPU.

    Args:
        device_name_or_function: a device string (``"/cpu:0"``, ``"/gpu:0"``,
            ``"/job:worker/task:0"``), a function of an op, or None.
    """
    if not (device_name_or_function is None or isinstance(device_name_or_function, str)
            or callable(device_name_or_function)):
        raise TypeError(f"tf.device: expected a device string, a function or None. "
                        f"Received: {device_name_or_function!r}")
    yield


@contextlib.contextmanager
def colocate_with(op: Any, ignore_existing: bool = False) -> Iterator[None]:
    """Accepted for TF1 compatibility: one device, so nothing to colocate."""
    yield


@contextlib.contextmanager
def init_scope() -> Iterator[None]:
    """Ops made inside wait for no control dependency (TF's ``tf.init_scope`` in graph
    mode; estcore has no eager context to lift to)."""
    with get_default_graph().control_dependencies(None):
        yield


class RunOptions:
    """TF's ``RunOptions`` (a ``Session.run`` argument): accepted, no effect in estcore
    (profile with ``tf.train.ProfilerHook`` or estcore's profiler instead)."""

    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3

    def __init__(self, trace_level: int = 0, timeout_in_ms: int = 0,
                 inter_op_thread_pool: int = 0, output_partition_graphs: bool = False,
                 report_tensor_allocations_upon_oom: bool = False, **kwargs: Any):
        self.trace_level = trace_level
        self.timeout_in_ms = timeout_in_ms
        self.inter_op_thread_pool = inter_op_thread_pool
        self.output_partition_graphs = output_partition_graphs
        self.report_tensor_allocations_upon_oom = report_tensor_allocations_upon_oom
        for key, value in kwargs.items():
            setattr(self, key, value)


class RunMetadata:
    """TF's ``RunMetadata``: ``Session.run`` leaves it empty in estcore."""

    def __init__(self) -> None:
        self.step_stats = None
        self.cost_graph = None
        self.partition_graphs: list = []
        self.function_graphs: list = []
