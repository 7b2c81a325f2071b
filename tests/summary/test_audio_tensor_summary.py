"""``summary.audio`` and ``summary.tensor_summary``: written by a training run and read back
with TensorBoard's own reader (``event_accumulator``), WAV bytes checked with Python's
``wave`` module, TF1's tags, metadata and argument errors."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.util import tensor_util

import estcore as ec
import estcore.compat.v1 as tf
from estcore.summary import FileWriterCache, audio_values, encode_wav
from estcore.summary.ops import fetches_of, summary_values
from estcore.summary.summary_pb import decode_summary, encode_summary


@pytest.fixture(autouse=True)
def _clear_cache():
    yield
    FileWriterCache.clear()


def _read_wav(data: bytes):
    with wave.open(io.BytesIO(data)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), frames.reshape(
            -1, w.getnchannels())


def test_encode_wav_pcm16():
    samples = np.array([[0.0, 1.0], [-1.0, 0.5], [2.0, -0.25]])
    rate, channels, width, pcm = _read_wav(encode_wav(samples, 8000))
    assert (rate, channels, width) == (8000, 2, 2)
    # round(x * 32768) clamped to int16, as TF's encode_wav
    np.testing.assert_array_equal(pcm, [[0, 32767], [-32768, 16384], [32767, -8192]])


def test_encode_wav_bytes_equal_tensorflows():
    samples = np.array([[0.0, 1.0], [-1.0, 0.5], [2.0, -0.25], [0.3, -0.7],
                        [0.00001, -0.99999]], np.float32)
    # tf.audio.encode_wav(samples, 8000) of TF 2.15 on the same samples
    want = bytes.fromhex("524946463800000057415645666d74201000000001000200401f0000007d0000"
                         "040010006461746114000000"
                         "0000ff7f00800040ff7f00e0662666a600000080")
    assert encode_wav(samples, 8000) == want


def test_audio_values_tags_and_shapes():
    clips = np.zeros((4, 10), np.float32)
    values = audio_values("voice", clips, 16000, max_outputs=2)
    assert [v.tag for v in values] == ["voice/audio/0", "voice/audio/1"]
    assert values[0].audio.num_channels == 1 and values[0].audio.length_frames == 10
    (one,) = audio_values("voice", clips, np.float32(16000), max_outputs=1)
    assert one.tag == "voice/audio" and one.audio.content_type == "audio/wav"
    back = decode_summary(encode_summary(values))
    assert back[1].audio == values[1].audio


def _model_fn(features, labels, mode):
    x = features["x"]
    tf.summary.audio("tone", tf.reshape(x, [-1, 8, 1]) / 10.0, sample_rate=4000, max_outputs=2)
    tf.summary.tensor_summary("first_row", x[0], summary_description="the input's first row")
    w = tf.get_variable("w", [8, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - labels))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)


def test_training_run_writes_audio_and_tensors_tensorboard_reads(tmp_path):
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
    y = np.ones((4, 1), np.float32)
    config = tf.estimator.RunConfig(save_summary_steps=1)
    est = tf.estimator.Estimator(_model_fn, str(tmp_path), config=config)
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=4, num_epochs=None,
                                                 shuffle=False), steps=2)
    acc = ea.EventAccumulator(str(tmp_path), size_guidance={ea.AUDIO: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    assert sorted(tags["audio"]) == ["tone/audio/0", "tone/audio/1"]
    event = acc.Audio("tone/audio/1")[0]
    assert event.content_type == "audio/wav" and event.sample_rate == 4000
    rate, channels, _, pcm = _read_wav(event.encoded_audio_string)
    assert (rate, channels) == (4000, 1)
    np.testing.assert_array_equal(pcm[:, 0], np.rint(x[1] / 10.0 * 32768).astype(np.int16))
    assert "first_row" in tags["tensors"]
    tensor_events = acc.Tensors("first_row")
    assert tensor_events

    np.testing.assert_array_equal(tensor_util.make_ndarray(tensor_events[0].tensor_proto), x[0])
    meta = acc.SummaryMetadata("first_row")
    assert meta.summary_description == "the input's first row"
    assert meta.display_name == "first_row"


def test_tensor_summary_in_a_session_run_and_metadata_object():
    with ec.Graph().as_default():
        t = ec.constant([[1, 2], [3, 4]], dtype=ec.int64)
        op = tf.summary.tensor_summary("table", t, summary_metadata={"display_name": "Table"})
        assert tf.summary.merge_all() == [op]
        with ec.Session() as sess:
            (value,) = summary_values([op], sess.run(fetches_of([op])))
    assert value.tag == "table" and value.display_name == "Table"
    np.testing.assert_array_equal(value.tensor, [[1, 2], [3, 4]])
    (back,) = decode_summary(encode_summary([value]))
    assert back.display_name == "Table" and back.description == ""
    np.testing.assert_array_equal(back.tensor, value.tensor)


def test_audio_sample_rate_tensor():
    with ec.Graph().as_default():
        rate = ec.placeholder(ec.float32, [])
        op = tf.summary.audio("a", ec.zeros([1, 5]), rate, max_outputs=1)
        with ec.Session() as sess:
            (value,) = summary_values([op], sess.run(fetches_of([op]), {rate: 22050.0}))
    assert value.audio.sample_rate == 22050.0


@pytest.mark.parametrize("call, error, match", [
    (lambda: tf.summary.audio("a", ec.zeros([2, 3]), 0), ValueError, "sample_rate"),
    (lambda: tf.summary.audio("a", ec.zeros([2, 3]), 8000, max_outputs=0), ValueError,
     "max_outputs"),
    (lambda: tf.summary.audio("a", ec.zeros([2, 3, 1, 1]), 8000), ValueError, "frames"),
    (lambda: tf.summary.audio("a", ec.zeros([2, 3], dtype=ec.int32), 8000), TypeError,
     "float"),
])
def test_audio_argument_errors(call, error, match):
    with ec.Graph().as_default():
        with pytest.raises(error, match=match):
            call()
