"""TrainSpec / EvalSpec validation and the local train_and_evaluate loop."""

import pytest

from estcore.estimator import training
from estcore.estimator.run_config import RunConfig
from estcore.estimator.training import EvalSpec, TrainSpec, train_and_evaluate
from estcore.export.exporters import Exporter
from estcore.hooks.checkpoint_hooks import CheckpointSaverListener
from estcore.hooks.session_run_hook import SessionRunHook

pytestmark = pytest.mark.smoke


class Exp(Exporter):
    def __init__(self, name="exp"):
        self._name = name
        self.calls = []

    @property
    def name(self):
        return self._name

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        self.calls.append((export_path, checkpoint_path, eval_result["global_step"],
                           is_the_final_export))
        return export_path + "/1"


def test_specs_validation():
    fn = lambda: None  # noqa: E731
    with pytest.raises(TypeError, match="^`input_fn` must be callable, given: 3$"):
        TrainSpec(3)
    with pytest.raises(ValueError, match="^Must specify max_steps > 0, given: 0$"):
        TrainSpec(fn, max_steps=0)
    with pytest.raises(TypeError, match="^All hooks must be `SessionRunHook` instances"):
        TrainSpec(fn, hooks=[1])
    with pytest.raises(TypeError, match="^All saving_listeners must be "):
        TrainSpec(fn, saving_listeners=[1])
    t = TrainSpec(fn, 10, [SessionRunHook()], [CheckpointSaverListener()])
    assert isinstance(t.hooks, tuple) and isinstance(t.saving_listeners, tuple)
    with pytest.raises(ValueError, match="^Must specify steps > 0, given: 0$"):
        EvalSpec(fn, steps=0)
    with pytest.raises(TypeError, match="^`name` must be string, given: 3$"):
        EvalSpec(fn, name=3)
    with pytest.raises(ValueError, match="^Must specify start_delay_secs >= 0, given: -1$"):
        EvalSpec(fn, start_delay_secs=-1)
    with pytest.raises(ValueError, match="^Must specify throttle_secs >= 0, given: -1$"):
        EvalSpec(fn, throttle_secs=-1)
    with pytest.raises(TypeError, match="^`exporters` must be an Exporter, an iterable"):
        EvalSpec(fn, exporters=3)
    with pytest.raises(TypeError, match="^`exporters` must be an Exporter, an iterable"):
        EvalSpec(fn, exporters=[Exp(), None])
    with pytest.raises(ValueError, match="^`exporters` must have unique names"):
        EvalSpec(fn, exporters=[Exp(), Exp()])
    with pytest.raises(ValueError, match="^An Exporter cannot have a name that is `None`"):
        EvalSpec(fn, exporters=Exp(""))
    e = EvalSpec(fn, exporters=Exp())
    assert len(e.exporters) == 1 and e.steps == 100 and e.throttle_secs == 600


class FakeEstimator:
    """Calls saving listeners the way CheckpointSaverHook would: at 0, every 10, at the end."""

    def __init__(self, model_dir, final_step=25):
        self.config = RunConfig(save_checkpoints_steps=10)
        self.model_dir = model_dir
        self.final_step = final_step
        self.latest = None
        self.evaluations = []

    def latest_checkpoint(self):
        return self.latest

    def train(self, input_fn, max_steps=None, hooks=None, saving_listeners=None):
        last = min(self.final_step, max_steps or self.final_step)
        for listener in saving_listeners:
            listener.begin()
        saves = list(range(0, last, 10)) + [last]
        for step in saves:
            self.latest = f"{self.model_dir}/model.ckpt-{step}"
            for listener in saving_listeners:
                listener.after_save(None, step)
        for listener in saving_listeners:
            listener.end(None, last)
        return self

    def evaluate(self, input_fn, steps=None, name=None, checkpoint_path=None, hooks=None):
        step = int(checkpoint_path.rsplit("-", 1)[1])
        self.evaluations.append((step, steps, name))
        return {"loss": 1.0 / (step + 1), "global_step": step}


def test_train_and_evaluate_local(tmp_path, estcore_log):
    est = FakeEstimator(str(tmp_path))
    exp = Exp()
    fn = lambda: None  # noqa: E731
    metrics, exports = train_and_evaluate(est, TrainSpec(fn, max_steps=25),
                                          EvalSpec(fn, steps=3, name="v", exporters=exp,
                                                   throttle_secs=0))
    # the save at step 0 is skipped, then 10, 20 and the end (25)
    assert [s for s, _, _ in est.evaluations] == [10, 20, 25]
    assert est.evaluations[0][1:] == (3, "v")
    assert metrics == {"loss": 1 / 26, "global_step": 25}
    assert exports == [f"{tmp_path}/export/exp/1"]
    assert [c[3] for c in exp.calls] == [False, False, True]
    msgs = estcore_log()
    assert "Running training and evaluation locally (non-distributed)." in msgs
    assert ("Start train and evaluate loop. The evaluate will happen after every checkpoint. "
            "Checkpoint frequency is determined based on RunConfig arguments: "
            "save_checkpoints_steps 10 or save_checkpoints_secs None.") in msgs


def test_train_and_evaluate_throttle(tmp_path, estcore_log, monkeypatch):
    est = FakeEstimator(str(tmp_path))
    fn = lambda: None  # noqa: E731
    train_and_evaluate(est, TrainSpec(fn), EvalSpec(fn, throttle_secs=600))
    # 10 is evaluated, 20 is throttled, the final step 25 is evaluated at the end
    assert [s for s, _, _ in est.evaluations] == [10, 25]
    assert "Skip the current checkpoint eval due to throttle secs (600 secs)." in estcore_log()


def test_train_and_evaluate_type_checks(tmp_path, monkeypatch):
    fn = lambda: None  # noqa: E731
    est = FakeEstimator(str(tmp_path))
    with pytest.raises(TypeError, match="^`eval_spec` must have type `tf.estimator.EvalSpec`"):
        train_and_evaluate(est, TrainSpec(fn), 3)
    with pytest.raises(TypeError, match="^`estimator` must have type `tf.estimator.Estimator`"):
        train_and_evaluate(3, TrainSpec(fn), EvalSpec(fn))
    with pytest.raises(TypeError, match="^`train_spec` must have type"):
        train_and_evaluate(est, 3, EvalSpec(fn))
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["a:1"]}, "task": {"type": '
                                    '"evaluator", "index": 1}}')
    est.config = RunConfig()
    with pytest.raises(ValueError, match="there can only be one `evaluator` task"):
        train_and_evaluate(est, TrainSpec(fn), EvalSpec(fn))
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["a:1"], "ps": ["b:1"]}, '
                                    '"task": {"type": "ps", "index": 0}}')
    est.config = RunConfig()
    with pytest.raises(ValueError, match="Task type ps is not supported"):
        train_and_evaluate(est, TrainSpec(fn), EvalSpec(fn))


def test_missing_checkpoint_after_training(tmp_path):
    est = FakeEstimator(str(tmp_path))
    fn = lambda: None  # noqa: E731

    def no_ckpt():
        return None

    est.latest_checkpoint = no_ckpt
    with pytest.raises(RuntimeError, match="^There was no new checkpoint after the training. "
                                           "Eval status: missing checkpoint$"):
        train_and_evaluate(est, TrainSpec(fn), EvalSpec(fn, throttle_secs=0))
    assert training.TrainSpec is TrainSpec
