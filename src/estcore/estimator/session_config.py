"""``SessionConfig``: a small stand-in for TF's ``ConfigProto`` (see RunConfig), and
``GPUOptions`` (TF's message, accepted for compatibility: estcore runs on the CPU, so none
of its fields has an effect).

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

__all__ = ["SessionConfig", "GPUOptions", "session_thread_counts", "default_session_config",
           "kernel_threads"]


# TF 1.15's GPUOptions fields, their defaults and Python types (as protobuf checks them).
_GPU_FIELDS: dict[str, tuple[Any, tuple[type, ...]]] = {
    "per_process_gpu_memory_fraction": (0.0, (int, float)),
    "allow_growth": (False, (bool,)),
    "allocator_type": ("", (str,)),
    "deferred_deletion_bytes": (0, (int,)),
    "visible_device_list": ("", (str,)),
    "polling_active_delay_usecs": (0, (int,)),
    "polling_inactive_delay_msecs": (0, (int,)),
    "force_gpu_compatible": (False, (bool,)),
    "experimental": (None, (object,)),
}


class GPUOptions:
    """TF's ``GPUOptions`` message (``tf.GPUOptions(allow_growth=True)``,
    ``config.gpu_options.per_process_gpu_memory_fraction = 0.4``): fields are type-checked
    and kept (they appear in the ``Using config`` log), and have no effect: estcore does
    not use a GPU.

    Raises:
        ValueError: an unknown field. TypeError: a value of the wrong type.
    """

    def __init__(self, **fields: Any):
        unknown = sorted(set(fields) - set(_GPU_FIELDS))
        if unknown:
            raise ValueError(f"Unknown GPUOptions field(s) {unknown}. Known fields: "
                             f"{sorted(_GPU_FIELDS)}.")
        for name, (default, _) in _GPU_FIELDS.items():
            object.__setattr__(self, name, default)
        for name, value in fields.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _GPU_FIELDS:
            raise AttributeError(f"GPUOptions has no field {name!r}. Known fields: "
                                 f"{sorted(_GPU_FIELDS)}.")
        kinds = _GPU_FIELDS[name][1]
        if value is not None and (not isinstance(value, kinds) or (
                bool not in kinds and isinstance(value, bool) and object not in kinds)):
            raise TypeError(f"GPUOptions.{name} must be {' or '.join(k.__name__ for k in kinds)}"
                            f". Received: {value!r} ({type(value).__name__})")
        object.__setattr__(self, name, value)

    def proto_fields(self) -> dict[str, Any]:
        """The fields that differ from their defaults (the message's text form)."""
        return {name: getattr(self, name) for name, (default, _) in _GPU_FIELDS.items()
                if getattr(self, name) != default}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GPUOptions):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None

    def __repr__(self) -> str:
        return "".join(line + "\n" for key, value in self.proto_fields().items()
                       for line in _proto_text(key, value, ""))


def _gpu_options(value: Any) -> Any:
    if value is None:
        return GPUOptions()
    if isinstance(value, dict):
        return GPUOptions(**value)
    return value


_SESSION_FIELDS: dict[str, Any] = {
    "intra_op_parallelism_threads": 0,
    "inter_op_parallelism_threads": 0,
    "allow_soft_placement": False,
    "log_device_placement": False,
    "device_filters": None,
    "device_count": None,
    "gpu_options": GPUOptions(),
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
    accepted and kept (they appear in the ``Using config`` log) but do nothing;
    ``gpu_options`` is a :class:`GPUOptions` (a dict of its fields is converted), so
    ``config.gpu_options.allow_growth = True`` works as in TF.
    """

    def __init__(self, **fields: Any):
        unknown = sorted(set(fields) - set(_SESSION_FIELDS))
        if unknown:
            raise ValueError(
                f"Unknown session_config field(s) {unknown}. Known fields: "
                f"{sorted(_SESSION_FIELDS)}.")
        for name, default in _SESSION_FIELDS.items():
            setattr(self, name, copy.deepcopy(fields.get(name, default)))
        self.gpu_options = _gpu_options(self.gpu_options)
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
    if isinstance(value, GPUOptions):
        value = value.proto_fields()
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
