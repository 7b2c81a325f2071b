"""Atomic file writes: temporary file in the same directory, fsync, rename, fsync dir.

A crash (or an exception) at any moment leaves either the old file or the new
one at ``path``, never a torn mix; a leftover temporary file has a name that
starts with ``.tmp-`` and is ignored by every reader.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

__all__ = ["atomic_write", "fsync_dir", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-"


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


def atomic_write(path: str, chunks: Iterable[bytes | memoryview]) -> None:
    """Write the concatenation of ``chunks`` to ``path`` atomically.

    Args:
        path: destination file; its directory must exist.
        chunks: byte strings (or buffers) written in order.

    Raises:
        OSError: from the file system; the temporary file is removed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + os.path.basename(path) + ".",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(directory)
