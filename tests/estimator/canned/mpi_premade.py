"""A premade estimator's training run for the MPI test (under mpiexec or alone).

Usage: python mpi_premade.py MODEL_DIR OUT_NPZ BATCH STEPS MODEL

Trains MODEL (``dnn``: DNNClassifier; ``wide_deep``: DNNLinearCombinedClassifier with a
hashed and an embedded column) for STEPS steps on fixed data, BATCH rows per process
(``numpy_input_fn`` shards each global batch of W * BATCH rows over the W processes),
then the chief writes every variable of the final checkpoint to OUT_NPZ.
"""

from __future__ import annotations

import sys

import numpy as np

import estcore.compat.v1 as tf


def main() -> None:
    model_dir, out, batch, steps, model = sys.argv[1:6]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 3)).astype(np.float32)
    cat = np.array([f"k{i}" for i in rng.integers(0, 12, 96)])
    y = ((x[:, 0] > 0) ^ (np.char.endswith(cat, "1"))).astype(np.int64)
    fc = tf.feature_column
    num = fc.numeric_column("x", shape=(3,))
    hashed = fc.categorical_column_with_hash_bucket("cat", 20)
    config = tf.estimator.RunConfig(tf_random_seed=1)
    if model == "dnn":
        est = tf.estimator.DNNClassifier([8, 4], [num], model_dir=model_dir, config=config)
    else:
        est = tf.estimator.DNNLinearCombinedClassifier(
            model_dir=model_dir, linear_feature_columns=[num, hashed],
            dnn_feature_columns=[num, fc.embedding_column(hashed, 3)], dnn_hidden_units=[8],
            config=config)
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x, "cat": cat}, y,
                                                 batch_size=int(batch), num_epochs=None,
                                                 shuffle=False), steps=int(steps))
    if est.config.is_chief:
        np.savez(out, **{n.replace("/", "__"): est.get_variable_value(n)
                         for n in est.get_variable_names()})


if __name__ == "__main__":
    main()
