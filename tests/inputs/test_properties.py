"""Property tests over (N, batch_size, num_epochs, num_threads, queue_capacity, shuffle, seed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estcore.inputs import numpy_input_fn

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

configs = st.fixed_dictionaries({
    "n": st.integers(1, 300),
    "batch_size": st.integers(1, 64),
    "num_epochs": st.integers(1, 4),
    "num_threads": st.integers(1, 4),
    "queue_capacity": st.integers(1, 400),
    "shuffle": st.booleans(),
    "seed": st.integers(0, 2 ** 64 - 1),
})


def labels_of(n, cfg, **overrides):
    args = {k: cfg[k] for k in ("batch_size", "num_epochs", "num_threads", "queue_capacity",
                                "shuffle", "seed")}
    args.update(overrides)
    x = {"row": np.arange(n), "twice": np.arange(n, dtype=np.float32) * 2}
    out = []
    for feats, lab in numpy_input_fn(x, np.arange(n) + 1000, **args)():
        np.testing.assert_array_equal(feats["twice"], feats["row"] * 2)
        np.testing.assert_array_equal(lab, feats["row"] + 1000)
        out.append(feats["row"].copy())
    return out


@pytest.mark.smoke
@SETTINGS
@given(cfg=configs)
def test_exactly_once_per_epoch_and_sizes(cfg):
    n, b, e = cfg["n"], cfg["batch_size"], cfg["num_epochs"]
    batches = labels_of(n, cfg)
    total = n * e
    assert [len(x) for x in batches] == [b] * (total // b) + ([total % b] if total % b else [])
    flat = np.concatenate(batches)
    for ep in range(e):
        assert sorted(flat[ep * n:(ep + 1) * n].tolist()) == list(range(n))
    if not cfg["shuffle"]:
        assert flat.tolist() == list(range(n)) * e


@pytest.mark.smoke
@SETTINGS
@given(cfg=configs, other_threads=st.integers(1, 4), other_capacity=st.integers(1, 400))
def test_same_batches_for_any_threads_and_capacity(cfg, other_threads, other_capacity):
    a = labels_of(cfg["n"], cfg)
    b = labels_of(cfg["n"], cfg, num_threads=other_threads, queue_capacity=other_capacity)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.smoke
@SETTINGS
@given(cfg=configs, cut=st.integers(0, 40), threads_after=st.integers(1, 4))
def test_resume_equals_uninterrupted(cfg, cut, threads_after):
    n = cfg["n"]
    full = labels_of(n, cfg)
    args = {k: cfg[k] for k in ("batch_size", "num_epochs", "num_threads", "queue_capacity",
                                "shuffle", "seed")}
    fn = numpy_input_fn(np.arange(n), **args)
    stream = fn()
    head = []
    for _ in range(min(cut, len(full))):
        head.append(next(stream).copy())
    state = stream.get_state()
    stream.close()
    args["num_threads"] = threads_after
    rest = [b.copy() for b in numpy_input_fn(np.arange(n), state=state, **args)()]
    got = head + rest
    assert len(got) == len(full)
    for x, y in zip(got, full, strict=True):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 200), seed=st.integers(0, 2 ** 32), epochs=st.integers(2, 4))
def test_endless_equals_finite_prefix(n, seed, epochs):
    finite = np.concatenate(labels_of(n, {"batch_size": 7, "num_epochs": epochs,
                                          "num_threads": 2, "queue_capacity": 50,
                                          "shuffle": True, "seed": seed}))
    stream = numpy_input_fn(np.arange(n), batch_size=7, num_epochs=None, shuffle=True,
                            seed=seed, num_threads=3)()
    got = []
    while sum(len(g) for g in got) < len(finite):
        got.append(next(stream).copy())
    stream.close()
    np.testing.assert_array_equal(np.concatenate(got)[:len(finite)], finite)
