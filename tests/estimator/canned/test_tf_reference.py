"""The premade estimators against TF 2.15's, configuration by configuration.

For every configuration of fixtures/tf_premade.json: the checkpoint's variable names,
the evaluation's metric keys, the prediction keys and dtypes, the export signatures and
their outputs, and the training summaries' tags equal TF's. Values: the linear and
baseline runs start from zeros, so training the same steps on the same batches must end
at TF's variables, metrics and predictions; the DNN and wide-and-deep models start from
random weights, so they are evaluated and asked for predictions with TF's trained
variables (written into an estcore checkpoint) and must give TF's results. Two of TF's own
model_dirs (fixtures/tf_model_dirs/) are evaluated and warm-started from as they are.
"""

from __future__ import annotations

import glob
import inspect
import os
import pathlib
import shutil

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

import estcore.estimator as est_lib
import estcore.saved_model
from estcore.checkpoint.saver import Saver
from estcore.estimator import RunConfig
from estcore.export.receivers import build_parsing_serving_input_receiver_fn
from estcore.graph import dtypes
from estcore.io import FixedLenFeature
from estcore.train import GradientDescentOptimizer

from .tf_reference import FIXTURE, ZERO_INIT, input_fn, make_estimator, tf_slot_free_name

CONFIGS = sorted(FIXTURE["configs"])
STEPS = FIXTURE["steps"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name -> (estimator trained STEPS steps, its evaluation, its first predictions)."""
    cache: dict = {}

    def get(name):
        if name not in cache:
            model_dir = tmp_path_factory.mktemp(name)
            est = make_estimator(name, model_dir, config=RunConfig(save_summary_steps=1))
            est.train(input_fn(name, None), steps=STEPS)
            metrics = est.evaluate(input_fn(name, 1))
            preds = list(est.predict(input_fn(name, 1, labels=False)))[:4]
            cache[name] = (est, metrics, preds)
        return cache[name]

    return get


@pytest.mark.parametrize("name", CONFIGS)
def test_variable_names_are_tfs(name, trained):
    est, _, _ = trained(name)
    tf_names = sorted(tf_slot_free_name(n) for n in FIXTURE["configs"][name]["variable_names"])
    assert est.get_variable_names() == tf_names


@pytest.mark.parametrize("name", CONFIGS)
def test_metric_and_prediction_keys_are_tfs(name, trained):
    _, metrics, preds = trained(name)
    cfg = FIXTURE["configs"][name]
    assert sorted(metrics) == sorted(cfg["metrics"])
    assert {k: np.asarray(v).dtype.name for k, v in preds[0].items()} == cfg["prediction_dtypes"]
    for key, value in preds[0].items():
        assert np.shape(value) == np.shape(cfg["predictions"][0][key]), key


@pytest.mark.parametrize("name", CONFIGS)
def test_summary_tags_are_tfs(name, trained):
    est, _, _ = trained(name)
    acc = ea.EventAccumulator(est.model_dir, size_guidance={ea.HISTOGRAMS: 0, ea.SCALARS: 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"]) | set(acc.Tags()["histograms"])
    tags.discard("global_step/sec")
    assert sorted(tags) == FIXTURE["configs"][name]["summary_tags"]


@pytest.mark.parametrize("name", ["dnn_binary", "dnn_multi_vocab", "linear_regressor_2d",
                                  "baseline_multi"])
def test_export_signatures_are_tfs(name, trained, tmp_path):
    est, _, _ = trained(name)
    spec = {"x": FixedLenFeature([3], dtypes.float32), "z": FixedLenFeature([1], dtypes.float32),
            "w": FixedLenFeature([1], dtypes.float32)}
    path = est.export_saved_model(str(tmp_path), build_parsing_serving_input_receiver_fn(spec))
    predictor = estcore.saved_model.load(path)
    got = {k: sorted(s.outputs) for k, s in predictor.signatures.items()}
    assert got == FIXTURE["configs"][name]["signatures"]


def _close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=2e-4, atol=2e-5,
                               err_msg=what)


def _check_results(name, metrics, preds):
    cfg = FIXTURE["configs"][name]
    for key, value in cfg["metrics"].items():
        _close(metrics[key], value, f"{name}: metric {key}")
    for got, want in zip(preds, cfg["predictions"], strict=True):
        for key, value in want.items():
            if isinstance(value[0], str):
                assert [v.decode() for v in np.asarray(got[key]).reshape(-1)] == value, key
            else:
                _close(got[key], value, f"{name}: prediction {key}")


@pytest.mark.parametrize("name", ZERO_INIT)
def test_zero_initialised_training_ends_where_tfs_does(name, trained):
    est, metrics, preds = trained(name)
    for var, value in FIXTURE["configs"][name]["variables"].items():
        _close(est.get_variable_value(var), value, f"{name}: variable {var}")
    _check_results(name, metrics, preds)


@pytest.mark.parametrize("name", sorted(set(CONFIGS) - set(ZERO_INIT)))
def test_with_tfs_weights_evaluation_and_predictions_are_tfs(name, tmp_path):
    cfg = FIXTURE["configs"][name]
    values = {k: np.asarray(v, dtype=np.int64 if k == "global_step" else np.float32)
              for k, v in cfg["variables"].items()}
    Saver().save(values, os.path.join(tmp_path, "model.ckpt"), global_step=STEPS)
    est = make_estimator(name, tmp_path)
    metrics = est.evaluate(input_fn(name, 1))
    preds = list(est.predict(input_fn(name, 1, labels=False)))[:4]
    _check_results(name, metrics, preds)
    assert glob.glob(os.path.join(tmp_path, "eval", "events.*"))


@pytest.mark.parametrize("cls", sorted(FIXTURE["constructors"]))
def test_constructor_arguments_and_defaults_are_tf_1_15s(cls):
    params = inspect.signature(getattr(est_lib, cls).__init__).parameters
    got = [[p.name, None if p.default is p.empty else
            (p.default.__name__ if callable(p.default) else p.default)]
           for p in params.values() if p.name != "self"]
    assert got == FIXTURE["constructors"][cls]


TF_DIRS = pathlib.Path(__file__).parent / "fixtures" / "tf_model_dirs"


@pytest.mark.parametrize("name", ["dnn_binary", "linear_categorical"])
def test_evaluate_and_predict_from_tfs_own_model_dir(name, tmp_path):
    model_dir = tmp_path / "tf"
    shutil.copytree(TF_DIRS / name, model_dir)
    est = make_estimator(name, model_dir)
    metrics = est.evaluate(input_fn(name, 1))
    preds = list(est.predict(input_fn(name, 1, labels=False)))[:4]
    _check_results(name, metrics, preds)


@pytest.mark.parametrize("name", ["dnn_binary", "linear_categorical"])
def test_warm_start_from_tfs_own_model_dir(name, tmp_path):
    est = make_estimator(name, tmp_path / "new", warm_start_from=str(TF_DIRS / name),
                         optimizer=GradientDescentOptimizer(0.0))
    est.train(input_fn(name, None), steps=1)
    for var, value in FIXTURE["configs"][name]["variables"].items():
        if var != "global_step":
            np.testing.assert_array_equal(est.get_variable_value(var),
                                          np.asarray(value, np.float32), err_msg=var)
