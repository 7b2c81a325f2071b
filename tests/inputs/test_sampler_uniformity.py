"""The shuffle is a uniform permutation per (seed, epoch): chi-square tests over seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from estcore._lib._pipeline import _sampler_rows_for_testing as rows

P_MIN = 1e-4  # deterministic seeds, so no flakiness; this only rejects clear bias


@pytest.mark.smoke
@pytest.mark.parametrize("n", [2, 3, 5, 8, 17, 100])
def test_position_of_each_row_is_uniform(n):
    seeds = 4000 if n < 50 else 1500
    counts = np.zeros((n, n))
    for seed in range(seeds):
        perm = rows(n, seed, True, n, n)  # epoch 1
        counts[np.arange(n), perm] += 1
    chi2 = ((counts - seeds / n) ** 2 / (seeds / n)).sum()
    p = stats.chi2.sf(chi2, (n - 1) ** 2)
    assert p > P_MIN, f"n={n}: chi2={chi2:.1f}, p={p:.2g}"


@pytest.mark.smoke
def test_all_permutations_of_four_equally_likely():
    perms = {p: i for i, p in enumerate(itertools.permutations(range(4)))}
    seeds = 24 * 300
    counts = np.zeros(24)
    for seed in range(seeds):
        counts[perms[tuple(rows(4, seed, True, 0, 4).tolist())]] += 1
    chi2 = ((counts - seeds / 24) ** 2 / (seeds / 24)).sum()
    assert stats.chi2.sf(chi2, 23) > P_MIN


@pytest.mark.smoke
def test_large_n_binned_and_pairs():
    n, bins, seeds = 60000, 10, 20
    counts = np.zeros((bins, bins))
    close = 0
    for seed in range(seeds):
        perm = rows(n, seed, True, 0, n).astype(np.int64)
        np.add.at(counts, (np.arange(n) * bins // n, perm * bins // n), 1)
        close += int((np.abs(np.diff(perm)) < n // 100).sum())
    expect = seeds * n / bins ** 2
    chi2 = ((counts - expect) ** 2 / expect).sum()
    assert chi2 < stats.chi2.isf(P_MIN, (bins - 1) ** 2)
    m = n // 100  # P(|a - b| < m) for two distinct uniform rows
    p_close = (2 * (m - 1) * n - (m - 1) * m) / (n * (n - 1))
    trials = seeds * (n - 1)
    z = (close - trials * p_close) / math.sqrt(trials * p_close * (1 - p_close))
    assert abs(z) < 4.5


@pytest.mark.smoke
def test_identity_and_epochs_differ():
    assert rows(10, 3, False, 5, 20).tolist() == list(range(5, 10)) + list(range(10)) * 1 + \
        list(range(5))
    e0, e1 = rows(1000, 3, True, 0, 1000), rows(1000, 3, True, 1000, 1000)
    assert sorted(e0.tolist()) == sorted(e1.tolist()) == list(range(1000))
    assert (e0 != e1).any()
