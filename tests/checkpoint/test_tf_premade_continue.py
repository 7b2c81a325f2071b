"""Continuing the training of TF's own premade model_dirs (slots named with part_0 / t_0).

TF 2.15's v1 ``DNNClassifier`` / ``LinearClassifier`` store each (single-partition)
variable under its own name but its optimizer slots as ``<var>/t_0/Adagrad`` and
``<var>/part_0/Ftrl``; estcore's ``<var>/Adagrad`` / ``<var>/Ftrl`` are restored from
those (estcore.checkpoint.tf_names). The model_dirs are PREMADE's fixtures
(tests/estimator/canned/fixtures/tf_model_dirs/); what TF computed continuing them is
fixtures/tf/premade_continue.json (tools/tf_fixtures/make_tf_premade_continue.py).
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint import tf_bundle
from estcore.checkpoint.format import read_checkpoint
from estcore.checkpoint.state import list_variables
from estcore.checkpoint.tf_names import partition_aliases
from estcore.errors import NotFoundError
from estcore.estimator import SessionRunHook, WarmStartSettings

from .premade_helpers import Losses, load_reference

HERE = pathlib.Path(__file__).parent
CANNED = HERE.parent / "estimator" / "canned"
TF_DIRS = CANNED / "fixtures" / "tf_model_dirs"
CONTINUED = json.loads((HERE / "fixtures" / "tf" / "premade_continue.json").read_text())


ref = load_reference("canned_tf_reference")



@pytest.mark.parametrize("name", sorted(CONTINUED["configs"]))
def test_continuing_a_tf_premade_model_dir_matches_tf_continuing_it(name, tmp_path):
    want = CONTINUED["configs"][name]
    model_dir = tmp_path / name
    shutil.copytree(TF_DIRS / name, model_dir)
    est = ref.make_estimator(name, model_dir)
    losses = Losses()
    est.train(ref.input_fn(name, None), steps=CONTINUED["continue_steps"], hooks=[losses])
    assert int(est.get_variable_value("global_step")) == (CONTINUED["start_step"]
                                                          + CONTINUED["continue_steps"])
    np.testing.assert_allclose(losses.losses, want["losses"], rtol=1e-5)
    slots = 0
    for tf_name, value in want["variables"].items():
        ours = ref.tf_slot_free_name(tf_name)
        slots += ours != tf_name
        np.testing.assert_allclose(est.get_variable_value(ours), np.asarray(value),
                                   rtol=1e-5, atol=1e-6, err_msg=tf_name)
    assert slots >= 6  # the slots did continue from TF's (not restarted from zero)


def test_the_single_partition_variable_itself_is_stored_whole():
    """Why evaluate() always worked: TF stores a slice covering the whole variable (one
    partition) as a plain tensor under the variable's full name; only the slots keep
    the partition part in their names."""
    for name in CONTINUED["configs"]:
        index = tf_bundle.read_index(str(TF_DIRS / name / "model.ckpt-5"))
        assert not any(e.sliced for e in index.entries.values())
        names = [n for n, _ in list_variables(str(TF_DIRS / name))]
        assert not any(n.endswith(("/part_0", "/t_0")) for n in names)
        assert any("/part_0/" in n or "/t_0/" in n for n in names)


def test_restore_maps_only_the_slots_and_lists_tfs_names():
    values, _ = read_checkpoint(str(TF_DIRS / "linear_categorical" / "model.ckpt-5"))
    name = "linear/linear_model/x/weights"
    assert f"{name}/Ftrl" in values and f"{name}/Ftrl_1" in values
    np.testing.assert_array_equal(values[f"{name}/Ftrl"], values[f"{name}/part_0/Ftrl"])
    assert f"{name}/Ftrl" not in set(values)  # iteration: TF's stored names only
    assert "linear/linear_model/x/Ftrl" not in values


def test_partition_aliases_rules():
    aliases, ambiguous = partition_aliases([
        "a", "a/part_0/Ftrl", "a/part_0/Ftrl_1",             # single partition: mapped
        "b", "b/t_0/Adagrad",                                  # DNN's t_0: mapped
        "c", "c/part_0/Adam", "c/part_1/Adam",                 # two partitions: not
        "d/part_0/Adam",                                       # no variable d: not
        "e", "e/Adam", "e/part_0/Adam",                        # e/Adam stored: itself
        "f", "f/part_0/M", "f/t_0/M",                          # two candidates: not
        "g", "g/part_0/scope/Momentum",                        # slot with a '/'
    ])
    assert aliases == {"a/Ftrl": "a/part_0/Ftrl", "a/Ftrl_1": "a/part_0/Ftrl_1",
                       "b/Adagrad": "b/t_0/Adagrad",
                       "g/scope/Momentum": "g/part_0/scope/Momentum"}
    assert ambiguous == {"c/Adam": ["c/part_0/Adam", "c/part_1/Adam"],
                         "f/M": ["f/part_0/M", "f/t_0/M"]}


def _bundle_model_dir(tmp_path, tensors: dict) -> str:
    prefix = str(tmp_path / "model.ckpt-3")
    tf_bundle.write_bundle(prefix, tensors)
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-3"\n')
    return prefix


def _momentum_model_fn(features, labels, mode):
    w = ec.get_variable("w", shape=[2], initializer=ec.zeros_initializer())
    loss = ec.reduce_sum(w * ec.reduce_sum(features))
    step = ec.train.get_global_step()
    train = ec.train.MomentumOptimizer(0.1, 0.9).minimize(loss, global_step=step)
    return ec.estimator.EstimatorSpec(mode, loss=loss, train_op=train)


def _input_fn():
    return ec.data.Dataset.from_tensor_slices(np.ones((4, 2), np.float32)).batch(2)


def test_a_two_partition_slot_is_not_guessed(tmp_path):
    _bundle_model_dir(tmp_path, {
        "global_step": np.int64(3), "w": np.ones(2, np.float32),
        "w/part_0/Momentum": np.ones(1, np.float32),
        "w/part_1/Momentum": np.ones(1, np.float32)})
    est = ec.estimator.Estimator(_momentum_model_fn, model_dir=str(tmp_path))
    with pytest.raises(NotFoundError, match=r"Key w/Momentum not found in checkpoint .*"
                                            r"w/part_0/Momentum, w/part_1/Momentum: a "
                                            r"variable with more than one partition"):
        est.train(_input_fn, steps=1)


def test_a_single_partition_slot_continues_in_a_custom_model(tmp_path):
    _bundle_model_dir(tmp_path, {
        "global_step": np.int64(3), "w": np.array([1.0, 2.0], np.float32),
        "w/part_0/Momentum": np.array([0.5, -0.5], np.float32)})
    est = ec.estimator.Estimator(_momentum_model_fn, model_dir=str(tmp_path))
    est.train(_input_fn, steps=1)
    # momentum' = 0.9 * m + grad, grad = 4 per element (the sum of a 2x2 batch of ones);
    # w' = w - 0.1 * momentum'
    np.testing.assert_allclose(est.get_variable_value("w/Momentum"), [4.45, 3.55], rtol=1e-6)
    np.testing.assert_allclose(est.get_variable_value("w"), [1.0 - 0.445, 2.0 - 0.355],
                               rtol=1e-6)
    assert int(est.get_variable_value("global_step")) == 4


def test_warm_start_reads_tfs_slot_names_too(tmp_path):
    name = "linear_categorical"
    settings = WarmStartSettings(str(TF_DIRS / name), vars_to_warm_start=[".*Ftrl.*"])
    est = ref.make_estimator(name, tmp_path / "new", warm_start_from=settings)
    seen = {}

    class _Read(SessionRunHook):
        def after_create_session(self, session, coord):
            var = [v for v in ec.global_variables()
                   if v.op.name == "linear/linear_model/h/weights/Ftrl"][0]
            seen["slot"] = session.run(var)

    est.train(ref.input_fn(name, None), steps=1, hooks=[_Read()])
    tf_values, _ = read_checkpoint(str(TF_DIRS / name / "model.ckpt-5"))
    np.testing.assert_array_equal(seen["slot"],
                                  tf_values["linear/linear_model/h/weights/part_0/Ftrl"])

