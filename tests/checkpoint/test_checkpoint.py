"""estcore.checkpoint: the file format, the state file and the Saver (round trips, corruption,
rotation, crash safety)."""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from estcore.checkpoint import fileio as _fileio
from estcore.checkpoint.format import (
    CheckpointCorruptError,
    checkpoint_file,
    read_checkpoint,
    write_checkpoint,
)
from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import (
    CheckpointReader,
    CheckpointState,
    format_state_text,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_variable,
    parse_state_text,
)
from estcore.errors import NotFoundError

pytestmark = pytest.mark.smoke


def sample():
    return {
        "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4),
        "dense/bias": np.array([1.5, -2.0], dtype=np.float64),
        "global_step": np.int64(23),
        "flag": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
        "u8": np.arange(5, dtype=np.uint8),
        "half": np.array([1, 2], np.float16),
    }


def test_roundtrip_all_dtypes(tmp_path):
    prefix = str(tmp_path / "model.ckpt-23")
    path = write_checkpoint(prefix, sample(), meta={"global_step": 23})
    assert path == prefix + ".data" and os.path.isfile(path)
    values, meta = read_checkpoint(prefix)
    assert meta == {"global_step": 23}
    for name, value in sample().items():
        np.testing.assert_array_equal(values[name], value)
        assert values[name].dtype == np.asarray(value).dtype
        assert values[name].shape == np.asarray(value).shape
        assert values[name].flags.writeable
    values2, _ = read_checkpoint(path)  # the file name works too
    assert set(values2) == set(values)


def test_big_endian_and_noncontiguous_input(tmp_path):
    a = np.arange(6, dtype=">f8").reshape(2, 3).T
    write_checkpoint(str(tmp_path / "c"), {"a": a})
    values, _ = read_checkpoint(str(tmp_path / "c"))
    np.testing.assert_array_equal(values["a"], a)
    assert values["a"].dtype == np.float64


def test_refuses_objects_and_bad_names(tmp_path):
    with pytest.raises(ValueError, match="not a numeric or bool dtype"):
        write_checkpoint(str(tmp_path / "c"), {"a": np.array([object()])})
    with pytest.raises(ValueError, match="non-empty strings"):
        write_checkpoint(str(tmp_path / "c"), {"": np.zeros(1)})
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "empty", "tail"])
def test_corruption_detected(tmp_path, damage):
    prefix = str(tmp_path / "c")
    path = write_checkpoint(prefix, sample())
    data = bytearray(pathlib.Path(path).read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "magic":
        data[0] ^= 1
    elif damage == "empty":
        data = bytearray()
    else:
        data = data[:-3]
    pathlib.Path(path).write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptError, match="is corrupted"):
        read_checkpoint(prefix)
    with pytest.raises(CheckpointCorruptError):
        CheckpointReader(prefix)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(NotFoundError, match="Failed to find any matching files"):
        read_checkpoint(str(tmp_path / "nope"))


def test_reader_and_helpers(tmp_path):
    saver = Saver()
    saver.save(sample(), str(tmp_path / "model.ckpt"), global_step=23)
    reader = CheckpointReader(str(tmp_path / "model.ckpt-23"))
    assert reader.get_variable_to_shape_map()["dense/kernel"] == [3, 4]
    assert reader.get_variable_to_dtype_map()["dense/kernel"] == "float32"
    assert reader.has_tensor("global_step") and not reader.has_tensor("x")
    assert reader.get_tensor("global_step") == 23 and reader.get_tensor("global_step").shape == ()
    with pytest.raises(NotFoundError, match="^Key nope not found in checkpoint$"):
        reader.get_tensor("nope")
    assert reader.meta["global_step"] == 23
    names = [n for n, _ in list_variables(str(tmp_path))]
    assert names == sorted(sample())
    np.testing.assert_array_equal(load_variable(str(tmp_path), "dense/bias:0"),
                                  sample()["dense/bias"])
    os.makedirs(tmp_path / "sub")
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        list_variables(str(tmp_path / "sub"))


def test_state_file_text_is_tf_format(tmp_path):
    s = Saver(max_to_keep=2)
    for step in (0, 7, 14, 20):
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    text = (tmp_path / "checkpoint").read_text()
    lines = text.splitlines()
    assert lines[:3] == ['model_checkpoint_path: "model.ckpt-20"',
                         'all_model_checkpoint_paths: "model.ckpt-14"',
                         'all_model_checkpoint_paths: "model.ckpt-20"']
    assert all(line.startswith("all_model_checkpoint_timestamps: ") for line in lines[3:])
    assert sorted(f for f in os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-14.data",
                                                       "model.ckpt-20.data"]
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-20")


def test_state_parse_tolerance(tmp_path, caplog, estcore_log):
    d = str(tmp_path)
    assert get_checkpoint_state(d) is None and latest_checkpoint(d) is None
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: 'm-1'\n# comment\n\n")
    state = get_checkpoint_state(d)
    assert state.all_model_checkpoint_paths == [os.path.join(d, "m-1")]
    assert "is not in all_model_checkpoint_paths. Manually adding it." in caplog.text
    assert latest_checkpoint(d) is None
    assert "Couldn't match files for checkpoint" in caplog.text
    (tmp_path / "checkpoint").write_text("garbage here\n")
    assert get_checkpoint_state(d) is None
    assert "Checkpoint ignored" in caplog.text
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "a"\n')
    with pytest.raises(ValueError, match="^Invalid checkpoint state loaded from "):
        get_checkpoint_state(d)
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/abs/x"\n')
    assert get_checkpoint_state(d).model_checkpoint_path == "/abs/x"


def test_state_text_escapes_roundtrip():
    state = CheckpointState("we\"ird\\path\n\u00e9", ["a", "we\"ird\\path\n\u00e9"], [1.0, 2.5],
                            2.5, ["a"])
    text = format_state_text(state)
    assert '\\"' in text and "\\303\\251" in text
    back = parse_state_text(text)
    assert back == state


def test_relative_paths_allow_moving_dir(tmp_path):
    a = tmp_path / "a"
    Saver().save({"w": np.ones(2)}, str(a / "model.ckpt"), global_step=5)
    os.rename(a, tmp_path / "b")
    assert latest_checkpoint(str(tmp_path / "b")) == str(tmp_path / "b" / "model.ckpt-5")


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def steps_on_disk(d):
    return sorted(int(f.split("-")[1].split(".")[0]) for f in os.listdir(d)
                  if f.endswith(".data"))


def state_steps(d):
    st = get_checkpoint_state(str(d))
    return [int(p.rsplit("-", 1)[1]) for p in st.all_model_checkpoint_paths]


def test_rotation_keep_max(tmp_path):
    s = Saver(max_to_keep=3, clock=Clock())
    for step in range(10):
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    assert steps_on_disk(tmp_path) == [7, 8, 9] == state_steps(tmp_path)


def test_resave_same_step_moves_to_newest(tmp_path):
    clock = Clock()
    s = Saver(max_to_keep=2, clock=clock)
    for step in (0, 7, 0):
        clock.t += 1
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    assert state_steps(tmp_path) == [7, 0]


@pytest.mark.parametrize("keep", [0, None])
def test_max_to_keep_zero_keeps_and_lists_all(tmp_path, keep):
    s = Saver(max_to_keep=keep, clock=Clock())
    for step in range(6):
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    assert steps_on_disk(tmp_path) == list(range(6)) == state_steps(tmp_path)


def test_every_n_hours_none_does_not_disable_rotation(tmp_path):
    clock = Clock()
    s = Saver(max_to_keep=1, keep_checkpoint_every_n_hours=None, clock=clock)
    for step in range(5):
        clock.t += 3600 * 5
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    assert steps_on_disk(tmp_path) == [4]


def test_every_n_hours_preserves_like_tf(tmp_path):
    clock = Clock(0.0)
    s = Saver(max_to_keep=2, keep_checkpoint_every_n_hours=1, clock=clock)  # next keep at 3600
    # one checkpoint every 20 minutes
    for step in range(12):
        clock.t = step * 1200.0
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    # evicted in order 0,1,2,...; preserved: first evicted with time > 3600 (step 4 at 4800),
    # next mark 7200 -> step 7 (8400), next 10800 -> nothing left evicted after (9 at 10800
    # is not > 10800), 10/11 are the newest two.
    assert s.preserved_checkpoints == [str(tmp_path / f"model.ckpt-{i}") for i in (4, 7)]
    assert steps_on_disk(tmp_path) == [4, 7, 10, 11]
    assert state_steps(tmp_path) == [4, 7, 10, 11]
    text = (tmp_path / "checkpoint").read_text()
    assert '# preserved: "model.ckpt-4"' in text and '# preserved: "model.ckpt-7"' in text
    # after a restart, preserved ones are never deleted and rotation continues
    s2 = Saver(max_to_keep=2, keep_checkpoint_every_n_hours=1, clock=clock)
    s2.recover_last_checkpoints(str(tmp_path))
    assert s2.preserved_checkpoints == s.preserved_checkpoints
    for step in range(12, 15):
        clock.t = step * 1200.0
        s2.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    assert steps_on_disk(tmp_path) == [4, 7, 13, 14] == state_steps(tmp_path)


def test_lowering_max_shrinks_on_next_save(tmp_path):
    s = Saver(max_to_keep=6, clock=Clock())
    for step in range(6):
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    s2 = Saver(max_to_keep=2, clock=Clock())
    s2.recover_last_checkpoints(str(tmp_path))
    assert len(s2.last_checkpoints) == 6
    s2.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=6)
    assert steps_on_disk(tmp_path) == [5, 6] == state_steps(tmp_path)


def test_recovery_uses_mtime_without_timestamps_and_skips_missing(tmp_path):
    s = Saver(max_to_keep=5)
    for step in range(3):
        s.save({"w": np.zeros(1)}, str(tmp_path / "model.ckpt"), global_step=step)
    text = "".join(line + "\n" for line in (tmp_path / "checkpoint").read_text().splitlines()
                   if "timestamps" not in line)
    (tmp_path / "checkpoint").write_text(text)
    os.remove(tmp_path / "model.ckpt-0.data")
    s2 = Saver(max_to_keep=5)
    s2.recover_last_checkpoints(str(tmp_path))
    assert [p.rsplit("-", 1)[1] for p in s2.last_checkpoints] == ["1", "2"]


def test_saver_arg_validation():
    with pytest.raises(ValueError, match="max_to_keep"):
        Saver(max_to_keep=-1)
    with pytest.raises(ValueError, match="keep_checkpoint_every_n_hours"):
        Saver(keep_checkpoint_every_n_hours=0)


def test_crash_during_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    s = Saver(max_to_keep=1)
    s.save({"w": np.full(3, 1.0)}, str(tmp_path / "model.ckpt"), global_step=1)
    before = (tmp_path / "checkpoint").read_text()

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(_fileio.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        s.save({"w": np.full(3, 2.0)}, str(tmp_path / "model.ckpt"), global_step=2)
    monkeypatch.undo()
    assert (tmp_path / "checkpoint").read_text() == before
    latest = latest_checkpoint(str(tmp_path))
    assert latest.endswith("model.ckpt-1")
    np.testing.assert_array_equal(Saver.restore(latest)["w"], np.full(3, 1.0))
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-1.data"]


def test_atomic_write_streams_chunks_and_cleans_up_on_error(tmp_path, monkeypatch):
    path = str(tmp_path / "f.bin")
    big = np.arange(100_000, dtype=np.float32)  # >= 64 KiB: writeback started early
    started = []
    real = _fileio._start_writeback
    monkeypatch.setattr(_fileio, "_start_writeback",
                        lambda fd, off, n: (started.append((off, n)), real(fd, off, n)))
    _fileio.atomic_write(path, [b"head", memoryview(big).cast("B"), b"tail"])
    assert pathlib.Path(path).read_bytes() == b"head" + big.tobytes() + b"tail"
    assert started == [(4, big.nbytes)]

    def failing():  # the producer fails after a chunk was written
        yield b"partial"
        raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError, match="producer failed"):
        _fileio.atomic_write(path, failing())
    assert pathlib.Path(path).read_bytes() == b"head" + big.tobytes() + b"tail"
    assert os.listdir(tmp_path) == ["f.bin"]  # no temporary file left

    monkeypatch.setattr(_fileio, "_sync_file_range", None)  # no sync_file_range: still works
    monkeypatch.setattr(_fileio, "_start_writeback", real)
    _fileio.atomic_write(path, [memoryview(big).cast("B")])
    assert pathlib.Path(path).read_bytes() == big.tobytes()


def test_large_checkpoints_checksum_on_a_helper_thread_joined_even_on_error(tmp_path,
                                                                           monkeypatch):
    import threading

    values = {"big": np.arange(1 << 19, dtype=np.float32), "small": np.ones(3)}  # 2 MiB
    prefix = str(tmp_path / "model.ckpt-1")
    write_checkpoint(prefix, values)  # CRC on the helper thread: the reader verifies it
    back, _ = read_checkpoint(prefix)
    np.testing.assert_array_equal(back["big"], values["big"])
    real = _fileio._write_all
    calls = []

    def fail_second(fd, data):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(_fileio, "_write_all", fail_second)
    with pytest.raises(OSError, match="No space") as info:
        write_checkpoint(str(tmp_path / "model.ckpt-2"), values)
    assert info.value is not None  # the error (and its traceback) still held here
    assert not any(t.name == "estcore-checkpoint-crc" for t in threading.enumerate())
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt-1.data"]


def test_crash_during_state_write_keeps_previous(tmp_path, monkeypatch):
    s = Saver(max_to_keep=1)
    s.save({"w": np.full(3, 1.0)}, str(tmp_path / "model.ckpt"), global_step=1)
    real_replace = os.replace

    def fail_state(src, dst):
        if os.path.basename(dst) == "checkpoint":
            raise OSError("crash while writing state")
        return real_replace(src, dst)

    monkeypatch.setattr(_fileio.os, "replace", fail_state)
    with pytest.raises(OSError):
        s.save({"w": np.full(3, 2.0)}, str(tmp_path / "model.ckpt"), global_step=2)
    monkeypatch.undo()
    # the old checkpoint was not deleted (deletion happens after the state file)
    latest = latest_checkpoint(str(tmp_path))
    np.testing.assert_array_equal(Saver.restore(latest)["w"], np.full(3, 1.0))


def test_process_killed_mid_write_leaves_previous_loadable(tmp_path):
    # A child process saves step 1, then is SIGKILLed while writing step 2's file.
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from estcore.checkpoint import fileio as _fileio
        from estcore.checkpoint.saver import Saver
        s = Saver(max_to_keep=1)
        s.save({{"w": np.full(1000, 1.0)}}, {str(tmp_path / "model.ckpt")!r}, global_step=1)
        real_fsync = os.fsync
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        _fileio.os.fsync = die
        s.save({{"w": np.full(1000, 2.0)}}, {str(tmp_path / "model.ckpt")!r}, global_step=2)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    latest = latest_checkpoint(str(tmp_path))
    assert latest.endswith("model.ckpt-1")
    np.testing.assert_array_equal(Saver.restore(latest)["w"], np.full(1000, 1.0))
    assert not os.path.exists(checkpoint_file(str(tmp_path / "model.ckpt-2")))
    leftovers = [f for f in os.listdir(tmp_path) if f.startswith(_fileio.TMP_PREFIX)]
    assert len(leftovers) == 1  # a torn temp file, ignored by readers
    # a new saver in the same dir works and rotation ignores the temp file
    s = Saver(max_to_keep=1)
    s.recover_last_checkpoints(str(tmp_path))
    s.save({"w": np.zeros(2)}, str(tmp_path / "model.ckpt"), global_step=3)
    assert steps_on_disk(tmp_path) == [3]
