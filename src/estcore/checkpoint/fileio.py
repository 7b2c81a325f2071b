"""Atomic file writes: temporary file in the same directory, fsync, rename, fsync dir.

A crash (or an exception) at any moment leaves either the old file or the new
one at ``path``, never a torn mix; a leftover temporary file has a name that
starts with ``.tmp-`` and is ignored by every reader.

Large chunks are handed to the disk as soon as they are written (Linux
``sync_file_range``, started without waiting), so the device works while the
caller prepares the next chunk (a checkpoint computes its checksum then) and the
final ``fsync`` only waits for the tail.

For crash tests only: with ``ESTCORE_TEST_WRITE_PAUSE_S`` set to a number of
seconds in the environment, every write pauses that long after its first chunk,
with the temporary file half written, so that a kill lands inside a write
(``scripts/crash_test.py``). Unset, it costs one environment lookup per file.

Must not: know what it writes (the checkpoint format, the state file and the export
format hand it bytes); import anything of estcore (the bottom of ``estcore.checkpoint``);
leave its temporary file behind when a write fails (it is unlinked before the error
propagates).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable

__all__ = ["atomic_write", "fsync_dir", "remove_temp_files", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-"
_KICK_MIN_BYTES = 64 * 1024  # smaller chunks wait for the fsync


def _find_sync_file_range():
    """libc's ``sync_file_range`` through ctypes, or None (not Linux, no libc)."""
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except Exception:  # noqa: BLE001 - no libc handle (not Linux): skip the hint
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _find_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writeback of dirty pages, do not wait


def _start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing ``[offset, offset + nbytes)`` of ``fd`` now.

    Advisory only: a failure (a file system without support) changes nothing,
    the fsync that follows still makes the data durable.
    """
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)


def fsync_dir(directory: str) -> None:
    """Make a rename inside ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_temp_files(directory: str) -> list[str]:
    """Remove the temporary files that writes killed mid-way left in ``directory``.

    Only files whose name starts with :data:`TMP_PREFIX` (never a directory, never a
    symlink's target) are removed. Call it where no write into ``directory`` can be in
    flight: the chief, at the start of training, before its first save.

    Returns:
        The paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:  # no directory yet
        return removed
    for entry in entries:
        if entry.name.startswith(TMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(entry.path)
    return removed


_PAUSE_ENV = "ESTCORE_TEST_WRITE_PAUSE_S"


def _test_pause() -> float:
    """Seconds to pause mid-file (crash tests, see the module docstring); 0 normally."""
    value = os.environ.get(_PAUSE_ENV)
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _current_umask() -> int:
    """The process umask (read from /proc where possible: setting it to read it is not
    thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask




def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def atomic_write(path: str, chunks: Iterable[bytes | memoryview]) -> None:
    """Write the concatenation of ``chunks`` to ``path`` atomically.

    Args:
        path: destination file; its directory must exist.
        chunks: byte strings (or contiguous buffers) written in order; may be a
            generator, which is resumed after each chunk has been written.

    Raises:
        OSError: from the file system, naming ``path`` (a full disk reads
            ``[Errno 28] No space left on device: '<path>'``); the temporary file is
            removed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + os.path.basename(path) + ".",
                               dir=directory)
    pause = _test_pause()
    try:
        try:
            # the mode open() would give (0666 less the process's umask now), as TF's
            # writes have; mkstemp's 0600 would hide checkpoints and exports from other
            # users (a TensorBoard or serving process running as another user)
            os.fchmod(fd, 0o666 & ~_current_umask())
            offset = 0
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                _write_all(fd, view)
                if pause:
                    time.sleep(pause)
                    pause = 0.0
                if view.nbytes >= _KICK_MIN_BYTES:
                    _start_writeback(fd, offset, view.nbytes)
                offset += view.nbytes
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename is None:
            # (os.write / os.fsync errors name no file)
            raise OSError(e.errno, e.strerror, path) from e
        raise
    fsync_dir(directory)
