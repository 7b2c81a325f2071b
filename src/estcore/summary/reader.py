"""Reading event files back (for BestExporter, early stopping and tests).

:func:`iter_records` checks both CRCs of every record; a torn last record (a
writer killed mid-write) ends the file quietly, a corrupted complete record
raises :class:`EventFileCorruptError`.

Must not: write, truncate or repair an event file; import anything above
``estcore.summary`` (the exporters, early-stopping hooks and the CLI read through it).
"""

from __future__ import annotations

import collections
import glob
import os
import struct
from collections.abc import Iterator

from estcore.errors import InvalidArgumentError
from estcore.summary.crc32c import masked_crc32c
from estcore.summary.summary_pb import Event, decode_event

__all__ = ["EventFileCorruptError", "iter_records", "iter_events", "event_files",
           "read_scalars", "read_eval_metrics"]

EVENT_FILE_GLOB = "events.out.tfevents.*"


class EventFileCorruptError(InvalidArgumentError):
    """A complete record of an event file fails its checksum."""


def iter_records(path: str, strict: bool = False) -> Iterator[bytes]:
    """Yield the data of each TFRecord in ``path``.

    A torn last record (a file still being written) ends the iteration, or raises
    :class:`EventFileCorruptError` when ``strict``.
    """
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    n = len(data)
    while pos < n:
        if pos + 12 > n:
            if strict:
                raise EventFileCorruptError(f"{path}: truncated record header at offset {pos}")
            return  # torn header
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        if masked_crc32c(header) != len_crc:
            raise EventFileCorruptError(f"{path}: corrupted record length at offset {pos}")
        start = pos + 12
        end = start + length
        if end + 4 > n:
            if strict:
                raise EventFileCorruptError(f"{path}: truncated record at offset {pos}")
            return  # torn record
        body = data[start:end]
        (data_crc,) = struct.unpack_from("<I", data, end)
        if masked_crc32c(body) != data_crc:
            raise EventFileCorruptError(f"{path}: corrupted record data at offset {pos}")
        yield body
        pos = end + 4


def iter_events(path: str) -> Iterator[Event]:
    """Yield each :class:`Event` of one event file."""
    for record in iter_records(path):
        yield decode_event(record)


def event_files(logdir_or_pattern: str) -> list[str]:
    """Event files of a directory (or matching a glob pattern), sorted by name."""
    path = os.fspath(logdir_or_pattern)
    pattern = os.path.join(path, EVENT_FILE_GLOB) if os.path.isdir(path) else path
    return sorted(f for f in glob.glob(pattern) if os.path.isfile(f))


def read_scalars(logdir_or_pattern: str) -> dict[int, dict[str, float]]:
    """``{step: {tag: simple_value}}`` over all event files (later values win)."""
    out: dict[int, dict[str, float]] = collections.defaultdict(dict)
    for path in event_files(logdir_or_pattern):
        for event in iter_events(path):
            if not event.summary:
                continue
            for value in event.summary:
                if value.simple_value is not None:
                    out[event.step][value.tag] = value.simple_value
    return dict(out)


def read_eval_metrics(eval_dir: str) -> collections.OrderedDict:
    """Eval results by global step, ascending (TF's ``early_stopping.read_eval_metrics``)."""
    scalars = read_scalars(eval_dir)
    return collections.OrderedDict(sorted((k, v) for k, v in scalars.items() if v))
