"""``Estimator``: turns a model_fn and input_fns into train / evaluate / predict / export.

Each call builds a fresh graph (seed ``config.tf_random_seed``, a ``global_step``
variable), calls ``input_fn`` once (inside ``estcore.inputs.seed_scope`` with a
seed derived from the seed and the global step at the start of the call, so
successive ``train()`` calls see different but reproducible orders), builds
placeholders with an unknown batch dimension from the input's element spec,
calls ``model_fn`` once, then runs the steps through a
:class:`~estcore.estimator.monitored_session.MonitoredSession` with TF's hooks
in TF's order (:mod:`estcore.estimator.call_hooks`). Checkpoints are restored
from ``model_dir`` automatically: the newest one that loads
(:func:`~estcore.checkpoint.state.restorable_checkpoint`, which falls back past a
damaged state file or checkpoint with a WARNING; the chief's train call repairs
the state file). A train call that restores a checkpoint of an interrupted call
continues that call's input where the checkpoint left it
(:mod:`estcore.estimator._resume`, docs/reliability.md). The chief removes the
temporary files that killed writes left in model_dir before it trains.

Owns the Estimator class: argument checks, the calls of the user's functions and
the train / evaluate / predict paths. Must not know about other processes:
``train()`` talks to one :class:`~estcore.estimator.replication.Replication`
(local, or MPI from ``estcore.distribute`` with several training processes) and
the path is the same code either way.

Differences from tf.estimator are listed in the README ("Differences from
tf.estimator"); the ones made here: the Estimator's NanTensorHook runs before
the checkpoint hook (a NaN step is never saved), and a progress bar is shown on a
terminal or in a notebook (``ESTCORE_PROGRESS`` turns it off or on).
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore.checkpoint import state as cs
from estcore.checkpoint.fileio import remove_temp_files
from estcore.checkpoint.warm_starting import WarmStartSettings
from estcore.errors import OutOfRangeError
from estcore.estimator import _eval_util as ev
from estcore.estimator._fn_utils import fn_args, verify_model_fn_args
from estcore.estimator._resume import plan_input, report_resume, train_call_meta
from estcore.estimator._session_setup import (
    Feeder,
    InputTensorRunner,
    build_placeholders,
    create_session,
    read_global_step,
)
from estcore.estimator.call_hooks import check_hooks_type, check_listeners_type, train_hooks
from estcore.estimator.exporting import export_saved_model
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec
from estcore.estimator.monitored_session import MonitoredSession
from estcore.estimator.replication import LOCAL, Replication, StepTally, replication_for
from estcore.estimator.run_config import RunConfig, TaskType
from estcore.estimator.session_config import default_session_config, kernel_threads
from estcore.graph.global_step import get_or_create_global_step
from estcore.graph.ir import Graph, GraphKeys, add_to_collection
from estcore.graph.random import set_random_seed
from estcore.hooks.basic_hooks import FinalOpsHook, StopAfterNEvalsHook, StopAtStepHook
from estcore.hooks.progress import ProgressBarHook, progress_enabled
from estcore.inputs.resume import resume_scope
from estcore.inputs.seed import seed_scope
from estcore.inputs.shard import shard_scope
from estcore.inputs.source import InputSource, derive_input_seed, make_input_source
from estcore.summary.ops import merge_all, scalar
from estcore.summary.writer import FileWriterCache

__all__ = ["Estimator"]

logger = logging.getLogger("estcore")

_ALLOWED_OVERRIDES = {"model_fn", "latest_checkpoint", "_create_and_assert_global_step",
                      "_export_all_saved_models"}


def _assert_members_are_not_overridden(obj: Any) -> None:
    base = set(m for m in dir(Estimator) if not m.startswith("__"))
    sub = set(type(obj).__dict__) if type(obj) is not Estimator else set()
    common = (base & sub) - _ALLOWED_OVERRIDES
    overridden = sorted(m for m in common if getattr(Estimator, m) != getattr(type(obj), m))
    if overridden:
        raise ValueError("Subclasses of Estimator cannot override members of Estimator. "
                         f"{type(obj)} does override {overridden}")


def _resolve_config(config: Any, model_dir: Any) -> RunConfig:
    if config is None:
        config = RunConfig()
        logger.info("Using default config.")
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be an instance of `RunConfig`, but provided {config}.")
    changes: dict[str, Any] = {}  # applied in one replace() (each one deep-copies)
    if config.session_config is None:
        changes["session_config"] = default_session_config()
    if isinstance(model_dir, os.PathLike):
        model_dir = os.fspath(model_dir)
    if model_dir is not None and config.model_dir is not None and config.model_dir != model_dir:
        raise ValueError("`model_dir` are set both in constructor and `RunConfig`, but with "
                         f"different values. In constructor: '{model_dir}', in `RunConfig`: "
                         f"'{config.model_dir}' ")
    if model_dir:
        changes["model_dir"] = model_dir
    elif config.model_dir is None:
        model_dir = tempfile.mkdtemp()
        logger.warning("Using temporary folder as model directory: %s", model_dir)
        changes["model_dir"] = model_dir
    return config.replace(**changes) if changes else config


def _warm_start_settings(warm_start_from: Any) -> WarmStartSettings | None:
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, (str, bytes, os.PathLike)):
        return WarmStartSettings(ckpt_to_initialize_from=warm_start_from)
    if isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    raise ValueError("warm_start_from must be a string or a WarmStartSettings, instead got "
                     f"{type(warm_start_from)}")


class _EmptyInput(Exception):
    """input_fn produced no batch at all: there is no structure to build a graph from."""


def _checked_checkpoint(estimator: Estimator, checkpoint_path: str | None,
                        what: str) -> str | None:
    """``checkpoint_path``, or the newest checkpoint of model_dir that loads when None
    (None: no checkpoint file at all, run initialization as TF). Checkpoint files of
    which none loads raise CheckpointCorruptError (never random weights)."""
    if checkpoint_path is None:
        checkpoint_path = cs.restorable_checkpoint(estimator.model_dir)
        if checkpoint_path is None:
            logger.info("Could not find trained model in model_dir: %s, running "
                        "initialization to %s.", estimator.model_dir, what)
    elif not cs.checkpoint_exists(checkpoint_path):
        raise ValueError(f"The passed save_path is not a valid checkpoint: "
                         f"{checkpoint_path}")
    return checkpoint_path


class Estimator:
    """TF's ``tf.estimator.Estimator``.

    Args:
        model_fn: ``model_fn(features, labels, mode, params, config)`` returning an
            :class:`EstimatorSpec` (``labels``, ``mode``, ``params``, ``config`` optional).
        model_dir: checkpoints and summaries go here (temporary dir when None).
        config: a :class:`RunConfig`.
        params: dict passed (deep-copied) to model_fn.
        warm_start_from: checkpoint dir / prefix or :class:`WarmStartSettings`.
    """

    def __init__(self, model_fn: Callable, model_dir: str | os.PathLike | None = None,
                 config: RunConfig | None = None, params: dict | None = None,
                 warm_start_from: Any = None):
        _assert_members_are_not_overridden(self)
        self._config = _resolve_config(config, model_dir)
        self._model_dir = self._config.model_dir
        self._session_config = self._config.session_config
        logger.info("Using config: %s", str(vars(self._config)))
        if model_fn is None:
            raise ValueError("model_fn must be provided to Estimator.")
        verify_model_fn_args(model_fn, params)
        self._model_fn = model_fn
        self._params = copy.deepcopy(params or {})
        self._warm_start_settings = _warm_start_settings(warm_start_from)
        self._resume_warned: set = set()  # input kinds warned about (see _resume)

    # ------------------------------------------------------------------ properties

    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def config(self) -> RunConfig:
        return copy.deepcopy(self._config)

    @property
    def params(self) -> dict:
        return copy.deepcopy(self._params)

    @property
    def model_fn(self) -> Callable:
        """``fn(features, labels, mode, config)`` calling the model_fn with this params."""

        def public_model_fn(features, labels, mode, config):
            return self._call_model_fn(features, labels, mode, config)

        return public_model_fn

    # ------------------------------------------------------------------ utilities

    def eval_dir(self, name: str | None = None) -> str:
        """``model_dir/eval`` or ``model_dir/eval_<name>``."""
        return os.path.join(self._model_dir, "eval" if not name else "eval_" + name)

    def latest_checkpoint(self) -> str | None:
        """Full prefix of the checkpoint model_dir's state file names, or None (TF).

        As TF: the state file's ``model_checkpoint_path`` when its file exists, without
        reading it and without falling back (callers poll it to see new checkpoints).
        ``train()``, ``evaluate()`` and ``predict()`` restore from the newest checkpoint
        that loads instead (:func:`~estcore.checkpoint.state.restorable_checkpoint`).
        """
        return cs.latest_checkpoint(self._model_dir)

    def get_variable_names(self) -> list[str]:
        """Sorted names of the variables in the latest checkpoint."""
        if not self.latest_checkpoint():
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}.")
        return [name for name, _ in cs.list_variables(self._model_dir)]

    def get_variable_value(self, name: str) -> np.ndarray:
        """Value of variable ``name`` in the latest checkpoint."""
        if not self.latest_checkpoint():
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}.")
        return cs.load_variable(self._model_dir, name)

    # ------------------------------------------------------------------ calling user fns

    def _call_input_fn(self, input_fn: Callable, mode: str, seed: int | None) -> InputSource:
        if not callable(input_fn):
            raise TypeError(f"`input_fn` must be callable, given: {input_fn}")
        args = fn_args(input_fn)
        kwargs: dict[str, Any] = {}
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        with seed_scope(seed):
            result = input_fn(**kwargs)
        return make_input_source(result, InputTensorRunner)

    def _call_model_fn(self, features: Any, labels: Any, mode: str,
                       config: RunConfig) -> EstimatorSpec:
        args = fn_args(self._model_fn)
        kwargs: dict[str, Any] = {}
        if "labels" in args:
            kwargs["labels"] = labels
        elif labels is not None:
            raise ValueError("model_fn does not take labels, but input_fn returns labels.")
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = config
        logger.info("Calling model_fn.")
        spec = self._model_fn(features=features, **kwargs)
        logger.info("Done calling model_fn.")
        if not isinstance(spec, EstimatorSpec):
            raise ValueError("model_fn should return an EstimatorSpec.")
        return spec

    def _build(self, input_fn: Callable, mode: str, seed: int | None,
               replication: Replication = LOCAL, resume_state: dict | None = None):
        """Inside the current default graph: global step, inputs, placeholders, spec.

        ``seed`` is the input seed (from :meth:`Replication.input_seed`);
        ``resume_state`` the input position offered to the stream input_fn creates.
        ``replication`` gives the shard and the scope model_fn runs in (several
        training processes: this process's shard of each global batch, gradients
        averaged by the optimizer).
        """
        set_random_seed(self._config.tf_random_seed)
        global_step = get_or_create_global_step()
        with shard_scope(*replication.shard), resume_scope(resume_state):
            source = self._call_input_fn(input_fn, mode, seed)
        if source.features_spec is None:
            source.close()
            raise _EmptyInput
        features = build_placeholders(source.features_spec, "features")
        labels = (build_placeholders(source.labels_spec, "labels")
                  if mode != ModeKeys.PREDICT else None)
        with replication.model_scope():
            spec = self._call_model_fn(features, labels, mode, self.config)
        return global_step, source, features, labels, spec

    def _input_seed(self, ckpt: str | None) -> int | None:
        """The input seed of an evaluate / predict call (from the checkpoint's step)."""
        return derive_input_seed(self._config.tf_random_seed,
                                 read_global_step(ckpt, verify=False))

    def _finalizer(self, graph: Any) -> Callable[[], None]:
        def finalize() -> None:
            graph.finalize()
            logger.info("Graph was finalized.")

        return finalize

    # ------------------------------------------------------------------ train

    def train(self, input_fn: Callable, hooks: Any = None, steps: int | None = None,
              max_steps: int | None = None, saving_listeners: Any = None) -> Estimator:
        """Train until input ends, ``steps`` more steps, or global step ``max_steps``."""
        if self._config.task_type in (TaskType.EVALUATOR, TaskType.PS):
            raise ValueError("Train has been called wrong configuration. Please use "
                             "tf.estimator.train_and_evaluate which calls proper API according "
                             f"to given configuration. Current configuration: {self.config}.")
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        replication = replication_for(self._config)
        replication.begin()
        try:
            # (restore_point verified the file: its step is read without a second check)
            ckpt, start_step = replication.start(*self._restore_point(replication))
            if max_steps is not None and max_steps <= start_step:
                replication.end()
                logger.info("Skipping training since max_steps has already saved.")
                return self
            hooks = check_hooks_type(hooks)
            saving_listeners = check_listeners_type(saving_listeners)
            stop_hooks = ([StopAtStepHook(num_steps=steps, last_step=max_steps)]
                          if steps is not None or max_steps is not None else [])
            loss = self._train_model(input_fn, hooks, stop_hooks, saving_listeners, steps,
                                     max_steps, replication, ckpt, start_step)
            replication.end()
        except BaseException as exc:
            replication.fail(exc)
            raise
        finally:
            self._release_event_files()
        logger.info("Loss for final step: %s.", loss)
        return self

    def _restore_point(self, replication: Replication) -> tuple[str | None, int]:
        """The checkpoint a train call restores, the newest one in model_dir that loads,
        and its global step (0 without one).

        The chief first removes the temporary files killed writes left there (no save
        is in flight yet) and repairs a state file that names another checkpoint. Other
        processes restore nothing themselves (:meth:`Replication.start` gives them the
        chief's step and variables), so their model_dir is not read.
        """
        if not replication.is_chief:
            return None, 0
        removed = remove_temp_files(self._model_dir)
        if removed:
            logger.warning("Removed %d temporary file(s) that interrupted writes left in "
                           "%s: %s", len(removed), self._model_dir,
                           ", ".join(os.path.basename(p) for p in removed))
        ckpt = cs.restorable_checkpoint(self._model_dir, repair=True)
        return ckpt, read_global_step(ckpt, verify=False)  # (verified just now)

    def _train_model(self, input_fn: Callable, user_hooks: list, stop_hooks: list,
                     listeners: list, steps: int | None, max_steps: int | None,
                     replication: Replication, ckpt: str | None, start_step: int) -> Any:
        plan = plan_input(ckpt, self._config.tf_random_seed, start_step,
                          replication.shard[1])
        seed = replication.input_seed(plan.seed)
        # the step the StopAtStepHook ends the call at (None: the input ends it)
        last_step = start_step + steps if steps is not None else max_steps
        graph = Graph()
        with graph.as_default():
            try:
                global_step, source, features, labels, spec = self._build(
                    input_fn, ModeKeys.TRAIN, seed, replication, plan.state)
            except _EmptyInput:
                logger.warning("Training with estimator made no steps. Perhaps input is "
                               "empty or misspecified.")
                return None
            try:
                report_resume(plan, source.stream, start_step, self._resume_warned)
                if not any(op.tag == "loss" for op in (merge_all() or [])):
                    scalar("loss", spec.loss)
                add_to_collection(GraphKeys.LOSSES, spec.loss)
                first, rest = train_hooks(self._config, spec, global_step, user_hooks,
                                          stop_hooks, listeners,
                                          train_call_meta(source, seed, last_step),
                                          replication.is_chief, resumed_from=ckpt)
                total = None if last_step is None else last_step - start_step
                bar = (ProgressBarHook("train", total, stream=source.stream,
                                       num_shards=replication.shard[1])
                       if progress_enabled() else None)
                hooks = first + rest + ([bar] if bar else [])
                warm = (self._warm_start_settings if ckpt is None and replication.is_chief
                        else None)
                if warm is not None:
                    logger.info("Warm-starting with WarmStartSettings: %s", warm)

                def create() -> Any:
                    sess = create_session(graph, self._session_config, ckpt, warm,
                                          spec.scaffold)
                    replication.session_created(sess)  # after restore / warm start
                    return sess

                tally = StepTally()
                feeder = Feeder(features, labels)
                try:
                    with kernel_threads(self._config.kernel_threads), \
                            MonitoredSession(create, hooks, self._finalizer(graph)) as mon:
                        replication.run_steps(mon, source, feeder, [spec.train_op, spec.loss],
                                              tally)
                finally:
                    if bar is not None:
                        bar.close()
                if tally.steps == 0:
                    logger.warning("Training with estimator made no steps. Perhaps input is "
                                   "empty or misspecified.")
                return tally.loss
            finally:
                source.close()

    # ------------------------------------------------------------------ evaluate

    def evaluate(self, input_fn: Callable, steps: int | None = None, hooks: Any = None,
                 checkpoint_path: str | None = None, name: str | None = None) -> dict:
        """Evaluate ``spec.eval_metric_ops`` and the mean loss over the input."""
        hooks = check_hooks_type(hooks)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        checkpoint_path = _checked_checkpoint(self, checkpoint_path, "evaluate")
        try:
            return self._evaluate_model(input_fn, hooks, steps, checkpoint_path, name)
        finally:
            self._release_event_files()

    def _release_event_files(self) -> None:
        """Free the file handles of the cached event-file writers under model_dir (they
        reopen their files on the next write): no open file per directory is left
        behind once a call returns."""
        try:
            FileWriterCache.release(self._model_dir)
        except OSError as e:  # never hide the error of the call itself (this runs in finally)
            logger.warning("Could not close the event files under %s: %s", self._model_dir, e)

    def _evaluate_model(self, input_fn: Callable, hooks: list, steps: int | None,
                        ckpt: str | None, name: str | None,
                        variable_values: dict | None = None) -> dict:
        """Evaluate from ``ckpt`` (None: initializers, or the warm start), or, with
        ``variable_values`` (name -> array, InMemoryEvaluatorHook), from the values of a
        training session: the eval graph's global variables of those names take them."""
        graph = Graph()
        with graph.as_default():
            try:
                global_step, source, features, labels, spec = self._build(
                    input_fn, ModeKeys.EVAL, self._input_seed(ckpt))
            except _EmptyInput:
                raise ValueError("input_fn produced no batch to evaluate on.") from None
            try:
                if steps is None and source.repeats_forever:
                    logger.warning("input_fn gives the same input on every step (tensors or "
                                   "arrays, not a Dataset or a stream), so evaluate with "
                                   "steps=None runs until interrupted, as in TF; pass steps "
                                   "(steps=1 evaluates that batch once).")
                ev.check_reserved_metric_names(spec.eval_metric_ops)
                names = sorted(spec.eval_metric_ops)
                update_ops = [spec.eval_metric_ops[k][1] for k in names]
                value_ops = {k: spec.eval_metric_ops[k][0] for k in names}
                value_ops["global_step"] = global_step
                final = FinalOpsHook(value_ops)
                all_hooks = list(hooks)
                if steps is not None:
                    all_hooks.append(StopAfterNEvalsHook(steps))
                all_hooks += list(spec.evaluation_hooks) + [final]
                bar = (ProgressBarHook("evaluate", steps, stream=source.stream)
                       if progress_enabled() else None)
                if bar:
                    all_hooks.append(bar)
                logger.info("Starting evaluation at %s",
                            time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()))
                warm = (self._warm_start_settings
                        if ckpt is None and variable_values is None else None)
                start = time.time()
                losses: list[float] = []
                feeder = Feeder(features, labels)

                def create() -> Any:
                    sess = create_session(graph, self._session_config, ckpt, warm,
                                          spec.scaffold)
                    if variable_values:
                        have = sess.get_variable_values(copy=False)
                        sess.set_variable_values({k: v for k, v in variable_values.items()
                                                  if k in have})
                    return sess

                try:
                    with kernel_threads(self._config.kernel_threads), \
                            MonitoredSession(create, all_hooks, self._finalizer(graph)) as mon:
                        run = mon.step_runner([update_ops, spec.loss], feeder)
                        while not mon.should_stop():
                            _, loss = run(*source.next_batch())
                            losses.append(float(loss))
                finally:
                    if bar is not None:
                        bar.close()
                logger.info("Inference Time : %.5fs", time.time() - start)
                logger.info("Finished evaluation at %s",
                            time.strftime("%Y-%m-%d-%H:%M:%S", time.localtime()))
            finally:
                source.close()
        results = dict(final.final_ops_values or {})
        results["loss"] = np.float32(np.mean(losses, dtype=np.float64) if losses else np.nan)
        step = np.int64(results.get("global_step", 0))
        results["global_step"] = step
        eval_dir = self.eval_dir(name)
        ev.write_dict_to_summary(eval_dir, results, int(step))
        if ckpt:
            ev.write_checkpoint_path_to_summary(eval_dir, ckpt, int(step))
        return results

    # ------------------------------------------------------------------ predict

    def predict(self, input_fn: Callable, predict_keys: Any = None, hooks: Any = None,
                checkpoint_path: str | None = None,
                yield_single_examples: bool = True) -> Iterator[Any]:
        """Yield predictions lazily (nothing happens before the first ``next()``)."""
        hooks = check_hooks_type(hooks)
        ckpt = _checked_checkpoint(self, checkpoint_path, "predict")
        graph = Graph()
        with graph.as_default():
            try:
                _, source, features, _, spec = self._build(input_fn, ModeKeys.PREDICT,
                                                           self._input_seed(ckpt))
            except _EmptyInput:
                return
        try:
            predictions = ev.extract_keys(spec.predictions, predict_keys)
            if source.repeats_forever:
                logger.warning("Input graph does not use tf.data.Dataset or contain a "
                               "QueueRunner. That means predict yields forever. This is "
                               "probably a mistake.")
            warm = self._warm_start_settings if ckpt is None else None

            def create() -> Any:
                return create_session(graph, self._session_config, ckpt, warm, spec.scaffold)

            all_hooks = hooks + list(spec.prediction_hooks)
            feeder = Feeder(features, None)
            with graph.as_default():  # hooks' begin() and session creation
                mon = MonitoredSession(create, all_hooks, self._finalizer(graph))
            try:
                run = mon.step_runner(predictions, feeder)
                while not mon.should_stop():
                    try:
                        features_batch = source.next_batch()[0]
                    except (StopIteration, OutOfRangeError):
                        break
                    preds = run(features_batch, None)
                    if not yield_single_examples:
                        yield preds
                    elif not isinstance(predictions, dict):
                        yield from preds
                    else:
                        for i in range(ev.extract_batch_length(preds)):
                            yield {key: value[i] for key, value in preds.items()}
            except BaseException as e:  # incl. GeneratorExit: no end() for the hooks
                mon.close(e)
                raise
            mon.close()
        finally:
            source.close()

    # ------------------------------------------------------------------ export

    def export_saved_model(self, export_dir_base: Any, serving_input_receiver_fn: Callable,
                           assets_extra: dict | None = None, as_text: bool = False,
                           checkpoint_path: str | None = None,
                           experimental_mode: str = ModeKeys.PREDICT) -> bytes:
        """Export the PREDICT graph and the checkpoint's variables for serving.

        Writes ``export_dir_base/<timestamp>/`` (format: :mod:`estcore.export.format`;
        load it with :func:`estcore.saved_model.load`) and returns its path as bytes.
        """
        return export_saved_model(self, export_dir_base, serving_input_receiver_fn,
                                  assets_extra=assets_extra, as_text=as_text,
                                  checkpoint_path=checkpoint_path,
                                  experimental_mode=experimental_mode)

    def export_savedmodel(self, export_dir_base: Any, serving_input_receiver_fn: Callable,
                          assets_extra: dict | None = None, as_text: bool = False,
                          checkpoint_path: str | None = None,
                          strip_default_attrs: bool = False) -> bytes:
        """Deprecated alias of :meth:`export_saved_model` (TF1 name)."""
        warnings.warn("Estimator.export_savedmodel is deprecated; use export_saved_model.",
                      DeprecationWarning, stacklevel=2)
        return self.export_saved_model(export_dir_base, serving_input_receiver_fn,
                                       assets_extra=assets_extra, as_text=as_text,
                                       checkpoint_path=checkpoint_path)
