"""The link between the two compiled modules: the input pipeline's workers report their
bursts to the kernels' thread pool (``estcore._lib.__init__`` wires it at import), whose
load sensing then leaves them out of the load it reads (est_threadpool.h)."""

import ctypes
import time

import numpy as np
import pytest

from estcore._lib import _kernels, _pipeline
from estcore.inputs import numpy_input_fn


def _max_bursts_seen(seconds: float) -> int:
    """Polls the pool's count of bursts at work while a stream's workers gather 8 MB
    batches (one batch taken every 10 ms makes room for the next); the most seen."""
    x = np.ones((2000, 2048), np.float32)
    stream = numpy_input_fn(x, batch_size=1000, num_epochs=None, shuffle=True,
                            queue_capacity=4000)()
    seen, end = 0, time.perf_counter() + seconds
    try:
        while time.perf_counter() < end and seen == 0:
            poll_end = time.perf_counter() + 0.01
            while time.perf_counter() < poll_end and seen == 0:
                seen = max(seen, _kernels._own_bursts())
            next(stream)
    finally:
        stream.close()
    return seen


def test_hook_is_the_named_capsule():
    assert "estcore.est_burst_fn" in repr(_kernels._own_burst_hook())


def test_set_burst_hook_rejects_anything_but_that_capsule():
    with pytest.raises((TypeError, ValueError)):
        _pipeline._set_burst_hook(object())
    new_capsule = ctypes.pythonapi.PyCapsule_New
    new_capsule.restype = ctypes.py_object
    new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    other = new_capsule(ctypes.cast(ctypes.pythonapi.Py_IncRef, ctypes.c_void_p),
                        b"some.other_fn", None)
    with pytest.raises(ValueError):
        _pipeline._set_burst_hook(other)


def test_stream_workers_report_their_bursts_once_wired():
    assert _max_bursts_seen(2.0) >= 1  # wired at import
    assert _kernels._own_bursts() == 0  # every burst ended with the stream
    try:
        _pipeline._set_burst_hook(None)
        assert _max_bursts_seen(0.3) == 0
    finally:
        _pipeline._set_burst_hook(_kernels._own_burst_hook())


def test_streams_run_with_and_without_the_hook():
    x = np.arange(300, dtype=np.float32).reshape(100, 3)
    try:
        for hook in (None, _kernels._own_burst_hook()):
            _pipeline._set_burst_hook(hook)
            got = np.concatenate([b for b in numpy_input_fn(x, batch_size=7, shuffle=False)()])
            np.testing.assert_array_equal(got, x)
    finally:
        _pipeline._set_burst_hook(_kernels._own_burst_hook())
