"""The TF1 program corpus (tests/compat/programs/): each is a TF 1.x Estimator or
session program written as the TF 1.x guides' readers wrote them, with only
``import estcore.compat.v1 as tf``; each runs in its own process and its printed metrics
are checked.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

PROGRAMS = pathlib.Path(__file__).parent / "programs"


def run_program(name: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(PROGRAMS / name), *args], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_each_program_imports_estcore_only_as_tf():
    names = sorted(p.name for p in PROGRAMS.glob("*.py"))
    assert len(names) == 9
    for name in names:
        imports = re.findall(r"^\s*(?:import|from)\s+(estcore\S*)(.*)$",
                             (PROGRAMS / name).read_text(), flags=re.M)
        assert imports == [("estcore.compat.v1", " as tf")], name


@pytest.mark.slow
def test_cnn_mnist_tutorial_on_digits(tmp_path):
    res = run_program("cnn_mnist_digits.py", f"--model_dir={tmp_path}")
    assert res["accuracy"] >= 0.95 and res["global_step"] == 5 * 1437 // 50


def test_custom_estimator_mlp(tmp_path):
    res = run_program("mlp_digits_custom.py", f"--model_dir={tmp_path}")
    assert res["accuracy"] >= 0.9 and res["global_step"] == 600
    assert 0 <= res["predicted_first"] <= 9


def test_custom_regression_with_get_variable_and_float64_labels(tmp_path):
    res = run_program("regression_custom.py", f"--model_dir={tmp_path}")
    assert res["rmse"] < 0.9 and res["global_step"] == 800   # standardised target: 1.0


def test_raw_session_program_with_hand_made_global_step(tmp_path):
    res = run_program("raw_session_global_step.py", str(tmp_path))
    assert res["accuracy"] >= 0.95
    assert res["global_step"] == 300 and res["steps_run"] == 300
    assert res["checkpoints"] == 2       # Saver(max_to_keep=2) through the Scaffold


def test_towers_share_variables_under_reuse(tmp_path):
    res = run_program("towers_reuse.py", str(tmp_path))
    assert res["n_model_variables"] == 6      # conv + two dense, kernel and bias, once
    assert res["accuracy"] >= 0.9


def test_batch_norm_update_ops_three_ways_train_alike(tmp_path):
    results = [run_program("batchnorm_update_ops.py", f"--model_dir={tmp_path / style}",
                           f"--style={style}")
               for style in ("deps", "create_train_op", "optimize_loss")]
    for res in results:
        assert res["accuracy"] >= 0.88 and res["global_step"] == 300
        assert res["moving_mean_abs"] > 1.0     # the moving averages were updated
    assert results[0] == results[1] == results[2]


def test_csv_estimator_with_contrib_layers_and_warm_start(tmp_path):
    res = run_program("csv_contrib_warm_start.py", f"--model_dir={tmp_path}")
    assert res["accuracy"] >= 0.95 and res["global_step"] == 300
    # learning rate 0 after warm-starting every layer: the same model, evaluated again
    assert res["warm_global_step"] == 1 and res["warm_accuracy"] == res["accuracy"]
    assert res["variables"] == ["BatchNorm/beta", "BatchNorm/gamma", "BatchNorm/moving_mean",
                                "BatchNorm/moving_variance", "fully_connected/biases",
                                "fully_connected/weights", "global_step", "logits/biases",
                                "logits/weights"]


def test_contrib_learn_style_constants_sparse_strings_and_a_str_label(tmp_path):
    """TF 2.15 on the same program: linear 0.96, DNN 0.96 (AUC 0.997), label mean 0.63,
    the five predictions [0, 1, 1, 1, 0]."""
    res = run_program("contrib_learn_constants.py", f"--model_dir={tmp_path}")
    assert res["label_mean"] == pytest.approx(0.63)  # tf.equal(labels, ">50K") works
    assert res["linear_accuracy"] >= 0.9 and res["dnn_accuracy"] >= 0.9
    assert res["dnn_auc"] >= 0.95 and res["global_step"] == 200
    assert res["predicted"] == res["true"]


def test_word2vec_nce_with_summary_logging(tmp_path):
    """TF 2.15 on the same program: average loss 9.4 -> 2.5; the nearest words of king,
    cat and car in their own topics but one."""
    res = run_program("word2vec_nce_summaries.py", str(tmp_path))
    assert res["last_loss"] < res["first_loss"] / 2
    assert res["same_topic"] >= 6  # of 9 nearest words
    from estcore.summary import event_files, iter_events

    events = [e for f in event_files(str(tmp_path)) for e in iter_events(f)]
    assert sum(1 for e in events if e.graph_def) == 1  # FileWriter(logdir, graph)
    tags = {(e.step, v.tag) for e in events for v in (e.summary or [])}
    assert (3000, "nce_loss_1") in tags and (3000, "average_loss") in tags
