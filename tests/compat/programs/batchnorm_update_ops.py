"""TF 1.x batch normalization the way the docs insisted on: tf.layers.batch_normalization
with training=..., and the UPDATE_OPS run with the train op, three ways the TF1 world did
it (--style=deps: control_dependencies around minimize; create_train_op; optimize_loss).
tf.contrib.layers.l2_regularizer and xavier_initializer on the dense layers. Digits.
Prints the evaluation results and the moving mean's size as one JSON line.
"""

import json

import numpy as np
from sklearn.datasets import load_digits

import estcore.compat.v1 as tf

tf.flags.DEFINE_string("style", "deps", "deps | create_train_op | optimize_loss")
tf.flags.DEFINE_string("model_dir", "/tmp/bn", "model dir")
FLAGS = tf.flags.FLAGS


def model_fn(features, labels, mode, params):
    training = mode == tf.estimator.ModeKeys.TRAIN
    reg = tf.contrib.layers.l2_regularizer(1e-4)
    init = tf.contrib.layers.xavier_initializer()
    net = tf.layers.dense(features["x"], 64, kernel_initializer=init,
                          kernel_regularizer=reg, use_bias=False)
    net = tf.layers.batch_normalization(net, training=training)
    net = tf.nn.relu(net)
    logits = tf.layers.dense(net, 10, kernel_initializer=init, kernel_regularizer=reg)
    classes = tf.argmax(logits, axis=1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"classes": classes})
    tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    loss = tf.losses.get_total_loss()
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(
            mode, loss=loss,
            eval_metric_ops={"accuracy": tf.metrics.accuracy(labels, classes)})
    opt = tf.train.AdamOptimizer(0.01)
    if params["style"] == "deps":
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = opt.minimize(loss, global_step=tf.train.get_global_step())
    elif params["style"] == "create_train_op":
        train_op = tf.contrib.training.create_train_op(loss, opt)
    else:
        train_op = tf.contrib.layers.optimize_loss(loss, tf.train.get_global_step(),
                                                   learning_rate=0.01, optimizer="Adam")
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def main(_):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    est = tf.estimator.Estimator(model_fn, FLAGS.model_dir, params={"style": FLAGS.style},
                                 config=tf.estimator.RunConfig(tf_random_seed=5))
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x[:1500]}, y[:1500], batch_size=100,
                                                 num_epochs=None, shuffle=True), steps=300)
    res = est.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x[1500:]}, y[1500:],
                                                          num_epochs=1, shuffle=False))
    mean = est.get_variable_value("batch_normalization/moving_mean")
    res["moving_mean_abs"] = float(np.abs(mean).sum())
    print(json.dumps({k: float(v) for k, v in res.items()}))


if __name__ == "__main__":
    tf.logging.set_verbosity(tf.logging.INFO)
    tf.app.run()
