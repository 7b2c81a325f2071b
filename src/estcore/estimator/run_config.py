"""``RunConfig``: how an Estimator runs (TF1's ``tf.estimator.RunConfig``).

Every field, default, validation message and ``TF_CONFIG`` rule follows TF 2.15
(see the behaviour spec, sections 2.1-2.4). What is different here:

* ``session_config`` accepts ``None``, a dict of ``ConfigProto`` field names, a
  :class:`SessionConfig`, or any ``ConfigProto``-like object (something with
  ``intra_op_parallelism_threads`` and ``inter_op_parallelism_threads``
  attributes). Two fields have a meaning in estcore:
  ``intra_op_parallelism_threads`` becomes the kernel thread count during the
  Estimator's train / evaluate calls (restored afterwards) and
  ``inter_op_parallelism_threads`` is exposed as ``config.pipeline_threads`` for
  input_fns that take ``config`` (0 means "estcore's default"); see
  :func:`session_thread_counts`. Every other field
  (``allow_soft_placement``, ``device_filters``, ``graph_options``, ...) is
  accepted, kept and shown in logs, and has no effect.
* ``train_distribute`` takes an ``estcore.distribute.MPIStrategy``; under
  ``mpiexec -n W`` (W > 1) with no cluster in TF_CONFIG, the cluster is the
  launch's view (:func:`estcore.distribute.membership.mpi_cluster_view`: rank 0 is
  the chief). ``device_fn``, ``protocol``, ``eval_distribute``,
  ``experimental_distribute`` and ``session_creation_timeout_secs`` are
  validated as in TF and have no effect.

Owns the configuration values and TF_CONFIG parsing. Must not start anything
(no MPI, no threads, no files): the Estimator and ``estcore.distribute`` act on it.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import numbers
import os
from typing import Any

from estcore.distribute.membership import mpi_cluster_view
from estcore.estimator.cluster import ClusterSpec, TaskType
from estcore.estimator.session_config import (
    SessionConfig,
    _coerce_session_config,
    _distributed_session_config,
    session_thread_counts,
)

__all__ = [
    "RunConfig",
    "ClusterSpec",
    "SessionConfig",
    "TaskType",
    "session_thread_counts",
]

logger = logging.getLogger("estcore")

_USE_DEFAULT = object()  # sentinel for save_checkpoints_steps / _secs
_SAVE_CKPT_ERR = "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."
_LOCAL_MASTER = ""
_GRPC_SCHEME = "grpc://"

_DEFAULT_REPLACEABLE_LIST = [
    "model_dir",
    "tf_random_seed",
    "save_summary_steps",
    "save_checkpoints_steps",
    "save_checkpoints_secs",
    "session_config",
    "keep_checkpoint_max",
    "keep_checkpoint_every_n_hours",
    "log_step_count_steps",
    "train_distribute",
    "device_fn",
    "protocol",
    "eval_distribute",
    "experimental_distribute",
    "experimental_max_worker_delay_secs",
    "session_creation_timeout_secs",
    "checkpoint_save_graph_def",
    "checkpoint_format",
]


# --------------------------------------------------------------------------- validation


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fn_args(fn: Any) -> tuple[str, ...]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return ()
    return tuple(
        p.name for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _validate_properties(config: RunConfig) -> None:
    def check(name: str, cond, message: str, numeric: bool = True) -> None:
        value = getattr(config, "_" + name)
        if value is None:
            return
        if numeric and not _is_number(value):
            raise TypeError(f"{message}. Received: {name}={value!r} ({type(value).__name__})")
        if not cond(value):
            raise ValueError(message)

    check("model_dir", lambda d: bool(d), "model_dir should be non-empty", numeric=False)
    _check_model_dir_is_a_directory(config._model_dir)
    check("save_summary_steps", lambda s: s >= 0, "save_summary_steps should be >= 0")
    check("save_checkpoints_steps", lambda s: s >= 0, "save_checkpoints_steps should be >= 0")
    check("save_checkpoints_secs", lambda s: s >= 0, "save_checkpoints_secs should be >= 0")
    config._session_config = _coerce_session_config(config._session_config)
    check("keep_checkpoint_max", lambda k: k >= 0, "keep_checkpoint_max should be >= 0")
    check("keep_checkpoint_every_n_hours", lambda k: k > 0,
          "keep_checkpoint_every_n_hours should be > 0")
    check("log_step_count_steps", lambda k: k > 0, "log_step_count_steps should be > 0")
    check("tf_random_seed",
          lambda s: isinstance(s, numbers.Integral) and not isinstance(s, bool),
          "tf_random_seed must be integer.", numeric=False)
    check("experimental_max_worker_delay_secs",
          lambda s: isinstance(s, numbers.Integral) and not isinstance(s, bool),
          "experimental_max_worker_delay must be an integer if set.", numeric=False)
    check("session_creation_timeout_secs", lambda s: s > 0,
          "session_creation_timeout_secs should be > 0")
    check("device_fn", lambda f: callable(f) and set(_fn_args(f)) == {"op"},
          'device_fn must be callable with exactly one argument "op".', numeric=False)
    check("protocol", lambda p: p in ("grpc", "grpc+verbs"),
          "protocol should be grpc or grpc+verbs", numeric=False)
    check("checkpoint_save_graph_def", lambda b: isinstance(b, bool),
          "checkpoint_save_graph_def must be a bool.", numeric=False)
    check("checkpoint_format", lambda f: f in ("estcore", "tf"),
          f"checkpoint_format must be 'estcore' or 'tf'. Received: {config._checkpoint_format!r}",
          numeric=False)


def _check_model_dir_is_a_directory(model_dir: Any) -> None:
    """``model_dir`` (or the nearest part of it that exists) must be a directory: a file
    there once failed in ``os.makedirs`` at the first save, ten frames down."""
    if not isinstance(model_dir, (str, bytes)):
        return
    path = os.path.expanduser(os.fsdecode(model_dir))
    probe = path
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe.rstrip(os.sep))
        if parent == probe:
            return
        probe = parent
    if probe and not os.path.isdir(probe):
        what = "it is a file" if probe == path else f"{probe!r} in its path is a file"
        raise ValueError(f"model_dir must be a directory (checkpoints and summaries are "
                         f"written into it). Received: model_dir={model_dir!r}, and {what}")


# --------------------------------------------------------------------------- TF_CONFIG


def _load_tf_config() -> dict[str, Any]:
    text = os.environ.get("TF_CONFIG", "{}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        # still a JSONDecodeError (a ValueError), as TF's; this one names the variable
        raise json.JSONDecodeError(f"The TF_CONFIG environment variable is not valid JSON "
                                   f"({e.msg}; TF_CONFIG={text[:200]!r})", e.doc,
                                   e.pos) from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must hold a JSON object. Received: {text!r}")
    return config


def _validate_service(service: Any) -> Any:
    if service is not None and not isinstance(service, dict):
        raise TypeError(
            f'If "service" is set in TF_CONFIG, it must be a dict. Given {type(service)}')
    return service


def _validate_task_type_and_task_id(cluster_spec: ClusterSpec, task_env: dict,
                                    chief_task_type: str) -> tuple[str, int]:
    if chief_task_type not in cluster_spec.jobs:
        raise ValueError(
            f'If "cluster" is set in TF_CONFIG, it must have one "{chief_task_type}" node.')
    if len(cluster_spec.job_tasks(chief_task_type)) > 1:
        raise ValueError(
            f'The "cluster" in TF_CONFIG must have only one "{chief_task_type}" node.')
    task_type = task_env.get("type")
    task_id = task_env.get("index")
    if not task_type:
        raise ValueError('If "cluster" is set in TF_CONFIG, task type must be set.')
    if task_id is None:
        raise ValueError('If "cluster" is set in TF_CONFIG, task index must be set.')
    task_id = int(task_id)
    if task_id < 0:
        raise ValueError("Task index must be non-negative number.")
    if task_type == TaskType.EVALUATOR:
        return task_type, task_id
    if task_type not in cluster_spec.jobs:
        raise ValueError(
            f"{task_type} is not a valid task_type in the cluster_spec:\n{cluster_spec}\n\n"
            "Note that these values may be coming from the TF_CONFIG environment variable.")
    addresses = cluster_spec.job_tasks(task_type)
    if not 0 <= task_id < len(addresses):
        raise ValueError(
            f"{task_id} is not a valid task_id for task_type {task_type} in the "
            f"cluster_spec:\n{cluster_spec}\n\n"
            "Note that these values may be coming from the TF_CONFIG environment variable.")
    return task_type, task_id


def _get_session_master(cluster_spec: ClusterSpec, task_type: str, task_id: int,
                        tf_config: dict) -> str:
    if "session_master" in tf_config:
        return tf_config["session_master"]
    if not cluster_spec:
        return _LOCAL_MASTER
    jobs = cluster_spec.jobs
    if len(jobs) == 1 and len(cluster_spec.job_tasks(jobs[0])) == 1:
        return _LOCAL_MASTER
    return _GRPC_SCHEME + str(cluster_spec.job_tasks(task_type)[task_id])


def _get_eval_session_master(task_type: str, tf_config: dict) -> str:
    if task_type == TaskType.EVALUATOR:
        return tf_config.get("eval_session_master", _LOCAL_MASTER)
    return _LOCAL_MASTER


def _count_ps(cluster_spec: ClusterSpec) -> int:
    return len(cluster_spec.as_dict().get(TaskType.PS, []))


def _count_worker(cluster_spec: ClusterSpec, chief_task_type: str) -> int:
    d = cluster_spec.as_dict()
    return len(d.get(TaskType.WORKER, [])) + len(d.get(chief_task_type, []))


def _get_global_id_in_cluster(cluster_spec: ClusterSpec, task_type: str, task_id: int,
                              chief_task_type: str) -> int:
    if task_type == chief_task_type:
        return 0
    order = [chief_task_type]
    order += [t for t in sorted(cluster_spec.jobs) if t not in (chief_task_type, TaskType.PS)]
    order.append(TaskType.PS)
    next_id = 0
    for t in order:
        if t == task_type:
            return next_id + task_id
        if t in cluster_spec.jobs:
            next_id += len(cluster_spec.job_tasks(t))
    raise RuntimeError(
        f"Internal Error: `task_type` ({task_type}) is not in cluster_spec ({cluster_spec}).")


# --------------------------------------------------------------------------- RunConfig


class RunConfig:
    """Run configuration of an Estimator (TF's ``tf.estimator.RunConfig``).

    Args:
        model_dir: directory for checkpoints and event files (str or PathLike).
        tf_random_seed: graph-level seed: seeds initializers, dropout and input
            shuffling (int or None).
        save_summary_steps: write summaries every this many global steps (0 = never).
        save_checkpoints_steps: save a checkpoint every this many steps. Mutually
            exclusive with ``save_checkpoints_secs``; giving neither means every
            600 seconds; giving only one of them as None disables checkpoints.
        save_checkpoints_secs: save a checkpoint every this many seconds.
        session_config: None, a dict, a :class:`SessionConfig` or a ConfigProto-like
            object (see the module docstring for what has an effect).
        keep_checkpoint_max: most recent checkpoints kept (0 or None = keep all).
        keep_checkpoint_every_n_hours: additionally keep one checkpoint per this
            many hours of training (float hours).
        log_step_count_steps: log loss and global_step/sec every this many steps.
        train_distribute: None or an :class:`estcore.distribute.MPIStrategy`
            (synchronous data-parallel training). Under ``mpiexec -n W`` (W > 1),
            where TF_CONFIG has no cluster, the cluster view is derived from the MPI
            ranks (rank 0 = ``chief``, rank r = ``worker`` r - 1).
        eval_distribute, experimental_distribute, device_fn,
        protocol, session_creation_timeout_secs: validated as TF's; no effect.
        experimental_max_worker_delay_secs: int or None (no effect locally).
        checkpoint_save_graph_def: whether the graph is written next to checkpoints.
        checkpoint_format: the format checkpoints are written in: ``"estcore"``
            (default; one ``model.ckpt-N.data`` file) or ``"tf"`` (TF's tensor bundle,
            ``model.ckpt-N.index`` + ``.data-00000-of-00001``, which TF 1.x / 2.x
            read). Restores read either, whatever this says (docs/compat.md).
    """

    _checkpoint_format = "estcore"

    def __init__(self, model_dir: str | os.PathLike | None = None,
                 tf_random_seed: int | None = None, save_summary_steps: int | None = 100,
                 save_checkpoints_steps: Any = _USE_DEFAULT,
                 save_checkpoints_secs: Any = _USE_DEFAULT, session_config: Any = None,
                 keep_checkpoint_max: int | None = 5,
                 keep_checkpoint_every_n_hours: float | None = 10000,
                 log_step_count_steps: int | None = 100, train_distribute: Any = None,
                 device_fn: Any = None, protocol: str | None = None,
                 eval_distribute: Any = None, experimental_distribute: Any = None,
                 experimental_max_worker_delay_secs: int | None = None,
                 session_creation_timeout_secs: float = 7200,
                 checkpoint_save_graph_def: bool = True, checkpoint_format: str = "estcore"):
        if save_checkpoints_steps is _USE_DEFAULT and save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_steps = None
            save_checkpoints_secs = 600
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif save_checkpoints_steps is not None and save_checkpoints_secs is not None:
            raise ValueError(_SAVE_CKPT_ERR)

        tf_config = _load_tf_config()
        if tf_config:
            logger.info("TF_CONFIG environment variable: %s", tf_config)
        if not tf_config.get("cluster"):
            # Under `mpiexec -n W` (W > 1): the equivalent TF_CONFIG view, chief = rank 0.
            view = mpi_cluster_view()
            if view is not None:
                tf_config = {**tf_config, **view}
        if isinstance(model_dir, os.PathLike):
            model_dir = os.fspath(model_dir)
        model_dir = _get_model_dir(tf_config, model_dir)

        self._model_dir = model_dir
        self._tf_random_seed = tf_random_seed
        self._save_summary_steps = save_summary_steps
        self._save_checkpoints_steps = save_checkpoints_steps
        self._save_checkpoints_secs = save_checkpoints_secs
        self._session_config = session_config
        self._keep_checkpoint_max = keep_checkpoint_max
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._log_step_count_steps = log_step_count_steps
        self._train_distribute = train_distribute
        self._device_fn = device_fn
        self._protocol = protocol
        self._eval_distribute = eval_distribute
        self._experimental_distribute = experimental_distribute
        self._experimental_max_worker_delay_secs = experimental_max_worker_delay_secs
        self._session_creation_timeout_secs = session_creation_timeout_secs
        self._checkpoint_save_graph_def = checkpoint_save_graph_def
        if checkpoint_format != "estcore":  # (the default is the class attribute, so
            self._checkpoint_format = checkpoint_format  # vars() reads as TF's RunConfig)
        _validate_properties(self)

        self._init_distributed_setting_from_environment_var(tf_config)
        if self._session_config is None and self._cluster_spec:
            self._session_config = _distributed_session_config(self._task_type, self._task_id)

    # ------------------------------------------------------------------ TF_CONFIG

    def _init_distributed_setting_from_environment_var(self, tf_config: dict) -> None:
        self._service = _validate_service(tf_config.get("service"))
        self._cluster_spec = ClusterSpec(tf_config.get("cluster", {}))
        task_env = tf_config.get("task", {}) or {}
        if self._cluster_spec and TaskType.MASTER in self._cluster_spec.jobs:
            self._init_with_master(tf_config, task_env)
            return
        if self._cluster_spec:
            self._task_type, self._task_id = _validate_task_type_and_task_id(
                self._cluster_spec, task_env, TaskType.CHIEF)
            self._global_id_in_cluster: int | None
            if self._task_type != TaskType.EVALUATOR:
                self._master = _get_session_master(
                    self._cluster_spec, self._task_type, self._task_id, tf_config)
                self._evaluation_master = _get_eval_session_master(self._task_type, tf_config)
                self._num_ps_replicas = _count_ps(self._cluster_spec)
                self._num_worker_replicas = _count_worker(self._cluster_spec, TaskType.CHIEF)
                self._global_id_in_cluster = _get_global_id_in_cluster(
                    self._cluster_spec, self._task_type, self._task_id, TaskType.CHIEF)
            else:
                # The evaluator is not part of the training cluster.
                self._cluster_spec = ClusterSpec({})
                self._master = _LOCAL_MASTER
                self._evaluation_master = _get_eval_session_master(self._task_type, tf_config)
                self._num_ps_replicas = 0
                self._num_worker_replicas = 0
                self._global_id_in_cluster = None
            self._is_chief = self._task_type == TaskType.CHIEF
        else:
            self._task_type = task_env.get("type", TaskType.WORKER)
            self._task_id = int(task_env.get("index", 0))
            self._global_id_in_cluster = 0
            if self._task_type != TaskType.WORKER:
                raise ValueError('If "cluster" is not set in TF_CONFIG, task type must be WORKER.')
            if self._task_id != 0:
                raise ValueError('If "cluster" is not set in TF_CONFIG, task index must be 0.')
            self._master = tf_config.get("session_master", _LOCAL_MASTER)
            self._evaluation_master = tf_config.get("eval_session_master", _LOCAL_MASTER)
            self._is_chief = True
            self._num_ps_replicas = 0
            self._num_worker_replicas = 1

    def _init_with_master(self, tf_config: dict, task_env: dict) -> None:
        if TaskType.CHIEF in self._cluster_spec.jobs:
            raise ValueError("If `master` node exists in `cluster`, job `chief` is not supported.")
        self._task_type, self._task_id = _validate_task_type_and_task_id(
            self._cluster_spec, task_env, TaskType.MASTER)
        if self._task_type == TaskType.EVALUATOR:
            raise ValueError(
                "If `master` node exists in `cluster`, task_type `evaluator` is not supported.")
        self._global_id_in_cluster = _get_global_id_in_cluster(
            self._cluster_spec, self._task_type, self._task_id, TaskType.MASTER)
        self._master = _get_session_master(
            self._cluster_spec, self._task_type, self._task_id, tf_config)
        self._evaluation_master = _get_eval_session_master(self._task_type, tf_config)
        self._num_ps_replicas = _count_ps(self._cluster_spec)
        self._num_worker_replicas = _count_worker(self._cluster_spec, TaskType.MASTER)
        self._is_chief = self._task_type == TaskType.MASTER

    # ------------------------------------------------------------------ replace

    def replace(self, **kwargs: Any) -> RunConfig:
        """A copy with the given fields replaced, re-validated.

        Raises:
            ValueError: for a field that cannot be replaced, or both checkpoint
                frequencies set.
        """
        new = copy.deepcopy(self)
        for key, value in kwargs.items():
            if key not in _DEFAULT_REPLACEABLE_LIST:
                raise ValueError(
                    f"Replacing {key} is not supported. Allowed properties are "
                    f"{_DEFAULT_REPLACEABLE_LIST}.")
            if key == "model_dir" and isinstance(value, os.PathLike):
                value = os.fspath(value)
            setattr(new, "_" + key, value)
        steps_replaced = "save_checkpoints_steps" in kwargs
        secs_replaced = "save_checkpoints_secs" in kwargs
        if steps_replaced and secs_replaced:
            if new._save_checkpoints_steps is not None and new._save_checkpoints_secs is not None:
                raise ValueError(_SAVE_CKPT_ERR)
        elif secs_replaced and new._save_checkpoints_secs is not None:
            new._save_checkpoints_steps = None
        elif steps_replaced and new._save_checkpoints_steps is not None:
            new._save_checkpoints_secs = None
        _validate_properties(new)
        return new

    # ------------------------------------------------------------------ properties

    model_dir = property(lambda self: self._model_dir)
    tf_random_seed = property(lambda self: self._tf_random_seed)
    save_summary_steps = property(lambda self: self._save_summary_steps)
    save_checkpoints_steps = property(lambda self: self._save_checkpoints_steps)
    save_checkpoints_secs = property(lambda self: self._save_checkpoints_secs)
    session_config = property(lambda self: self._session_config)
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max)
    keep_checkpoint_every_n_hours = property(lambda self: self._keep_checkpoint_every_n_hours)
    log_step_count_steps = property(lambda self: self._log_step_count_steps)
    train_distribute = property(lambda self: self._train_distribute)
    eval_distribute = property(lambda self: self._eval_distribute)
    experimental_distribute = property(lambda self: self._experimental_distribute)
    device_fn = property(lambda self: self._device_fn)
    protocol = property(lambda self: self._protocol)
    experimental_max_worker_delay_secs = property(
        lambda self: self._experimental_max_worker_delay_secs)
    session_creation_timeout_secs = property(lambda self: self._session_creation_timeout_secs)
    checkpoint_save_graph_def = property(lambda self: self._checkpoint_save_graph_def)
    checkpoint_format = property(lambda self: self._checkpoint_format)
    service = property(lambda self: self._service)
    cluster_spec = property(lambda self: self._cluster_spec)
    task_type = property(lambda self: self._task_type)
    task_id = property(lambda self: self._task_id)
    global_id_in_cluster = property(lambda self: self._global_id_in_cluster)
    master = property(lambda self: self._master)
    evaluation_master = property(lambda self: self._evaluation_master)
    is_chief = property(lambda self: self._is_chief)
    num_ps_replicas = property(lambda self: self._num_ps_replicas)
    num_worker_replicas = property(lambda self: self._num_worker_replicas)

    @property
    def kernel_threads(self) -> int:
        """estcore kernel threads from ``session_config`` (0 = default)."""
        return session_thread_counts(self._session_config)[0]

    @property
    def pipeline_threads(self) -> int:
        """Input pipeline threads from ``session_config`` (0 = default)."""
        return session_thread_counts(self._session_config)[1]

    def __repr__(self) -> str:
        return f"RunConfig({vars(self)})"


def _get_model_dir(tf_config: dict, model_dir: str | None) -> str | None:
    in_tf_config = tf_config.get("model_dir")
    if in_tf_config is not None and not in_tf_config:
        raise ValueError("model_dir in TF_CONFIG should be non-empty.")
    if in_tf_config is not None:
        if model_dir and model_dir != in_tf_config:
            raise ValueError(
                "`model_dir` provided in RunConfig construct, if set, must have the same "
                f"value as the model_dir in TF_CONFIG. model_dir: {model_dir}\n"
                f"TF_CONFIG[\"model_dir\"]: {in_tf_config}.\n")
        logger.info("Using model_dir in TF_CONFIG: %s", in_tf_config)
        return in_tf_config
    return model_dir
