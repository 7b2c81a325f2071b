"""Stream lifetime: no native thread outlives its stream; errors, Ctrl-C and fork."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

from estcore.errors import CancelledError, FailedPreconditionError, InternalError
from estcore.inputs import numpy_input_fn

X = np.arange(1000, dtype=np.float32).reshape(250, 4)
Y = np.arange(250)


def join_thread_and_task(thread: threading.Thread, timeout: float = 5.0) -> None:
    """Join ``thread``, then wait (bounded) until its OS task has left /proc/self/task.

    ``Thread.join`` returns once the Python thread state is gone, a moment before the
    kernel drops the task; under load that moment is long enough for a thread count
    taken right after the join to include it. Waiting for this one task, by its id,
    leaves every other thread (a stream's workers) to the count that follows, which
    gives joined workers the same short grace (conftest.JOIN_GRACE_S).
    """
    thread.join(timeout)
    assert not thread.is_alive()
    task = str(thread.native_id)
    deadline = time.monotonic() + timeout
    while task in os.listdir("/proc/self/task"):
        assert time.monotonic() < deadline, f"thread {task} still listed {timeout} s after join"
        time.sleep(0.001)


def slow_stream(**kwargs):
    """An endless stream whose workers wait 30 s per batch (interruptibly)."""
    fn = numpy_input_fn(X, Y, batch_size=10, num_epochs=None, shuffle=True, **kwargs)
    return fn._estcore_make_stream(None, {"delay_us": 30_000_000})


@pytest.mark.smoke
@pytest.mark.parametrize("num_threads", [1, 3])
def test_close(num_threads, threads_back_to_baseline):
    stream = numpy_input_fn(X, Y, batch_size=7, shuffle=True, num_threads=num_threads)()
    next(stream)
    stream.close()
    stream.close()
    threads_back_to_baseline(timeout=0)
    with pytest.raises(CancelledError, match="closed"):
        next(stream)


@pytest.mark.smoke
def test_exhausted_stream_stays_exhausted():
    stream = numpy_input_fn(X, Y, batch_size=100, shuffle=False)()
    assert len(list(stream)) == 3  # the for loop closed it at the end
    with pytest.raises(StopIteration):
        next(stream)


@pytest.mark.smoke
def test_one_consumer_at_a_time():
    stream = slow_stream()
    t = threading.Thread(target=lambda: pytest.raises(CancelledError, next, stream))
    t.start()
    time.sleep(0.2)
    with pytest.raises(RuntimeError, match="another thread is reading"):
        next(stream)
    stream.close()
    t.join()


@pytest.mark.smoke
def test_garbage_collection(threads_back_to_baseline):
    stream = numpy_input_fn(X, Y, batch_size=7, num_epochs=None, shuffle=True,
                            num_threads=2)()
    kept = next(stream)
    del stream
    threads_back_to_baseline(timeout=0)
    assert kept[0].shape == (7, 4)  # batches outlive their stream


@pytest.mark.smoke
def test_break_closes(threads_back_to_baseline):
    stream = numpy_input_fn(X, Y, batch_size=7, num_epochs=None, shuffle=True,
                            num_threads=2)()
    for _ in stream:
        break
    assert stream.closed
    threads_back_to_baseline(timeout=0)


@pytest.mark.smoke
def test_exception_in_consumer_closes(threads_back_to_baseline):
    stream = numpy_input_fn(X, Y, batch_size=7, num_epochs=None, shuffle=True,
                            num_threads=2)()
    with pytest.raises(ZeroDivisionError):
        for _ in stream:
            1 / 0  # noqa: B018
    assert stream.closed
    threads_back_to_baseline(timeout=0)


@pytest.mark.smoke
def test_unfinished_stream_dropped_while_workers_blocked(threads_back_to_baseline):
    for _ in range(20):
        stream = numpy_input_fn(X, Y, batch_size=1, num_epochs=None, shuffle=True,
                                num_threads=4, queue_capacity=4)()
        time.sleep(0.001)
        del stream
    threads_back_to_baseline(timeout=0)


@pytest.mark.smoke
def test_keeping_every_batch_does_not_deadlock(threads_back_to_baseline):
    fn = numpy_input_fn(X, Y, batch_size=3, num_epochs=2, shuffle=True, seed=4,
                        queue_capacity=1, num_threads=2)
    kept = list(fn())  # the pool grows past its target instead of waiting
    assert len(kept) == (500 + 2) // 3
    labels = np.concatenate([l for _, l in kept])
    feats = np.concatenate([f for f, _ in kept])
    np.testing.assert_array_equal(feats, X[labels])
    assert sorted(labels[:250].tolist()) == list(range(250))


@pytest.mark.smoke
@pytest.mark.parametrize("num_threads", [1, 2, 4])
def test_worker_error_reaches_consumer(num_threads, threads_back_to_baseline):
    fn = numpy_input_fn(X, Y, batch_size=10, shuffle=False, num_threads=num_threads)
    stream = fn._estcore_make_stream(None, {"fail_at_batch": 3})
    got = [next(stream)[1].tolist() for _ in range(3)]
    assert got == [list(range(10 * k, 10 * k + 10)) for k in range(3)]
    with pytest.raises(InternalError, match="injected failure while filling batch 3"):
        next(stream)
    assert stream.closed
    threads_back_to_baseline(timeout=0)


@pytest.mark.smoke
def test_close_from_another_thread_wakes_consumer(threads_back_to_baseline):
    stream = slow_stream(num_threads=2)
    timer = threading.Timer(0.2, stream.close)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(CancelledError):
        next(stream)
    assert time.monotonic() - t0 < 3
    join_thread_and_task(timer)  # close() ran in the timer: the workers are joined
    threads_back_to_baseline(timeout=0)


def test_ctrl_c_while_blocked(threads_back_to_baseline):
    # A process started in the background by a non-interactive shell inherits SIGINT
    # as ignored (then Python never raises KeyboardInterrupt): install Python's handler
    # for this test so the check does not depend on how the test run was started.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stream = slow_stream(num_threads=2)
        main = threading.main_thread().ident
        assert threading.current_thread().ident == main
        timer = threading.Timer(0.3, signal.pthread_kill, args=(main, signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            for _ in stream:
                if time.monotonic() - t0 > 10.0:  # never hang the suite
                    pytest.fail("SIGINT did not interrupt the blocked consumer")
        assert time.monotonic() - t0 < 2.0
        join_thread_and_task(timer)
        assert stream.closed
    finally:
        signal.signal(signal.SIGINT, previous)
    threads_back_to_baseline(timeout=0)


def test_use_after_fork_fails_cleanly(threads_back_to_baseline):
    stream = numpy_input_fn(X, Y, batch_size=10, num_epochs=None, shuffle=True,
                            num_threads=2)()
    batch = next(stream)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # child: the stream's threads do not exist here
        code = 1
        try:
            next(stream)
        except FailedPreconditionError as exc:
            code = 0 if "fork" in str(exc) else 3
        except BaseException:  # noqa: BLE001
            code = 2
        try:
            stream.get_state()
            stream.close()  # a no-op in the child
            del batch, stream
        except BaseException:  # noqa: BLE001
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert next(stream)[0].shape == (10, 4)  # the parent's stream is unaffected
    stream.close()
    threads_back_to_baseline(timeout=0)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_create_destroy_cycles_do_not_leak(threads_back_to_baseline):
    x = np.zeros((300, 256), np.float32)
    fn = numpy_input_fn(x, Y[:1].repeat(300), batch_size=32, num_epochs=None, shuffle=True,
                        num_threads=2)

    def cycle(i):
        stream = fn()
        if i % 2:
            next(stream)
        if i % 3:
            stream.close()
        del stream

    for i in range(100):
        cycle(i)
    gc.collect()
    before = _rss_bytes()
    for i in range(1000):
        cycle(i)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 8 * 2 ** 20, f"RSS grew by {grown / 2 ** 20:.1f} MiB over 1000 streams"
    threads_back_to_baseline(timeout=0)
