"""TF 1.x "multi-tower" style: the batch is split in two, each half goes through the
same tower built twice in one model_fn, the second time under
tf.variable_scope(..., reuse=True); the tower losses are averaged. Digits data.
Prints the evaluation results as one JSON line.
"""

import json
import sys

import numpy as np
from sklearn.datasets import load_digits

import estcore.compat.v1 as tf


def tower(images, training):
    net = tf.layers.conv2d(images, 16, 3, padding="same", activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(net, 2, 2)
    net = tf.layers.flatten(net)
    net = tf.layers.dense(net, 64, activation=tf.nn.relu)
    return tf.layers.dense(net, 10)


def model_fn(features, labels, mode):
    images = tf.reshape(features["x"], [-1, 8, 8, 1])
    training = mode == tf.estimator.ModeKeys.TRAIN
    if mode == tf.estimator.ModeKeys.TRAIN:
        parts = list(zip(tf.split(images, 2), tf.split(labels, 2), strict=True))
        tower_losses = []
        for i, (imgs, labs) in enumerate(parts):
            with tf.variable_scope("model", reuse=i > 0):
                logits = tower(imgs, training)
            tower_losses.append(tf.losses.sparse_softmax_cross_entropy(labs, logits))
        loss = tf.add_n(tower_losses) / len(tower_losses)
        train_op = tf.train.MomentumOptimizer(0.05, 0.9).minimize(
            loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
    with tf.variable_scope("model"):
        logits = tower(images, training)
    classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"classes": classes})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    return tf.estimator.EstimatorSpec(
        mode, loss=loss, eval_metric_ops={"accuracy": tf.metrics.accuracy(labels, classes)})


def main(argv):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    est = tf.estimator.Estimator(model_fn, model_dir=argv[1],
                                 config=tf.estimator.RunConfig(tf_random_seed=2))
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x[:1500]}, y[:1500], batch_size=64,
                                                 num_epochs=None, shuffle=True), steps=400)
    names = est.get_variable_names()
    res = est.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x[1500:]}, y[1500:],
                                                          num_epochs=1, shuffle=False))
    res["n_model_variables"] = len([n for n in names if n.startswith("model/")
                                    and "Momentum" not in n])
    print(json.dumps({k: float(v) for k, v in res.items()}))


if __name__ == "__main__":
    tf.logging.set_verbosity(tf.logging.INFO)
    main(sys.argv)
