"""The README's main job: the CNN tutorial through the Estimator reaches >= 97% on digits."""

import importlib.util
import os
import pathlib

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "cnn_digits_estimator.py"


def test_cnn_digits_estimator_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("cnn_digits_estimator", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(str(tmp_path))
    out = capsys.readouterr().out
    assert accuracy >= 0.97
    assert "Test accuracy:" in out and "TensorBoard logs: tensorboard --logdir" in out
    assert out.count("predicted") == 5
    assert any(f.startswith("events.out.tfevents.") for f in os.listdir(tmp_path))
    assert os.listdir(tmp_path / "eval")
