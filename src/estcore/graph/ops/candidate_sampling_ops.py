"""Candidate samplers and accidental hits (TF's ``candidate_sampling_ops``).

Each sampler op draws ``num_sampled`` class ids from a distribution over ``[0, range_max)``
and returns TF's triple ``(sampled_candidates, true_expected_count,
sampled_expected_count)``: int64 ``[num_sampled]``, float32 ``[batch_size, num_true]`` and
float32 ``[num_sampled]``. The distributions, one op type each as in TF:

==================================  =====================================================
``UniformCandidateSampler``         ``P(k) = 1 / range_max``
``LogUniformCandidateSampler``      ``P(k) = (log(k + 2) - log(k + 1)) / log(range_max + 1)``
                                    (drawn as ``floor(exp(u * log(range_max + 1))) - 1``)
``FixedUnigramCandidateSampler``    ``P(k) = w_k / sum(w)``, ``w = unigrams ** distortion``
                                    (or the last column of ``vocab_file``), zeros for the
                                    ``num_reserved_ids`` first ids, this shard's ids only
``LearnedUnigramCandidateSampler``  ``P(k) = c_k / sum(c)``: ``c`` starts at ones and every
                                    run adds one per true class (after drawing), per session
``AllCandidateSampler``             ``0 .. num_sampled - 1``, every count 1 (for testing)
==================================  =====================================================

Expected counts are TF's: ``P(k) * num_sampled`` when drawn with replacement; with
``unique=True`` the draws are rejection sampled (a value already drawn is drawn again,
every draw counting as a try) and the count is ``-expm1(num_tries * log1p(-P(k)))``, the
chance that ``k`` shows up in ``num_tries`` draws (``P(k) * num_sampled`` again when no
draw was rejected). Probabilities are float32, as TF's.

Each sampler node holds its seed pair (:mod:`estcore.graph.random`) and draws from the
session's generator for the node, so a graph seed makes runs reproducible and every run
draws anew. Numbers are not TF's (TF draws with Philox); the distributions are.

``ComputeAccidentalHits`` lists the ``(row, position)`` pairs where a sampled id equals one
of the row's true classes, in TF's order (by sampled position, then row and column).

Must not: draw when the node is built; use numpy's global random state; define the
sampled losses (:mod:`estcore.graph.ops.sampled_loss_ops` builds them on these rows).
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from estcore import errors
from estcore._validation import check_bool, check_positive_int, invalid
from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.ops.core import convert_to_tensor, make_op, row
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.ops.math_ops import cast
from estcore.graph.registry import NO_GRADIENT
from estcore.graph.shapes import TensorShape

__all__ = ["uniform_candidate_sampler", "log_uniform_candidate_sampler",
           "learned_unigram_candidate_sampler", "fixed_unigram_candidate_sampler",
           "all_candidate_sampler", "compute_accidental_hits"]

_FLOAT_MAX = float(np.finfo(np.float32).max)


# ---------------------------------------------------------------- distributions
class _Uniform:
    def __init__(self, attrs, state, node):
        self.n = attrs["range_max"]

    def prob(self, v: np.ndarray) -> np.ndarray:
        return np.full(v.shape, 1.0 / self.n, np.float32)

    def draw(self, rng, size: int) -> np.ndarray:
        return rng.integers(0, self.n, size=size, dtype=np.int64)

    def support(self) -> int:
        return self.n


class _LogUniform(_Uniform):
    def __init__(self, attrs, state, node):
        super().__init__(attrs, state, node)
        self.log_range = np.log1p(float(self.n))

    def prob(self, v):
        v = v.astype(np.float64)
        return (np.log((v + 2.0) / (v + 1.0)) / self.log_range).astype(np.float32)

    def draw(self, rng, size):
        v = np.exp(rng.random(size) * self.log_range).astype(np.int64) - 1
        return np.clip(v, 0, self.n - 1, out=v)


class _Weighted(_Uniform):
    """Draws ``k`` with probability ``w[k] / sum(w)`` (float32 weights, as TF's)."""

    def set_weights(self, w: np.ndarray) -> None:
        self.w = w
        # TF sums the float32 weights one by one
        self.total = np.cumsum(w, dtype=np.float32)[-1] if w.size else np.float32(0)
        self.cdf = np.cumsum(w, dtype=np.float64)

    def prob(self, v):
        inside = (v >= 0) & (v < self.w.size)
        p = np.zeros(v.shape, np.float32)
        p[inside] = self.w[v[inside]] / self.total
        return p

    def draw(self, rng, size):
        v = np.searchsorted(self.cdf, rng.random(size) * self.cdf[-1], side="right")
        return np.minimum(v, self.w.size - 1).astype(np.int64)

    def support(self):
        return int(np.count_nonzero(self.w))


class _FixedUnigram(_Weighted):
    def __init__(self, attrs, state, node):
        super().__init__(attrs, state, node)
        shards, shard = attrs["num_shards"], attrs["shard"]
        raw = _vocab_weights(attrs["vocab_file"]) if attrs["vocab_file"] else \
            np.asarray(attrs["unigrams"], np.float32)
        reserved = attrs["num_reserved_ids"]
        ids = np.arange(reserved + raw.size)
        w = np.concatenate([np.zeros(reserved, np.float32),
                            np.power(raw, np.float32(attrs["distortion"]), dtype=np.float32)])
        w = w[ids % shards == shard]
        if w.size != self.n:
            raise errors.InvalidArgumentError(
                f"{node.type} '{node.name}': range_max ({self.n}) must equal the number of "
                f"weights of this shard ({w.size}: num_reserved_ids + the unigrams, "
                f"every num_shards-th from shard)")
        self.set_weights(w)


class _LearnedUnigram(_Weighted):
    def __init__(self, attrs, state, node):
        super().__init__(attrs, state, node)
        # the counts live in the session (TF's kernel keeps them per session)
        self.counts = state.scratch.setdefault(("unigram_counts", node._id),
                                               np.ones(self.n, np.int64))
        self.refresh()

    def refresh(self) -> None:
        self.set_weights(self.counts.astype(np.float32))
        self.total = np.float32(self.counts.sum())

    def update(self, true_classes: np.ndarray) -> None:
        np.add.at(self.counts, true_classes.reshape(-1), 1)
        self.refresh()


def _vocab_weights(path: str) -> np.ndarray:
    """The last comma-separated column of each non-empty line of ``path`` (TF's format)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\r\n") for line in f]
    except FileNotFoundError:
        raise errors.NotFoundError(f"{path}; No such file or directory") from None
    out = []
    for line in lines:
        if not line:
            continue
        try:
            out.append(float(line.rsplit(",", 1)[-1]))
        except ValueError:
            raise errors.InvalidArgumentError(
                f"Wrong vocabulary format at line: {line}") from None
    return np.asarray(out, np.float32)


_DISTRIBUTIONS = {
    "UniformCandidateSampler": _Uniform,
    "LogUniformCandidateSampler": _LogUniform,
    "FixedUnigramCandidateSampler": _FixedUnigram,
    "LearnedUnigramCandidateSampler": _LearnedUnigram,
}


# ---------------------------------------------------------------- drawing
def _draw(dist, rng, n: int, unique: bool) -> tuple[np.ndarray, int]:
    """``n`` draws and the number of tries (``n`` unless ``unique`` rejected some)."""
    if not unique:
        return dist.draw(rng, n), n
    # Sequential rejection on one stream of draws: the picks are the first ``n`` distinct
    # values in stream order, the tries the stream position of the n-th one.
    stream = np.empty(0, np.int64)
    chunk = 2 * n + 16
    while True:
        stream = np.concatenate([stream, dist.draw(rng, chunk)])
        _, first = np.unique(stream, return_index=True)
        if first.size >= n:
            first.sort()
            return stream[first[:n]], int(first[n - 1]) + 1
        chunk *= 2


def _expected_count(p: np.ndarray, n: int, tries: int) -> np.ndarray:
    """TF's ``ExpectedCountHelper`` in float32."""
    if tries == n:
        return p * np.float32(n)
    with np.errstate(divide="ignore"):
        return -np.expm1(np.float32(tries) * np.log1p(-p))


# ---------------------------------------------------------------- sampler rows
def _sampler_infer(ctx):
    a, s = ctx.attrs, ctx.shapes[0]
    if not ctx.dtypes[0].is_integer:
        raise ctx.fail(f"`true_classes` must be an int64 tensor. Received: "
                       f"{ctx.dtypes[0].name}", TypeError)
    if s.rank not in (None, 2) or (s.rank == 2 and s.dims[1] not in (None, a["num_true"])):
        raise ctx.fail(f"`true_classes` must be a matrix [batch_size, num_true="
                       f"{a['num_true']}]. Received: shape {ctx.fmt(0)}")
    batch = None if s.rank is None else s.dims[0]
    n = a["num_sampled"]
    return [(dt.int64, TensorShape([n])), (dt.float32, TensorShape([batch, a["num_true"]])),
            (dt.float32, TensorShape([n]))]


def _sampler_build(k):
    tc = k.ins[0]
    sampled, true_exp, sampled_exp = k.outs
    a, state, node = k.attrs, k.state, k.node
    n, unique, top = a["num_sampled"], a["unique"], a["range_max"]
    dist = _DISTRIBUTIONS[node.type](a, state, node)

    def run():
        if tc.size and (tc.min() < 0 or tc.max() >= top):
            bad = tc[(tc < 0) | (tc >= top)].reshape(-1)[0]
            raise errors.InvalidArgumentError(f"{node.type} '{node.name}': `true_classes` "
                                              f"value {bad} is outside [0, {top})")
        if dist.support() == 0 or (unique and n > dist.support()):
            raise errors.InvalidArgumentError(
                f"{node.type} '{node.name}': cannot draw {n} distinct ids from a "
                f"distribution over {dist.support()} ids (Sampler's range is too small)")
        values, tries = _draw(dist, state.rng(node), n, unique)
        sampled[...] = values
        true_exp[...] = _expected_count(dist.prob(tc.astype(np.int64, copy=False)), n, tries)
        sampled_exp[...] = _expected_count(dist.prob(values), n, tries)
        if isinstance(dist, _LearnedUnigram):
            dist.update(tc)
    return run


def _all_build(k):
    sampled, true_exp, sampled_exp = k.outs

    def run():
        sampled[...] = np.arange(sampled.size)
        true_exp.fill(1.0)
        sampled_exp.fill(1.0)
    return run


for _type in _DISTRIBUTIONS:
    row(_type, _sampler_infer, _sampler_build, NO_GRADIENT, stateful=True)
row("AllCandidateSampler", _sampler_infer, _all_build, NO_GRADIENT)

_RESULTS = {t: collections.namedtuple(t, ["sampled_candidates", "true_expected_count",
                                          "sampled_expected_count"])
           for t in (*_DISTRIBUTIONS, "AllCandidateSampler")}


def _true_classes(true_classes):
    t = convert_to_tensor(true_classes)
    if t.dtype == dt.int32:   # TF wants int64; an int32 tensor is widened, not refused
        t = cast(t, dt.int64)
    return t


def _sampler(op_type, true_classes, num_true, num_sampled, unique, range_max, seed, name,
             **attrs):
    t = _true_classes(true_classes)
    attrs.update(num_true=check_positive_int("num_true", num_true),
                 num_sampled=check_positive_int("num_sampled", num_sampled),
                 unique=check_bool("unique", unique),
                 range_max=check_positive_int("range_max", range_max),
                 seed=R.op_seeds(t.graph, seed))
    if unique and num_sampled > range_max:
        raise invalid("num_sampled", f"at most range_max={range_max} when unique=True",
                      num_sampled)
    return _RESULTS[op_type](*make_op(op_type, [t], attrs, name=name or op_type).outputs)


_ARGS = """
    Args:
        true_classes: int64 ``[batch_size, num_true]``, the target classes (int32 is
            widened); used only for ``true_expected_count``, never excluded.
        num_true: int, the number of target classes per example.
        num_sampled: int, the number of ids drawn per run (per batch, not per example).
        unique: bool; True draws without replacement (rejection sampling).
        range_max: int, the number of possible classes.
        seed: op seed (with the graph seed, as for every random op).
        name: node name.

    Returns:
        A namedtuple ``(sampled_candidates, true_expected_count, sampled_expected_count)``:
        int64 ``[num_sampled]``, float32 ``[batch_size, num_true]``, float32
        ``[num_sampled]``. Not differentiable.
"""


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                              seed=None, name=None):
    return _sampler("UniformCandidateSampler", true_classes, num_true, num_sampled, unique,
                    range_max, seed, name)


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                  seed=None, name=None):
    return _sampler("LogUniformCandidateSampler", true_classes, num_true, num_sampled, unique,
                    range_max, seed, name)


def learned_unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                      seed=None, name=None):
    return _sampler("LearnedUnigramCandidateSampler", true_classes, num_true, num_sampled,
                    unique, range_max, seed, name)


uniform_candidate_sampler.__doc__ = "Draws ids uniformly from ``[0, range_max)`` " \
    "(TF1 ``tf.nn.uniform_candidate_sampler``).\n" + _ARGS
log_uniform_candidate_sampler.__doc__ = "Draws ids from the log-uniform (Zipfian) " \
    "distribution ``P(k) = (log(k + 2) - log(k + 1)) / log(range_max + 1)``: ids sorted by " \
    "decreasing frequency (TF1 ``tf.nn.log_uniform_candidate_sampler``).\n" + _ARGS
learned_unigram_candidate_sampler.__doc__ = "Draws ids in proportion to how often they " \
    "were true classes so far (counts start at one per id and grow after every run, kept " \
    "per session; TF1 ``tf.nn.learned_unigram_candidate_sampler``).\n" + _ARGS


def fixed_unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                    vocab_file="", distortion=1.0, num_reserved_ids=0,
                                    num_shards=1, shard=0, unigrams=(), seed=None, name=None):
    """Draws ids in proportion to fixed unigram weights (TF1
    ``tf.nn.fixed_unigram_candidate_sampler``).

    Args:
        vocab_file: path of a CSV-like file, one id per non-empty line from
            ``num_reserved_ids`` on, whose last column is the count; or "".
        distortion: each weight is raised to this power (0: uniform, 1: the unigrams).
        num_reserved_ids: ids ``[0, num_reserved_ids)`` get probability 0.
        num_shards, shard: only the ids ``i`` with ``i % num_shards == shard`` are kept,
            renumbered ``0, 1, ...``; ``range_max`` must be their number.
        unigrams: one count (or probability) per id from ``num_reserved_ids`` on. Exactly
            one of ``vocab_file`` and ``unigrams`` is given.
        (the other arguments and the result: as :func:`uniform_candidate_sampler`'s)
    """
    if bool(vocab_file) == bool(len(unigrams)):
        raise ValueError("Exactly one of `vocab_file` and `unigrams` must be given. "
                         f"Received: vocab_file={vocab_file!r}, {len(unigrams)} unigrams")
    shards = check_positive_int("num_shards", num_shards)
    if isinstance(shard, bool) or not isinstance(shard, numbers.Integral) \
            or not 0 <= shard < shards:
        raise invalid("shard", f"an int in [0, num_shards={shards})", shard)
    if isinstance(num_reserved_ids, bool) or not isinstance(num_reserved_ids, numbers.Integral) \
            or num_reserved_ids < 0:
        raise invalid("num_reserved_ids", "an int >= 0", num_reserved_ids)
    w = np.asarray(unigrams, np.float64)
    if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all():
        raise invalid("unigrams", "a list of finite counts >= 0", unigrams)
    return _sampler("FixedUnigramCandidateSampler", true_classes, num_true, num_sampled,
                    unique, range_max, seed, name, vocab_file=str(vocab_file),
                    distortion=float(distortion), num_reserved_ids=int(num_reserved_ids),
                    num_shards=shards, shard=int(shard),
                    unigrams=tuple(float(x) for x in w))


def all_candidate_sampler(true_classes, num_true, num_sampled, unique, seed=None, name=None):
    """The ids ``0 .. num_sampled - 1`` with every expected count 1 (TF1
    ``tf.nn.all_candidate_sampler``, for testing: full softmax written as a sampled one).

    ``unique`` and ``seed`` are accepted and unused, as in TF.
    """
    t = _true_classes(true_classes)
    check_bool("unique", unique)
    attrs = {"num_true": check_positive_int("num_true", num_true),
             "num_sampled": check_positive_int("num_sampled", num_sampled)}
    return _RESULTS["AllCandidateSampler"](*make_op(
        "AllCandidateSampler", [t], attrs, name=name or "AllCandidateSampler").outputs)


# ---------------------------------------------------------------- accidental hits
def _hits_infer(ctx):
    for i, what in ((0, "true_classes"), (1, "sampled_candidates")):
        if not ctx.dtypes[i].is_integer:
            raise ctx.fail(f"`{what}` must be an int64 tensor. Received: "
                           f"{ctx.dtypes[i].name}", TypeError)
    s, c = ctx.shapes
    if s.rank not in (None, 2) or c.rank not in (None, 1):
        raise ctx.fail(f"`true_classes` must be a matrix and `sampled_candidates` a vector. "
                       f"Received: shapes {ctx.fmt(0)} and {ctx.fmt(1)}")
    if s.rank == 2 and s.dims[1] not in (None, ctx.attrs["num_true"]):
        raise ctx.fail(f"`true_classes` must have num_true={ctx.attrs['num_true']} columns. "
                       f"Received: shape {ctx.fmt(0)}")
    n = TensorShape([None])
    return [(dt.int32, n), (dt.int64, n), (dt.float32, n)]


def _hits_eager(k):
    tc, sc = k.ins
    j, i, _ = np.nonzero(sc.reshape(-1, 1, 1) == tc[None])   # sampled-major, as TF
    return [i.astype(np.int32), j.astype(np.int64), np.full(i.size, -_FLOAT_MAX, np.float32)]


dynamic_row("ComputeAccidentalHits", _hits_infer, _hits_eager, NO_GRADIENT)
_Hits = collections.namedtuple("ComputeAccidentalHits", ["indices", "ids", "weights"])


def compute_accidental_hits(true_classes, sampled_candidates, num_true, seed=None, name=None):
    """Where a sampled id is one of an example's true classes (TF1
    ``tf.nn.compute_accidental_hits``).

    Args:
        true_classes: int64 ``[batch_size, num_true]``.
        sampled_candidates: int64 ``[num_sampled]``, a sampler's ``sampled_candidates``.
        num_true: int, the number of target classes per example.
        seed, name: ``seed`` is accepted and unused, as in TF; node name.

    Returns:
        A namedtuple ``(indices, ids, weights)`` of ``[num_hits]`` tensors (known when the
        graph runs): int32 rows of ``true_classes``, int64 positions in
        ``sampled_candidates``, float32 ``-FLT_MAX`` each. One entry per matching
        ``(row, column)``, ordered by position, then row and column.
    """
    t = _true_classes(true_classes)
    c = _true_classes(sampled_candidates)
    attrs = {"num_true": check_positive_int("num_true", num_true)}
    return _Hits(*make_op("ComputeAccidentalHits", [t, c], attrs,
                         name=name or "ComputeAccidentalHits").outputs)
