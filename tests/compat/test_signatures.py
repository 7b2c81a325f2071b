"""Every tf1_surface.md name that compat.v1 implements, against TF 1.15's signature.

The table holds TF 1.15's parameter list as its API documentation writes it. estcore's
callable must take the same parameters in the same order with the same defaults (it may
add parameters after them). ``ANY`` marks a default that is a private sentinel in TF.
"""

from __future__ import annotations

import inspect

import pytest

import estcore.compat.v1 as tf

pytestmark = pytest.mark.smoke

ANY = object()

TABLE = {
    # tf.logging
    "logging.set_verbosity": "(v)",
    "logging.get_verbosity": "()",
    "logging.log": "(level, msg, *args, **kwargs)",
    "logging.debug": "(msg, *args, **kwargs)",
    "logging.info": "(msg, *args, **kwargs)",
    "logging.warning": "(msg, *args, **kwargs)",
    "logging.warn": "(msg, *args, **kwargs)",
    "logging.error": "(msg, *args, **kwargs)",
    "logging.fatal": "(msg, *args, **kwargs)",
    "logging.vlog": "(level, msg, *args, **kwargs)",
    "logging.log_every_n": "(level, msg, n, *args)",
    "logging.log_first_n": "(level, msg, n, *args)",
    # tf.app
    "app.run": "(main=None, argv=None)",
    # tf.train: hooks and sessions
    "train.SessionRunArgs": "(fetches, feed_dict=None, options=None)",
    "train.SessionRunContext": "(original_args, session)",
    "train.SessionRunValues": "(results, options, run_metadata)",
    "train.LoggingTensorHook": "(tensors, every_n_iter=None, every_n_secs=None, at_end=False, "
                               "formatter=None)",
    "train.StopAtStepHook": "(num_steps=None, last_step=None)",
    "train.NanTensorHook": "(loss_tensor, fail_on_nan_loss=True)",
    "train.StepCounterHook": "(every_n_steps=100, every_n_secs=None, output_dir=None, "
                             "summary_writer=None)",
    "train.SummarySaverHook": "(save_steps=None, save_secs=None, output_dir=None, "
                              "summary_writer=None, scaffold=None, summary_op=None)",
    "train.CheckpointSaverHook": "(checkpoint_dir, save_secs=None, save_steps=None, saver=None, "
                                 "checkpoint_basename='model.ckpt', scaffold=None, "
                                 "listeners=None)",
    "train.FinalOpsHook": "(final_ops, final_ops_feed_dict=None)",
    "train.FeedFnHook": "(feed_fn)",
    "train.GlobalStepWaiterHook": "(wait_until_step)",
    "train.SecondOrStepTimer": "(every_secs=None, every_steps=None)",
    "train.Saver": "(var_list=None, reshape=False, sharded=False, max_to_keep=5, "
                   "keep_checkpoint_every_n_hours=10000.0, name=None, "
                   "restore_sequentially=False, saver_def=None, builder=None, "
                   "defer_build=False, allow_empty=False, write_version=2, "
                   "pad_step_number=False, save_relative_paths=False, filename=None)",
    "train.Saver.save": "(self, sess, save_path, global_step=None, latest_filename=None, "
                        "meta_graph_suffix='meta', write_meta_graph=True, write_state=True, "
                        "strip_default_attrs=False, save_debug_info=False)",
    "train.Saver.restore": "(self, sess, save_path)",
    "train.Scaffold": "(init_op=None, init_feed_dict=None, init_fn=None, ready_op=None, "
                      "ready_for_local_init_op=None, local_init_op=None, summary_op=None, "
                      "saver=None, copy_from_scaffold=None)",
    "train.latest_checkpoint": "(checkpoint_dir, latest_filename=None)",
    "train.get_checkpoint_state": "(checkpoint_dir, latest_filename=None)",
    "train.checkpoint_exists": "(checkpoint_prefix)",
    "train.list_variables": "(ckpt_dir_or_file)",
    "train.load_variable": "(ckpt_dir_or_file, name)",
    "train.load_checkpoint": "(ckpt_dir_or_file)",
    "train.init_from_checkpoint": "(ckpt_dir_or_file, assignment_map)",
    "train.MonitoredSession": "(session_creator=None, hooks=None, stop_grace_period_secs=120)",
    "train.MonitoredTrainingSession": (
        "(master='', is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None, "
        "chief_only_hooks=None, save_checkpoint_secs=ANY, save_summaries_steps=ANY, "
        "save_summaries_secs=ANY, config=None, stop_grace_period_secs=120, "
        "log_step_count_steps=100, max_wait_secs=7200, save_checkpoint_steps=ANY, "
        "summary_dir=None)"),
    "train.SingularMonitoredSession": "(hooks=None, scaffold=None, master='', config=None, "
                                      "checkpoint_dir=None, stop_grace_period_secs=120, "
                                      "checkpoint_filename_with_path=None)",
    "train.ChiefSessionCreator": "(scaffold=None, master='', config=None, checkpoint_dir=None, "
                                 "checkpoint_filename_with_path=None)",
    "train.global_step": "(sess, global_step_tensor)",
    "train.get_global_step": "(graph=None)",
    "train.get_or_create_global_step": "(graph=None)",
    "train.create_global_step": "(graph=None)",
    # tf.train: learning-rate schedules
    "train.cosine_decay_restarts": "(learning_rate, global_step, first_decay_steps, t_mul=2.0, "
                                   "m_mul=1.0, alpha=0.0, name=None)",
    "train.linear_cosine_decay": "(learning_rate, global_step, decay_steps, num_periods=0.5, "
                                 "alpha=0.0, beta=0.001, name=None)",
    "train.noisy_linear_cosine_decay": "(learning_rate, global_step, decay_steps, "
                                       "initial_variance=1.0, variance_decay=0.55, "
                                       "num_periods=0.5, alpha=0.0, beta=0.001, name=None)",
    # tf.train: Example messages (protobuf classes: keyword arguments, all optional)
    "train.Example": "(features=None)",
    "train.Features": "(feature=None)",
    "train.Feature": "(bytes_list=None, float_list=None, int64_list=None)",
    "train.FloatList": "(value=ANY)",
    "train.Int64List": "(value=ANY)",
    "train.BytesList": "(value=ANY)",
    # tf.train: optimizers
    "train.FtrlOptimizer": "(learning_rate, learning_rate_power=-0.5, "
                           "initial_accumulator_value=0.1, l1_regularization_strength=0.0, "
                           "l2_regularization_strength=0.0, use_locking=False, name='Ftrl', "
                           "accum_name=None, linear_name=None, "
                           "l2_shrinkage_regularization_strength=0.0)",
    "train.AdadeltaOptimizer": "(learning_rate=0.001, rho=0.95, epsilon=1e-08, "
                               "use_locking=False, name='Adadelta')",
    "train.ProximalAdagradOptimizer": "(learning_rate, initial_accumulator_value=0.1, "
                                      "l1_regularization_strength=0.0, "
                                      "l2_regularization_strength=0.0, use_locking=False, "
                                      "name='ProximalAdagrad')",
    "train.ProximalGradientDescentOptimizer": "(learning_rate, l1_regularization_strength=0.0, "
                                              "l2_regularization_strength=0.0, "
                                              "use_locking=False, "
                                              "name='ProximalGradientDescent')",
    # tf.keras.utils
    "keras.utils.get_file": "(fname, origin, untar=False, md5_hash=None, file_hash=None, "
                            "cache_subdir='datasets', hash_algorithm='auto', extract=False, "
                            "archive_format='auto', cache_dir=None)",
    # tf.contrib
    "contrib.layers.l2_regularizer": "(scale, scope=None)",
    "contrib.layers.l1_regularizer": "(scale, scope=None)",
    "contrib.layers.xavier_initializer": "(uniform=True, seed=None, dtype=ANY)",
    "contrib.layers.flatten": "(inputs, outputs_collections=None, scope=None)",
    "contrib.layers.optimize_loss": (
        "(loss, global_step, learning_rate, optimizer, gradient_noise_scale=None, "
        "gradient_multipliers=None, clip_gradients=None, learning_rate_decay_fn=None, "
        "update_ops=None, variables=None, name=None, summaries=None, "
        "colocate_gradients_with_ops=False, increment_global_step=True)"),
    "contrib.training.create_train_op": (
        "(total_loss, optimizer, global_step=ANY, update_ops=None, variables_to_train=None, "
        "transform_grads_fn=None, summarize_gradients=False, gate_gradients=1, "
        "aggregation_method=None, colocate_gradients_with_ops=False, check_numerics=True)"),
    # ops
    "to_float": "(x, name='ToFloat')",
    "slice": "(input_, begin, size, name=None)",
    "pad": "(tensor, paddings, mode='CONSTANT', name=None, constant_values=0)",
    "gather_nd": "(params, indices, name=None, batch_dims=0)",
    "to_double": "(x, name='ToDouble')",
    "to_int32": "(x, name='ToInt32')",
    "to_int64": "(x, name='ToInt64')",
    "split": "(value, num_or_size_splits, axis=0, num=None, name='split')",
    "reduce_sum": "(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, "
                  "keep_dims=None)",
    "reduce_mean": "(input_tensor, axis=None, keepdims=None, name=None, "
                   "reduction_indices=None, keep_dims=None)",
    "expand_dims": "(input, axis=None, name=None, dim=None)",
    "squeeze": "(input, axis=None, name=None, squeeze_dims=None)",
    "losses.mean_squared_error": "(labels, predictions, weights=1.0, scope=None, "
                                 "loss_collection='losses', "
                                 "reduction='weighted_sum_by_nonzero_weights')",
    "nn.softmax_cross_entropy_with_logits_v2": "(_sentinel=None, labels=None, logits=None, "
                                               "axis=-1, name=None, dim=None)",
}


def _tf_params(text: str) -> list[inspect.Parameter]:
    scope: dict = {"ANY": ANY}
    exec(f"def f{text}: pass", scope)   # noqa: S102 - the table's own literal text
    return list(inspect.signature(scope["f"]).parameters.values())


def _resolve(path: str):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _params(obj) -> list[inspect.Parameter]:
    target = obj.__init__ if inspect.isclass(obj) and "__init__" in vars_chain(obj) else obj
    params = list(inspect.signature(target).parameters.values())
    if target is not obj and params and params[0].name == "self":
        params = params[1:]
    return params


def vars_chain(cls) -> set:
    names: set = set()
    for klass in cls.__mro__[:-1]:
        names |= set(vars(klass))
    return names


@pytest.mark.parametrize("path", sorted(TABLE))
def test_signature_matches_tf_1_15(path):
    want = _tf_params(TABLE[path])
    obj = _resolve(path)
    if inspect.isclass(obj) and hasattr(obj, "_fields"):          # namedtuples
        got = list(inspect.signature(obj).parameters.values())
    elif inspect.isclass(obj):
        got = _params(obj)
    else:
        got = list(inspect.signature(obj).parameters.values())
    got_names = [p.name for p in got][:len(want)]
    assert got_names == [p.name for p in want], f"{path}: parameters {got_names}"
    for w, g in zip(want, got, strict=False):
        assert g.kind == w.kind or w.kind == w.POSITIONAL_OR_KEYWORD, (path, w.name)
        if w.default is inspect.Parameter.empty or w.default is ANY:
            continue    # required in TF: estcore may require it or default it
        else:
            assert g.default == w.default, f"{path}: {w.name}={g.default!r}, TF: {w.default!r}"
    extra = got[len(want):]
    assert all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL,
               p.VAR_KEYWORD) for p in extra), f"{path}: extra required parameters {extra}"


def test_the_table_covers_the_needed_by_most_programs_names():
    most = ["logging.set_verbosity", "app.run", "train.MonitoredTrainingSession",
            "train.LoggingTensorHook", "train.Saver", "keras.utils.get_file"]
    assert set(most) <= set(TABLE)
