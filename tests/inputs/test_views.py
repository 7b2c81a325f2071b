"""views_scope: the Estimator's Dataset input hands out read-only views of unshuffled
in-memory data, and trains exactly as on the C stream's copies."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.data import Dataset
from estcore.estimator import Estimator, EstimatorSpec, RunConfig
from estcore.hooks.session_run_hook import SessionRunHook
from estcore.inputs.source import make_input_source
from estcore.inputs.views import views_allowed, views_scope

pytestmark = pytest.mark.smoke

X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int32)


def test_the_scope_is_set_inside_and_reset_after_even_on_an_error():
    assert not views_allowed()
    with views_scope():
        assert views_allowed()
        with views_scope():
            assert views_allowed()
        assert views_allowed()
    assert not views_allowed()
    with pytest.raises(KeyError), views_scope():
        raise KeyError("x")
    assert not views_allowed()


def test_a_dataset_input_reads_unshuffled_data_as_read_only_views():
    source = make_input_source(Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(16))
    assert source.stream.path == "views"
    features, labels = source.next_batch()
    assert np.shares_memory(features["x"], X) and not features["x"].flags.writeable
    np.testing.assert_array_equal(labels, Y[:16])
    shuffled = make_input_source(Dataset.from_tensor_slices(({"x": X}, Y)).shuffle(40).batch(16))
    assert shuffled.stream.path == "c_stream"
    assert not views_allowed()  # the scope ends with the call


def test_get_next_tensors_are_fed_from_views():
    with ec.Graph().as_default():
        ds = Dataset.from_tensor_slices(({"x": X}, Y)).batch(16)
        source = make_input_source(ds.make_one_shot_iterator().get_next())
    features, _ = source.next_batch()
    assert not features["x"].flags.writeable
    np.testing.assert_array_equal(features["x"], X[:16])


def _model_fn(features, labels, mode):
    logits = ec.layers.dense(features["x"], 2)
    loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = ec.train.AdamOptimizer(0.1).minimize(loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


class _Feeds(SessionRunHook):
    """Records whether each step's features were a read-only array."""

    def __init__(self):
        self.read_only = []

    def before_run(self, run_context):
        feed = run_context.original_args.feed_dict
        self.read_only.append(all(not v.flags.writeable for v in feed.values()
                                  if v.dtype == np.float32))


def test_training_on_views_equals_training_on_the_stream(tmp_path):
    def train(input_fn, where):
        est = Estimator(_model_fn, model_dir=str(tmp_path / where),
                        config=RunConfig(tf_random_seed=3))
        feeds = _Feeds()
        est.train(input_fn, steps=7, hooks=[feeds])
        return ({n: est.get_variable_value(n) for n in est.get_variable_names()},
                feeds.read_only)

    def views():
        return Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(16)

    def copies():  # the same pipeline on the chunk path (a map the matcher does not take)
        return views().map(lambda f, y: (f, y))

    got, read_only = train(views, "views")
    want, copied = train(copies, "copies")
    assert all(read_only) and not any(copied)  # steps 3, 6 (40 rows, batch 16) cross a pass
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
