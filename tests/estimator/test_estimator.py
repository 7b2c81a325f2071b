import logging
import os
import pathlib

import numpy as np
import pytest

import estcore
from estcore.estimator import (
    CheckpointSaverListener,
    Estimator,
    EstimatorSpec,
    EvalSpec,
    ModeKeys,
    NanLossDuringTrainingError,
    RunConfig,
    SessionRunHook,
    TrainSpec,
    WarmStartSettings,
    train_and_evaluate,
)
from estcore.summary import FileWriterCache, read_scalars

from .reference_model import data, model_fn

X, Y = data()


def linear_model_fn(features, labels, mode, params):
    x = features["x"] if isinstance(features, dict) else features
    logits = estcore.layers.dense(x, 3, name="linear")
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=estcore.argmax(logits, 1))
    loss = estcore.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if params.get("nan_at") is not None:
        gs = estcore.cast(estcore.train.get_global_step(), estcore.float32)
        loss = loss + estcore.where(gs >= params["nan_at"], np.float32(np.nan),
                                    np.float32(0.0))
    estcore.summary.scalar("my_scalar", loss * 2.0)
    estcore.summary.histogram("logits", logits)
    train_op = estcore.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=estcore.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op,
                         eval_metric_ops={"acc": estcore.metrics.accuracy(
                             labels, estcore.argmax(logits, 1))})


def batches(n_batches=5, batch=20, labels=True):
    def input_fn():
        for i in range(n_batches):
            sl = slice((i * batch) % len(X), (i * batch) % len(X) + batch)
            yield ({"x": X[sl]}, Y[sl]) if labels else {"x": X[sl]}
    return input_fn


def make(tmp_path, **config):
    cfg = dict(tf_random_seed=3, save_checkpoints_steps=2, log_step_count_steps=2,
               save_summary_steps=2)
    cfg.update(config)
    return Estimator(linear_model_fn, model_dir=str(tmp_path), config=RunConfig(**cfg),
                     params={})


@pytest.fixture(autouse=True)
def _close_writers():
    yield
    FileWriterCache.clear()


# ----------------------------------------------------------------- constructor


def test_constructor_checks(tmp_path, estcore_log):
    with pytest.raises(ValueError, match="^model_fn must be provided to Estimator.$"):
        Estimator(None, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="^config must be an instance of `RunConfig`"):
        Estimator(model_fn, config={"a": 1})
    with pytest.raises(ValueError, match="^`model_dir` are set both in constructor and "
                                         "`RunConfig`, but with different values."):
        Estimator(model_fn, model_dir=str(tmp_path / "a"),
                  config=RunConfig(model_dir=str(tmp_path / "b")))
    est = Estimator(model_fn, model_dir=str(tmp_path), config=RunConfig(model_dir=str(tmp_path)))
    assert est.model_dir == str(tmp_path)
    est = Estimator(model_fn, config=RunConfig(model_dir=pathlib.Path(tmp_path)))
    assert est.model_dir == str(tmp_path)
    temp = Estimator(model_fn)
    assert os.path.isdir(temp.model_dir)
    assert f"Using temporary folder as model directory: {temp.model_dir}" in estcore_log()
    assert Estimator(model_fn, model_dir="").model_dir != ""  # TF: '' -> temp dir too
    with pytest.raises(ValueError, match="does not include params argument"):
        Estimator(model_fn, params={"a": 1})
    with pytest.raises(ValueError, match="^warm_start_from must be a string or a "
                                         "WarmStartSettings, instead got <class 'int'>$"):
        Estimator(model_fn, warm_start_from=3)


def test_params_and_config_are_copies(tmp_path):
    params = {"nested": {"a": 1}}
    est = Estimator(linear_model_fn, model_dir=str(tmp_path), params=params)
    params["nested"]["a"] = 2
    assert est.params == {"nested": {"a": 1}}
    est.params["nested"]["a"] = 3
    assert est.params == {"nested": {"a": 1}}
    assert est.config is not est.config and est.config.model_dir == str(tmp_path)
    assert est.eval_dir() == os.path.join(str(tmp_path), "eval")
    assert est.eval_dir("") == os.path.join(str(tmp_path), "eval")
    assert est.eval_dir("x") == os.path.join(str(tmp_path), "eval_x")


def test_subclass_override_refused():
    class Sub(Estimator):
        def train(self, *a, **k):
            return None

    with pytest.raises(ValueError, match="^Subclasses of Estimator cannot override members of "
                                         r"Estimator. .* does override \['train'\]"):
        Sub(model_fn)

    class Ok(Estimator):
        def latest_checkpoint(self):
            return None

    Ok(model_fn)


# ----------------------------------------------------------------- train


def test_no_checkpoint_utilities(tmp_path):
    est = make(tmp_path)
    assert est.latest_checkpoint() is None
    with pytest.raises(ValueError, match="^Could not find trained model in model_dir: "):
        est.get_variable_names()
    with pytest.raises(ValueError, match="^Could not find trained model in model_dir: "):
        est.get_variable_value("global_step")


def test_train_steps_max_steps_and_skip(tmp_path, estcore_log):
    est = make(tmp_path)
    est.train(batches(100), steps=3)
    assert est.get_variable_value("global_step") == 3
    est.train(batches(100), steps=2)
    assert est.get_variable_value("global_step") == 5
    est.train(batches(100), max_steps=7)
    assert est.get_variable_value("global_step") == 7
    calls = []

    def never_called():
        calls.append(1)
        return batches()()

    est.train(never_called, max_steps=7)
    assert calls == [] and "Skipping training since max_steps has already saved." in \
        estcore_log()
    est.train(batches(4))  # until the input ends
    assert est.get_variable_value("global_step") == 11
    with pytest.raises(ValueError, match="^Must specify max_steps > 0, given: 0$"):
        est.train(batches(), max_steps=0)
    with pytest.raises(TypeError, match="^Hooks must be a SessionRunHook, given: 1$"):
        est.train(batches(), hooks=[1])
    with pytest.raises(TypeError, match="^saving_listeners must be a list of "
                                        "CheckpointSaverListener, given: 1$"):
        est.train(batches(), saving_listeners=[1])


def test_checkpoint_variables_and_rotation(tmp_path):
    est = make(tmp_path, keep_checkpoint_max=3)
    est.train(batches(9))
    names = est.get_variable_names()
    assert names == ["global_step", "linear/bias", "linear/kernel"]
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".data"))
    assert files == ["model.ckpt-6.data", "model.ckpt-8.data", "model.ckpt-9.data"]
    kernel = est.get_variable_value("linear/kernel")
    assert kernel.shape == (4, 3) and kernel.dtype == np.float32


def test_empty_input_warns_no_steps(tmp_path, estcore_log):
    est = make(tmp_path)
    est.train(lambda: iter(()))
    assert ("Training with estimator made no steps. Perhaps input is empty or misspecified."
            in estcore_log())
    assert "Loss for final step: None." in estcore_log()


def test_single_tuple_input_repeats_until_steps(tmp_path):
    est = make(tmp_path)
    est.train(lambda: ({"x": X[:10]}, Y[:10]), steps=4)
    assert est.get_variable_value("global_step") == 4


def test_input_fn_optional_args(tmp_path):
    seen = {}

    def input_fn(mode, params, config):
        seen.update(mode=mode, params=params, config=config)
        return {"x": X[:10]}, Y[:10]

    est = make(tmp_path)
    est.train(input_fn, steps=1)
    assert seen["mode"] == "train" and seen["params"] == {} and isinstance(
        seen["config"], RunConfig)
    with pytest.raises(ValueError, match="^input_fn should return \\(features, labels\\) as a "
                                         "len 2 tuple.$"):
        est.train(lambda: ({"x": X[:10]}, Y[:10], Y[:10]), steps=1)


def test_model_fn_errors(tmp_path):
    def no_labels(features, mode):
        return None

    est = Estimator(no_labels, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="^model_fn does not take labels, but input_fn returns "
                                         "labels.$"):
        est.train(batches(), steps=1)

    def not_a_spec(features, labels):
        return {"loss": 1}

    with pytest.raises(ValueError, match="^model_fn should return an EstimatorSpec.$"):
        Estimator(not_a_spec, model_dir=str(tmp_path)).train(batches(), steps=1)


def test_nan_loss_keeps_last_good_checkpoint(tmp_path, estcore_log):
    est = Estimator(linear_model_fn, model_dir=str(tmp_path), params={"nan_at": 4},
                    config=RunConfig(save_checkpoints_steps=2, log_step_count_steps=100))
    with pytest.raises(NanLossDuringTrainingError) as info:
        est.train(batches(100))
    assert str(info.value) == "NaN loss during training."
    assert "Model diverged with loss = NaN." in estcore_log()
    # steps 0..3 ran (saves at 0, 2, 4: 4 is saved after step 3's update, which had a finite
    # loss); the NaN step (global step 4 -> 5) is never saved and no final save happens.
    assert os.path.basename(est.latest_checkpoint()) == "model.ckpt-4"
    assert np.all(np.isfinite(est.get_variable_value("linear/kernel")))


def test_saving_listeners(tmp_path, estcore_log):
    class Stopper(CheckpointSaverListener):
        def __init__(self):
            self.steps = []

        def after_save(self, session, step):
            self.steps.append(step)
            return step >= 4

    stopper = Stopper()
    est = make(tmp_path)
    est.train(batches(100), saving_listeners=[stopper])
    assert stopper.steps == [0, 2, 4] and est.get_variable_value("global_step") == 4
    no_ckpt = make(tmp_path / "n", save_checkpoints_steps=None)
    with pytest.raises(ValueError, match="^There should be a CheckpointSaverHook to use "
                                         "saving_listeners."):
        no_ckpt.train(batches(), saving_listeners=[Stopper()])
    no_ckpt.train(batches(3))
    assert no_ckpt.latest_checkpoint() is None  # checkpoints disabled


def test_user_hook_order_and_protocol(tmp_path):
    calls = []

    class H(SessionRunHook):
        def begin(self):
            calls.append("begin")

        def after_create_session(self, session, coord):
            calls.append("create")

        def before_run(self, ctx):
            calls.append("before")

        def after_run(self, ctx, values):
            calls.append("after")
            if len([c for c in calls if c == "after"]) == 2:
                ctx.request_stop()

        def end(self, session):
            calls.append("end")

    make(tmp_path).train(batches(10), hooks=[H()])
    assert calls == ["begin", "create", "before", "after", "before", "after", "end"]


def test_summaries_written(tmp_path):
    est = make(tmp_path)
    est.train(batches(6))
    FileWriterCache.clear()
    scalars = read_scalars(str(tmp_path))
    assert {"loss", "my_scalar"} <= set(scalars[1])
    assert set(scalars) >= {1, 3, 5}
    np.testing.assert_allclose(scalars[1]["my_scalar"], 2 * scalars[1]["loss"], rtol=1e-5)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0, "scalars": 0})
    acc.Reload()
    assert "logits" in acc.Tags()["histograms"]
    assert {"loss", "my_scalar", "global_step/sec"} <= set(acc.Tags()["scalars"])


def _open_files_under(directory):
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc/self/fd")
    found = []
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:  # the fd of the listing itself, already closed
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


def test_calls_leave_no_event_file_open_and_keep_appending(tmp_path):
    # Many model_dirs in one process must not pile up open files (TF keeps one per dir).
    est = make(tmp_path)
    est.train(batches(4))
    est.evaluate(batches(2))
    assert _open_files_under(tmp_path) == []
    est.train(batches(4))  # the same event file, appended to
    assert _open_files_under(tmp_path) == []
    files = [f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]
    assert len(files) == 1
    assert {1, 3, 5, 7} <= set(read_scalars(str(tmp_path)))  # both calls in one file


def test_retrain_after_model_dir_was_deleted(tmp_path):
    import shutil

    make(tmp_path / "m").train(batches(2))
    shutil.rmtree(tmp_path / "m")
    make(tmp_path / "m").train(batches(2))  # the cached event writer starts a new file
    assert read_scalars(str(tmp_path / "m"))


def test_restart_resumes_and_rotation_recovers(tmp_path, estcore_log):
    make(tmp_path, keep_checkpoint_max=2).train(batches(5))
    est2 = make(tmp_path, keep_checkpoint_max=2)
    est2.train(batches(2))
    assert f"Restoring parameters from {tmp_path}/model.ckpt-5" in estcore_log()
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".data"))
    assert files == ["model.ckpt-5.data", "model.ckpt-7.data"]  # re-save at 5, end at 7


def test_restore_mismatch_errors(tmp_path):
    make(tmp_path).train(batches(1))

    def other_model(features, labels, mode):
        logits = estcore.layers.dense(features["x"], 5, name="linear")
        loss = estcore.reduce_mean(logits)
        return EstimatorSpec(mode, loss=loss, train_op=estcore.train.GradientDescentOptimizer(
            0.1).minimize(loss, global_step=estcore.train.get_global_step()))

    with pytest.raises(ValueError, match="^Restoring from checkpoint failed. This is most "
                                         "likely due to a mismatch"):
        Estimator(other_model, model_dir=str(tmp_path)).train(batches(), steps=1)

    def renamed(features, labels, mode):
        logits = estcore.layers.dense(features["x"], 3, name="other")
        loss = estcore.reduce_mean(logits)
        return EstimatorSpec(mode, loss=loss, train_op=estcore.train.GradientDescentOptimizer(
            0.1).minimize(loss, global_step=estcore.train.get_global_step()))

    with pytest.raises(LookupError, match="^Restoring from checkpoint failed. This is most "
                                          "likely due to a Variable name"):
        Estimator(renamed, model_dir=str(tmp_path)).train(batches(), steps=1)


def test_seed_determinism(tmp_path):
    a = make(tmp_path / "a")
    b = make(tmp_path / "b")
    a.train(batches(3))
    b.train(batches(3))
    np.testing.assert_array_equal(a.get_variable_value("linear/kernel"),
                                  b.get_variable_value("linear/kernel"))


# ----------------------------------------------------------------- evaluate


def test_evaluate(tmp_path, estcore_log):
    est = make(tmp_path)
    fresh = est.evaluate(batches(3))
    assert fresh["global_step"] == 0 and set(fresh) == {"acc", "loss", "global_step"}
    assert any(m.startswith("Could not find trained model in model_dir:") for m in estcore_log())
    est.train(batches(4))
    result = est.evaluate(batches(5), steps=3, name="val")
    assert result["global_step"] == 4
    assert [m for m in estcore_log() if m.startswith("Evaluation [")] == [
        "Evaluation [1/3]", "Evaluation [2/3]", "Evaluation [3/3]"]
    assert os.path.isdir(est.eval_dir("val"))
    # loss is the unweighted mean of the per-batch losses
    losses = []

    full = est.evaluate(lambda: iter([({"x": X[:30]}, Y[:30]), ({"x": X[30:35]}, Y[30:35])]))
    for sl in (slice(0, 30), slice(30, 35)):
        losses.append(est.evaluate(lambda sl=sl: iter([({"x": X[sl]}, Y[sl])]))["loss"])
    np.testing.assert_allclose(full["loss"], np.mean(losses), rtol=1e-6)
    with pytest.raises(ValueError, match="^Must specify steps > 0, given: 0$"):
        est.evaluate(batches(), steps=0)
    with pytest.raises(ValueError, match="^The passed save_path is not a valid checkpoint: "):
        est.evaluate(batches(), checkpoint_path=str(tmp_path / "model.ckpt-999"))
    older = est.evaluate(batches(2), checkpoint_path=str(tmp_path / "model.ckpt-2"))
    assert older["global_step"] == 2


def test_evaluate_reserved_names(tmp_path):
    def bad_fn(features, labels, mode):
        loss = estcore.reduce_mean(estcore.cast(labels, estcore.float32))
        return EstimatorSpec(mode, loss=loss, eval_metric_ops={
            "loss": estcore.metrics.mean(loss)})

    with pytest.raises(ValueError, match='^Metric with name "loss" is not allowed'):
        Estimator(bad_fn, model_dir=str(tmp_path)).evaluate(batches(1))


# ----------------------------------------------------------------- predict


def test_predict_lazy_with_and_without_checkpoint(tmp_path, estcore_log):
    est = make(tmp_path)
    calls = []

    def input_fn():
        calls.append(1)
        return batches(2, labels=False)()

    gen = est.predict(input_fn)
    assert calls == []  # a generator: nothing happens before next()
    preds = list(gen)
    assert len(preds) == 40 and all(p.shape == () for p in preds)
    assert any(m.startswith("Could not find trained model in model_dir:") and
               m.endswith("running initialization to predict.") for m in estcore_log())
    est.train(batches(3))
    after = list(est.predict(batches(2)))  # (features, labels) input: labels dropped
    assert len(after) == 40
    assert f"Restoring parameters from {tmp_path}/model.ckpt-3" in estcore_log()


def test_predict_keys_and_batches(tmp_path):
    est = Estimator(model_fn, model_dir=str(tmp_path))
    out = list(est.predict(batches(2, labels=False), predict_keys=["probabilities"]))
    assert len(out) == 40 and list(out[0]) == ["probabilities"]
    whole = list(est.predict(batches(2, labels=False), yield_single_examples=False))
    assert len(whole) == 2 and whole[0]["probabilities"].shape == (20, 3)
    with pytest.raises(ValueError, match="^Expected to run at least one output from"):
        next(est.predict(batches(1, labels=False), predict_keys=["nope"]))
    lin = make(tmp_path / "lin")
    with pytest.raises(ValueError, match="^predict_keys argument is not valid in case of "
                                         "non-dict predictions.$"):
        next(lin.predict(batches(1, labels=False), predict_keys=["a"]))


def test_predict_forever_warning_and_early_close(tmp_path, estcore_log):
    est = make(tmp_path)
    gen = est.predict(lambda: {"x": X[:4]})
    first = [next(gen) for _ in range(10)]
    gen.close()
    assert len(first) == 10
    assert any("That means predict yields forever" in m for m in estcore_log())


# ----------------------------------------------------------------- warm start / t&e


def test_warm_start(tmp_path, estcore_log):
    src = make(tmp_path / "src")
    src.train(batches(3))
    kernel = src.get_variable_value("linear/kernel")
    est = Estimator(linear_model_fn, model_dir=str(tmp_path / "dst"), params={},
                    warm_start_from=str(tmp_path / "src"),
                    config=RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None,
                                     log_step_count_steps=None))
    preds_src = list(src.predict(batches(1, labels=False)))
    preds_dst = list(est.predict(batches(1, labels=False)))  # warm-started, no checkpoint
    np.testing.assert_array_equal(preds_src, preds_dst)
    assert "Warm-started 2 variables." in estcore_log()
    est2 = Estimator(linear_model_fn, model_dir=str(tmp_path / "dst2"), params={},
                     warm_start_from=WarmStartSettings(str(tmp_path / "src"), "linear/kernel"))
    est2.train(batches(1), steps=1)
    assert not np.array_equal(est2.get_variable_value("linear/kernel"), kernel)  # trained on
    assert est2.get_variable_value("global_step") == 1  # global_step not warm-started


def test_train_and_evaluate_with_estimator(tmp_path):
    est = make(tmp_path, save_checkpoints_steps=3)
    metrics, exports = train_and_evaluate(
        est, TrainSpec(batches(100), max_steps=7),
        EvalSpec(batches(2), steps=None, throttle_secs=0))
    assert metrics["global_step"] == 7 and exports == []
    FileWriterCache.clear()
    assert sorted(read_scalars(est.eval_dir())) == [3, 6, 7]


def test_logging_level_untouched():
    assert logging.getLogger("estcore").level in (logging.NOTSET, logging.INFO)


def test_input_fn_called_in_seed_scope_per_call(tmp_path, monkeypatch):
    import contextlib

    from estcore.estimator import estimator as estimator_module
    from estcore.estimator._input_handling import derive_input_seed

    seeds = []
    active = []

    @contextlib.contextmanager
    def fake_seed_scope(seed):
        seeds.append(seed)
        active.append(True)
        try:
            yield
        finally:
            active.pop()

    monkeypatch.setattr(estimator_module, "seed_scope", fake_seed_scope)
    inside = []

    def input_fn():
        inside.append(bool(active))
        return batches(3)()

    est = make(tmp_path)  # tf_random_seed=3
    for _ in range(3):
        est.train(input_fn)
    assert inside == [True, True, True]
    # seeds derive from (tf_random_seed, global step at the start of the call)
    assert seeds == [derive_input_seed(3, 0), derive_input_seed(3, 3), derive_input_seed(3, 6)]
    assert len(set(seeds)) == 3
    est.evaluate(input_fn)
    assert seeds[-1] == derive_input_seed(3, 9)


def test_kernel_threads_from_session_config(tmp_path, monkeypatch):
    from estcore._lib import _kernels

    seen = []
    before = _kernels.get_num_threads()

    class Probe(SessionRunHook):
        def after_create_session(self, session, coord):
            seen.append(_kernels.get_num_threads())

    est = make(tmp_path, session_config={"intra_op_parallelism_threads": 1})
    est.train(batches(2), hooks=[Probe()])
    assert seen == [1] and _kernels.get_num_threads() == before


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    from estcore.estimator import estimator as estimator_module
    from estcore.hooks import progress as _progress

    monkeypatch.setattr(estimator_module, "progress_enabled", lambda: True)
    make(tmp_path).train(batches(3), steps=3)
    err = capsys.readouterr().err
    assert "train:" in err and "/3 [" in err  # a bar with the known total
    assert _progress.progress_enabled() is False  # pytest's stderr is not a terminal


def test_input_stream_state_stored_in_checkpoint(tmp_path):
    from estcore.checkpoint.state import CheckpointReader

    class Spec:
        def __init__(self, shape, dtype):
            self.shape, self.dtype = shape, dtype

    class Stream:
        element_spec = ({"x": Spec((None, 4), np.float32)}, Spec((None,), np.int32))

        def __init__(self):
            self.position = 0

        def __iter__(self):
            for i in range(4):
                self.position = i + 1
                yield {"x": X[i * 10:(i + 1) * 10]}, Y[i * 10:(i + 1) * 10]

        def get_state(self):
            return {"epoch": 0, "position": self.position}

        def close(self):
            pass

    est = make(tmp_path)
    est.train(Stream)
    meta = CheckpointReader(est.latest_checkpoint()).meta
    assert meta["global_step"] == 4 and meta["input_state"] == {"epoch": 0, "position": 4}


def test_train_refused_for_evaluator_task(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["a:1"]}, "task": {"type": '
                                    '"evaluator", "index": 0}}')
    est = Estimator(linear_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(ValueError, match="^Train has been called wrong configuration. Please use "
                                         "tf.estimator.train_and_evaluate"):
        est.train(batches(), steps=1)


def test_early_stopping_with_train_and_evaluate(tmp_path, estcore_log):
    from estcore.estimator.experimental import stop_if_higher_hook

    est = make(tmp_path, save_checkpoints_steps=2)
    # accuracy > -1 holds at the first evaluation (step 2): training stops soon after
    hook = stop_if_higher_hook(est, "acc", -1.0, run_every_secs=None, run_every_steps=1)
    metrics, _ = train_and_evaluate(est, TrainSpec(batches(100), max_steps=50, hooks=[hook]),
                                    EvalSpec(batches(2), steps=None, throttle_secs=0))
    assert metrics["global_step"] < 10
    assert any(m.startswith("Requesting early stopping at global step") for m in estcore_log())
