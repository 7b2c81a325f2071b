"""``tf.lookup`` / ``tf.contrib.lookup`` as TF1 programs use them: in ``Dataset.map``, in a
model_fn that never runs ``tf.tables_initializer()`` (TF's Scaffold runs it), under
MonitoredSession. Expected ids were computed with TF 2.15's ``tensorflow.compat.v1``."""

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.compat.v1._namespace import NotInCompat


@pytest.fixture
def vocab(tmp_path):
    p = tmp_path / "vocab.txt"
    p.write_text("apple\nbanana\ncherry\n")
    return str(p)


def test_namespaces():
    assert tf.lookup.StaticHashTable is tf.contrib.lookup.HashTable
    assert tf.initializers.tables_initializer is tf.tables_initializer
    assert tf.initialize_all_tables is tf.tables_initializer
    for name in ("KeyValueTensorInitializer", "TextFileInitializer", "TextFileIndex",
                 "StaticVocabularyTable"):
        assert hasattr(tf.lookup, name)
    for name in ("index_table_from_file", "index_table_from_tensor", "IdTableWithHashBuckets",
                 "index_to_string_table_from_file", "index_to_string_table_from_tensor"):
        assert hasattr(tf.contrib.lookup, name)
    with pytest.raises(NotInCompat, match="tf.contrib.lookup.MutableHashTable"):
        _ = tf.contrib.lookup.MutableHashTable


def test_string_split_values_and_reverse_table(vocab):
    with tf.Graph().as_default():
        table = tf.contrib.lookup.index_table_from_file(vocabulary_file=vocab,
                                                        num_oov_buckets=1, default_value=-1)
        ids = table.lookup(tf.string_split(["apple zzz", "banana"]).values)
        rev = tf.contrib.lookup.index_to_string_table_from_file(vocab, default_value="UNK")
        words = rev.lookup(ids)
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            got_ids, got_words = sess.run([ids, words])
    np.testing.assert_array_equal(got_ids, [0, 3, 1])
    assert got_words.tolist() == [b"apple", b"UNK", b"banana"]


def test_static_vocabulary_table():
    with tf.Graph().as_default():
        init = tf.lookup.KeyValueTensorInitializer(["apple", "banana", "cherry"],
                                                   tf.constant([0, 1, 2], tf.int64))
        table = tf.lookup.StaticVocabularyTable(init, num_oov_buckets=3)
        ids = table.lookup(tf.constant(["apple", "cherry", "zzz", "hello", "b2", ""]))
        with tf.Session() as sess:
            sess.run(tf.initializers.tables_initializer())
            np.testing.assert_array_equal(sess.run(ids), [0, 2, 3, 4, 3, 5])
            assert sess.run(table.size()) == 6


def test_inside_dataset_map(vocab):
    with tf.Graph().as_default():
        table = tf.contrib.lookup.index_table_from_file(vocab, num_oov_buckets=1)
        ds = tf.data.Dataset.from_tensor_slices(["apple cherry", "zzz banana"])
        ds = ds.map(lambda s: table.lookup(tf.string_split([s]).values))
        nxt = ds.make_one_shot_iterator().get_next()
        t2 = tf.contrib.lookup.index_table_from_tensor(tf.constant(["a", "b"]))
        batch = (tf.data.Dataset.from_tensor_slices(["a", "b", "c"]).map(t2.lookup).batch(3)
                 .make_one_shot_iterator().get_next())
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(nxt), [0, 2])
            np.testing.assert_array_equal(sess.run(nxt), [3, 1])
            np.testing.assert_array_equal(sess.run(batch), [0, 1, -1])


def test_estimator_model_fn_without_tables_initializer(vocab, tmp_path):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"w": ["apple", "cherry", "zzz", "banana"]},
                                                 [0., 2., 3., 1.]))
        return ds.repeat().batch(4)

    def model_fn(features, labels, mode):
        table = tf.contrib.lookup.index_table_from_file(vocab, num_oov_buckets=1)
        ids = table.lookup(features["w"])
        emb = tf.get_variable("emb", [4, 1], initializer=tf.zeros_initializer())
        pred = tf.reshape(tf.nn.embedding_lookup(emb, ids), [-1])
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"ids": ids})
        loss = tf.reduce_mean(tf.square(pred - labels))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(
            loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "m"))
    est.train(input_fn, steps=30)
    assert est.evaluate(input_fn, steps=1)["loss"] < 1e-6   # every id got its own row
    preds = est.predict(lambda: tf.data.Dataset.from_tensor_slices({"w": ["cherry", "q"]})
                        .batch(2))
    assert [p["ids"] for p in preds] == [2, 3]


def test_monitored_session_without_tables_initializer(vocab):
    with tf.Graph().as_default():
        ids = tf.contrib.lookup.index_table_from_file(vocab).lookup(tf.constant(["banana"]))
        with tf.train.MonitoredSession() as sess:
            np.testing.assert_array_equal(sess.run(ids), [1])


def test_exported_serving_graph_keeps_its_table(vocab, tmp_path):
    def model_fn(features, labels, mode):
        table = tf.contrib.lookup.index_table_from_file(vocab, num_oov_buckets=1)
        step = tf.train.get_or_create_global_step()
        return tf.estimator.EstimatorSpec(
            mode, predictions={"ids": table.lookup(features["w"])},
            loss=tf.constant(0.0), train_op=tf.assign_add(step, 1))

    def serving():
        w = tf.placeholder(tf.string, [None])
        return tf.estimator.export.ServingInputReceiver({"w": w}, {"w": w})

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "m"))
    est.train(lambda: tf.data.Dataset.from_tensors(({"w": ["apple"]}, [0.0])), steps=1)
    path = est.export_saved_model(str(tmp_path / "export"), serving)
    predict = tf.contrib.predictor.from_saved_model(
        path.decode() if isinstance(path, bytes) else path)
    np.testing.assert_array_equal(predict({"w": ["cherry", "q"]})["ids"], [2, 3])
