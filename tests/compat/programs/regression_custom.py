"""A TF 1.x custom regression Estimator (the guides' "linear regression with a
custom model_fn"): tf.get_variable weights, tf.losses.mean_squared_error on float64
labels, RMSE metric, exponential learning-rate decay, on scikit-learn's diabetes data.

Prints the evaluation results as one JSON line.
"""

import json
import sys

import numpy as np
from sklearn.datasets import load_diabetes

import estcore.compat.v1 as tf

tf.app.flags.DEFINE_string("model_dir", "/tmp/regression", "model dir")
tf.app.flags.DEFINE_integer("steps", 800, "training steps")
FLAGS = tf.app.flags.FLAGS


def model_fn(features, labels, mode, params):
    x = features["x"]
    n_features = x.get_shape()[-1].value
    hidden = tf.layers.dense(x, 16, activation=tf.nn.tanh, name="hidden")
    w = tf.get_variable("w", [16, 1], initializer=tf.zeros_initializer())
    b = tf.get_variable("b", [1], initializer=tf.constant_initializer(0.0))
    linear = tf.get_variable("linear", [n_features, 1],
                             initializer=tf.truncated_normal_initializer(stddev=0.01))
    y = tf.squeeze(tf.matmul(hidden, w) + tf.matmul(x, linear) + b, squeeze_dims=[1])
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": y})
    loss = tf.losses.mean_squared_error(labels=labels, predictions=y)
    l2 = 1e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])
    loss = loss + l2
    rmse = tf.metrics.root_mean_squared_error(tf.cast(labels, tf.float32), y)
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"rmse": rmse})
    lr = tf.train.exponential_decay(params["lr"], tf.train.get_global_step(), 200, 0.9)
    train_op = tf.train.AdamOptimizer(lr).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def main(_):
    data = load_diabetes()
    x = data.data.astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = ((data.target - data.target.mean()) / data.target.std()).astype(np.float64)
    est = tf.estimator.Estimator(model_fn, FLAGS.model_dir, params={"lr": 0.01},
                                 config=tf.estimator.RunConfig(tf_random_seed=7))
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x[:350]}, y[:350], batch_size=32,
                                                 num_epochs=None, shuffle=True),
              max_steps=FLAGS.steps)
    res = est.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x[350:]}, y[350:],
                                                          num_epochs=1, shuffle=False))
    print(json.dumps({k: float(v) for k, v in res.items()}))


if __name__ == "__main__":
    tf.app.run(main=main, argv=sys.argv)
