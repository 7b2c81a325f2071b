"""Every way of naming a model_dir finds its checkpoints again (TF stores state-file
paths relative to the directory): relative, absolute, ``~``, trailing slash, a symlink."""

from __future__ import annotations

import os

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.state import get_checkpoint_state
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys
from estcore.estimator.inputs import numpy_input_fn

_X = np.random.default_rng(0).random((40, 3)).astype(np.float32)
_Y = (_X[:, 0] > 0.5).astype(np.int32)


def _model_fn(features, labels, mode):
    logits = ec.layers.dense(features["x"], 2)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"classes": ec.argmax(logits, 1)})
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _input(epochs=1):
    return numpy_input_fn({"x": _X}, _Y, batch_size=10, num_epochs=epochs, shuffle=False)


def _path_forms(tmp_path, monkeypatch):
    """(model_dir as the user writes it, the real directory) for each form."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    return {
        "relative": ("runs/a", tmp_path / "runs" / "a"),
        "dot-relative": ("./runs/b", tmp_path / "runs" / "b"),
        "absolute": (str(tmp_path / "abs"), tmp_path / "abs"),
        "trailing-slash": ("runs/c/", tmp_path / "runs" / "c"),
        "symlink": ("link/m", tmp_path / "real" / "m"),
        "pathlike": (tmp_path / "p", tmp_path / "p"),
    }


@pytest.mark.parametrize("form", ["relative", "dot-relative", "absolute", "trailing-slash",
                                  "symlink", "pathlike"])
def test_model_dir_forms_resume_and_evaluate(tmp_path, monkeypatch, form):
    model_dir, real = _path_forms(tmp_path, monkeypatch)[form]
    est = Estimator(_model_fn, model_dir=model_dir)
    est.train(_input())
    assert est.latest_checkpoint() is not None
    assert os.path.isfile(os.fspath(est.latest_checkpoint()) + ".data")
    # the state file names the checkpoints relative to the directory, as TF does
    text = (real / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt-4"' in text
    # a second call resumes (global step continues) and evaluate finds the checkpoint
    est.train(_input())
    assert int(est.get_variable_value("global_step")) == 8
    metrics = est.evaluate(_input())
    assert metrics["global_step"] == 8
    # a new Estimator on the same directory, named another way, sees the same state
    again = Estimator(_model_fn, model_dir=str(real))
    assert again.latest_checkpoint().endswith("model.ckpt-8")


def test_tilde_model_dir(tmp_path, monkeypatch):
    """``~`` in model_dir: the state file's paths stay relative, so the directory is found
    again however it is named afterwards."""
    _path_forms(tmp_path, monkeypatch)
    est = Estimator(_model_fn, model_dir="~/models/m")
    est.train(_input())
    est.train(_input())
    assert int(est.get_variable_value("global_step")) == 8
    assert est.evaluate(_input())["global_step"] == 8


def test_state_paths_relative_for_relative_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    est = Estimator(_model_fn, model_dir="runs/x")
    est.train(_input())
    state = get_checkpoint_state("runs/x")
    assert state.model_checkpoint_path == os.path.join("runs/x", "model.ckpt-4")
    assert all(p.startswith("runs/x" + os.sep) for p in state.all_model_checkpoint_paths)
