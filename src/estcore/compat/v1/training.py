"""Thin adapters for ``tf.train``'s session-side names, with TF 1.15's signatures.

estcore keeps checkpoints and the hooked-session loop in its own packages with estcore's
signatures (``checkpoint.saver.Saver.save(values, path)``, ``MonitoredSession(create_session,
hooks)``); TF1 programs call ``saver.save(sess, path)`` and
``tf.train.MonitoredTrainingSession(checkpoint_dir=..., hooks=...)``. This module maps
those calls onto estcore's pieces: :class:`Saver`, :class:`ChiefSessionCreator`,
:class:`MonitoredSession`, :func:`MonitoredTrainingSession`,
:class:`SingularMonitoredSession`, :func:`global_step`, :class:`GlobalStepWaiterHook`,
:func:`init_from_checkpoint`, :func:`assert_global_step`.

Must not: re-implement the loop, the checkpoint format or any hook (it composes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from estcore.checkpoint.format import read_checkpoint
from estcore.checkpoint.saver import Saver as _CheckpointSaver
from estcore.checkpoint.state import checkpoint_exists as _checkpoint_exists
from estcore.checkpoint.state import latest_checkpoint, resolve_checkpoint_path
from estcore.errors import NotFoundError
from estcore.estimator.model_fn import Scaffold
from estcore.estimator.monitored_session import MonitoredSession as _LoopSession
from estcore.graph.global_step import get_global_step
from estcore.graph.ir import get_default_graph
from estcore.graph.session import Session
from estcore.graph.tensor import Tensor
from estcore.graph.variables import Variable, global_variables, local_variables
from estcore.hooks.basic_hooks import StepCounterHook
from estcore.hooks.checkpoint_hooks import CheckpointSaverHook, SummarySaverHook
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["Saver", "ChiefSessionCreator", "MonitoredSession", "MonitoredTrainingSession",
           "SingularMonitoredSession", "global_step", "GlobalStepWaiterHook",
           "init_from_checkpoint", "checkpoint_exists", "assert_global_step", "USE_DEFAULT"]

USE_DEFAULT = object()   # TF1's sentinel in MonitoredTrainingSession's defaults


def _var_name(v: Any) -> str:
    name = v.op.name if hasattr(v, "op") else str(v.name)
    return name[:-2] if name.endswith(":0") else name


def _variables(var_list: Any) -> list:
    if var_list is None:
        return list(global_variables())
    if isinstance(var_list, Mapping):
        return list(var_list.values())
    return list(var_list)


def _checkpoint_names(var_list: Any) -> dict[str, Any]:
    """checkpoint name -> variable (a dict var_list renames, as TF1)."""
    if isinstance(var_list, Mapping):
        return dict(var_list)
    return {_var_name(v): v for v in _variables(var_list)}


class Saver(_CheckpointSaver):
    """TF1's ``tf.train.Saver``: ``save(sess, save_path, global_step)``, ``restore(sess,
    save_path)``, on estcore's checkpoint format and rotation.

    Args:
        var_list: variables to save (default: every global variable), or a dict
            ``checkpoint name -> variable``.
        max_to_keep / keep_checkpoint_every_n_hours: rotation, as TF1.
        The other TF1 arguments are accepted and have no effect (one file format).
    """

    def __init__(self, var_list: Any = None, reshape: bool = False, sharded: bool = False,
                 max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                 name: str | None = None, restore_sequentially: bool = False,
                 saver_def: Any = None, builder: Any = None, defer_build: bool = False,
                 allow_empty: bool = False, write_version: int = 2,
                 pad_step_number: bool = False, save_relative_paths: bool = False,
                 filename: str | None = None):
        super().__init__(max_to_keep=max_to_keep,
                         keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours)
        self._var_list = var_list

    def save(self, sess: Any, save_path: str, global_step: Any = None,  # type: ignore[override]
             latest_filename: str | None = None, meta_graph_suffix: str = "meta",
             write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False,
             meta: Mapping[str, Any] | None = None) -> str:
        """Save the variables' values in ``sess``; returns the checkpoint prefix.

        ``sess`` may also be a mapping ``name -> array`` (what estcore's hooks pass).
        """
        if global_step is not None and not isinstance(global_step, (int, np.integer)):
            global_step = int(sess.run(global_step))
        if isinstance(sess, Mapping):
            values = dict(sess)
        else:
            names = _checkpoint_names(self._var_list)
            current = sess.get_variable_values([v for v in names.values()])
            values = {ckpt: current[_var_name(v)] for ckpt, v in names.items()}
        return super().save(values, save_path, global_step=global_step, meta=meta)

    def restore_names(self) -> dict[str, Any] | None:
        """``checkpoint name -> variable`` of ``var_list`` (None: every global variable):
        what the Estimator restores through a ``Scaffold(saver=...)``, as TF1."""
        return None if self._var_list is None else _checkpoint_names(self._var_list)

    def restore(self, sess: Any, save_path: str) -> None:  # type: ignore[override]
        """Assign every variable of ``var_list`` from the checkpoint ``save_path``."""
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        values, _ = read_checkpoint(save_path)
        names = _checkpoint_names(self._var_list)
        missing_keys = sorted(k for k in names if k not in values)
        if missing_keys:
            raise NotFoundError(f"Key {missing_keys[0]} not found in checkpoint {save_path}")
        sess.set_variable_values({_var_name(v): values[k] for k, v in names.items()})


class ChiefSessionCreator:
    """Creates a session that restores the latest checkpoint or initialises the
    variables (TF1's ``tf.train.ChiefSessionCreator``).

    Args:
        scaffold: its ``init_op`` / ``init_feed_dict`` / ``init_fn`` / ``saver`` are used.
        master: accepted for TF1 compatibility (one process).
        config: passed to the Session.
        checkpoint_dir: restore its latest checkpoint when there is one.
        checkpoint_filename_with_path: a checkpoint prefix to restore (wins).
    """

    def __init__(self, scaffold: Scaffold | None = None, master: str = "",
                 config: Any = None, checkpoint_dir: str | None = None,
                 checkpoint_filename_with_path: str | None = None):
        self._scaffold = scaffold or Scaffold()
        self._config = config
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_path = checkpoint_filename_with_path

    def create_session(self) -> Session:
        graph = get_default_graph()
        sc = self._scaffold
        sess = Session(graph=graph, config=self._config)
        path = self._checkpoint_path
        if path is None and self._checkpoint_dir:
            path = latest_checkpoint(self._checkpoint_dir)
        with graph.as_default():
            if path:
                saver = sc.saver if isinstance(sc.saver, Saver) else Saver()
                saver.restore(sess, path)
            else:
                init = sc.init_op if sc.init_op is not None else \
                    [v.initializer for v in global_variables()]
                if init:
                    sess.run(init, feed_dict=sc.init_feed_dict)
                if sc.init_fn is not None:
                    sc.init_fn(sc, sess)
            local = sc.local_init_op if sc.local_init_op is not None else \
                [v.initializer for v in local_variables()]
            if local:
                sess.run(local, feed_dict=sc.local_init_feed_dict)
        return sess


class MonitoredSession(_LoopSession):
    """TF1's ``tf.train.MonitoredSession(session_creator, hooks)`` on estcore's hooked
    session loop: hooks' ``begin``, the graph finalized, the session created, hooks around
    every ``run``; ``OutOfRangeError`` in the ``with`` block ends it normally."""

    def __init__(self, session_creator: Any = None, hooks: Sequence[SessionRunHook] | None = None,
                 stop_grace_period_secs: float = 120):
        creator = session_creator or ChiefSessionCreator()
        graph = get_default_graph()
        self.graph = graph
        self._graph_was_finalized = graph.finalized
        try:
            super().__init__(creator.create_session, list(hooks or ()),
                             after_begin=graph.finalize)
        except BaseException:
            self._unfinalize()
            raise

    def close(self, exception: BaseException | None = None) -> None:
        """As estcore's loop session; then, as TF's, the graph is no longer finalized
        unless it was before this session (a program may build more ops after it)."""
        try:
            super().close(exception)
        finally:
            self._unfinalize()

    def _unfinalize(self) -> None:
        if not self._graph_was_finalized:
            self.graph._unsafe_unfinalize()

    def _tf_sess(self) -> Any:
        return self.raw_session


class SingularMonitoredSession(MonitoredSession):
    """TF1's ``tf.train.SingularMonitoredSession``: a chief session, ``raw_session()``."""

    def __init__(self, hooks: Sequence[SessionRunHook] | None = None,
                 scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: str | None = None, stop_grace_period_secs: float = 120,
                 checkpoint_filename_with_path: str | None = None):
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config,
                                      checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)
        self._raw_session_object = super().raw_session

    def raw_session(self) -> Any:  # type: ignore[override]
        return self._raw_session_object


def _pick(steps: Any, secs: Any, default_steps: Any, default_secs: Any) -> tuple[Any, Any]:
    if steps is USE_DEFAULT and secs is USE_DEFAULT:
        return default_steps, default_secs
    return (None if steps is USE_DEFAULT else steps), (None if secs is USE_DEFAULT else secs)


def MonitoredTrainingSession(  # noqa: N802 - TF1 name
        master: str = "", is_chief: bool = True, checkpoint_dir: str | None = None,
        scaffold: Scaffold | None = None, hooks: Sequence[SessionRunHook] | None = None,
        chief_only_hooks: Sequence[SessionRunHook] | None = None,
        save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
        save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
        stop_grace_period_secs: float = 120, log_step_count_steps: int = 100,
        max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
        summary_dir: str | None = None) -> MonitoredSession:
    """TF1's ``tf.train.MonitoredTrainingSession``: a MonitoredSession that restores from or
    initialises ``checkpoint_dir`` and adds the step counter, summary and checkpoint hooks.

    Defaults as TF 1.15: summaries every 100 steps, checkpoints every 600 seconds (when
    neither of a pair is given); ``global_step/sec`` logged every 100 steps.
    """
    sum_steps, sum_secs = _pick(save_summaries_steps, save_summaries_secs, 100, None)
    ckpt_steps, ckpt_secs = _pick(save_checkpoint_steps, save_checkpoint_secs, None, 600)
    scaffold = scaffold or Scaffold()
    creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config,
                                  checkpoint_dir=checkpoint_dir)
    all_hooks: list[SessionRunHook] = []
    if is_chief:
        all_hooks.extend(chief_only_hooks or ())
    all_hooks.extend(hooks or ())
    if is_chief:
        out = summary_dir or checkpoint_dir
        if out:
            if log_step_count_steps and log_step_count_steps > 0:
                all_hooks.append(StepCounterHook(every_n_steps=log_step_count_steps,
                                                 output_dir=out))
            if (sum_steps and sum_steps > 0) or (sum_secs and sum_secs > 0):
                all_hooks.append(SummarySaverHook(save_steps=sum_steps or None,
                                                  save_secs=sum_secs or None,
                                                  output_dir=out, scaffold=scaffold))
        if checkpoint_dir and ((ckpt_secs and ckpt_secs > 0) or (ckpt_steps and ckpt_steps > 0)):
            all_hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=ckpt_secs or None,
                                                 save_steps=ckpt_steps or None,
                                                 scaffold=scaffold))
    return MonitoredSession(creator, all_hooks, stop_grace_period_secs)


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether a checkpoint with this prefix exists (TF1's parameter name)."""
    return _checkpoint_exists(checkpoint_prefix)


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The value of ``global_step_tensor`` in ``sess``, as a Python int."""
    return int(sess.run(global_step_tensor))


class GlobalStepWaiterHook(SessionRunHook):
    """TF1's hook that holds a worker until the global step reaches ``wait_until_step``.

    estcore trains in one process (or in lockstep under MPI): nothing else advances the
    global step while this hook waits, so a wait that could never end is an error instead
    of a hang. ``wait_until_step <= 0`` (the chief's value) does nothing.
    """

    def __init__(self, wait_until_step: int):
        self._wait_until_step = int(wait_until_step)

    def begin(self) -> None:
        self._global_step = get_global_step()
        if self._global_step is None and self._wait_until_step > 0:
            raise RuntimeError("Global step should be created to use GlobalStepWaiterHook.")

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._wait_until_step <= 0:
            return
        step = int(session.run(self._global_step))
        if step < self._wait_until_step:
            raise RuntimeError(
                f"GlobalStepWaiterHook: wait_until_step={self._wait_until_step} but the "
                f"global step is {step}, and nothing else advances it in an estcore run "
                "(one process, or MPI replicas in lockstep): the wait would never end.")


def init_from_checkpoint(ckpt_dir_or_file: str, assignment_map: Mapping[str, Any]) -> None:
    """TF1's ``tf.train.init_from_checkpoint``: the named variables' initializers load
    their values from the checkpoint instead.

    Args:
        ckpt_dir_or_file: a checkpoint prefix or a directory (its latest checkpoint).
        assignment_map: ``{checkpoint name or scope "scope/": variable name, scope or
            Variable}``, TF1's forms: ``{"old/w": "new/w"}``, ``{"old/": "new/"}``,
            ``{"/": "/"}`` (everything by the same name).
    """
    path = resolve_checkpoint_path(ckpt_dir_or_file)
    values, _ = read_checkpoint(path)
    graph_vars = {_var_name(v): v for v in global_variables()}
    plan: dict[str, str] = {}
    for src, dst in assignment_map.items():
        if isinstance(dst, Variable):
            dst = _var_name(dst)
        src, dst = str(src), str(dst)
        if src.endswith("/") or src == "/":
            src_scope = "" if src == "/" else src
            dst_scope = "" if dst == "/" else (dst if dst.endswith("/") else dst + "/")
            for ck in values:
                if ck.startswith(src_scope):
                    target = dst_scope + ck[len(src_scope):]
                    if target in graph_vars:
                        plan[target] = ck
        else:
            if src not in values:
                raise ValueError(f"Tensor {src} is not found in {path} checkpoint")
            if dst not in graph_vars:
                raise ValueError(f"init_from_checkpoint: no variable named {dst!r} in the "
                                 f"graph (assignment_map entry {src!r} -> {dst!r})")
            plan[dst] = src
    for target, ck in plan.items():
        var = graph_vars[target]
        value = values[ck]
        if list(value.shape) != var.shape.as_list():
            raise ValueError(f"init_from_checkpoint: shape of variable {target} "
                             f"{tuple(var.shape.as_list())} does not match the checkpoint's "
                             f"{ck} {tuple(value.shape)}")
        init = var.initial_value.op
        if init.type != "InitialValue":
            raise ValueError(f"init_from_checkpoint: variable {target} was created from a "
                             "value, not by get_variable with an initializer; estcore can "
                             "redirect only get_variable's initializers")
        init.attrs["init"] = _FromCheckpoint(value, var.dtype.as_numpy_dtype)


class _FromCheckpoint:
    """An initializer that returns a checkpoint's value (``init_from_checkpoint``)."""

    def __init__(self, value: np.ndarray, dtype: Any):
        self._value = np.array(value, dtype=dtype)

    def __call__(self, shape: Any, dtype: Any = None, seed: Any = None, **_: Any) -> np.ndarray:
        return self._value.copy()


def assert_global_step(global_step_tensor: Any) -> None:
    """TF1's ``tf.train.assert_global_step``: TypeError unless ``global_step_tensor`` is a
    Variable or Tensor of an integer dtype and scalar (or not fully known) shape."""
    if not isinstance(global_step_tensor, (Variable, Tensor)):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: '
                        f"{global_step_tensor}.")
    if not global_step_tensor.dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: '
                        f"{global_step_tensor.dtype}")
    shape = global_step_tensor.shape
    if shape.rank != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')
