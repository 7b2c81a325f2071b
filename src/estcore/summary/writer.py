"""Event files TensorBoard reads: ``events.out.tfevents.<seconds>.<hostname>``.

Each file is a sequence of TFRecords::

    uint64 LE  length of data
    uint32 LE  masked CRC-32C of the 8 length bytes
    bytes      data (a serialized Event)
    uint32 LE  masked CRC-32C of data

The first record is ``Event(file_version="brain.Event:2")``. One
:class:`FileWriter` per directory per process is shared through
:class:`FileWriterCache` (as TF's), so training hooks and the Estimator append
to the same file. Unlike TF, the Estimator releases the cached writers' file
handles at the end of each call (:meth:`FileWriterCache.release`): a writer
reopens its file for appending when it is next written to, so a process that
trains in many directories does not keep one open file per directory.

Must not: build or run graph ops (the hooks and the Estimator run the summary ops and
hand the values here); keep a file handle open past :meth:`FileWriterCache.release`;
write a record without its two CRCs.
"""

from __future__ import annotations

import atexit
import os
import socket
import struct
import threading
import time
from typing import Any

from estcore.summary.crc32c import masked_crc32c
from estcore.summary.graph_def import graph_def_bytes
from estcore.summary.message import summary_values_of
from estcore.summary.summary_pb import (
    FILE_VERSION,
    Event,
    SessionLog,
    encode_event,
    histogram_value,
    scalar_value,
    text_value,
)

__all__ = ["frame_record", "EventFileWriter", "FileWriter", "FileWriterCache", "SummaryWriter",
           "SummaryWriterCache"]


def frame_record(data: bytes) -> bytes:
    """One TFRecord around ``data``."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


class EventFileWriter:
    """Appends Events to a new event file in ``logdir``.

    Args:
        logdir: directory (created if missing).
        filename_suffix: appended to the file name.

    Thread-safe: one lock guards the file object.
    """

    def __init__(self, logdir: str | os.PathLike, filename_suffix: str = ""):
        self._logdir = os.fspath(logdir)
        self._suffix = filename_suffix
        self._lock = threading.Lock()  # guards _file and _released
        self._file: Any = None
        self._released = False  # file closed to free its handle; reopened on next write
        self._path = ""
        with self._lock:
            self._create()
            try:
                self._file.flush()
            except BaseException:
                self._file.close()
                self._file = None
                raise

    def _create(self) -> None:
        """Open a new event file starting with the file_version record. ``_lock`` held."""
        os.makedirs(self._logdir, exist_ok=True)
        base = (f"events.out.tfevents.{int(time.time()):010d}."
                f"{socket.gethostname()}{self._suffix}")
        n = 0
        while True:
            # Exclusive create: two writers in the same second (threads or
            # processes) each get their own file, never one truncating the other's.
            path = os.path.join(self._logdir, f"{base}.{n}" if n else base)
            try:
                f = open(path, "xb")  # noqa: SIM115  (closed in close())
                break
            except FileExistsError:
                n += 1
        try:
            f.write(frame_record(encode_event(Event(wall_time=time.time(),
                                                    file_version=FILE_VERSION))))
        except BaseException:
            f.close()
            raise
        self._file, self._path = f, path

    @property
    def logdir(self) -> str:
        return self._logdir

    @property
    def path(self) -> str:
        """The event file's full path."""
        return self._path

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (a released writer is not closed)."""
        return self._file is None and not self._released

    def add_event(self, event: Event) -> None:
        record = frame_record(encode_event(event))
        with self._lock:
            if self._file is None:
                if not self._released:
                    raise ValueError(f"Event file writer for {self._logdir} is closed.")
                if os.path.exists(self._path):
                    self._file = open(self._path, "ab")  # noqa: SIM115  (closed in close())
                else:  # the file (or its directory) was deleted meanwhile: start a new one
                    self._create()
                self._released = False
            self._file.write(record)

    def release(self) -> None:
        """Flush and close the file but stay usable: the next event reopens the same
        file for appending (or starts a new one if it was deleted meanwhile). Frees the
        file handle of a writer kept for later."""
        with self._lock:
            if self._file is not None:
                self._released = True  # before _file: `closed` reads both without the lock
                f, self._file = self._file, None
                try:
                    f.flush()
                finally:
                    f.close()

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._released = False
            if self._file is not None:
                self._file.flush()
                self._file.close()
                self._file = None

    def __enter__(self) -> EventFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileWriter(EventFileWriter):
    """TF's ``tf.compat.v1.summary.FileWriter``: summaries and session logs by step.

    Args:
        logdir: the directory of the event file (created if missing).
        graph: a Graph written to the file at once (TF1's ``FileWriter(logdir,
            sess.graph)``), for TensorBoard's Graphs tab.
        max_queue, flush_secs: TF's queue settings, accepted (estcore writes each event
            when it is added).
        graph_def: accepted with a Graph (TF's older argument), written as ``graph``.
        filename_suffix: appended to the event file's name.
        session: not supported (TF 2's summary-op writer); a ValueError if given.
    """

    def __init__(self, logdir: str | os.PathLike, graph: Any = None, max_queue: int = 10,
                 flush_secs: float = 120, graph_def: Any = None,
                 filename_suffix: str | None = None, session: Any = None):
        if session is not None:
            raise ValueError("FileWriter: `session` is not supported by estcore (TF 2's "
                             "summary-op writer); pass logdir and graph")
        if not isinstance(filename_suffix, (str, type(None))):
            raise TypeError(f"FileWriter: `filename_suffix` must be a str. Received: "
                            f"filename_suffix={filename_suffix!r}")
        del max_queue, flush_secs
        graph = graph if graph is not None else graph_def
        if graph is not None and not hasattr(graph, "get_operations"):
            raise TypeError(f"FileWriter: `graph` must be an estcore Graph (e.g. "
                            f"sess.graph). Received: {type(graph).__name__}")
        super().__init__(logdir, filename_suffix or "")
        if graph is not None:
            self.add_graph(graph)

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        """Write one Summary at ``global_step``: a ``tf.Summary``, the serialized bytes a
        ``sess.run`` of a summary op returns, or a value / list of values."""
        values = summary_values_of(summary)
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), summary=values))

    def add_graph(self, graph: Any, global_step: int | None = None) -> None:
        """Write ``graph`` (an estcore Graph) as a GraphDef event: TensorBoard's Graphs
        tab draws it, nodes grouped by name scope."""
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0),
                             graph_def=graph_def_bytes(graph)))

    def add_session_log(self, session_log: SessionLog, global_step: int | None = None) -> None:
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0),
                             session_log=session_log))

    def add_scalar(self, tag: str, value: float, global_step: int) -> None:
        self.add_summary(scalar_value(tag, value), global_step)

    def add_histogram(self, tag: str, values: Any, global_step: int) -> None:
        self.add_summary(histogram_value(tag, values), global_step)

    def add_text(self, tag: str, text: str, global_step: int) -> None:
        self.add_summary(text_value(tag, text), global_step)


class FileWriterCache:
    """One :class:`FileWriter` per directory per process (TF's ``FileWriterCache``)."""

    _lock = threading.Lock()
    _writers: dict[str, FileWriter] = {}

    @classmethod
    def get(cls, logdir: str | os.PathLike) -> FileWriter:
        """The open writer for ``logdir`` (created on first use or after close)."""
        key = os.path.abspath(os.fspath(logdir))
        with cls._lock:
            writer = cls._writers.get(key)
            if writer is None or writer.closed:
                writer = FileWriter(key)
                cls._writers[key] = writer
            return writer

    @classmethod
    def release(cls, logdir: str | os.PathLike) -> None:
        """Release the file handles of the cached writers for ``logdir`` and the
        directories below it (see :meth:`EventFileWriter.release`); they stay cached
        and keep appending to the same files."""
        root = os.path.abspath(os.fspath(logdir))
        with cls._lock:
            writers = [w for key, w in cls._writers.items()
                       if key == root or key.startswith(root.rstrip(os.sep) + os.sep)]
        for w in writers:
            w.release()

    @classmethod
    def clear(cls) -> None:
        """Close and forget every cached writer."""
        with cls._lock:
            writers = list(cls._writers.values())
            cls._writers.clear()
        for w in writers:
            w.close()


atexit.register(FileWriterCache.clear)

# TF's other names for the same things (tf.compat.v1.train.SummaryWriterCache).
SummaryWriter = FileWriter
SummaryWriterCache = FileWriterCache
