"""A small deterministic model (MLP + Adam) and helpers shared by the reliability tests."""

from __future__ import annotations

import numpy as np

import estcore as ec
from estcore.checkpoint.format import read_checkpoint
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig

ROWS, BATCH = 120, 10
STEPS_PER_EPOCH = ROWS // BATCH
_rng = np.random.default_rng(7)
X = _rng.normal(size=(ROWS, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int32) + (X[:, 2] > 0.5).astype(np.int32)


def model_fn(features, labels, mode):
    h = ec.layers.dense(features["x"], 8, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"logits": logits})
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss)
    train_op = ec.train.AdamOptimizer(0.05).minimize(loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def make_estimator(model_dir, **config) -> Estimator:
    settings = dict(tf_random_seed=3, save_checkpoints_steps=4, keep_checkpoint_max=3,
                    log_step_count_steps=None, save_summary_steps=None)
    settings.update(config)
    return Estimator(model_fn, model_dir=str(model_dir), config=RunConfig(**settings))


def final_variables(est: Estimator) -> dict:
    values, _ = read_checkpoint(est.latest_checkpoint())
    return values


def assert_identical(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name, strict=True)
