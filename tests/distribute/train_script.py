"""Training script the distribute tests launch (under mpiexec, with TF_CONFIG, or alone).

Usage: python train_script.py MODEL_DIR OUT_NPZ GLOBAL_BATCH STEPS [--sleep-per-step S]

Trains a small MLP with SGD (momentum) on fixed data with batch GLOBAL_BATCH / W
per process (W = number of training processes), then writes the final variable
values of this process to OUT_NPZ (suffix .rank<r>.npz).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

import estcore as ec
from estcore import estimator as est
from estcore.distribute import MPIStrategy


class _Sleep(est.SessionRunHook):
    def __init__(self, secs: float):
        self.secs = secs

    def after_run(self, run_context, run_values):
        time.sleep(self.secs)


def model_fn(features, labels, mode, config):
    h = ec.layers.dense(features["x"], 16, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 3)
    loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
    opt = ec.train.MomentumOptimizer(0.1, momentum=0.9)
    train_op = opt.minimize(loss, global_step=ec.train.get_global_step())
    return est.EstimatorSpec(mode, loss=loss, train_op=train_op,
                             eval_metric_ops={"acc": ec.metrics.accuracy(
                                 labels, ec.argmax(logits, 1))})


def data(rows: int = 240):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)
    return x, y


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("global_batch", type=int)
    p.add_argument("steps", type=int)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--sleep-per-step", type=float, default=0.0)
    p.add_argument("--peer-timeout", type=float, default=15.0)
    p.add_argument("--rendezvous-timeout", type=float, default=300.0)
    p.add_argument("--explicit", action="store_true")
    p.add_argument("--train-and-evaluate", action="store_true")
    p.add_argument("--rows", type=int, default=240, help="training examples")
    p.add_argument("--epochs", type=int, default=None, help="num_epochs (None: endless)")
    p.add_argument("--model-dir-per-rank", action="store_true",
                   help="each process gets MODEL_DIR/rank<r> (as if on its own host)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(message)s")
    strategy = MPIStrategy(peer_timeout_secs=a.peer_timeout,
                           rendezvous_timeout_secs=a.rendezvous_timeout) \
        if a.explicit else None
    model_dir = a.model_dir
    if a.model_dir_per_rank:
        model_dir = f"{model_dir}/rank{est.RunConfig().global_id_in_cluster or 0}"
    config = est.RunConfig(model_dir=model_dir, tf_random_seed=7, save_checkpoints_steps=5,
                           save_summary_steps=5, log_step_count_steps=5,
                           train_distribute=strategy)
    workers = a.workers or max(1, config.num_worker_replicas)
    x, y = data(a.rows)
    input_fn = est.inputs.numpy_input_fn({"x": x}, y, batch_size=a.global_batch // workers,
                                         num_epochs=a.epochs, shuffle=True)
    e = est.Estimator(model_fn, config=config)
    hooks = [_Capture()] + ([_Sleep(a.sleep_per_step)] if a.sleep_per_step else [])
    if a.train_and_evaluate:
        eval_fn = est.inputs.numpy_input_fn({"x": x}, y, batch_size=40, num_epochs=1,
                                            shuffle=False)
        metrics, _ = est.train_and_evaluate(
            e, est.TrainSpec(input_fn, max_steps=a.steps, hooks=hooks),
            est.EvalSpec(eval_fn, steps=None, start_delay_secs=0, throttle_secs=0))
        print(f"eval {config.task_type}: " + ("none" if metrics is None else
              f"global_step={metrics['global_step']} acc={metrics['acc']:.4f}"), flush=True)
    else:
        e.train(input_fn, max_steps=a.steps, hooks=hooks)
    values = _LAST.get("values", {})  # this replica's variables at the end of training
    rank = config.global_id_in_cluster or 0
    np.savez(f"{a.out}.rank{rank}.npz", **{k.replace("/", "__"): v for k, v in values.items()})
    print(f"done rank={rank} task={config.task_type}:{config.task_id} "
          f"workers={config.num_worker_replicas}", flush=True)
    return 0


_LAST: dict = {}


class _Capture(est.SessionRunHook):
    def end(self, session):
        _LAST["values"] = session.get_variable_values()


if __name__ == "__main__":
    sys.exit(main())
