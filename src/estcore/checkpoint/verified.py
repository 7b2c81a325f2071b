"""The last checkpoint read whole and verified, kept for the read that follows.

Choosing the checkpoint to restore (:func:`~estcore.checkpoint.state.restorable_checkpoint`)
reads a candidate whole and checks it (length, markers, every checksum) before picking
it; the restore then needs exactly those tensors. So the choice keeps what it read here,
and the next :func:`~estcore.checkpoint.format.read_checkpoint` of that prefix takes it
instead of reading and checking the files a second time. Verification is not weakened:
what is handed out passed every check when it was read, and it is handed out only while
the checkpoint's files are the ones read (same inode, size and modification time each,
and no file added or removed); otherwise the reader reads and checks the files again.
(A rewrite in place that keeps the size within the file system's timestamp granularity
is not seen: the reader then gets the bytes that were verified, not the new ones. Savers
replace files, which changes the inode.)

One entry, for the whole process: taking it empties it, and the next choice replaces it
(a call that chose a checkpoint and failed before restoring holds its bytes until then;
:func:`discard` frees them). The entry holds read-only arrays; a caller that wants
writable ones gets copies.

Must not: read or check checkpoint files itself (``format.py`` does); keep more than one
checkpoint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["fingerprint", "keep", "take", "peek", "discard"]

Fingerprint = tuple[tuple[str, int, int, int, int], ...]


@dataclass(frozen=True)
class _Entry:
    prefix: str
    files: Fingerprint
    values: Any
    meta: dict


_lock = threading.Lock()
_entry: _Entry | None = None


def fingerprint(paths: Sequence[str]) -> Fingerprint | None:
    """``(path, device, inode, size, mtime_ns)`` of each file, or None if one is gone
    (or there is none)."""
    if not paths:
        return None
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return None
        out.append((os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _key(prefix: str) -> str:
    return os.path.abspath(os.fspath(prefix))


def keep(prefix: str, files: Fingerprint, values: Any, meta: dict) -> None:
    """Keep the verified ``values`` (name -> read-only array) and ``meta`` of the
    checkpoint ``prefix`` whose files had the fingerprint ``files`` while they were read;
    replaces what was kept before."""
    global _entry
    with _lock:
        _entry = _Entry(_key(prefix), files, values, dict(meta))


def _matching(prefix: str, files_now: Callable[[], Fingerprint | None]) -> _Entry | None:
    entry = _entry
    if entry is None or entry.prefix != _key(prefix) or entry.files != files_now():
        return None
    return entry


def take(prefix: str, files_now: Callable[[], Fingerprint | None]) -> tuple[Any, dict] | None:
    """The kept ``(values, meta)`` of ``prefix`` if ``files_now()`` (called only when
    something of ``prefix`` is kept) gives the fingerprint its files had when they were
    read; the entry is emptied. Else None (a stale entry of ``prefix`` is dropped)."""
    global _entry
    with _lock:
        entry = _matching(prefix, files_now)
        if entry is not None or (_entry is not None and _entry.prefix == _key(prefix)):
            _entry = None
        return None if entry is None else (entry.values, dict(entry.meta))


def peek(prefix: str, files_now: Callable[[], Fingerprint | None]) -> Any | None:
    """The kept values of ``prefix`` (left in place) if its files are unchanged."""
    with _lock:
        entry = _matching(prefix, files_now)
        return None if entry is None else entry.values


def discard() -> None:
    """Drop the kept checkpoint (frees its memory)."""
    global _entry
    with _lock:
        _entry = None
