"""TF1's text idiom ``tf.string_split([line]).values`` (the tokens of one line as a 1-D
tensor) inside a Dataset map and in a plain Session."""

import numpy as np

import estcore.compat.v1 as tf


def test_tokens_of_a_line_in_a_session():
    line = tf.placeholder(tf.string, [])
    words = tf.string_split([line]).values
    ids = tf.string_to_hash_bucket_fast(words, 100)
    sess = tf.Session()
    got, n = sess.run([words, tf.size(ids)], {line: "the quick  brown fox"})
    assert got.tolist() == [b"the", b"quick", b"brown", b"fox"] and n == 4
    got = sess.run(words, {line: ""})
    assert got.shape == (0,)


def test_tokens_in_a_dataset_map():
    ds = tf.data.Dataset.from_tensor_slices(np.array([b"a b", b"c d e"], object))
    ds = ds.map(lambda s: tf.size(tf.string_split([s], " ").values))
    assert [int(v) for v in ds] == [2, 3]
