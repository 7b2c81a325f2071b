"""The TF "CNN with Estimators" tutorial, on scikit-learn's digits, with estcore.

The 8x8 digits are scaled 3x (24x24) and padded to 28x28, like MNIST's centred
digits. The model_fn is the tutorial's (two conv + pool blocks, a 1024-unit dense
layer with dropout, 10 logits); training uses the classic loop

    for _ in range(EPOCHS):
        classifier.train(input_fn=numpy_input_fn(..., num_epochs=1, shuffle=True))

(each call one epoch, continuing from the last checkpoint, in a different but
reproducible order), then evaluates, shows a few predictions and says where the
TensorBoard logs are. Run: ``python examples/cnn_digits_estimator.py [model_dir]``.
"""

from __future__ import annotations

import logging
import sys
import tempfile

import numpy as np

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.inputs import numpy_input_fn

EPOCHS = 4
BATCH_SIZE = 64


def load_digits_28x28():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.images.astype(np.float32) / 16.0
    x = np.stack([np.kron(im, np.ones((3, 3), np.float32)) for im in x])
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None]  # (n, 28, 28, 1)
    y = data.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(y))
    n_test = len(y) // 5
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def cnn_model_fn(features, labels, mode):
    """The model_fn of TF's "CNN with Estimators" tutorial."""
    x = features["x"]
    conv1 = ec.layers.conv2d(x, 32, [5, 5], padding="same", activation=ec.nn.relu)
    pool1 = ec.layers.max_pooling2d(conv1, pool_size=[2, 2], strides=2)
    conv2 = ec.layers.conv2d(pool1, 64, [5, 5], padding="same", activation=ec.nn.relu)
    pool2 = ec.layers.max_pooling2d(conv2, pool_size=[2, 2], strides=2)
    flat = ec.layers.flatten(pool2)
    dense = ec.layers.dense(flat, 1024, activation=ec.nn.relu)
    dropout = ec.layers.dropout(dense, rate=0.4, training=mode == ModeKeys.TRAIN)
    logits = ec.layers.dense(dropout, 10)
    predictions = {"classes": ec.argmax(logits, 1),
                   "probabilities": ec.nn.softmax(logits, name="softmax_tensor")}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == ModeKeys.TRAIN:
        optimizer = ec.train.AdamOptimizer(learning_rate=2e-3)
        train_op = optimizer.minimize(loss, global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)
    metrics = {"accuracy": ec.metrics.accuracy(labels=labels,
                                               predictions=predictions["classes"])}
    return EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)


def main(model_dir: str | None = None) -> float:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
    x_train, y_train, x_test, y_test = load_digits_28x28()
    model_dir = model_dir or tempfile.mkdtemp(prefix="cnn_digits_")
    classifier = Estimator(cnn_model_fn, model_dir=model_dir,
                           config=RunConfig(tf_random_seed=0, log_step_count_steps=20,
                                            save_summary_steps=20))
    for _ in range(EPOCHS):
        classifier.train(input_fn=numpy_input_fn(x={"x": x_train}, y=y_train,
                                                 batch_size=BATCH_SIZE, num_epochs=1,
                                                 shuffle=True))
    result = classifier.evaluate(input_fn=numpy_input_fn(x={"x": x_test}, y=y_test,
                                                         batch_size=256, num_epochs=1,
                                                         shuffle=False))
    print(f"\nTest accuracy: {result['accuracy']:.4f} (loss {result['loss']:.4f}, "
          f"global step {result['global_step']})")
    predictions = classifier.predict(input_fn=numpy_input_fn(x={"x": x_test[:5]},
                                                             num_epochs=1, shuffle=False))
    for i, p in enumerate(predictions):
        print(f"  digit {i}: predicted {p['classes']} "
              f"(p={p['probabilities'][p['classes']]:.3f}), true {y_test[i]}")
    print(f"\nTensorBoard logs: tensorboard --logdir {model_dir}")
    return float(result["accuracy"])


if __name__ == "__main__":
    accuracy = main(sys.argv[1] if len(sys.argv) > 1 else None)
    sys.exit(0 if accuracy >= 0.97 else 1)
