"""nce_loss and sampled_softmax_loss: values and gradients (weights, biases, inputs; single
and sharded 'mod' / 'div' weights; with and without accidental-hit removal) equal TF 2.15's
for explicit sampled_values (tests/graph/fixtures/make_tf_sampled_losses.py), finite
differences, the default sampler's seeding, and a word2vec skip-gram training loop
written as TF1's tutorial writes it."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore.graph.ops import sampled_loss_ops as S

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "tf_sampled_losses.json")
                     .read_text())
KEYS = [f"{loss}_{variant}" for loss in ("nce", "softmax")
        for variant in ("remove0", "remove1", "mod2", "div3")]


def _shards(w, strategy, n):
    ids = np.arange(w.shape[0])
    if strategy == "mod":
        return [w[ids % n == p] for p in range(n)]
    per, extras = divmod(w.shape[0], n)
    return np.split(w, np.cumsum([per + 1 if p < extras else per for p in range(n)])[:-1])


def _build(case, key, feed_batch=False):
    """The loss of fixture ``case`` for ``key``, its weighted sum's gradients, the feeds."""
    dtype = case["dtype"]
    fn = S.nce_loss if key.startswith("nce") else S.sampled_softmax_loss
    variant = key.split("_")[1]
    w, b = np.asarray(case["weights"], dtype), np.asarray(case["biases"], dtype)
    if variant.startswith("remove"):
        strategy, remove, n = "mod", variant == "remove1", 1
    else:
        strategy, remove, n = variant[:3], True, int(variant[3:])
    ws = [ec.constant(s) for s in _shards(w, strategy, n)]
    bs = [ec.constant(s) for s in _shards(b, strategy, n)]
    x_val = np.asarray(case["inputs"], dtype)
    labels_val = np.asarray(case["labels"], np.int64)
    num_true = labels_val.shape[1]
    feeds = {}
    sampled_values = (np.asarray(case["sampled"], np.int64),
                      np.asarray(case["true_expected"], dtype),
                      np.asarray(case["sampled_expected"], dtype))
    if feed_batch:   # unknown batch size and sample count, int32 labels (cast as TF does)
        x = ec.placeholder(x_val.dtype, [None, x_val.shape[1]])
        labels = ec.placeholder(ec.int32, [None, num_true])
        sampled = ec.placeholder(ec.int64, [None])
        feeds = {x: x_val, labels: labels_val.astype(np.int32), sampled: sampled_values[0]}
        sampled_values = (sampled,) + sampled_values[1:]
    else:
        x, labels = ec.constant(x_val), ec.constant(labels_val)
    loss = fn(ws if n > 1 else ws[0], bs if n > 1 else bs[0], labels, x,
              num_sampled=len(case["sampled"]), num_classes=w.shape[0], num_true=num_true,
              sampled_values=sampled_values, remove_accidental_hits=remove,
              partition_strategy=strategy)
    total = ec.reduce_sum(loss * np.asarray(case["out_weights"], dtype))
    return loss, ec.gradients(total, ws + bs + [x]), len(ws), feeds


@pytest.mark.smoke
@pytest.mark.parametrize("fed", [False, True], ids=["const", "fed"])
@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("case", FIXTURE["losses"], ids=lambda c: c["name"])
def test_loss_and_gradients_equal_tfs(case, key, use_c, fed):
    expected = case[key]
    loss, grads, n, feeds = _build(case, key, feed_batch=fed)
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        lv, gv = sess.run([loss, grads], feeds)
    rtol = 1e-5 if case["dtype"] == "float32" else 1e-10
    assert lv.dtype == np.dtype(case["dtype"]) and lv.shape == (len(case["labels"]),)
    np.testing.assert_allclose(lv, expected["loss"], rtol=rtol)
    for got, want in zip(gv[:n], expected["grad_weights"], strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    for got, want in zip(gv[n:-1], expected["grad_biases"], strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gv[-1], expected["grad_inputs"], rtol=rtol, atol=rtol)


@pytest.mark.smoke
@pytest.mark.parametrize("fn", [S.nce_loss, S.sampled_softmax_loss], ids=["nce", "softmax"])
def test_gradients_match_finite_differences(fn, numeric_gradient):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((7, 3)), rng.standard_normal(7) * 0.3,
              rng.standard_normal((4, 3))]
    w, b, x = (ec.placeholder(ec.float64, v.shape) for v in values)
    labels = ec.constant(np.array([[1, 4], [0, 6], [3, 3], [5, 2]], np.int64))
    sv = (ec.constant(np.array([6, 2, 0], np.int64)),
          ec.constant(rng.uniform(0.1, 1.0, (4, 2))), ec.constant(rng.uniform(0.1, 1.0, 3)))
    loss = fn([w[:4], w[4:]], [b[:4], b[4:]], labels, x, 3, 7, num_true=2,
              sampled_values=sv, remove_accidental_hits=True, partition_strategy="div")
    total = ec.reduce_sum(loss * ec.constant(rng.standard_normal(4)))
    grads = ec.gradients(total, [w, b, x, sv[1], sv[2]])
    assert grads[3:] == [None, None]      # the sampled values are constants
    feed = dict(zip([w, b, x], values, strict=True))
    with ec.Session() as sess:
        analytic = sess.run(grads[:3], feed)
        for i, v in enumerate(values):
            ph = [w, b, x][i]
            num = numeric_gradient(lambda u, ph=ph: sess.run(total, {**feed, ph: u}), v)
            np.testing.assert_allclose(analytic[i], num, rtol=1e-6, atol=1e-7)


def test_default_sampler_is_seeded_and_sampled_logits_need_no_ids_gradient():
    def run():
        g = ec.Graph()
        with g.as_default():
            ec.set_random_seed(3)
            w = ec.Variable(np.random.default_rng(1).standard_normal((50, 4)), name="w")
            b = ec.Variable(np.zeros(50), name="b")
            x = ec.constant(np.random.default_rng(2).standard_normal((5, 4)))
            labels = ec.constant(np.arange(5, dtype=np.int64).reshape(5, 1) * 7)
            nce = S.nce_loss(w, b, labels, x, num_sampled=6, num_classes=50)
            ssm = S.sampled_softmax_loss(w, b, labels, x, num_sampled=6, num_classes=50,
                                         seed=4)
            gw, gb = ec.gradients(ec.reduce_sum(nce) + ec.reduce_sum(ssm), [w, b])
            samplers = [op for op in g.get_operations()
                        if op.type == "LogUniformCandidateSampler"]
            with ec.Session() as sess:
                sess.run(ec.global_variables_initializer())
                ids = [op.outputs[0] for op in samplers]
                return [sess.run([nce, ssm, gw, gb] + ids) for _ in range(2)], samplers
    (first, second), samplers = run()
    again, _ = run()
    assert [op.name for op in samplers] == ["nce_loss/LogUniformCandidateSampler",
                                            "sampled_softmax_loss/LogUniformCandidateSampler"]
    for a, b in zip(first, again[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], second[0])     # a new draw every run
    assert all(np.isfinite(v).all() for v in first)
    assert first[2].shape == (50, 4) and first[3].shape == (50,)
    # only the looked-up rows (the labels and both samplers' ids) get a gradient
    rows = set(np.flatnonzero(np.abs(first[2]).sum(1)).tolist())
    assert {0, 7, 14, 21, 28} <= rows <= {0, 7, 14, 21, 28} | set(first[4]) | set(first[5])


@pytest.mark.smoke
@pytest.mark.parametrize("subtract_log_q", [True, False])
def test_sampled_logits_and_labels(subtract_log_q):
    """TF's _compute_sampled_logits written out in numpy: labels 1 / num_true, -FLT_MAX
    on accidental hits, log expected counts subtracted."""
    rng = np.random.default_rng(5)
    w, b, x = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal((2, 3))
    labels = np.array([[1, 4], [2, 2]], np.int64)
    sampled = np.array([4, 0, 2], np.int64)
    true_q, sampled_q = rng.uniform(0.1, 2, (2, 2)), rng.uniform(0.1, 2, 3)
    logits, out_labels = S.compute_sampled_logits(
        w, b, labels, x, 3, 6, num_true=2, sampled_values=(sampled, true_q, sampled_q),
        subtract_log_q=subtract_log_q, remove_accidental_hits=True)
    with ec.Session() as sess:
        lv, yv = sess.run([logits, out_labels])
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels]
    sampled_logits = x @ w[sampled].T + b[sampled]
    sampled_logits[0, 0] += -np.finfo(np.float32).max     # 4 is a label of row 0
    sampled_logits[1, 2] += -np.finfo(np.float32).max     # 2 is a label of row 1 (twice)
    if subtract_log_q:
        true_logits -= np.log(true_q)
        sampled_logits -= np.log(sampled_q)
    np.testing.assert_allclose(lv, np.concatenate([true_logits, sampled_logits], 1),
                               rtol=1e-12)
    np.testing.assert_array_equal(yv, [[0.5, 0.5, 0, 0, 0]] * 2)


def test_sharded_variables_get_their_rows_updated():
    rng = np.random.default_rng(3)
    full = rng.standard_normal((9, 2))
    shards = [ec.Variable(full[p::3], name=f"w_{p}") for p in range(3)]     # 'mod'
    biases = ec.Variable(np.zeros(9), name="b")
    labels = ec.constant(np.array([[4], [8]], np.int64))
    x = ec.constant(rng.standard_normal((2, 2)))
    sampled = (np.array([1, 8], np.int64), np.ones((2, 1)), np.ones(2))
    loss = ec.reduce_sum(S.nce_loss(shards, biases, labels, x, 2, 9, sampled_values=sampled))
    step = ec.train.GradientDescentOptimizer(0.1).minimize(loss)
    with ec.Session() as sess:
        sess.run(ec.global_variables_initializer())
        sess.run(step)
        after = sess.run(shards)
    changed = {3 * j + p for p, a in enumerate(after)
               for j in np.flatnonzero(np.abs(a - full[p::3]).sum(1))}
    assert changed == {1, 4, 8}


def test_argument_errors():
    w, b = ec.constant(np.ones((6, 2))), ec.constant(np.zeros(6))
    x = ec.constant(np.ones((2, 2)))
    labels = ec.constant(np.array([[1], [2]], np.int64))
    with pytest.raises(ValueError, match="partition_strategy"):
        S.nce_loss([w, w], [b, b], labels, x, 2, 12, partition_strategy="other")
    with pytest.raises(ValueError, match=r"num_true=2"):
        S.nce_loss(w, b, labels, x, 2, 6, num_true=2)
    with pytest.raises(ValueError, match="num_sampled"):
        S.sampled_softmax_loss(w, b, labels, x, 0, 6)
    with pytest.raises(ValueError, match="row count"):
        S.sharded_lookup([ec.placeholder(ec.float64, [None, 2]), w], [1], "div")
    with pytest.raises(ValueError, match="non-empty"):
        S.sharded_lookup([], [1])


def test_sharded_lookup_out_of_range_id_raises():
    w = ec.constant(np.arange(14.0).reshape(7, 2))
    for strategy in ("mod", "div"):
        shards = [ec.constant(s) for s in _shards(np.arange(14.0).reshape(7, 2), strategy, 3)]
        ids = ec.placeholder(ec.int64, [None])
        out = S.sharded_lookup(shards, ids, strategy)
        with ec.Session() as sess:
            np.testing.assert_array_equal(sess.run(out, {ids: [6, 0, 3, 5]}),
                                          sess.run(ec.gather(w, [6, 0, 3, 5])))
            for bad in (7, -1):
                with pytest.raises(IndexError, match="out of range"):
                    sess.run(out, {ids: [1, bad]})


def test_tf_namespace_names():
    for name in ("nce_loss", "sampled_softmax_loss", "log_uniform_candidate_sampler",
                 "uniform_candidate_sampler", "learned_unigram_candidate_sampler",
                 "fixed_unigram_candidate_sampler", "all_candidate_sampler",
                 "compute_accidental_hits"):
        assert callable(getattr(tf.nn, name))
    assert tf.random.log_uniform_candidate_sampler is tf.nn.log_uniform_candidate_sampler


# ---------------------------------------------------------------- word2vec
def _corpus(rng, topics=5, per_topic=8, sentences=400, length=12):
    """Sentences of words from one topic each: words of a topic share contexts."""
    words = rng.permutation(topics * per_topic)
    groups = words.reshape(topics, per_topic)
    data = [rng.choice(groups[rng.integers(topics)], length) for _ in range(sentences)]
    return data, groups


def _skip_gram_batches(data, rng, batch_size, window=2):
    pairs = [(s[i], s[j]) for s in data for i in range(len(s))
             for j in range(max(0, i - window), min(len(s), i + window + 1)) if j != i]
    pairs = np.asarray(pairs, np.int32)
    while True:
        idx = rng.integers(len(pairs), size=batch_size)
        yield pairs[idx, 0], pairs[idx, 1:2]


@pytest.mark.parametrize("loss_name", ["nce_loss", "sampled_softmax_loss", "unigram_nce"])
def test_word2vec_skip_gram_loss_decreases(loss_name):
    """TF1's word2vec_basic.py model on a synthetic corpus (``unigram_nce``: negatives
    from the corpus' unigram counts ** 0.75, as word2vec.py draws them)."""
    rng = np.random.default_rng(0)
    data, groups = _corpus(rng)
    vocabulary_size, embedding_size, batch_size, num_sampled = groups.size, 16, 64, 8
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
        train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
        embeddings = tf.Variable(
            tf.random_uniform([vocabulary_size, embedding_size], -1.0, 1.0))
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
        nce_weights = tf.Variable(tf.truncated_normal(
            [vocabulary_size, embedding_size], stddev=1.0 / math.sqrt(embedding_size)))
        nce_biases = tf.Variable(tf.zeros([vocabulary_size]))
        sampled_values = None
        counts = np.bincount(np.concatenate(data), minlength=vocabulary_size)
        if loss_name == "unigram_nce":
            loss_name = "nce_loss"
            sampled_values = tf.nn.fixed_unigram_candidate_sampler(
                true_classes=tf.cast(train_labels, tf.int64), num_true=1,
                num_sampled=num_sampled, unique=True, range_max=vocabulary_size,
                distortion=0.75, unigrams=counts.tolist())
        loss = tf.reduce_mean(getattr(tf.nn, loss_name)(
            weights=nce_weights, biases=nce_biases, labels=train_labels, inputs=embed,
            num_sampled=num_sampled, num_classes=vocabulary_size,
            sampled_values=sampled_values))
        optimizer = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
        normalized_embeddings = embeddings / norm
        similarity = tf.matmul(normalized_embeddings, normalized_embeddings,
                               transpose_b=True)
        init = tf.global_variables_initializer()
    batches = _skip_gram_batches(data, rng, batch_size)
    losses = []
    with tf.Session(graph=graph) as session:
        init.run()
        for _ in range(600):
            batch_inputs, batch_labels = next(batches)
            _, loss_val = session.run([optimizer, loss], feed_dict={
                train_inputs: batch_inputs, train_labels: batch_labels})
            losses.append(loss_val)
        sim = similarity.eval()
    first, last = np.mean(losses[:50]), np.mean(losses[-50:])
    assert np.isfinite(losses).all() and last < 0.7 * first, (first, last)
    # the nearest neighbour of most words is a word of the same topic
    topic = np.empty(vocabulary_size, int)
    for t, g in enumerate(groups):
        topic[g] = t
    np.fill_diagonal(sim, -np.inf)
    assert np.mean(topic[sim.argmax(1)] == topic) > 0.8
