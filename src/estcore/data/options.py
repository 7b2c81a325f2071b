"""``tf.data.Options``: the few options estcore reads, the rest accepted and kept.

estcore reads ``threading.private_threadpool_size`` (also reachable as TF1's
``experimental_threading``): the number of C worker threads of an in-memory pipeline's
stream (default 1; the batches are the same for any number). ``experimental_deterministic``
/ ``deterministic`` are accepted: estcore's pipelines are always deterministic.

Must not: hold pipeline code.
"""

from __future__ import annotations

from typing import Any

from estcore._validation import invalid

__all__ = ["Options", "ThreadingOptions"]


class ThreadingOptions:
    """``private_threadpool_size`` (C workers; None: 1) and ``max_intra_op_parallelism``."""

    def __init__(self) -> None:
        self.private_threadpool_size: int | None = None
        self.max_intra_op_parallelism: int | None = None


class Options:
    """Dataset options (TF's ``tf.data.Options``); merged by ``Dataset.with_options``."""

    def __init__(self) -> None:
        self.threading = ThreadingOptions()
        self.deterministic: bool | None = None
        self.experimental_deterministic: bool | None = None
        self._other: dict[str, Any] = {}

    @property
    def experimental_threading(self) -> ThreadingOptions:
        return self.threading

    def merge(self, other: Options) -> Options:
        out = Options()
        for src in (self, other):
            for name in ("private_threadpool_size", "max_intra_op_parallelism"):
                v = getattr(src.threading, name)
                if v is not None:
                    setattr(out.threading, name, v)
            for name in ("deterministic", "experimental_deterministic"):
                if getattr(src, name) is not None:
                    setattr(out, name, getattr(src, name))
        return out

    def num_threads(self) -> int:
        n = self.threading.private_threadpool_size
        if n is None or n == 0:
            return 1
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise invalid("options.threading.private_threadpool_size", "a positive int", n)
        return n
