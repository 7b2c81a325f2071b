"""A custom Estimator MLP as in TF 1.x's "Creating Custom Estimators" guide: a
model_fn with params (hidden_units, n_classes), tf.layers.dense towers, Adagrad,
accuracy metric and a tf.summary.scalar, on scikit-learn's digits.

Run with --model_dir; prints the evaluation results as one JSON line.
"""

import argparse
import json
import sys

import numpy as np
from sklearn.datasets import load_digits

import estcore.compat.v1 as tf

parser = argparse.ArgumentParser()
parser.add_argument("--model_dir", default="/tmp/mlp")
parser.add_argument("--train_steps", default=600, type=int)


def my_model(features, labels, mode, params):
    net = tf.to_float(features["pixels"]) / 16.0
    for units in params["hidden_units"]:
        net = tf.layers.dense(net, units=units, activation=tf.nn.relu)
    logits = tf.layers.dense(net, params["n_classes"], activation=None)

    predicted_classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        predictions = {
            "class_ids": predicted_classes[:, tf.newaxis],
            "probabilities": tf.nn.softmax(logits),
            "logits": logits,
        }
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)

    onehot = tf.one_hot(labels, depth=params["n_classes"], dtype=tf.float64)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=onehot,
                                                                     logits=logits))
    accuracy = tf.metrics.accuracy(labels=labels, predictions=predicted_classes,
                                   name="acc_op")
    metrics = {"accuracy": accuracy}
    tf.summary.scalar("accuracy", accuracy[1])

    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)

    assert mode == tf.estimator.ModeKeys.TRAIN
    optimizer = tf.train.AdagradOptimizer(learning_rate=0.1)
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def main(argv):
    args = parser.parse_args(argv[1:])
    digits = load_digits()
    x, y = digits.data.astype(np.int64), digits.target.astype(np.int64)
    x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]

    classifier = tf.estimator.Estimator(
        model_fn=my_model, model_dir=args.model_dir,
        params={"hidden_units": [64, 32], "n_classes": 10},
        config=tf.estimator.RunConfig(tf_random_seed=3, save_checkpoints_steps=200))
    classifier.train(input_fn=tf.estimator.inputs.numpy_input_fn(
        {"pixels": x_train}, y_train, batch_size=64, num_epochs=None, shuffle=True),
        steps=args.train_steps)
    eval_result = classifier.evaluate(input_fn=tf.estimator.inputs.numpy_input_fn(
        {"pixels": x_test}, y_test, batch_size=128, num_epochs=1, shuffle=False))
    preds = list(classifier.predict(input_fn=tf.estimator.inputs.numpy_input_fn(
        {"pixels": x_test[:3]}, num_epochs=1, shuffle=False)))
    eval_result["predicted_first"] = int(preds[0]["class_ids"][0])
    print(json.dumps({k: float(v) for k, v in eval_result.items()}))


if __name__ == "__main__":
    tf.logging.set_verbosity(tf.logging.INFO)
    main(sys.argv)
