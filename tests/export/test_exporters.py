"""LatestExporter / BestExporter / FinalExporter, alone and through train_and_evaluate."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

import estcore.saved_model as sm
from estcore.estimator import (
    BestExporter,
    Estimator,
    EvalSpec,
    Exporter,
    FinalExporter,
    LatestExporter,
    RunConfig,
    TrainSpec,
    train_and_evaluate,
)
from estcore.estimator.inputs import numpy_input_fn


def _numeric_dirs(path):
    return sorted(d for d in os.listdir(path) if d.isdigit())


@pytest.mark.smoke
def test_validation():
    with pytest.raises(ValueError, match="`exports_to_keep`, if provided, must be a positive "
                                         "number. Got 0"):
        LatestExporter("x", lambda: None, exports_to_keep=0)
    with pytest.raises(ValueError, match="must include best_eval_result"):
        BestExporter(serving_input_receiver_fn=lambda: None,
                     compare_fn=lambda current_eval_result: True)
    with pytest.raises(ValueError, match="has following not expected args"):
        BestExporter(serving_input_receiver_fn=lambda: None,
                     compare_fn=lambda best_eval_result, current_eval_result, other: True)
    with pytest.raises(ValueError, match="`compare_fn` must not be None"):
        BestExporter(compare_fn=None)
    assert isinstance(FinalExporter("f", lambda: None), Exporter)
    assert BestExporter().name == "best_exporter"


def test_latest_exporter_keeps_newest(trained, models, tmp_path, monkeypatch):
    from estcore.export import writer

    clock = iter(range(1700000000, 1700000100))
    monkeypatch.setattr(writer.time, "time", lambda: float(next(clock)))
    est = trained("mlp")
    exporter = LatestExporter("latest", models.serving_fn(), exports_to_keep=2)
    base = str(tmp_path / "export" / "latest")
    os.makedirs(os.path.join(base, "not_an_export"))
    results = [exporter.export(est, base, est.latest_checkpoint(), {}, False) for _ in range(4)]
    assert _numeric_dirs(base) == ["1700000002", "1700000003"]
    assert os.path.isdir(os.path.join(base, "not_an_export"))
    assert results[-1] == os.fsencode(os.path.join(base, "1700000003"))
    keep_all = LatestExporter("latest", models.serving_fn(), exports_to_keep=None)
    keep_all.export(est, base, est.latest_checkpoint(), {}, False)
    assert len(_numeric_dirs(base)) == 3


def test_final_exporter_only_at_the_end(trained, models, tmp_path, caplog):
    est = trained("mlp")
    exporter = FinalExporter("final", models.serving_fn())
    base = str(tmp_path / "final")
    assert exporter.export(est, base, est.latest_checkpoint(), {}, False) is None
    assert not os.path.exists(base)
    with caplog.at_level(logging.INFO, logger="estcore"):
        path = exporter.export(est, base, est.latest_checkpoint(), {}, True)
    assert "Performing the final export in the end of training." in caplog.text
    assert os.path.isdir(path)


def test_best_exporter_first_call_exports_then_compares(trained, models, tmp_path,
                                                        monkeypatch):
    from estcore.export import writer

    clock = iter(range(1700000000, 1700000100))
    monkeypatch.setattr(writer.time, "time", lambda: float(next(clock)))
    est = trained("mlp")
    base = str(tmp_path / "best")
    exporter = BestExporter(serving_input_receiver_fn=models.serving_fn(), exports_to_keep=5)
    ckpt = est.latest_checkpoint()
    assert exporter.export(est, base, ckpt, {"loss": 1.0}, False) is not None
    assert exporter.export(est, base, ckpt, {"loss": 2.0}, False) is None
    assert exporter.export(est, base, ckpt, {"loss": 1.0}, False) is None  # not strictly less
    assert exporter.export(est, base, ckpt, {"loss": 0.5}, False) is not None
    assert len(_numeric_dirs(base)) == 2
    with pytest.raises(ValueError, match="no loss is found"):
        exporter.export(est, base, ckpt, {"accuracy": 1.0}, False)


def test_best_exporter_recovers_best_from_event_files(trained, models, tmp_path):
    est = trained("mlp")
    x, y = models.data()
    est.evaluate(numpy_input_fn({"x": x}, y, batch_size=32, shuffle=False))
    best_loss = float(est.evaluate(numpy_input_fn({"x": x}, y, batch_size=32,
                                                  shuffle=False))["loss"])
    exporter = BestExporter(serving_input_receiver_fn=models.serving_fn())
    base = str(tmp_path / "best")
    ckpt = est.latest_checkpoint()
    # first call always exports, even when worse than the recovered best
    assert exporter.export(est, base, ckpt, {"loss": best_loss + 1}, False) is not None
    # afterwards the recovered best (from eval/ event files) is the reference
    assert exporter.export(est, base, ckpt, {"loss": best_loss + 0.5}, False) is None
    assert exporter.export(est, base, ckpt, {"loss": best_loss - 0.01}, False) is not None


def test_train_and_evaluate_calls_exporters(tmp_path, models):
    x, y = models.data()
    est = Estimator(models.mlp_model_fn, str(tmp_path / "m"),
                    RunConfig(tf_random_seed=1, save_checkpoints_steps=3,
                              log_step_count_steps=None, save_summary_steps=None),
                    params={"hidden": (8,)})
    exporters = [LatestExporter("latest", models.serving_fn(), exports_to_keep=1),
                 BestExporter(serving_input_receiver_fn=models.serving_fn()),
                 FinalExporter("final", models.serving_fn())]
    train_spec = TrainSpec(lambda: numpy_input_fn({"x": x}, y, batch_size=32,
                                                  num_epochs=None, shuffle=True)(),
                           max_steps=6)
    eval_spec = EvalSpec(numpy_input_fn({"x": x}, y, batch_size=32, shuffle=False),
                         steps=None, exporters=exporters, throttle_secs=0)
    metrics, results = train_and_evaluate(est, train_spec, eval_spec)
    assert metrics["global_step"] == 6
    assert len(results) == 3 and all(r is not None for r in results)
    export_root = os.path.join(est.model_dir, "export")
    assert sorted(os.listdir(export_root)) == ["best_exporter", "final", "latest"]
    assert len(_numeric_dirs(os.path.join(export_root, "latest"))) == 1
    assert len(_numeric_dirs(os.path.join(export_root, "final"))) == 1
    pred = sm.load(results[2])
    ref = models.predict_all(est, x)
    np.testing.assert_array_equal(pred({"x": x})["probabilities"], ref["probabilities"])


@pytest.mark.smoke
def test_exporter_interface_lives_in_export_and_eval_spec_checks_the_protocol():
    import estcore.export
    from estcore.export.exporters import Exporter as BaseExporter

    assert Exporter is BaseExporter is estcore.export.Exporter
    assert issubclass(LatestExporter, Exporter)

    class Duck:  # TF's interface without the base class: a name and an export method
        name = "duck"

        def export(self, estimator, export_path, checkpoint_path, eval_result,
                   is_the_final_export):
            return None

    assert EvalSpec(lambda: None, exporters=Duck()).exporters[0].name == "duck"
    with pytest.raises(TypeError, match="^`exporters` must be an Exporter, an iterable"):
        EvalSpec(lambda: None, exporters=[object()])
