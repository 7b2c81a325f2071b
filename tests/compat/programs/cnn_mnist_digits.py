"""The TF 1.x tutorial "Build a Convolutional Neural Network using Estimators"
(cnn_mnist.py), as its readers wrote it, on scikit-learn's digits scaled to 28x28.

Only the import line differs from the tutorial: ``import estcore.compat.v1 as tf``.
Prints the evaluation results as one JSON line.
"""

from __future__ import absolute_import, division, print_function  # noqa: UP010 - TF1 style

import json

import numpy as np
from sklearn.datasets import load_digits

import estcore.compat.v1 as tf

tf.logging.set_verbosity(tf.logging.INFO)

flags = tf.app.flags
flags.DEFINE_string("model_dir", "/tmp/mnist_convnet_model", "Model directory")
flags.DEFINE_integer("epochs", 5, "Training epochs")
FLAGS = flags.FLAGS


def cnn_model_fn(features, labels, mode):
    """Model function for CNN."""
    input_layer = tf.reshape(features["x"], [-1, 28, 28, 1])
    conv1 = tf.layers.conv2d(inputs=input_layer, filters=32, kernel_size=[5, 5],
                             padding="same", activation=tf.nn.relu)
    pool1 = tf.layers.max_pooling2d(inputs=conv1, pool_size=[2, 2], strides=2)
    conv2 = tf.layers.conv2d(inputs=pool1, filters=64, kernel_size=[5, 5], padding="same",
                             activation=tf.nn.relu)
    pool2 = tf.layers.max_pooling2d(inputs=conv2, pool_size=[2, 2], strides=2)
    pool2_flat = tf.reshape(pool2, [-1, 7 * 7 * 64])
    dense = tf.layers.dense(inputs=pool2_flat, units=1024, activation=tf.nn.relu)
    dropout = tf.layers.dropout(inputs=dense, rate=0.4,
                                training=mode == tf.estimator.ModeKeys.TRAIN)
    logits = tf.layers.dense(inputs=dropout, units=10)

    predictions = {
        "classes": tf.argmax(input=logits, axis=1),
        "probabilities": tf.nn.softmax(logits, name="softmax_tensor"),
    }
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode=mode, predictions=predictions)

    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)

    if mode == tf.estimator.ModeKeys.TRAIN:
        optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.05)
        train_op = optimizer.minimize(loss=loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode=mode, loss=loss, train_op=train_op)

    eval_metric_ops = {
        "accuracy": tf.metrics.accuracy(labels=labels, predictions=predictions["classes"])}
    return tf.estimator.EstimatorSpec(mode=mode, loss=loss, eval_metric_ops=eval_metric_ops)


def load_data():
    digits = load_digits()
    x = digits.images.astype(np.float32) / 16.0
    x = np.stack([np.kron(im, np.ones((3, 3), np.float32)) for im in x])
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).reshape(-1, 784)
    y = digits.target.astype(np.int32)
    order = np.random.RandomState(0).permutation(len(y))
    test, train = order[:360], order[360:]
    return x[train], y[train], x[test], y[test]


def main(unused_argv):
    train_data, train_labels, eval_data, eval_labels = load_data()
    mnist_classifier = tf.estimator.Estimator(
        model_fn=cnn_model_fn, model_dir=FLAGS.model_dir,
        config=tf.estimator.RunConfig(tf_random_seed=1))

    tensors_to_log = {"probabilities": "softmax_tensor"}
    logging_hook = tf.train.LoggingTensorHook(tensors=tensors_to_log, every_n_iter=50)

    train_input_fn = tf.estimator.inputs.numpy_input_fn(
        x={"x": train_data}, y=train_labels, batch_size=50, num_epochs=None, shuffle=True)
    mnist_classifier.train(input_fn=train_input_fn,
                           steps=FLAGS.epochs * len(train_labels) // 50,
                           hooks=[logging_hook])

    eval_input_fn = tf.estimator.inputs.numpy_input_fn(
        x={"x": eval_data}, y=eval_labels, num_epochs=1, shuffle=False)
    eval_results = mnist_classifier.evaluate(input_fn=eval_input_fn)
    print(json.dumps({k: float(v) for k, v in eval_results.items()}))


if __name__ == "__main__":
    tf.app.run()
