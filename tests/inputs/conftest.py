"""Fixtures of the input-pipeline tests: native thread counting and a drain helper."""

from __future__ import annotations

import gc
import os
import time

import numpy as np
import pytest


def thread_count() -> int:
    """Threads of this process (native ones included), from /proc."""
    return len(os.listdir("/proc/self/task"))


JOIN_GRACE_S = 0.5


@pytest.fixture
def threads_back_to_baseline():
    """Yields a checker that the process is back at its starting thread count."""
    gc.collect()
    base = thread_count()

    def check(timeout: float = 5.0) -> None:
        """timeout=0: the workers were joined already. pthread_join returns when a
        thread's kernel wakes it on the thread's exit (clear_child_tid), a little
        before the kernel takes the thread out of /proc/self/task; on a busy machine
        the thread can still be listed then (CI saw 5 threads for 4 once). So a
        joined thread gets a short grace (JOIN_GRACE_S) to leave the list; a worker
        still waiting on its queue never leaves it."""
        deadline = time.monotonic() + max(timeout, JOIN_GRACE_S)
        while thread_count() > base and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.01)
        # <=: a Python thread joined just before the baseline may still be
        # leaving the kernel's task list; a leaked worker would be extra.
        assert thread_count() <= base, f"{thread_count()} threads, started with {base}"

    yield check
    check()


@pytest.fixture
def drain():
    """drain(stream) -> list of batches (copied, so buffers return to the pool)."""

    def run(stream):
        out = []
        for batch in stream:
            if isinstance(batch, tuple):
                out.append(tuple(_copy(b) for b in batch))
            else:
                out.append(_copy(batch))
        return out

    return run


def _copy(b):
    if isinstance(b, dict):
        return {k: np.array(v) for k, v in b.items()}
    return np.array(b)
