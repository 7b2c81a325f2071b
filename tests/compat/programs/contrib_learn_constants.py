"""A TF 1.0-era program (the tf.contrib.learn wide tutorial) ported to tf.estimator as its
readers did: input_fn returns a dict of tf.constant columns and tf.SparseTensor string
columns, the label is computed in the graph by comparing a string tensor with a Python
str (``tf.equal(income_bracket, ">50K")``), LinearClassifier and DNNClassifier over
vocabulary, hash-bucket, bucketized, crossed, embedding and indicator columns,
``evaluate(steps=1)``, then predict.

Prints the evaluation results as one JSON line.
"""

import itertools
import json
import sys

import numpy as np

import estcore.compat.v1 as tf

tf.logging.set_verbosity("ERROR")

rng = np.random.RandomState(3)
N = 600
colors = np.array(["red", "green", "blue", "yellow"])
sizes = np.array(["S", "M", "L"])
df = {
    "age": rng.uniform(18, 70, N).astype(np.float32),
    "income": rng.lognormal(10, 0.5, N).astype(np.float32),
    "color": colors[rng.randint(0, 4, N)],
    "size": sizes[rng.randint(0, 3, N)],
}
logit = (0.05 * (df["age"] - 40) + 1.2 * (df["color"] == "red")
         - 1.0 * (df["color"] == "blue") + 0.8 * (df["size"] == "L"))
df["bracket"] = np.where(logit + 0.3 * rng.randn(N) > 0, ">50K", "<=50K")
train_idx, test_idx = np.arange(0, 500), np.arange(500, N)


def input_fn(idx):
    features = {k: tf.constant(df[k][idx]) for k in ("age", "income")}
    for k in ("color", "size"):
        features[k] = tf.SparseTensor(indices=[[i, 0] for i in range(len(idx))],
                                      values=df[k][idx], dense_shape=[len(idx), 1])
    label = tf.cast(tf.equal(tf.constant(df["bracket"][idx]), ">50K"), tf.int64)
    return features, label


def main(argv):
    model_dir = argv[1].split("=", 1)[1]
    color = tf.feature_column.categorical_column_with_vocabulary_list(
        "color", ["red", "green", "blue", "yellow"])
    size = tf.feature_column.categorical_column_with_hash_bucket("size", hash_bucket_size=10)
    age = tf.feature_column.numeric_column("age")
    age_buckets = tf.feature_column.bucketized_column(age, boundaries=[25, 35, 45, 55, 65])
    income = tf.feature_column.numeric_column("income",
                                              normalizer_fn=lambda x: (x - 22000.0) / 12000.0)
    crossed = tf.feature_column.crossed_column([color, "size"], hash_bucket_size=50)
    config = tf.estimator.RunConfig(tf_random_seed=7)
    linear = tf.estimator.LinearClassifier(
        model_dir=model_dir + "/linear", config=config,
        feature_columns=[color, size, age_buckets, income, crossed],
        optimizer=tf.train.FtrlOptimizer(learning_rate=0.1, l1_regularization_strength=0.01))
    linear.train(input_fn=lambda: input_fn(train_idx), steps=200)
    lin = linear.evaluate(input_fn=lambda: input_fn(test_idx), steps=1)
    dnn = tf.estimator.DNNClassifier(
        model_dir=model_dir + "/dnn", config=config, hidden_units=[10, 10],
        feature_columns=[tf.feature_column.embedding_column(color, dimension=3),
                         tf.feature_column.indicator_column(size), age, income],
        optimizer=tf.train.ProximalAdagradOptimizer(learning_rate=0.1,
                                                    l2_regularization_strength=0.001))
    dnn.train(input_fn=lambda: input_fn(train_idx), steps=200)
    deep = dnn.evaluate(input_fn=lambda: input_fn(test_idx), steps=1)
    preds = list(itertools.islice(dnn.predict(input_fn=lambda: input_fn(test_idx[:5])), 5))
    print(json.dumps({
        "linear_accuracy": float(lin["accuracy"]), "label_mean": float(lin["label/mean"]),
        "dnn_accuracy": float(deep["accuracy"]), "dnn_auc": float(deep["auc"]),
        "global_step": int(deep["global_step"]),
        "predicted": [int(p["class_ids"][0]) for p in preds],
        "true": [int(df["bracket"][i] == ">50K") for i in test_idx[:5]]}))


if __name__ == "__main__":
    main(sys.argv)
