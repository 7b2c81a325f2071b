"""Continuing TF's premade model_dirs trained with Adam (``beta1_power`` / ``beta2_power``).

TF 1.15 creates Adam's accumulators in the name scope in effect when the optimizer makes
its slots: ``dnn/head/beta1_power`` (DNN), ``linear/head/beta1_power`` (linear),
``head/beta1_power`` and ``head/beta1_power_1`` (wide-and-deep: the DNN optimizer's, then
the linear one's). The model_dirs and what TF computed continuing them are
fixtures/tf/premade_adam/ and premade_adam.json
(tools/tf_fixtures/make_tf_premade_adam.py).
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.state import list_variables

from .premade_helpers import Losses, load_reference

HERE = pathlib.Path(__file__).parent
TF_DIRS = HERE / "fixtures" / "tf" / "premade_adam"
FIXTURE = json.loads((HERE / "fixtures" / "tf" / "premade_adam.json").read_text())


ref = load_reference("canned_tf_reference_adam")



def _estimator(cfg: dict, model_dir):
    kwargs = {k: ([ref.column(c) for c in v] if k in ref.COLUMN_KEYS else v)
              for k, v in cfg["kwargs"].items()}
    for arg, adam in cfg["optimizers"].items():
        kwargs[arg] = ec.train.AdamOptimizer(**adam)
    return getattr(ec.estimator, cfg["class"])(model_dir=str(model_dir), **kwargs)


def _input_fn(cfg: dict):
    d = ref.data()
    return ec.estimator.inputs.numpy_input_fn(
        {k: d[k] for k in ("x", "z", "w", "c", "h")}, d[cfg["label"]],
        batch_size=ref.FIXTURE["batch_size"], num_epochs=None, shuffle=False)


@pytest.mark.parametrize("name", sorted(FIXTURE["configs"]))
def test_continuing_a_tf_model_dir_trained_with_adam_matches_tf(name, tmp_path):
    cfg = FIXTURE["configs"][name]
    model_dir = tmp_path / name
    shutil.copytree(TF_DIRS / name, model_dir)
    est = _estimator(cfg, model_dir)
    losses = Losses()
    est.train(_input_fn(cfg), steps=FIXTURE["continue_steps"], hooks=[losses])
    assert int(est.get_variable_value("global_step")) == (FIXTURE["start_step"]
                                                          + FIXTURE["continue_steps"])
    np.testing.assert_allclose(losses.losses, cfg["losses"], rtol=1e-5)
    for tf_name, value in cfg["variables"].items():
        np.testing.assert_allclose(est.get_variable_value(ref.tf_slot_free_name(tf_name)),
                                   np.asarray(value), rtol=1e-5, atol=1e-6, err_msg=tf_name)


@pytest.mark.parametrize("name", sorted(FIXTURE["configs"]))
def test_a_fresh_model_dir_names_adams_accumulators_as_tf(name, tmp_path):
    cfg = FIXTURE["configs"][name]
    est = _estimator(cfg, tmp_path)
    est.train(_input_fn(cfg), steps=1)
    ours = {n for n, _ in list_variables(str(tmp_path))}
    want = {ref.tf_slot_free_name(n) for n in cfg["variable_names"]}
    assert ours == want
    powers = sorted(n for n in ours if "power" in n)
    assert powers == {
        "dnn_adam": ["dnn/head/beta1_power", "dnn/head/beta2_power"],
        "linear_adam": ["linear/head/beta1_power", "linear/head/beta2_power"],
        "combined_adam": ["head/beta1_power", "head/beta1_power_1", "head/beta2_power",
                          "head/beta2_power_1"]}[name]


def test_the_wide_and_deep_accumulators_belong_to_the_dnn_then_the_linear_optimizer(
        tmp_path):
    cfg = FIXTURE["configs"]["combined_adam"]
    est = _estimator(cfg, tmp_path)
    est.train(_input_fn(cfg), steps=2)
    beta1 = {k: v["beta1"] for k, v in cfg["optimizers"].items()}
    np.testing.assert_allclose(est.get_variable_value("head/beta1_power"),
                               beta1["dnn_optimizer"] ** 3, rtol=1e-6)
    np.testing.assert_allclose(est.get_variable_value("head/beta1_power_1"),
                               beta1["linear_optimizer"] ** 3, rtol=1e-6)
