"""numpy_input_fn: resuming from a resume_scope offer, and buffers bounded by the rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from estcore.inputs import numpy_input_fn
from estcore.inputs.resume import resume_scope

X = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
Y = np.arange(50, dtype=np.int64)


def _batches(stream):
    with stream:
        return [b[1].copy() for b in stream]


@pytest.mark.smoke
def test_offered_state_resumes_the_first_stream_only():
    fn = numpy_input_fn({"x": X}, Y, batch_size=8, num_epochs=2, shuffle=True, seed=4)
    full = _batches(fn())
    s = fn()
    for _ in range(5):
        next(s)
    state = s.get_state()
    s.close()
    with resume_scope(state):
        first, second = fn(), fn()
    assert first.resumed and not second.resumed
    rest = _batches(first)
    assert len(rest) == len(full) - 5
    for a, b in zip(rest, full[5:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(_batches(second)) == len(full)


@pytest.mark.parametrize("change", [dict(batch_size=4), dict(num_epochs=3),
                                    dict(shuffle=False), dict(seed=5)])
def test_a_state_that_does_not_fit_is_not_taken(change):
    args = dict(batch_size=8, num_epochs=2, shuffle=True, seed=4)
    s = numpy_input_fn({"x": X}, Y, **args)()
    next(s)
    state = s.get_state()
    s.close()
    other = numpy_input_fn({"x": X}, Y, **{**args, **change})
    with resume_scope(state):
        stream = other()
    assert not stream.resumed
    assert len(_batches(stream)) == len(_batches(other()))


def test_garbage_offer_is_not_taken():
    fn = numpy_input_fn({"x": X}, Y, batch_size=8, shuffle=False)
    for offer in ({"version": 99}, {"epoch": 0, "position": 3}, {"version": 1}):
        with resume_scope(offer):
            stream = fn()
        assert not stream.resumed
        stream.close()


@pytest.mark.parametrize("num_shards", [1, 3])
def test_batch_larger_than_the_data_gives_the_same_batches(num_shards):
    from estcore.inputs import shard_scope

    big = numpy_input_fn({"x": X}, Y, batch_size=10**8, num_epochs=2, shuffle=True, seed=1)
    exact = numpy_input_fn({"x": X}, Y, batch_size=100, num_epochs=2, shuffle=True, seed=1)
    for index in range(num_shards):
        with shard_scope(index, num_shards):
            a, b = _batches(big()), _batches(exact())
        assert len(a) == len(b) == 1
        np.testing.assert_array_equal(a[0], b[0])


def test_huge_batch_size_does_not_allocate_by_batch_size(tmp_path):
    # 256 rows of 64 float32 with batch_size=10**8 asked the C core for 25.6 GB of
    # batch buffers; with the address space capped at 2 GiB above the interpreter's
    # start that was a MemoryError, now it is the 256 rows.
    script = textwrap.dedent("""
        import resource
        import numpy as np
        from estcore.inputs import numpy_input_fn
        x = np.ones((256, 64), np.float32)
        y = np.zeros(256, np.int32)
        with open("/proc/self/statm") as f:
            vsz = int(f.read().split()[0]) * resource.getpagesize()
        cap = vsz + (2 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        fn = numpy_input_fn({"x": x}, y, batch_size=10**8, num_epochs=1, shuffle=False)
        with fn() as stream:
            batches = list(stream)
        assert len(batches) == 1 and batches[0][0]["x"].shape == (256, 64), batches
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
