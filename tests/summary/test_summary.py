import os
import pathlib
import struct
import zlib

import numpy as np
import pytest

from estcore.proto.wire import ProtoDecodeError, iter_fields, varint
from estcore.summary import (
    Event,
    FileWriter,
    FileWriterCache,
    SessionLog,
    event_files,
    histogram_value,
    iter_events,
    read_eval_metrics,
    read_scalars,
    scalar_value,
    tensor_value,
    text_value,
)
from estcore.summary.crc32c import crc32c, masked_crc32c
from estcore.summary.reader import EventFileCorruptError
from estcore.summary.summary_pb import decode_event, encode_event
from estcore.summary.writer import frame_record

pytestmark = pytest.mark.smoke


@pytest.fixture(autouse=True)
def _clear_cache():
    yield
    FileWriterCache.clear()


def test_crc32c_known_vectors():
    # RFC 3720 test vectors
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(bytes([0xFF] * 32)) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283
    c = crc32c(b"abc")
    assert masked_crc32c(b"abc") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_varint_and_decode():
    assert varint(0) == b"\x00" and varint(300) == b"\xac\x02"
    assert len(varint(-1)) == 10
    assert list(iter_fields(b"\x08\xac\x02")) == [(1, 0, 300)]
    with pytest.raises(ProtoDecodeError):
        list(iter_fields(b"\x08\xac"))
    with pytest.raises(ProtoDecodeError):
        list(iter_fields(b"\x0a\x05ab"))


def test_event_roundtrip():
    e = Event(wall_time=123.25, step=-5, summary=[
        scalar_value("loss", 0.5), histogram_value("w", [1.0, 2.0, -3.0]),
        tensor_value("t", np.arange(6, dtype=np.int32).reshape(2, 3)),
        text_value("checkpoint_path", "/x/model.ckpt-1")],
        session_log=SessionLog(SessionLog.CHECKPOINT, "/x/model.ckpt-1"))
    back = decode_event(encode_event(e))
    assert back.wall_time == 123.25 and back.step == -5
    assert back.summary[0].tag == "loss" and back.summary[0].simple_value == 0.5
    h = back.summary[1].histo
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (-3.0, 2.0, 3.0, 0.0, 14.0)
    assert sum(h.bucket) == 3
    np.testing.assert_array_equal(back.summary[2].tensor, np.arange(6).reshape(2, 3))
    assert back.summary[3].tensor.item() == b"/x/model.ckpt-1"
    assert back.summary[3].plugin_name == "text"
    assert back.session_log == SessionLog(SessionLog.CHECKPOINT, "/x/model.ckpt-1")


def test_histogram_buckets_like_tf():
    h = histogram_value("h", np.array([0.0, 1.0, 1.0, 5.0])).histo
    # non-empty buckets only, runs of empty buckets collapsed into one entry
    nonzero = [(lim, c) for lim, c in zip(h.bucket_limit, h.bucket, strict=True) if c]
    assert [c for _, c in nonzero] == [1.0, 2.0, 1.0]
    assert nonzero[0][0] > 0.0 and nonzero[1][0] > 1.0 and nonzero[2][0] > 5.0
    assert all(c == 0 for lim, c in zip(h.bucket_limit, h.bucket, strict=True) if not c)
    assert h.bucket_limit == sorted(h.bucket_limit)
    empty = histogram_value("e", []).histo
    assert empty.num == 0 and empty.bucket == [0.0]
    with pytest.raises(ValueError, match="Nan or Inf in summary histogram for: bad"):
        histogram_value("bad", [np.nan])


def test_record_framing_bytes():
    rec = frame_record(b"hello")
    assert rec[:8] == struct.pack("<Q", 5)
    assert struct.unpack("<I", rec[8:12])[0] == masked_crc32c(rec[:8])
    assert rec[12:17] == b"hello"
    assert struct.unpack("<I", rec[17:])[0] == masked_crc32c(b"hello")
    assert zlib.crc32(b"x") != crc32c(b"x")  # really Castagnoli, not zlib's CRC


def test_writer_file_name_and_first_event(tmp_path):
    w = FileWriter(str(tmp_path))
    name = os.path.basename(w.path)
    assert name.startswith("events.out.tfevents.") and name.endswith(".") is False
    ts = name.split(".")[3]
    assert len(ts) == 10 and ts.isdigit()
    w.add_scalar("loss", 1.5, 3)
    w.close()
    events = list(iter_events(w.path))
    assert events[0].file_version == "brain.Event:2"
    assert events[1].step == 3 and events[1].summary[0].simple_value == 1.5
    with pytest.raises(ValueError, match="closed"):
        w.add_scalar("x", 1, 1)


def test_two_writers_same_second_get_distinct_files(tmp_path):
    a, b = FileWriter(str(tmp_path)), FileWriter(str(tmp_path))
    assert a.path != b.path
    a.close()
    b.close()
    assert len(event_files(str(tmp_path))) == 2


def test_writer_never_truncates_a_file_created_after_its_existence_check(tmp_path, monkeypatch):
    # Another thread or process may create the same name between a check and the open:
    # simulate losing that race (every existence check says "free").
    import estcore.summary.writer as writer_mod

    monkeypatch.setattr(writer_mod.time, "time", lambda: 1700000000.0)
    first = FileWriter(str(tmp_path))
    first.add_scalar("loss", 1.0, 1)
    first.flush()
    monkeypatch.setattr(writer_mod.os.path, "exists", lambda _p: False)
    second = FileWriter(str(tmp_path))
    assert second.path != first.path
    first.close()
    second.close()
    assert [e.step for e in iter_events(first.path)][-1] == 1


def test_cache_one_writer_per_dir(tmp_path):
    w1 = FileWriterCache.get(str(tmp_path))
    w2 = FileWriterCache.get(pathlib.Path(tmp_path) / ".")
    assert w1 is w2
    FileWriterCache.clear()
    assert w1.closed
    assert FileWriterCache.get(str(tmp_path)) is not w1


def test_released_writer_reopens_its_file_for_appending(tmp_path):
    from estcore.summary.reader import event_files, iter_events

    model, sub, sibling = tmp_path / "m", tmp_path / "m" / "eval", tmp_path / "m2"
    writers = [FileWriterCache.get(str(d)) for d in (model, sub, sibling)]
    for w in writers:
        w.add_scalar("x", 1.0, 1)
    FileWriterCache.release(str(model))  # model and the directory below it, not m2
    assert [w._file is None for w in writers] == [True, True, False]
    assert not any(w.closed for w in writers)  # released, still usable
    assert FileWriterCache.get(str(model)) is writers[0]
    writers[0].add_scalar("x", 2.0, 2)  # reopens the same file
    writers[0].release()
    writers[0].release()  # idempotent
    assert event_files(str(model)) == [writers[0].path]
    steps = [e.step for e in iter_events(writers[0].path) if e.summary]
    assert steps == [1, 2]
    writers[0].close()
    assert writers[0].closed
    with pytest.raises(ValueError, match="closed"):
        writers[0].add_scalar("x", 3.0, 3)


def test_released_writer_whose_file_was_deleted_starts_a_new_file(tmp_path):
    import shutil

    from estcore.summary.reader import event_files, iter_events

    d = tmp_path / "gone"
    w = FileWriterCache.get(str(d))
    w.add_scalar("x", 1.0, 1)
    FileWriterCache.release(str(d))
    shutil.rmtree(d)  # e.g. a notebook wiping model_dir between runs
    w.add_scalar("x", 2.0, 2)
    w.flush()
    (path,) = event_files(str(d))
    events = list(iter_events(path))
    assert events[0].file_version == "brain.Event:2"  # a proper new event file
    assert [e.step for e in events if e.summary] == [2]


def test_read_scalars_and_eval_metrics(tmp_path):
    w = FileWriter(str(tmp_path))
    w.add_summary([scalar_value("loss", 2.0), scalar_value("accuracy", 0.25)], 10)
    w.add_summary([scalar_value("loss", 1.0), histogram_value("h", [1.0])], 5)
    w.add_summary(text_value("checkpoint_path", "p"), 20)
    w.close()
    w2 = FileWriter(str(tmp_path), filename_suffix=".b")
    w2.add_scalar("loss", 0.5, 10)
    w2.close()
    assert read_scalars(str(tmp_path)) == {10: {"loss": 0.5, "accuracy": 0.25},
                                          5: {"loss": 1.0}}
    metrics = read_eval_metrics(str(tmp_path))
    assert list(metrics) == [5, 10]


def test_torn_tail_ignored_and_corruption_detected(tmp_path):
    w = FileWriter(str(tmp_path))
    w.add_scalar("a", 1.0, 1)
    w.add_scalar("a", 2.0, 2)
    w.close()
    data = pathlib.Path(w.path).read_bytes()
    pathlib.Path(w.path).write_bytes(data[:-5])
    assert [e.step for e in iter_events(w.path)] == [0, 1]
    bad = bytearray(data)
    bad[-6] ^= 0xFF
    pathlib.Path(w.path).write_bytes(bytes(bad))
    with pytest.raises(EventFileCorruptError, match="corrupted record data"):
        list(iter_events(w.path))


def test_tensorboard_reads_our_files(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    w = FileWriter(str(tmp_path))
    for step in range(5):
        w.add_summary([scalar_value("loss", 1.0 / (step + 1)),
                       histogram_value("weights", np.linspace(-1, 1, 50) * step)], step)
    w.add_summary(text_value("checkpoint_path", "/m/model.ckpt-4"), 4)
    w.add_session_log(SessionLog(SessionLog.CHECKPOINT, "/m/model.ckpt-4"), 4)
    w.add_summary(tensor_value("matrix", np.eye(2, dtype=np.float32)), 4)
    w.close()
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0,
                                                        "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "loss" in tags["scalars"] and "weights" in tags["histograms"]
    assert "checkpoint_path" in tags["tensors"] and "matrix" in tags["tensors"]
    scalars = acc.Scalars("loss")
    assert [s.step for s in scalars] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([s.value for s in scalars], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5],
                               rtol=1e-6)
    histos = acc.Histograms("weights")
    assert len(histos) == 5
    last = histos[-1].histogram_value
    assert last.num == 50 and last.min == -4 and last.max == 4
    assert sum(last.bucket) == 50
    from tensorboard.util import tensor_util

    text = tensor_util.make_ndarray(acc.Tensors("checkpoint_path")[0].tensor_proto)
    assert text.item() == b"/m/model.ckpt-4"
    mat = tensor_util.make_ndarray(acc.Tensors("matrix")[0].tensor_proto)
    np.testing.assert_array_equal(mat, np.eye(2))
