"""``Estimator``: turns a model_fn and input_fns into train / evaluate / predict.

Each call builds a fresh graph (seed ``config.tf_random_seed``, a ``global_step``
variable), calls ``input_fn`` once (inside ``estcore.inputs.seed_scope`` with a
seed derived from the seed and the global step at the start of the call, so
successive ``train()`` calls see different but reproducible orders), builds
placeholders with an unknown batch dimension from the input's element spec,
calls ``model_fn`` once, then runs the steps through a
:class:`~estcore.estimator.monitored_session.MonitoredSession` with TF's hooks
in TF's order. Checkpoints are restored from ``model_dir`` automatically.

With several training processes (``mpiexec``, a multi-task TF_CONFIG, or
``RunConfig.train_distribute``), ``train()`` runs synchronous data-parallel steps
through ``estcore.distribute`` (see ``_distributed.py``): the chief's start step,
input seed and variables, this process's input shard, averaged gradients, and
checkpoints and summaries written by the chief only.

Differences from tf.estimator are listed in the README ("Differences from
tf.estimator"); the ones made here: the Estimator's NanTensorHook runs before
the checkpoint hook (a NaN step is never saved), and a progress bar is shown
when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore.checkpoint import state as cs
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.warm_starting import WarmStartSettings
from estcore.distribute import estimator_steps as dist
from estcore.errors import OutOfRangeError
from estcore.estimator import _eval_util as ev
from estcore.estimator._fn_utils import fn_args, verify_model_fn_args
from estcore.estimator._input_handling import InputSource, derive_input_seed, make_input_source
from estcore.estimator._session_setup import (
    Feeder,
    build_placeholders,
    create_session,
    read_global_step,
)
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec
from estcore.estimator.monitored_session import MonitoredSession
from estcore.estimator.run_config import RunConfig, TaskType
from estcore.estimator.session_config import default_session_config
from estcore.hooks.basic_hooks import (
    FinalOpsHook,
    LoggingTensorHook,
    NanTensorHook,
    StepCounterHook,
    StopAtStepHook,
)
from estcore.hooks.checkpoint_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    SummarySaverHook,
)
from estcore.hooks.progress import ProgressBarHook, progress_enabled
from estcore.hooks.session_run_hook import SessionRunHook

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


def _check_hooks_type(hooks: Any) -> list:
    hooks = list(hooks or [])
    for h in hooks:
        if not isinstance(h, SessionRunHook):
            raise TypeError(f"Hooks must be a SessionRunHook, given: {h}")
    return hooks


def _check_listeners_type(listeners: Any) -> list:
    listeners = list(listeners or [])
    for listener in listeners:
        if not isinstance(listener, CheckpointSaverListener):
            raise TypeError("saving_listeners must be a list of CheckpointSaverListener, "
                            f"given: {listener}")
    return listeners


class _EmptyInput(Exception):
    """input_fn produced no batch at all: there is no structure to build a graph from."""


@contextlib.contextmanager
def _kernel_threads(n: int):
    """Use ``n`` kernel threads (``intra_op_parallelism_threads``) for one call; 0 = keep."""
    if n <= 0:
        yield
        return
    try:
        from estcore._lib import _kernels
    except ImportError:
        yield
        return
    old = _kernels.get_num_threads()
    _kernels.set_num_threads(int(n))
    try:
        yield
    finally:
        _kernels.set_num_threads(old)


def _input_state_fn(source: InputSource | None) -> Callable[[], dict] | None:
    """Checkpoint meta with the input stream's ``get_state()`` when it has one (JSON)."""
    get_state = getattr(getattr(source, "stream", None), "get_state", None)
    if get_state is None:
        return None

    def meta() -> dict:
        try:
            state = get_state()
            json.dumps(state)
        except (TypeError, ValueError, RuntimeError):
            return {}
        return {"input_state": state}

    return meta


def _seed_scope(seed: int | None):
    try:
        from estcore.inputs import seed_scope
    except ImportError:
        return contextlib.nullcontext()
    return seed_scope(seed)


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
        """Full prefix of the newest checkpoint in model_dir, or None."""
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
        with _seed_scope(seed):
            result = input_fn(**kwargs)
        return make_input_source(result)

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

    def _build(self, input_fn: Callable, mode: str, start_step: int, strategy: Any = None):
        """Inside the current default graph: global step, inputs, placeholders, spec.

        Under a multi-process ``strategy`` (training only): one input seed for all
        processes, this process's shard of each global batch, and the strategy
        active while model_fn runs (so the optimizer averages gradients).
        """
        import estcore
        from estcore.distribute import strategy_scope
        from estcore.graph.global_step import get_or_create_global_step
        from estcore.inputs import shard_scope

        estcore.set_random_seed(self._config.tf_random_seed)
        global_step = get_or_create_global_step()
        seed = derive_input_seed(self._config.tf_random_seed, start_step)
        shard = (0, 1)
        if strategy is not None:
            seed = dist.input_seed(strategy, seed)
            shard = (strategy.rank, strategy.num_replicas_in_sync)
        with shard_scope(*shard):
            source = self._call_input_fn(input_fn, mode, seed)
        if source.features_spec is None:
            source.close()
            raise _EmptyInput
        features = build_placeholders(source.features_spec, "features")
        labels = (build_placeholders(source.labels_spec, "labels")
                  if mode != ModeKeys.PREDICT else None)
        with strategy_scope(strategy):
            spec = self._call_model_fn(features, labels, mode, self.config)
        return global_step, source, features, labels, spec

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
        strategy = dist.strategy_for(self._config)
        if max_steps is not None:
            saved = read_global_step(self.latest_checkpoint())
            if strategy is not None:
                strategy.begin_session()
                saved = dist.chief_start(strategy, None, saved)[1]
            if max_steps <= saved:
                if strategy is not None:
                    strategy.end_session()
                logger.info("Skipping training since max_steps has already saved.")
                return self
        hooks = _check_hooks_type(hooks)
        saving_listeners = _check_listeners_type(saving_listeners)
        stop_hooks = ([StopAtStepHook(num_steps=steps, last_step=max_steps)]
                      if steps is not None or max_steps is not None else [])
        try:
            if strategy is None:
                loss = self._train_model(input_fn, hooks, stop_hooks, saving_listeners, steps,
                                         max_steps)
            else:
                strategy.begin_session()
                try:
                    loss = self._train_model(input_fn, hooks, stop_hooks, saving_listeners,
                                             steps, max_steps, strategy)
                    strategy.end_session()
                except BaseException as exc:
                    strategy.fail(exc)
                    raise
        finally:
            self._release_event_files()
        logger.info("Loss for final step: %s.", loss)
        return self

    def _train_hooks(self, spec: EstimatorSpec, global_step: Any, user_hooks: list,
                     stop_hooks: list, listeners: list,
                     source: InputSource | None = None,
                     is_chief: bool = True) -> tuple[list, list]:
        cfg = self._config
        chief_hooks: list = []
        if not is_chief:  # only the chief writes checkpoints and summaries
            worker_hooks = list(user_hooks) + list(stop_hooks)
            if cfg.log_step_count_steps:
                worker_hooks.append(LoggingTensorHook({"loss": spec.loss, "step": global_step},
                                                      every_n_iter=cfg.log_step_count_steps))
            return [NanTensorHook(spec.loss)], worker_hooks + list(spec.training_hooks)
        all_user = user_hooks + list(spec.training_chief_hooks) + list(spec.training_hooks)
        saver_hooks = [h for h in all_user if isinstance(h, CheckpointSaverHook)]
        if (cfg.save_checkpoints_secs or cfg.save_checkpoints_steps) and not saver_hooks:
            saver = getattr(spec.scaffold, "saver", None)
            if saver is None:
                saver = Saver(max_to_keep=cfg.keep_checkpoint_max,
                              keep_checkpoint_every_n_hours=cfg.keep_checkpoint_every_n_hours)
                saver.recover_last_checkpoints(self._model_dir)
            import estcore

            hook = CheckpointSaverHook(
                self._model_dir, save_secs=cfg.save_checkpoints_secs,
                save_steps=cfg.save_checkpoints_steps, saver=saver,
                var_list=estcore.global_variables(),
                save_graph_def=cfg.checkpoint_save_graph_def,
                meta_fn=_input_state_fn(source))
            chief_hooks.append(hook)
            saver_hooks = [hook]
        if listeners:
            if not saver_hooks:
                raise ValueError(
                    "There should be a CheckpointSaverHook to use saving_listeners. Please set "
                    "one of the RunConfig.save_checkpoints_steps or "
                    "RunConfig.save_checkpoints_secs.")
            saver_hooks[0].add_listeners(listeners)
        chief_hooks += list(spec.training_chief_hooks)
        if cfg.log_step_count_steps:
            chief_hooks.append(StepCounterHook(every_n_steps=cfg.log_step_count_steps,
                                               output_dir=self._model_dir))
        if cfg.save_summary_steps:
            chief_hooks.append(SummarySaverHook(save_steps=cfg.save_summary_steps,
                                                output_dir=self._model_dir,
                                                scaffold=spec.scaffold))
        worker_hooks = list(user_hooks) + list(stop_hooks)
        if cfg.log_step_count_steps:
            worker_hooks.append(LoggingTensorHook({"loss": spec.loss, "step": global_step},
                                                  every_n_iter=cfg.log_step_count_steps))
        worker_hooks += list(spec.training_hooks)
        # NaN check first: a NaN step must never reach a checkpoint save.
        return [NanTensorHook(spec.loss)] + chief_hooks, worker_hooks

    def _train_model(self, input_fn: Callable, user_hooks: list, stop_hooks: list,
                     listeners: list, steps: int | None, max_steps: int | None,
                     strategy: Any = None) -> Any:
        import estcore
        from estcore.summary import merge_all, scalar

        ckpt = self.latest_checkpoint()
        start_step = read_global_step(ckpt, verify=False)  # the restore verifies
        is_chief = True
        if strategy is not None:
            ckpt, start_step = dist.chief_start(strategy, ckpt, start_step)
            is_chief = strategy.is_chief
        graph = estcore.Graph()
        with graph.as_default():
            try:
                global_step, source, features, labels, spec = self._build(
                    input_fn, ModeKeys.TRAIN, start_step, strategy)
            except _EmptyInput:
                logger.warning("Training with estimator made no steps. Perhaps input is "
                               "empty or misspecified.")
                return None
            try:
                if not any(op.tag == "loss" for op in (merge_all() or [])):
                    scalar("loss", spec.loss)
                estcore.add_to_collection(estcore.GraphKeys.LOSSES, spec.loss)
                first, rest = self._train_hooks(spec, global_step, user_hooks, stop_hooks,
                                                listeners, source, is_chief)
                total = steps if steps is not None else (
                    max_steps - start_step if max_steps is not None else None)
                bar = ProgressBarHook("train", total) if progress_enabled() else None
                hooks = first + rest + ([bar] if bar else [])
                warm = self._warm_start_settings if ckpt is None and is_chief else None
                if warm is not None:
                    logger.info("Warm-starting with WarmStartSettings: %s", warm)

                def create() -> Any:
                    sess = create_session(graph, self._session_config, ckpt, warm,
                                          spec.scaffold)
                    if strategy is not None:  # after restore / warm start: the chief's values
                        strategy.broadcast_variables(sess)
                    return sess

                loss = None
                ran = 0
                feeder = Feeder(features, labels)
                try:
                    with _kernel_threads(self._config.kernel_threads), \
                            MonitoredSession(create, hooks, self._finalizer(graph)) as mon:
                        if strategy is not None:
                            loss, ran = dist.run_steps(strategy, mon, source, feeder,
                                                       [spec.train_op, spec.loss])
                        run = mon.step_runner([spec.train_op, spec.loss], feeder)
                        should_stop, next_batch = mon.should_stop, source.next_batch
                        while strategy is None and not should_stop():
                            _, loss = run(*next_batch())
                            ran += 1
                finally:
                    if bar is not None:
                        bar.close()
                if ran == 0:
                    logger.warning("Training with estimator made no steps. Perhaps input is "
                                   "empty or misspecified.")
                return loss
            finally:
                source.close()

    # ------------------------------------------------------------------ evaluate

    def evaluate(self, input_fn: Callable, steps: int | None = None, hooks: Any = None,
                 checkpoint_path: str | None = None, name: str | None = None) -> dict:
        """Evaluate ``spec.eval_metric_ops`` and the mean loss over the input."""
        hooks = _check_hooks_type(hooks)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if checkpoint_path is None:
            checkpoint_path = self.latest_checkpoint()
            if checkpoint_path is None:
                logger.info("Could not find trained model in model_dir: %s, running "
                            "initialization to evaluate.", self._model_dir)
        elif not cs.checkpoint_exists(checkpoint_path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: "
                             f"{checkpoint_path}")
        try:
            return self._evaluate_model(input_fn, hooks, steps, checkpoint_path, name)
        finally:
            self._release_event_files()

    def _release_event_files(self) -> None:
        """Free the file handles of the cached event-file writers under model_dir (they
        reopen their files on the next write): no open file per directory is left
        behind once a call returns."""
        from estcore.summary import FileWriterCache

        try:
            FileWriterCache.release(self._model_dir)
        except OSError as e:  # never hide the error of the call itself (this runs in finally)
            logger.warning("Could not close the event files under %s: %s", self._model_dir, e)

    def _evaluate_model(self, input_fn: Callable, hooks: list, steps: int | None,
                        ckpt: str | None, name: str | None) -> dict:
        import estcore

        graph = estcore.Graph()
        with graph.as_default():
            try:
                global_step, source, features, labels, spec = self._build(
                    input_fn, ModeKeys.EVAL, read_global_step(ckpt, verify=False))
            except _EmptyInput:
                raise ValueError("input_fn produced no batch to evaluate on.") from None
            try:
                ev.check_reserved_metric_names(spec.eval_metric_ops)
                names = sorted(spec.eval_metric_ops)
                update_ops = [spec.eval_metric_ops[k][1] for k in names]
                value_ops = {k: spec.eval_metric_ops[k][0] for k in names}
                value_ops["global_step"] = global_step
                final = FinalOpsHook(value_ops)
                all_hooks = list(hooks)
                if steps is not None:
                    all_hooks.append(ev.StopAfterNEvalsHook(steps))
                all_hooks += list(spec.evaluation_hooks) + [final]
                bar = ProgressBarHook("evaluate", steps) if progress_enabled() else None
                if bar:
                    all_hooks.append(bar)
                logger.info("Starting evaluation at %s",
                            time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()))
                warm = self._warm_start_settings if ckpt is None else None
                start = time.time()
                losses: list[float] = []
                feeder = Feeder(features, labels)

                def create() -> Any:
                    return create_session(graph, self._session_config, ckpt, warm,
                                          spec.scaffold)

                try:
                    with _kernel_threads(self._config.kernel_threads), \
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
        import estcore

        hooks = _check_hooks_type(hooks)
        if checkpoint_path is None:
            checkpoint_path = self.latest_checkpoint()
            if checkpoint_path is None:
                logger.info("Could not find trained model in model_dir: %s, running "
                            "initialization to predict.", self._model_dir)
        elif not cs.checkpoint_exists(checkpoint_path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: "
                             f"{checkpoint_path}")
        ckpt = checkpoint_path
        graph = estcore.Graph()
        with graph.as_default():
            try:
                _, source, features, _, spec = self._build(input_fn, ModeKeys.PREDICT,
                                                           read_global_step(ckpt, verify=False))
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
        from estcore.export.writer import export_saved_model

        return export_saved_model(self, export_dir_base, serving_input_receiver_fn,
                                  assets_extra=assets_extra, as_text=as_text,
                                  checkpoint_path=checkpoint_path,
                                  experimental_mode=experimental_mode)

    def export_savedmodel(self, export_dir_base: Any, serving_input_receiver_fn: Callable,
                          assets_extra: dict | None = None, as_text: bool = False,
                          checkpoint_path: str | None = None,
                          strip_default_attrs: bool = False) -> bytes:
        """Deprecated alias of :meth:`export_saved_model` (TF1 name)."""
        import warnings

        warnings.warn("Estimator.export_savedmodel is deprecated; use export_saved_model.",
                      DeprecationWarning, stacklevel=2)
        return self.export_saved_model(export_dir_base, serving_input_receiver_fn,
                                       assets_extra=assets_extra, as_text=as_text,
                                       checkpoint_path=checkpoint_path)
