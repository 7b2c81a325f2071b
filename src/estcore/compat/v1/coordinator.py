"""TF1's thread coordination for raw-session programs: ``tf.train.Coordinator`` and
``tf.train.start_queue_runners``.

The common TF1 boilerplate ``coord = tf.train.Coordinator(); threads =
tf.train.start_queue_runners(sess, coord) ... coord.request_stop(); coord.join(threads)``
runs unchanged: :class:`Coordinator` is TF's (plain Python threading), and
:func:`start_queue_runners` starts nothing, because estcore graphs hold no queue runners
(input pipelines are ``tf.data`` / input functions), so it returns an empty list.

Owns: the coordinator. Must not: start threads of its own.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from estcore.errors import OutOfRangeError

__all__ = ["Coordinator", "start_queue_runners"]


class Coordinator:
    """Lets threads ask each other to stop and reports the first error (TF1's
    ``tf.train.Coordinator``).

    Args:
        clean_stop_exception_types: exception types that stop the threads without being
            reported by :meth:`join` (default: ``tf.errors.OutOfRangeError``).
    """

    def __init__(self, clean_stop_exception_types: Any = None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (OutOfRangeError,)
        self._clean = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._exc_info: Any = None
        self._threads: set = set()
        self._joined = False

    def should_stop(self) -> bool:
        """Whether a stop was requested."""
        return self._stop.is_set()

    def request_stop(self, ex: Any = None) -> None:
        """Ask every thread to stop; ``ex`` (an exception or ``sys.exc_info()``) is kept
        for :meth:`join` to raise, unless it is a clean-stop type or one is kept already."""
        with self._lock:
            if ex is not None and self._exc_info is None:
                info = ex if isinstance(ex, tuple) else (type(ex), ex, ex.__traceback__)
                if not issubclass(info[0], self._clean):
                    self._exc_info = info
            self._stop.set()

    def clear_stop(self) -> None:
        """Forget the stop request and any kept exception."""
        with self._lock:
            self._joined = False
            self._exc_info = None
            self._stop.clear()

    @contextlib.contextmanager
    def stop_on_exception(self) -> Iterator[None]:
        """A context in which an exception requests a stop (and is kept) instead of
        propagating."""
        try:
            yield
        except BaseException:  # noqa: BLE001 - TF's semantics: any exception stops
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Wait until a stop is requested (or ``timeout`` seconds); returns whether it was."""
        return self._stop.wait(timeout)

    def register_thread(self, thread: threading.Thread) -> None:
        """Have :meth:`join` wait for ``thread`` too."""
        with self._lock:
            self._threads.add(thread)

    def join(self, threads: Any = None, stop_grace_period_secs: float = 120,
             ignore_live_threads: bool = False) -> None:
        """Wait for a stop request, then for the threads (``threads`` and the registered
        ones) to end within ``stop_grace_period_secs``; raise the kept exception, or a
        RuntimeError naming threads still running (unless ``ignore_live_threads``)."""
        with self._lock:
            all_threads = set(self._threads) | set(threads or ())
        while any(t.is_alive() for t in all_threads) and not self.wait_for_stop(1.0):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for t in all_threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in all_threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._threads = set()
            exc_info = self._exc_info
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        if alive and not ignore_live_threads:
            raise RuntimeError(f"Coordinator stopped with threads still running: "
                               f"{' '.join(alive)}")

    @property
    def joined(self) -> bool:
        """Whether :meth:`join` has returned (or raised)."""
        return self._joined

    def raise_requested_exception(self) -> None:
        """Raise the kept exception, if any."""
        with self._lock:
            exc_info = self._exc_info
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])


def start_queue_runners(sess: Any = None, coord: Any = None, daemon: bool = True,
                        start: bool = True, collection: str = "queue_runners") -> list:
    """Start the graph's queue runners (TF1): estcore graphs have none, so this starts
    nothing and returns an empty list of threads."""
    return []
