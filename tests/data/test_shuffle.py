"""shuffle: TF's buffer semantics, seeds, passes; the uniform permutation when the buffer
holds everything."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estcore.data import Dataset
from estcore.inputs import seed_scope

from .conftest import values

pytestmark = pytest.mark.smoke


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 300), buffer=st.integers(1, 400), seed=st.integers(0, 2**64 - 1),
       repeat=st.integers(1, 3))
def test_buffer_order_is_a_permutation_within_reach_of_the_buffer(n, buffer, seed, repeat):
    got = values(Dataset.range(n).shuffle(buffer, seed=seed).repeat(repeat))
    for p in range(repeat):
        epoch = got[p * n:(p + 1) * n]
        assert sorted(epoch) == list(range(n))  # exactly once per pass
        # TF's buffer: output j is drawn from the first j + buffer inputs
        assert all(x < j + buffer for j, x in enumerate(epoch))


def test_buffer_of_one_keeps_the_order():
    assert values(Dataset.range(50).shuffle(1, seed=5)) == list(range(50))


def test_seeded_order_is_reproducible_and_passes_reshuffle():
    ds = Dataset.range(100).shuffle(10, seed=7)
    a, b = values(ds), values(ds)
    assert a != b  # reshuffle_each_iteration: every pass has its own order
    assert values(Dataset.range(100).shuffle(10, seed=7)) == a  # same seed: same passes
    fixed = Dataset.range(100).shuffle(10, seed=7, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    two = values(fixed.repeat(2))
    assert two[:100] == two[100:]


def test_seed_scope_makes_unseeded_shuffles_reproducible():
    with seed_scope(42):
        a = Dataset.range(100).shuffle(10)
    with seed_scope(42):
        b = Dataset.range(100).shuffle(10)
    assert values(a) == values(b)
    with seed_scope(43):
        c = Dataset.range(100).shuffle(10)
    assert values(c) != values(a)


def test_small_buffer_is_local_and_large_buffer_is_uniform():
    # position of element 0 over many seeds: buffer 2 keeps it near the front; a full
    # buffer spreads it uniformly (chi-square over 10 positions)
    n, trials = 10, 2000
    near = [values(Dataset.range(n).shuffle(2, seed=s)).index(0) for s in range(200)]
    assert max(near) <= 9 and np.mean(near) < 2.0
    counts = np.zeros(n)
    ds = Dataset.range(n).shuffle(n, seed=11)
    for _ in range(trials):
        counts[values(ds).index(0)] += 1
    chi2 = ((counts - trials / n) ** 2 / (trials / n)).sum()
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001


def test_fixed_shape_and_varying_shape_elements_shuffle_alike():
    rows = np.arange(40, dtype=np.float32).reshape(20, 2)
    got = values(Dataset.from_tensor_slices(rows).shuffle(5, seed=1))
    assert sorted(map(tuple, got)) == sorted(map(tuple, rows.tolist()))
    ragged = Dataset.range(1, 8).map(lambda x: np.arange(x)).shuffle(3, seed=2)
    assert sorted(len(v) for v in values(ragged)) == list(range(1, 8))
