"""A TF model_dir in the Estimator, and an estcore model_dir in TF's format, end to end.

The TF side of each comparison was run by TF 2.15 and recorded in the fixtures
(tools/tf_fixtures/): the losses of TF continuing from its own checkpoint, and of TF
continuing from estcore's TF-format model_dir. estcore runs the same model
(tests/checkpoint/tf_models.py) from the same checkpoint on the same batches here.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.checkpoint.format import read_checkpoint, read_header_unverified
from estcore.errors import InvalidArgumentError, NotFoundError
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig, WarmStartSettings
from estcore.estimator.export import build_raw_serving_input_receiver_fn
from estcore.estimator.inputs import numpy_input_fn
from estcore.saved_model import load

from . import tf_models as tm

QUIET = dict(save_summary_steps=None, log_step_count_steps=None)


def _copy(name: str, tmp_path) -> str:
    model_dir = str(tmp_path / name)
    shutil.copytree(tm.FIXTURES / name, model_dir)
    return model_dir


@pytest.mark.parametrize("name", ["mlp_adam", "cnn"])
def test_estimator_continues_tf_checkpoint_with_tfs_losses(tmp_path, name):
    record, arrays = tm.load_record(name)
    model_dir = _copy(name, tmp_path)
    tm.LOSSES.clear()
    est = Estimator(tm.MODEL_FNS[name], model_dir=model_dir, config=RunConfig(**QUIET))
    assert est.latest_checkpoint() == os.path.join(model_dir, f"model.ckpt-{record['start_step']}")
    est.train(tm.ordered_input_fn(arrays, record["batch_size"]), steps=len(record["losses"]))
    np.testing.assert_allclose(tm.LOSSES, record["losses"], rtol=1e-5, atol=1e-6)
    assert est.get_variable_value("global_step") == record["final_step"]
    for key, want in arrays.items():
        if key.startswith("final/"):
            np.testing.assert_allclose(est.get_variable_value(key[6:]), want, rtol=1e-5,
                                       atol=1e-6, err_msg=key)
    # Adam's slots and accumulators were restored, not re-initialised: beta1_power
    # is 0.9 ** steps (TF's checkpoint held 0.9 ** start_step)
    np.testing.assert_allclose(est.get_variable_value("beta1_power"),
                               0.9 ** (record["final_step"] + 1), rtol=1e-6)


def test_tf_and_estcore_continue_an_estcore_tf_format_model_dir_alike(tmp_path):
    """TF 2.15's Estimator continued estcore_written/mlp_adam (written by estcore with
    checkpoint_format="tf"); estcore continuing it takes the same steps."""
    seen_by_tf = json.loads((tm.FIXTURES / "estcore_written.json").read_text())["mlp_adam"]
    _, arrays = tm.load_record("mlp_adam")
    model_dir = str(tmp_path / "m")
    shutil.copytree(tm.FIXTURES / "estcore_written" / "mlp_adam", model_dir)
    tm.LOSSES.clear()
    est = Estimator(tm.mlp_model_fn, model_dir=model_dir, config=RunConfig(**QUIET))
    est.train(tm.ordered_input_fn(arrays, 16), steps=len(seen_by_tf["losses"]))
    np.testing.assert_allclose(tm.LOSSES, seen_by_tf["losses"], rtol=1e-5, atol=1e-6)
    assert est.get_variable_value("global_step") == seen_by_tf["final_step"]
    with np.load(tm.FIXTURES / "estcore_written.npz", allow_pickle=False) as final:
        for key in final.files:
            np.testing.assert_allclose(est.get_variable_value(key[6:]), final[key],
                                       rtol=1e-5, atol=1e-6, err_msg=key)


def test_checkpoint_format_tf_writes_tf_files_and_resumes_from_them(tmp_path):
    _, arrays = tm.load_record("mlp_adam")
    config = RunConfig(tf_random_seed=3, checkpoint_format="tf", save_checkpoints_steps=3,
                       checkpoint_save_graph_def=False, **QUIET)
    est = Estimator(tm.mlp_model_fn, model_dir=str(tmp_path), config=config)
    est.train(tm.ordered_input_fn(arrays, 16), steps=4)
    names = sorted(n for n in os.listdir(tmp_path) if not n.startswith("events"))
    assert names == ["checkpoint"] + [f"model.ckpt-{s}.{ext}" for s in (0, 3, 4)
                                      for ext in ("data-00000-of-00001", "index")]
    header = read_header_unverified(str(tmp_path / "model.ckpt-4"))
    assert header["format"] == "tf"
    assert header["meta"]["train_call"]["complete"] is True
    kernel = est.get_variable_value("dense/kernel")
    est.train(tm.ordered_input_fn(arrays, 16), steps=2)
    assert est.get_variable_value("global_step") == 6
    assert not np.array_equal(est.get_variable_value("dense/kernel"), kernel)
    assert not any(n.endswith(".data") for n in os.listdir(tmp_path))


def _mlp_all_modes(features, labels, mode):
    h = ec.layers.dense(features["x"], 8, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"logits": logits})
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    return EstimatorSpec(mode, loss=loss, train_op=ec.no_op())


def _numpy_mlp(values: dict, x: np.ndarray) -> np.ndarray:
    h = np.maximum(x @ values["dense/kernel"] + values["dense/bias"], 0)
    return h @ values["dense_1/kernel"] + values["dense_1/bias"]


def test_evaluate_and_predict_from_a_tf_checkpoint_path(tmp_path):
    _, arrays = tm.load_record("mlp_adam")
    prefix = str(tm.FIXTURES / "mlp_adam" / "model.ckpt-6")
    values, _ = read_checkpoint(prefix)
    logits = _numpy_mlp(values, arrays["x"].astype(np.float64))
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    want_loss = -logp[np.arange(len(logp)), arrays["y"]].mean()
    est = Estimator(_mlp_all_modes, model_dir=str(tmp_path), config=RunConfig(**QUIET))
    result = est.evaluate(numpy_input_fn({"x": arrays["x"]}, arrays["y"], batch_size=64,
                                         num_epochs=1, shuffle=False), checkpoint_path=prefix)
    assert result["global_step"] == 6
    np.testing.assert_allclose(result["loss"], want_loss, rtol=1e-5)
    got = [p["logits"] for p in est.predict(
        numpy_input_fn({"x": arrays["x"][:5]}, batch_size=5, num_epochs=1, shuffle=False),
        checkpoint_path=prefix)]
    np.testing.assert_allclose(np.stack(got), logits[:5], rtol=1e-5, atol=1e-6)


def _renamed_model_fn(features, labels, mode):
    with ec.variable_scope("encoder"):
        h = ec.layers.dense(features["x"], 8, activation=ec.nn.relu, name="hidden")
    logits = ec.layers.dense(h, 3, name="out")
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(0.05).minimize(loss,
                                                     global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_warm_start_from_a_tf_model_dir_with_renamed_variables(tmp_path):
    _, arrays = tm.load_record("mlp_adam")
    source = str(tm.FIXTURES / "mlp_adam")
    tf_values, _ = read_checkpoint(os.path.join(source, "model.ckpt-6"))
    rename = {"encoder/hidden/kernel": "dense/kernel", "encoder/hidden/bias": "dense/bias",
              "out/kernel": "dense_1/kernel", "out/bias": "dense_1/bias"}
    settings = WarmStartSettings(source, vars_to_warm_start=".*",
                                 var_name_to_prev_var_name=rename)
    est = Estimator(_renamed_model_fn, model_dir=str(tmp_path), warm_start_from=settings,
                    config=RunConfig(**QUIET))
    est.train(tm.ordered_input_fn(arrays, 16), steps=1)
    # one Adam step from TF's weights: close to them, not equal
    for new, old in rename.items():
        value = est.get_variable_value(new)
        assert value.shape == tf_values[old].shape
        assert 0 < np.abs(value - tf_values[old]).max() < 0.06, new
    assert est.get_variable_value("global_step") == 1  # warm start: a fresh step count


def test_warm_start_from_a_tf_checkpoint_prefix_reads_only_what_it_selects(tmp_path):
    """The unsupported fixture holds string, complex, bfloat16 and partitioned variables;
    warm-starting just ``weights`` from it works."""

    def model_fn(features, labels, mode):
        w = ec.get_variable("weights", shape=[3], initializer=ec.zeros_initializer())
        loss = ec.reduce_sum(features["x"] * w)
        train_op = ec.train.GradientDescentOptimizer(0.0).minimize(
            loss, global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    prefix = str(tm.FIXTURES / "unsupported" / "model.ckpt-3")
    est = Estimator(model_fn, model_dir=str(tmp_path), config=RunConfig(**QUIET),
                    warm_start_from=WarmStartSettings(prefix, vars_to_warm_start=["weights"]))
    est.train(numpy_input_fn({"x": np.ones((2, 3), np.float32)}, batch_size=2,
                             num_epochs=1, shuffle=False))
    record = json.loads((tm.FIXTURES / "unsupported.json").read_text())["variables"]
    assert est.get_variable_value("weights").tobytes().hex() == record["weights"]["hex"]


def _with_extra_variable(features, labels, mode):
    extra = ec.get_variable("extra/w", shape=[2], initializer=ec.zeros_initializer())
    spec = tm.mlp_model_fn(features, labels, mode)
    return spec._replace(loss=spec.loss + ec.reduce_sum(extra))


def test_a_graph_variable_missing_from_the_tf_checkpoint_is_reported_as_tf_does(tmp_path):
    _, arrays = tm.load_record("mlp_adam")
    model_dir = _copy("mlp_adam", tmp_path)
    est = Estimator(_with_extra_variable, model_dir=model_dir, config=RunConfig(**QUIET))
    with pytest.raises(NotFoundError, match="(?s)Restoring from checkpoint failed.*"
                                            "Key extra/w not found in checkpoint"):
        est.train(tm.ordered_input_fn(arrays, 16), steps=1)
    warm = Estimator(_with_extra_variable, model_dir=str(tmp_path / "w"),
                     config=RunConfig(**QUIET),
                     warm_start_from=WarmStartSettings(str(tm.FIXTURES / "mlp_adam")))
    with pytest.raises(ValueError, match="^Tensor extra/w is not found in .*mlp_adam "
                                         "checkpoint {.*'dense/kernel': \\[4, 8\\]"):
        warm.train(tm.ordered_input_fn(arrays, 16), steps=1)


def test_extra_tf_variables_not_in_the_graph_are_ignored_as_tf_does(tmp_path):
    """Restoring needs every graph variable; the checkpoint may hold more (TF's Saver
    restores by the graph's names)."""

    def model_fn(features, labels, mode):
        h = ec.layers.dense(features["x"], 8, activation=ec.nn.relu)
        loss = ec.reduce_mean(h)
        step = ec.train.get_global_step()
        return EstimatorSpec(mode, loss=loss, train_op=ec.assign_add(step, 1))

    _, arrays = tm.load_record("mlp_adam")
    model_dir = _copy("mlp_adam", tmp_path)
    est = Estimator(model_fn, model_dir=model_dir, config=RunConfig(**QUIET))
    est.train(tm.ordered_input_fn(arrays, 16), steps=1)
    assert est.get_variable_value("global_step") == 7


def test_init_from_checkpoint_reads_a_tf_model_dir():
    source = str(tm.FIXTURES / "mlp_adam")
    tf_values, _ = read_checkpoint(os.path.join(source, "model.ckpt-6"))
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.dense(x, 8, name="dense")
        tf.layers.dense(h, 3, name="dense_1")
        tf.train.init_from_checkpoint(source, {"dense/": "dense/", "dense_1/": "dense_1/"})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for name in ("dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"):
                var = next(v for v in tf.global_variables() if v.op.name == name)
                np.testing.assert_array_equal(sess.run(var), tf_values[name])


def test_init_from_checkpoint_names_an_unreadable_tf_variable():
    graph = tf.Graph()
    with graph.as_default():
        tf.get_variable("vocab_copy", shape=[2])
        with pytest.raises(InvalidArgumentError, match="'vocab'.*dtype string"):
            tf.train.init_from_checkpoint(str(tm.FIXTURES / "unsupported"),
                                          {"vocab": "vocab_copy"})


def test_tf_sharded_checkpoint_restores_through_compat_saver():
    prefix = str(tm.FIXTURES / "sharded" / "model.ckpt-3")
    record = json.loads((tm.FIXTURES / "sharded.json").read_text())["variables"]
    graph = tf.Graph()
    with graph.as_default():
        variables = {name: tf.get_variable(name, shape=meta["shape"],
                                           dtype=getattr(tf, meta["dtype"]))
                     for name, meta in record.items()}
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            for name, var in variables.items():
                value = np.asarray(sess.run(var))
                assert value.astype(value.dtype.newbyteorder("<")).tobytes().hex() == \
                    record[name]["hex"], name


def test_export_saved_model_from_a_tf_model_dir(tmp_path):
    _, arrays = tm.load_record("mlp_adam")
    model_dir = _copy("mlp_adam", tmp_path)
    values, _ = read_checkpoint(os.path.join(model_dir, "model.ckpt-6"))
    est = Estimator(_mlp_all_modes, model_dir=model_dir, config=RunConfig(**QUIET))
    receiver = build_raw_serving_input_receiver_fn(
        {"x": ec.placeholder(ec.float32, [None, 4], name="x")})
    export_dir = est.export_saved_model(str(tmp_path / "export"), receiver)
    predictor = load(export_dir)
    got = predictor({"x": arrays["x"][:3]})["logits"]
    np.testing.assert_allclose(got, _numpy_mlp(values, arrays["x"][:3].astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_compat_train_readers_on_a_tf_model_dir():
    source = str(tm.FIXTURES / "mlp_adam")
    prefix = os.path.join(source, "model.ckpt-6")
    assert tf.train.latest_checkpoint(source) == prefix
    assert tf.train.checkpoint_exists(prefix)
    names = [name for name, _ in tf.train.list_variables(source)]
    assert names == sorted(names) and "dense/kernel/Adam_1" in names and "beta2_power" in names
    assert int(tf.train.load_variable(source, "global_step")) == 6
    reader = tf.train.load_checkpoint(prefix)
    assert reader.get_variable_to_shape_map()["dense_1/kernel"] == [8, 3]
    assert reader.get_variable_to_dtype_map()["global_step"] == "int64"


def test_a_moved_tf_model_dir_with_absolute_state_paths_restores(tmp_path, caplog):
    """TF1's Saver wrote absolute paths into the state file; after the model_dir moved,
    they name another machine's directory. The checkpoint on disk is still found."""
    _, arrays = tm.load_record("mlp_adam")
    model_dir = _copy("mlp_adam", tmp_path)
    with open(os.path.join(model_dir, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "/old/host/run/model.ckpt-6"\n'
                'all_model_checkpoint_paths: "/old/host/run/model.ckpt-6"\n')
    est = Estimator(tm.mlp_model_fn, model_dir=model_dir, config=RunConfig(**QUIET))
    est.train(tm.ordered_input_fn(arrays, 16), steps=1)
    assert est.get_variable_value("global_step") == 7
    assert "Skipping checkpoint candidate /old/host/run/model.ckpt-6" in caplog.text


def test_run_config_checkpoint_format_is_validated_and_replaceable():
    assert RunConfig().checkpoint_format == "estcore"
    assert "_checkpoint_format" not in vars(RunConfig())  # vars() reads as TF's RunConfig
    config = RunConfig(checkpoint_format="tf")
    assert config.checkpoint_format == "tf"
    assert config.replace(checkpoint_format="estcore").checkpoint_format == "estcore"
    for bad in ("TF", "tensorflow", 1):
        with pytest.raises(ValueError, match="checkpoint_format must be 'estcore' or 'tf'"):
            RunConfig(checkpoint_format=bad)
    with pytest.raises(ValueError, match="checkpoint_format"):
        config.replace(checkpoint_format="onnx")
