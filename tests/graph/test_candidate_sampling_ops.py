"""Candidate samplers and compute_accidental_hits: TF's distributions (draw frequencies
against the formulas), TF's expected counts (against TF 2.15's values for fixed inputs,
tests/graph/fixtures/make_tf_sampled_losses.py), unique draws without duplicates and with
TF's rejection count, seeds, and the errors."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import estcore as ec
from estcore import errors
from estcore.graph.ops import candidate_sampling_ops as C

pytestmark = pytest.mark.smoke

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "tf_sampled_losses.json")
                     .read_text())
I64 = np.int64


def _tc(rows):
    return ec.constant(np.asarray(rows, I64))


def _log_uniform_p(k, n):
    return (np.log(k + 2.0) - np.log(k + 1.0)) / np.log(n + 1.0)


def _run(t, n=1):
    with ec.Session() as sess:
        return [sess.run(t) for _ in range(n)] if n > 1 else sess.run(t)


# ---------------------------------------------------------------- TF's expected counts
@pytest.mark.parametrize("case", [c for c in FIXTURE["expected_counts"]
                                  if c["kind"] != "learned_unigram"],
                         ids=lambda c: c["kind"] + "_" + "_".join(
                             k for k in sorted(c["kwargs"]) if k != "range_max"))
def test_expected_counts_with_replacement_equal_tfs(case):
    fn = getattr(C, f"{case['kind']}_candidate_sampler")
    s = fn(_tc(case["true_classes"]), 2, 5, False, seed=3, **case["kwargs"])
    out = _run(s)
    np.testing.assert_allclose(out.true_expected_count, case["true_expected_count"],
                               rtol=1e-6)
    assert out.true_expected_count.dtype == np.float32
    assert out.sampled_candidates.dtype == I64 and out.sampled_candidates.shape == (5,)


def test_learned_unigram_counts_grow_per_run_as_tfs():
    case = next(c for c in FIXTURE["expected_counts"] if c["kind"] == "learned_unigram")
    s = C.learned_unigram_candidate_sampler(_tc(case["true_classes"]), 2, 5, False, 10,
                                            seed=3)
    runs = [r.true_expected_count for r in _run(s, 3)]
    np.testing.assert_allclose(runs, case["true_expected_count_runs"], rtol=1e-6)
    # a new session starts from ones again (the counts are per session, as TF's kernel's)
    np.testing.assert_allclose(_run(s).true_expected_count,
                               case["true_expected_count_runs"][0])


def test_expected_count_formulas():
    tc = _tc([[0, 7], [3, 9]])
    s = C.log_uniform_candidate_sampler(tc, 2, 4, False, 10, seed=1)
    u = C.uniform_candidate_sampler(tc, 2, 4, False, 10, seed=1)
    sv, uv = _run([s, u])
    np.testing.assert_allclose(sv.true_expected_count,
                               4 * _log_uniform_p(np.array([[0, 7], [3, 9]]), 10), rtol=1e-6)
    np.testing.assert_allclose(sv.sampled_expected_count,
                               4 * _log_uniform_p(sv.sampled_candidates, 10), rtol=1e-6)
    np.testing.assert_allclose(uv.true_expected_count, np.full((2, 2), 0.4), rtol=1e-6)


# ---------------------------------------------------------------- distributions
def _frequencies(sampler, n, size, **kw):
    s = sampler(_tc([[0]]), 1, size, False, n, seed=7, **kw)
    return np.bincount(_run(s).sampled_candidates, minlength=n) / size


def test_log_uniform_frequencies_follow_the_formula():
    freq = _frequencies(C.log_uniform_candidate_sampler, 20, 60000)
    np.testing.assert_allclose(freq, _log_uniform_p(np.arange(20), 20), atol=0.006)
    assert freq.sum() == pytest.approx(1.0)


def test_uniform_frequencies():
    np.testing.assert_allclose(_frequencies(C.uniform_candidate_sampler, 8, 40000),
                               np.full(8, 1 / 8), atol=0.008)


def test_fixed_unigram_frequencies_with_distortion_reserved_ids_and_shards():
    unigrams = np.array([5, 1, 3, 8, 2, 2, 7, 1, 4, 6], np.float64)
    freq = _frequencies(C.fixed_unigram_candidate_sampler, 12, 60000, unigrams=unigrams,
                        num_reserved_ids=2, distortion=0.75)
    w = np.concatenate([[0, 0], unigrams ** 0.75])
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.007)
    assert freq[:2].sum() == 0          # reserved ids are never drawn
    # shard 1 of 2 keeps the ids 1, 3, 5, ... renumbered 0, 1, 2, ...
    freq = _frequencies(C.fixed_unigram_candidate_sampler, 5, 40000, unigrams=unigrams,
                        num_shards=2, shard=1)
    np.testing.assert_allclose(freq, unigrams[1::2] / unigrams[1::2].sum(), atol=0.008)


def test_learned_unigram_first_draw_is_uniform():
    np.testing.assert_allclose(_frequencies(C.learned_unigram_candidate_sampler, 6, 30000),
                               np.full(6, 1 / 6), atol=0.01)


def test_vocab_file_equals_unigrams(tmp_path):
    path = tmp_path / "vocab.csv"
    path.write_text("the,5\nof,1\n\nand,3\nto,8\n")
    tc = _tc([[0, 3]])
    a = C.fixed_unigram_candidate_sampler(tc, 2, 3, False, 4, vocab_file=str(path))
    b = C.fixed_unigram_candidate_sampler(tc, 2, 3, False, 4, unigrams=[5, 1, 3, 8])
    av, bv = _run([a, b])
    np.testing.assert_allclose(av.true_expected_count, [[5 / 17 * 3, 8 / 17 * 3]], rtol=1e-6)
    np.testing.assert_allclose(av.true_expected_count, bv.true_expected_count)
    path.write_text("the 5\n")
    with pytest.raises(errors.InvalidArgumentError, match="Wrong vocabulary format"):
        _run(C.fixed_unigram_candidate_sampler(tc, 2, 3, False, 1, vocab_file=str(path)))
    with pytest.raises(errors.NotFoundError, match="No such file"):
        _run(C.fixed_unigram_candidate_sampler(tc, 2, 3, False, 1,
                                               vocab_file=str(tmp_path / "none")))


# ---------------------------------------------------------------- unique draws
@pytest.mark.parametrize("kind", ["log_uniform", "uniform", "learned_unigram"])
def test_unique_draws_have_no_duplicates_and_tfs_rejection_counts(kind):
    fn = getattr(C, f"{kind}_candidate_sampler")
    tc = _tc([list(range(10))])
    s = fn(tc, 10, 6, True, 10, seed=4)
    rejected = 0
    for out in _run(s, 60):
        ids = out.sampled_candidates
        assert len(set(ids.tolist())) == 6 and ids.min() >= 0 and ids.max() < 10
        # true_classes are all ids: every count is -expm1(tries * log1p(-p)) for one
        # number of tries, or p * 6 when nothing was rejected (the learned counts grow
        # by one per id every run: uniform)
        counts = out.true_expected_count[0].astype(np.float64)
        np.testing.assert_allclose(out.sampled_expected_count, counts[ids], rtol=1e-6)
        p = _log_uniform_p(np.arange(10), 10) if kind == "log_uniform" else np.full(10, 0.1)
        if np.allclose(counts, 6 * p, rtol=1e-5):
            continue
        rejected += 1
        tries = np.log1p(-counts[0]) / np.log1p(-p[0])
        assert tries > 6 and abs(tries - round(tries)) < 1e-3
        np.testing.assert_allclose(counts, -np.expm1(round(tries) * np.log1p(-p)), rtol=1e-5)
    assert rejected > 0


# TF 2.15 over 20000 runs of log_uniform_candidate_sampler(all 10 ids, 10, 4, True, 10):
# how often each id was drawn, and its mean true_expected_count (TF's approximation
# overstates the frequent ids: the tries are counted until the 4th distinct id)
TF_UNIQUE_SEEN = [0.8187, 0.6347, 0.5104, 0.4162, 0.3599, 0.3086, 0.2766, 0.2482, 0.2196,
                  0.2072]
TF_UNIQUE_EXPECTED = [0.9695, 0.6740, 0.5189, 0.4221, 0.3559, 0.3076, 0.2708, 0.2419,
                      0.2186, 0.1994]


def test_unique_draws_and_expected_counts_follow_tfs_statistics():
    s = C.log_uniform_candidate_sampler(_tc([list(range(10))]), 10, 4, True, 10, seed=9)
    runs = _run(s, 2000)
    seen = np.mean([np.isin(np.arange(10), r.sampled_candidates) for r in runs], 0)
    expected = np.mean([r.true_expected_count[0] for r in runs], 0)
    np.testing.assert_allclose(seen, TF_UNIQUE_SEEN, atol=0.035)
    np.testing.assert_allclose(expected, TF_UNIQUE_EXPECTED, atol=0.01)


def test_unique_full_range_is_a_permutation():
    s = C.uniform_candidate_sampler(_tc([[1]]), 1, 7, True, 7)
    assert sorted(_run(s).sampled_candidates.tolist()) == list(range(7))


# ---------------------------------------------------------------- seeds
def _draws(seed_graph, n=2):
    g = ec.Graph()
    with g.as_default():
        ec.set_random_seed(seed_graph)
        s = C.log_uniform_candidate_sampler(_tc([[1]]), 1, 16, True, 1000)
        return [r.sampled_candidates for r in _run(s, n)]


def test_graph_seed_makes_draws_reproducible_and_runs_differ():
    a, b = _draws(5)
    c, d = _draws(5)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, _draws(6)[0])


# ---------------------------------------------------------------- accidental hits
@pytest.mark.parametrize("case", FIXTURE["losses"], ids=lambda c: c["name"])
def test_compute_accidental_hits_equals_tfs(case):
    h = C.compute_accidental_hits(_tc(case["labels"]), _tc(case["sampled"]),
                                  num_true=len(case["labels"][0]))
    out = _run(h)
    assert out.indices.dtype == np.int32 and out.ids.dtype == I64
    assert out.weights.dtype == np.float32
    np.testing.assert_array_equal(out.indices, case["hits"]["indices"])
    np.testing.assert_array_equal(out.ids, case["hits"]["ids"])
    np.testing.assert_array_equal(out.weights, np.float32(case["hits"]["weights"]))


def test_compute_accidental_hits_fed_and_empty():
    tc = ec.placeholder(ec.int64, [None, 2])
    sc = ec.placeholder(ec.int64, [None])
    h = C.compute_accidental_hits(tc, sc, 2)
    assert h.indices.shape.as_list() == [None]
    with ec.Session() as sess:
        out = sess.run(h, {tc: [[1, 2], [3, 1]], sc: [1, 5, 3]})
        empty = sess.run(h, {tc: [[1, 2]], sc: [7]})
    np.testing.assert_array_equal(out.indices, [0, 1, 1])
    np.testing.assert_array_equal(out.ids, [0, 0, 2])
    assert empty.indices.shape == (0,) and empty.weights.shape == (0,)


# ---------------------------------------------------------------- the rest
def test_all_candidate_sampler():
    out = _run(C.all_candidate_sampler(_tc([[0], [2]]), 1, 4, True))
    np.testing.assert_array_equal(out.sampled_candidates, np.arange(4))
    np.testing.assert_array_equal(out.true_expected_count, np.ones((2, 1)))
    np.testing.assert_array_equal(out.sampled_expected_count, np.ones(4))


def test_outputs_carry_no_gradient_and_int32_classes_are_widened():
    x = ec.constant(np.array([[1, 2]], np.int32))
    s = C.uniform_candidate_sampler(x, 2, 3, False, 5)
    assert s.true_expected_count.shape.as_list() == [1, 2]
    w = ec.constant(2.0)
    y = ec.reduce_sum(s.sampled_expected_count * w) + ec.reduce_sum(s.true_expected_count)
    assert ec.gradients(ec.reduce_sum(s.true_expected_count), [w]) == [None]
    assert ec.gradients(y, [w])[0] is not None


def test_argument_errors():
    tc = _tc([[1, 2]])
    with pytest.raises(ValueError, match="num_sampled"):
        C.uniform_candidate_sampler(tc, 2, 6, True, 5)
    with pytest.raises(ValueError, match="num_true=1"):
        C.uniform_candidate_sampler(tc, 1, 2, False, 5)
    with pytest.raises(TypeError, match="unique"):
        C.uniform_candidate_sampler(tc, 2, 2, 1, 5)
    with pytest.raises(ValueError, match="num_sampled"):
        C.log_uniform_candidate_sampler(tc, 2, 0, False, 5)
    with pytest.raises(TypeError, match="int64"):
        C.uniform_candidate_sampler(ec.constant([[1.0, 2.0]]), 2, 2, False, 5)
    with pytest.raises(ValueError, match="Exactly one of"):
        C.fixed_unigram_candidate_sampler(tc, 2, 2, False, 5)
    with pytest.raises(ValueError, match="shard"):
        C.fixed_unigram_candidate_sampler(tc, 2, 2, False, 5, unigrams=[1] * 5, shard=1)
    with pytest.raises(ValueError, match="unigrams"):
        C.fixed_unigram_candidate_sampler(tc, 2, 2, False, 2, unigrams=[1, -1])


def test_run_time_errors():
    with pytest.raises(errors.InvalidArgumentError, match=r"value 7 is outside \[0, 5\)"):
        _run(C.uniform_candidate_sampler(_tc([[7]]), 1, 2, False, 5))
    with pytest.raises(errors.InvalidArgumentError, match="range_max"):
        _run(C.fixed_unigram_candidate_sampler(_tc([[0]]), 1, 2, False, 6,
                                               unigrams=[1, 2, 3, 4]))
    with pytest.raises(errors.InvalidArgumentError, match="distinct ids"):
        _run(C.fixed_unigram_candidate_sampler(_tc([[0]]), 1, 3, True, 4,
                                               unigrams=[1, 0, 2, 0]))
