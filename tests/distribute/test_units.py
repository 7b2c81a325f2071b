"""In-process checks of estcore.distribute: cluster views, sharding, strategy, errors."""

from __future__ import annotations

import builtins
import json
import sys

import numpy as np
import pytest

import estcore as ec
from estcore import estimator as est
from estcore.distribute import MPIStrategy, mpi, mpi_cluster_view, resolve_strategy
from estcore.distribute.membership import Membership, membership_from_config
from estcore.distribute.ops import allreduce_mean
from estcore.distribute.rendezvous import form_communicator
from estcore.errors import FailedPreconditionError, InvalidArgumentError
from estcore.inputs import current_shard, numpy_input_fn, shard_scope

pytestmark = pytest.mark.smoke


@pytest.fixture
def no_launcher(monkeypatch):
    for var in ("TF_CONFIG", "PMI_RANK", "PMI_SIZE", "PMI_FD", "PMI_PORT", "OMPI_COMM_WORLD_RANK",
                "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(var, raising=False)


def fake_mpiexec(monkeypatch, rank: int, size: int) -> None:
    monkeypatch.setenv("PMI_RANK", str(rank))
    monkeypatch.setenv("PMI_SIZE", str(size))


# ---------------------------------------------------------------- cluster views

def test_no_launcher_is_local(no_launcher):
    assert mpi_cluster_view() is None
    cfg = est.RunConfig()
    assert membership_from_config(cfg) == Membership(0, 1, "chief", 0, "local")
    assert resolve_strategy(cfg) is None


@pytest.mark.parametrize("rank,task_type,task_id", [(0, "chief", 0), (1, "worker", 0),
                                                    (3, "worker", 2)])
def test_mpiexec_view_in_run_config(no_launcher, monkeypatch, rank, task_type, task_id):
    fake_mpiexec(monkeypatch, rank, 4)
    cfg = est.RunConfig()
    assert cfg.task_type == task_type and cfg.task_id == task_id
    assert cfg.num_worker_replicas == 4
    assert cfg.is_chief == (rank == 0)
    assert cfg.global_id_in_cluster == rank
    assert cfg.cluster_spec.as_dict()["worker"] == ["mpi-rank-1:0", "mpi-rank-2:0",
                                                    "mpi-rank-3:0"]
    me = membership_from_config(cfg)
    assert (me.rank, me.size, me.source) == (rank, 4, "mpiexec")


def test_single_rank_mpiexec_is_local(no_launcher, monkeypatch):
    fake_mpiexec(monkeypatch, 0, 1)
    assert mpi_cluster_view() is None
    assert est.RunConfig().cluster_spec.as_dict() == {}


def test_tf_config_membership(no_launcher, monkeypatch):
    cluster = {"chief": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]}
    for task, index, rank in [("chief", 0, 0), ("worker", 0, 1), ("worker", 1, 2)]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                    "task": {"type": task, "index": index}}))
        cfg = est.RunConfig()
        me = membership_from_config(cfg)
        assert (me.rank, me.size, me.source, me.chief_address) == (rank, 3, "tf_config",
                                                                   "h0:2222")
        assert me.rank == cfg.global_id_in_cluster


def test_tf_config_without_chief_is_rejected(no_launcher, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"master": ["h0:1"],
                                                            "worker": ["h1:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    with pytest.raises(ValueError, match="needs a `chief` job"):
        membership_from_config(est.RunConfig())


def test_evaluator_task_trains_nothing(no_launcher, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["h0:1"],
                                                            "worker": ["h1:1"]},
                                                "task": {"type": "evaluator", "index": 0}}))
    assert resolve_strategy(est.RunConfig()) is None


# ---------------------------------------------------------------- errors

def test_multi_worker_without_mpi4py_names_the_extra(no_launcher, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "mpi4py" or name.startswith("mpi4py."):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(sys.modules, "mpi4py", raising=False)
    with pytest.raises(ImportError, match=r"pip install estcore\[mpi\]"):
        mpi.import_mpi("mpiexec started 2 processes")


def test_singleton_process_gets_the_mpiexec_hint(no_launcher):
    me = Membership(1, 2, "worker", 0, "tf_config", "127.0.0.1:1")
    with pytest.raises(FailedPreconditionError, match=r"mpiexec -n 1.*pmodels/mpich#7805"):
        form_communicator(object(), me, 1.0)


def test_train_distribute_must_be_an_mpi_strategy(no_launcher):
    with pytest.raises(TypeError, match="train_distribute"):
        resolve_strategy(est.RunConfig(train_distribute="mirrored"))


@pytest.mark.parametrize("kwargs,arg", [
    ({"heartbeat_secs": 0}, "heartbeat_secs"),
    ({"peer_timeout_secs": -1}, "peer_timeout_secs"),
    ({"heartbeat_secs": 2.0, "peer_timeout_secs": 1.0}, "peer_timeout_secs"),
    ({"collective_timeout_secs": "10"}, "collective_timeout_secs"),
    ({"rendezvous_timeout_secs": True}, "rendezvous_timeout_secs"),
])
def test_strategy_arguments_are_validated(kwargs, arg):
    with pytest.raises(InvalidArgumentError, match=f"`{arg}`"):
        MPIStrategy(**kwargs)


def test_unstarted_strategy_explains(no_launcher):
    s = MPIStrategy()
    with pytest.raises(RuntimeError, match="not started"):
        _ = s.rank
    assert "not started" in repr(s)


# ---------------------------------------------------------------- one process

def test_single_process_strategy_needs_no_mpi(no_launcher):
    s = MPIStrategy().start(est.RunConfig())
    assert (s.rank, s.num_replicas_in_sync, s.is_chief, s.task) == (0, 1, True, ("chief", 0))
    buf = np.arange(4.0)
    s.allreduce_sum_(buf)
    np.testing.assert_array_equal(buf, np.arange(4.0))
    assert s.broadcast_object({"a": 1}) == {"a": 1}
    assert s.all_true(True) and not s.all_true(False)
    import copy
    assert copy.deepcopy(s) is s


def test_explicit_single_process_strategy_trains_like_none(no_launcher, tmp_path):
    x = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)

    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features, 2)
        loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
        op = ec.train.GradientDescentOptimizer(0.5).minimize(
            loss, global_step=ec.train.get_global_step())
        return est.EstimatorSpec(mode, loss=loss, train_op=op)

    values = []
    for i, strategy in enumerate([None, MPIStrategy()]):
        cfg = est.RunConfig(model_dir=str(tmp_path / str(i)), tf_random_seed=3,
                            train_distribute=strategy)
        e = est.Estimator(model_fn, config=cfg)
        e.train(numpy_input_fn(x, y, batch_size=8, num_epochs=2, shuffle=True))
        values.append(e.get_variable_value("dense/kernel"))
    np.testing.assert_array_equal(values[0], values[1])


def test_allreduce_op_weighted_mean_of_one_process(no_launcher):
    s = MPIStrategy().start(est.RunConfig())
    g = ec.Graph()
    with g.as_default():
        v = ec.Variable(np.zeros((2, 3), np.float32), name="v")
        w = ec.Variable(np.zeros(4, np.float64), name="w")
        a = ec.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
        b = ec.constant(np.arange(4, dtype=np.float64) - 1.5)
        out = allreduce_mean(s, [(a, v), (None, w), (b, w)])
        assert out[1] == (None, w)
        assert [o[1] for o in out] == [v, w, w]
        assert {o[0].op.type for o in (out[0], out[2])} == {"MPIAllReduceMean"}
        s.local_weight = 7.0
        with ec.Session() as sess:
            ra, rb = sess.run([out[0][0], out[2][0]])
    np.testing.assert_allclose(ra, np.arange(6, dtype=np.float32).reshape(2, 3), rtol=1e-6)
    np.testing.assert_allclose(rb, np.arange(4) - 1.5)
    assert s.allreduce_calls == 2


# ---------------------------------------------------------------- input sharding

@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("num_epochs", [1, 3])
def test_shards_partition_each_global_batch(workers, num_epochs):
    x = np.arange(50, dtype=np.int64)
    per_worker = 4
    whole = list(numpy_input_fn(x, batch_size=per_worker * workers, num_epochs=num_epochs,
                                shuffle=True, seed=11)())
    shards = []
    for r in range(workers):
        with shard_scope(r, workers):
            assert current_shard() == (r, workers)
            shards.append(list(numpy_input_fn(x, batch_size=per_worker, num_epochs=num_epochs,
                                              shuffle=True, seed=11)()))
    assert current_shard() == (0, 1)
    for k, batch in enumerate(whole):
        parts = [s[k] for s in shards if k < len(s)]
        np.testing.assert_array_equal(np.concatenate(parts), batch)
        if len(batch) == per_worker * workers:
            assert all(len(p) == per_worker for p in parts)
    seen = np.concatenate([b for s in shards for b in s])
    np.testing.assert_array_equal(np.sort(seen), np.sort(np.tile(x, num_epochs)))


def test_sharded_stream_state_resumes():
    x = np.arange(30, dtype=np.float32)
    with shard_scope(1, 2):
        f = numpy_input_fn(x, batch_size=3, num_epochs=2, shuffle=True, seed=5)
        s = f()
        first = [next(s) for _ in range(4)]
        state = s.get_state()
        s.close()
        rest = list(f(state=state))
        full = list(f())
    np.testing.assert_array_equal(np.concatenate(first + rest), np.concatenate(full))
    assert state["batches_consumed"] == 4 and state["position"] == (4 * 6) % 30


@pytest.mark.parametrize("bad,arg", [((2, 2), "index"), ((-1, 2), "index"), ((0, 0),
                                                                             "num_shards")])
def test_shard_scope_validation(bad, arg):
    with pytest.raises((ValueError, TypeError), match=f"`{arg}`"), shard_scope(*bad):
        pass


def test_mpiexec_and_tf_config_cluster_together_are_rejected(no_launcher, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["h0:1"],
                                                            "worker": ["h1:1"]},
                                                "task": {"type": "chief", "index": 0}}))
    cfg = est.RunConfig()
    fake_mpiexec(monkeypatch, 0, 2)
    with pytest.raises(ValueError, match="Use one or the other"):
        membership_from_config(cfg)


class _FakeEstimator:
    """latest_checkpoint() walks a list; evaluate() reports the step of the checkpoint."""

    def __init__(self, model_dir: str, ckpts: list):
        self.model_dir = model_dir
        self._ckpts = list(ckpts)
        self.evaluated: list[str] = []

    def latest_checkpoint(self):
        return self._ckpts.pop(0) if len(self._ckpts) > 1 else self._ckpts[0]

    def evaluate(self, input_fn, steps, name, checkpoint_path, hooks):
        self.evaluated.append(checkpoint_path)
        return {"global_step": int(checkpoint_path.rsplit("-", 1)[1]), "loss": 0.5}


def test_evaluator_task_loop(tmp_path, caplog):
    from estcore.estimator.training import _run_evaluator

    e = _FakeEstimator(str(tmp_path), [None, "m/model.ckpt-5", "m/model.ckpt-5",
                                       "m/model.ckpt-10", "m/model.ckpt-20"])
    now = [0.0]
    slept: list[float] = []

    def clock() -> float:
        now[0] += 1.0  # every evaluation pass "takes" 1 s of the clock
        return now[0]

    def sleep(secs: float) -> None:
        slept.append(secs)

    fn = lambda: None  # noqa: E731
    with caplog.at_level("WARNING", logger="estcore"):
        metrics, exports = _run_evaluator(
            e, est.TrainSpec(fn, max_steps=20),
            est.EvalSpec(fn, start_delay_secs=7, throttle_secs=10), clock=clock, sleep=sleep)
    assert metrics["global_step"] == 20 and exports == []
    assert e.evaluated == ["m/model.ckpt-5", "m/model.ckpt-10", "m/model.ckpt-20"]
    assert slept[0] == 7  # start delay, then the rest of each throttle period
    assert slept[1:] == [9.0, 9.0, 9.0, 9.0]
    assert "Estimator is not trained yet" in caplog.text
    assert "No new checkpoint ready for evaluation" in caplog.text
