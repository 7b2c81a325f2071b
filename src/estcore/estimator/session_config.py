"""``SessionConfig``: a small stand-in for TF's ``ConfigProto`` (see RunConfig).

Owns the session config fields, the thread counts read from them and
:func:`kernel_threads`, which applies the kernel thread count for the length of
one Estimator call. Must not hold anything else of the run configuration
(that is :mod:`estcore.estimator.run_config`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from estcore._lib import _kernels
from estcore._validation import check_non_negative_int
from estcore.estimator.cluster import TaskType

__all__ = ["SessionConfig", "session_thread_counts", "default_session_config",
           "kernel_threads"]


_SESSION_FIELDS: dict[str, Any] = {
    "intra_op_parallelism_threads": 0,
    "inter_op_parallelism_threads": 0,
    "allow_soft_placement": False,
    "log_device_placement": False,
    "device_filters": None,
    "device_count": None,
    "gpu_options": None,
    "graph_options": None,
    "operation_timeout_in_ms": 0,
    "use_per_session_threads": False,
    "isolate_session_state": False,
    "experimental": None,
}


class SessionConfig:
    """A small stand-in for TF's ``ConfigProto``.

    Only ``intra_op_parallelism_threads`` (estcore's kernel thread count) and
    ``inter_op_parallelism_threads`` (the input pipeline's thread count) have an
    effect; 0 means estcore's default. The other ``ConfigProto`` fields are
    accepted and kept (they appear in the ``Using config`` log) but do nothing.
    """

    def __init__(self, **fields: Any):
        unknown = sorted(set(fields) - set(_SESSION_FIELDS))
        if unknown:
            raise ValueError(
                f"Unknown session_config field(s) {unknown}. Known fields: "
                f"{sorted(_SESSION_FIELDS)}.")
        for name, default in _SESSION_FIELDS.items():
            setattr(self, name, copy.deepcopy(fields.get(name, default)))
        for name in ("intra_op_parallelism_threads", "inter_op_parallelism_threads"):
            setattr(self, name, check_non_negative_int(name, getattr(self, name)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionConfig):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None

    def __repr__(self) -> str:
        # Text format like a protobuf message: only fields that differ from default;
        # nested dicts print as sub-messages (as ConfigProto's graph_options does).
        lines: list[str] = []
        for name, default in _SESSION_FIELDS.items():
            value = getattr(self, name)
            if value != default:
                lines.extend(_proto_text(name, value, ""))
        return "".join(line + "\n" for line in lines)


def _proto_text(name: str, value: Any, indent: str) -> list[str]:
    if isinstance(value, dict):
        out = [f"{indent}{name} {{"]
        for key, sub in value.items():
            out.extend(_proto_text(key, sub, indent + "  "))
        return out + [f"{indent}}}"]
    if isinstance(value, bool):
        return [f"{indent}{name}: {'true' if value else 'false'}"]
    if isinstance(value, (list, tuple)):
        return [line for v in value for line in _proto_text(name, v, indent)]
    if isinstance(value, str) and not value.isupper():
        return [f'{indent}{name}: "{value}"']
    return [f"{indent}{name}: {value}"]  # numbers and enum names (e.g. ONE)


def _coerce_session_config(value: Any) -> Any:
    if value is None or isinstance(value, SessionConfig):
        return value
    if isinstance(value, dict):
        return SessionConfig(**value)
    if hasattr(value, "intra_op_parallelism_threads") and hasattr(
            value, "inter_op_parallelism_threads"):
        return value  # a real ConfigProto or any look-alike
    raise ValueError("session_config must be instance of ConfigProto")


def session_thread_counts(session_config: Any) -> tuple[int, int]:
    """``(kernel_threads, pipeline_threads)`` from a session config; 0 = default.

    Args:
        session_config: None, a dict, a SessionConfig or a ConfigProto-like object.
    """
    if session_config is None:
        return 0, 0
    if isinstance(session_config, dict):
        session_config = SessionConfig(**session_config)
    intra = int(getattr(session_config, "intra_op_parallelism_threads", 0) or 0)
    inter = int(getattr(session_config, "inter_op_parallelism_threads", 0) or 0)
    return max(intra, 0), max(inter, 0)


def default_session_config() -> SessionConfig:
    """What the Estimator uses when the user gave no session_config (as TF's)."""
    return SessionConfig(allow_soft_placement=True,
                         graph_options={"rewrite_options": {"meta_optimizer_iterations": "ONE"}})


@contextlib.contextmanager
def kernel_threads(n: int) -> Iterator[None]:
    """Use ``n`` kernel threads (``intra_op_parallelism_threads``) inside the block;
    0 keeps the current count. The previous count is restored afterwards."""
    if n <= 0:
        yield
        return
    old = _kernels.get_num_threads()
    _kernels.set_num_threads(int(n))
    try:
        yield
    finally:
        _kernels.set_num_threads(old)


def _distributed_session_config(task_type: str | None, task_id: int | None) -> Any:
    filters = {
        TaskType.MASTER: ["/job:ps", "/job:master"],
        TaskType.CHIEF: ["/job:ps", "/job:chief"],
        TaskType.WORKER: ["/job:ps", f"/job:worker/task:{task_id}"],
        TaskType.PS: ["/job:ps", "/job:worker", "/job:chief", "/job:master"],
    }.get(task_type or "")
    if filters is None:
        return None
    return SessionConfig(allow_soft_placement=True, device_filters=filters)
