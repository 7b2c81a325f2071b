"""A TF 1.x Estimator on CSV files, as TF 1.13-1.15 tutorials wrote it:
tf.data.experimental.make_csv_dataset input_fns (header names, inferred column types),
tf.contrib.layers.fully_connected / batch_norm in the model_fn (UPDATE_OPS around the
train op), then a second Estimator that warm-starts from the first with
tf.train.warm_start inside its model_fn (learning rate 0: it must evaluate the same).

Prints the two evaluations and the variable names as one JSON line.
"""

import json
import os
import sys

import numpy as np

import estcore.compat.v1 as tf

tf.app.flags.DEFINE_string("model_dir", "/tmp/csv_contrib", "model dir")
tf.app.flags.DEFINE_integer("steps", 300, "training steps")
FLAGS = tf.app.flags.FLAGS
COLUMNS = ["x1", "x2", "x3", "label"]


def write_csv(path, n, seed):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 2 * x[:, 1] - x[:, 2] > 0).astype(int)
    with open(path, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for row, label in zip(x, y, strict=True):
            f.write(f"{row[0]:.5f},{row[1]:.5f},{row[2]:.5f},{label}\n")


def input_fn(path, training):
    def fn():
        return tf.data.experimental.make_csv_dataset(
            path, batch_size=32, label_name="label", num_epochs=None if training else 1,
            shuffle=training, shuffle_seed=1)
    return fn


def model_fn(features, labels, mode, params):
    training = mode == tf.estimator.ModeKeys.TRAIN
    x = tf.stack([features[c] for c in COLUMNS[:-1]], axis=1)
    net = tf.contrib.layers.fully_connected(x, 16)
    net = tf.contrib.layers.batch_norm(net, is_training=training, scale=True)
    logits = tf.contrib.layers.fully_connected(net, 2, activation_fn=None, scope="logits")
    if params.get("warm_from"):
        tf.train.warm_start(params["warm_from"], ["fully_connected", "BatchNorm", "logits"])
    predictions = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"class": predictions})
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    accuracy = tf.metrics.accuracy(labels=labels, predictions=predictions)
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss,
                                          eval_metric_ops={"accuracy": accuracy})
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.GradientDescentOptimizer(params["lr"]).minimize(
            loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def main(_):
    data_dir = os.path.join(FLAGS.model_dir, "data")
    tf.gfile.MakeDirs(data_dir)
    train_csv, eval_csv = os.path.join(data_dir, "train.csv"), os.path.join(data_dir, "eval.csv")
    write_csv(train_csv, 800, 0)
    write_csv(eval_csv, 200, 1)
    config = tf.estimator.RunConfig(tf_random_seed=3)
    first_dir = os.path.join(FLAGS.model_dir, "first")
    first = tf.estimator.Estimator(model_fn, first_dir, params={"lr": 0.1}, config=config)
    first.train(input_fn(train_csv, True), max_steps=FLAGS.steps)
    res1 = first.evaluate(input_fn(eval_csv, False))
    second = tf.estimator.Estimator(model_fn, os.path.join(FLAGS.model_dir, "second"),
                                    params={"lr": 0.0, "warm_from": first_dir}, config=config)
    second.train(input_fn(train_csv, True), max_steps=1)
    res2 = second.evaluate(input_fn(eval_csv, False))
    print(json.dumps({"accuracy": float(res1["accuracy"]),
                      "warm_accuracy": float(res2["accuracy"]),
                      "global_step": int(res1["global_step"]),
                      "warm_global_step": int(res2["global_step"]),
                      "variables": sorted(first.get_variable_names())}))


if __name__ == "__main__":
    tf.app.run(main=main, argv=sys.argv)
