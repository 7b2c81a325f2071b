"""tf.Summary / tf.HistogramProto messages, summary ops fetched by Session.run, and
FileWriter.add_summary of what a TF1 program passes it."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.summary import read_scalars
from estcore.summary.message import HistogramProto, Summary, summary_values_of
from estcore.summary.summary_pb import decode_summary

# tf.Summary(value=[Value(tag="acc", simple_value=0.5)]).SerializeToString() in TF 2.15
TF_ACC_BYTES = b"\n\n\n\x03acc\x15\x00\x00\x00?"


def test_serialized_bytes_match_tf():
    s = Summary(value=[Summary.Value(tag="acc", simple_value=0.5)])
    assert s.SerializeToString() == TF_ACC_BYTES
    back = Summary.FromString(TF_ACC_BYTES)
    assert [(v.tag, v.simple_value) for v in back.value] == [("acc", 0.5)]
    assert back == s


def test_value_add_merge_and_parse():
    s = Summary()
    v = s.value.add(tag="loss", simple_value=2)
    assert v.simple_value == 2.0 and isinstance(v.simple_value, float)
    s.value.add(tag="h", histo=HistogramProto(min=0, max=1, num=2, sum=1, sum_squares=1,
                                                bucket_limit=[0.5, 1.0], bucket=[1, 1]))
    data = s.SerializeToString()
    t = Summary()
    assert t.ParseFromString(data) == len(data)
    assert [v.tag for v in t.value] == ["loss", "h"]
    assert t.value[1].histo.bucket == [1.0, 1.0]
    t.MergeFromString(TF_ACC_BYTES)
    assert [v.tag for v in t.value] == ["loss", "h", "acc"]


def test_image_value_round_trip():
    img = Summary.Image(height=2, width=3, colorspace=1, encoded_image_string=b"png")
    s = Summary(value=[Summary.Value(tag="im", image=img)])
    got = Summary.FromString(s.SerializeToString()).value[0].image
    assert (got.height, got.width, got.colorspace, got.encoded) == (2, 3, 1, b"png")


@pytest.mark.parametrize("kwargs, err, match", [
    ({"tag": "a", "simple_value": 1.0, "histo": HistogramProto()}, ValueError, "one of"),
    ({"tag": 3, "simple_value": 1.0}, TypeError, "`tag` must be a str"),
    ({"tag": "a", "obsolete_old_style_histogram": 1}, TypeError, "unsupported field"),
    ({"tag": "a", "image": b"png"}, TypeError, "tf.Summary.Image"),
])
def test_value_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        Summary.Value(**kwargs)


def test_add_summary_rejects_other_types():
    with pytest.raises(TypeError, match="add_summary: `summary` must be a tf.Summary.*int"):
        summary_values_of(3)


def test_session_run_of_summary_ops_gives_serialized_summaries():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        s1 = tf.summary.scalar("avg", tf.reduce_mean(x))
        tf.summary.histogram("values", x)
        merged = tf.summary.merge_all()
        with tf.Session() as sess:
            one = sess.run(s1, {x: [1.0, 3.0]})
            both, m = sess.run([merged, tf.reduce_mean(x)], {x: [1.0, 2.0]})
            by_name = sess.run({"s": s1}, {x: [4.0]})
    assert isinstance(one, bytes)
    assert [(v.tag, v.simple_value) for v in decode_summary(one)] == [("avg", 2.0)]
    vals = decode_summary(both)
    assert [v.tag for v in vals] == ["avg", "values"]
    assert vals[0].simple_value == 1.5 and m == 1.5
    assert vals[1].histo.num == 2 and vals[1].histo.sum == 3.0
    assert decode_summary(by_name["s"])[0].simple_value == 4.0


def test_merge_into_collection_and_merge_all_flattens_it():
    with tf.Graph().as_default():
        a = tf.summary.scalar("a", tf.constant(1.0), collections=["mine"])
        b = tf.summary.scalar("b", tf.constant(2.0), collections=["mine"])
        merged = tf.summary.merge([a, b], collections=["merged"])
        assert tf.get_collection("merged") == [merged]
        again = tf.summary.merge_all("merged")
        assert [op.tag for op in again] == ["a", "b"]
        with tf.Session() as sess:
            got = decode_summary(sess.run(again))
    assert [(v.tag, v.simple_value) for v in got] == [("a", 1.0), ("b", 2.0)]


def test_deep_mnist_style_logging_loop(tmp_path):
    """The TF1 tutorials' loop: run the merged op with the train op, add_summary the bytes;
    and a value computed in Python written as a tf.Summary."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        w = tf.get_variable("w", [2, 1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
        tf.summary.scalar("loss", loss)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(str(tmp_path))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(3):
                summary, _ = sess.run([merged, train], {x: np.ones((4, 2), np.float32)})
                writer.add_summary(summary, step)
            writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="acc",
                                                                   simple_value=0.75)]), 3)
        writer.close()
    scalars = read_scalars(str(tmp_path))
    assert scalars[0]["loss"] == pytest.approx(1.0)
    assert scalars[2]["loss"] < scalars[0]["loss"]
    assert scalars[3] == {"acc": 0.75}


def test_file_writer_takes_tfs_arguments(tmp_path):
    """TF1's FileWriter(logdir, sess.graph): the second argument is the graph (it was
    taken as the file name's suffix)."""
    from estcore.summary import event_files, iter_events

    with tf.Graph().as_default() as g:
        tf.constant(1.0, name="c")
        w = tf.summary.FileWriter(str(tmp_path), g, max_queue=5, flush_secs=10)
        w.add_summary(Summary(value=[Summary.Value(tag="a", simple_value=1.0)]), 1)
        w.close()
        files = event_files(str(tmp_path))
        assert len(files) == 1 and not files[0].endswith(">")
        events = list(iter_events(files[0]))
        assert sum(1 for e in events if e.graph_def) == 1
        suffixed = tf.summary.FileWriter(str(tmp_path / "s"), filename_suffix=".v2")
        suffixed.close()
        assert event_files(str(tmp_path / "s"))[0].endswith(".v2")
        with pytest.raises(TypeError, match="`graph` must be an estcore Graph"):
            tf.summary.FileWriter(str(tmp_path / "x"), "not a graph")
        with pytest.raises(ValueError, match="`session` is not supported"):
            tf.summary.FileWriter(str(tmp_path / "y"), session=object())
