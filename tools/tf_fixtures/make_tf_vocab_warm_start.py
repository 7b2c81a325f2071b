"""Record TF 2.15's ``warm_start`` with ``VocabInfo`` (run under TensorFlow).

Run with the reference venv (never from the test suite)::

    /work/tf-venv/bin/python tools/tf_fixtures/make_tf_vocab_warm_start.py \
        tests/checkpoint/fixtures/tf/vocab_warm_start

Writes into the output directory a ``tf.compat.v1.train.Saver`` checkpoint
(``model.ckpt-1``) of the old variables, the vocabulary files, and ``cases.json``: for
each case, the VocabInfo arguments (``backup`` names the initializer: ``zeros`` = None,
``arange`` = values 0, 1, 2, ... in the shape asked for, which shows where TF puts each
value it asks the initializer for) and the value TF's
``tf.compat.v1.train.warm_start`` gave the new variable.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
VOCABS = {
    "old.txt": ["apple", "banana", "cherry", "date", "elder"],
    "new.txt": ["cherry", "fig", "apple", "elder", "grape", "date"],
    "old_classes.txt": ["a", "b", "c", "d"],
    "new_classes.txt": ["d", "x", "b"],
}
OLD = {
    "emb": np.arange(5 * 3, dtype=np.float32).reshape(5, 3) + 100,
    "emb_oov": np.arange(7 * 2, dtype=np.float32).reshape(7, 2) + 200,
    "logits": np.arange(2 * 4, dtype=np.float32).reshape(2, 4) + 300,
}
# name: (old tensor, new shape, new_vocab, new_vocab_size, num_oov_buckets, old_vocab,
#        old_vocab_size, backup, axis)
CASES = {
    "rows_zeros": ("emb", [6, 3], "new.txt", 6, 0, "old.txt", -1, "zeros", 0),
    "rows_oov_arange": ("emb_oov", [6, 2], "new.txt", 4, 2, "old.txt", -1, "arange", 0),
    "rows_old_size": ("emb", [7, 3], "new.txt", 6, 1, "old.txt", 3, "arange", 0),
    "rows_fewer": ("emb", [3, 3], "new.txt", 6, 0, "old.txt", -1, "arange", 0),
    "cols_zeros": ("logits", [2, 3], "new_classes.txt", 3, 0, "old_classes.txt", -1,
                   "zeros", 1),
    "cols_oov_arange": ("logits", [2, 4], "new_classes.txt", 3, 1, "old_classes.txt", 2,
                        "arange", 1),
}


def arange(shape, dtype=tf.float32, partition_info=None):
    return tf.reshape(tf.cast(tf.range(tf.reduce_prod(shape)), dtype), shape)


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, words in VOCABS.items():
        (out / name).write_text("".join(w + "\n" for w in words))
    with tf.Graph().as_default():
        tf1.train.get_or_create_global_step()
        for name, value in OLD.items():
            tf1.get_variable(name, initializer=value)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(sess, str(out / "model.ckpt"), global_step=1)
    for p in out.glob("model.ckpt-1.meta"):
        p.unlink()
    results = {}
    for case, (src, shape, new, new_size, oov, old, old_size, backup, axis) in CASES.items():
        with tf.Graph().as_default():
            var = tf1.get_variable(case, shape=shape, initializer=tf1.ones_initializer())
            info = tf1.estimator.VocabInfo(
                new_vocab=str(out / new), new_vocab_size=new_size, num_oov_buckets=oov,
                old_vocab=str(out / old), old_vocab_size=old_size,
                backup_initializer=None if backup == "zeros" else arange, axis=axis)
            tf1.train.warm_start(str(out / "model.ckpt-1"), vars_to_warm_start=[case],
                                 var_name_to_vocab_info={case: info},
                                 var_name_to_prev_var_name={case: src})
            with tf1.Session() as sess:
                sess.run(var.initializer)
                value = sess.run(var)
        results[case] = {"old": src, "shape": shape, "new_vocab": new,
                         "new_vocab_size": new_size, "num_oov_buckets": oov,
                         "old_vocab": old, "old_vocab_size": old_size, "backup": backup,
                         "axis": axis, "value": value.tolist()}
    (out / "cases.json").write_text(json.dumps({"tf_version": tf.__version__,
                                                "cases": results}, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
