import copy
import json
import pathlib

import pytest

from estcore.estimator import Estimator
from estcore.estimator.run_config import (
    ClusterSpec,
    RunConfig,
    SessionConfig,
    session_thread_counts,
)

pytestmark = pytest.mark.smoke


def set_tf_config(monkeypatch, cfg):
    monkeypatch.setenv("TF_CONFIG", json.dumps(cfg))


def test_defaults_match_tf_using_config_text():
    c = RunConfig(model_dir="/m")
    expected = (
        "{'_model_dir': '/m', '_tf_random_seed': None, '_save_summary_steps': 100, "
        "'_save_checkpoints_steps': None, '_save_checkpoints_secs': 600, '_session_config': None, "
        "'_keep_checkpoint_max': 5, '_keep_checkpoint_every_n_hours': 10000, "
        "'_log_step_count_steps': 100, '_train_distribute': None, '_device_fn': None, "
        "'_protocol': None, '_eval_distribute': None, '_experimental_distribute': None, "
        "'_experimental_max_worker_delay_secs': None, '_session_creation_timeout_secs': 7200, "
        "'_checkpoint_save_graph_def': True, '_service': None, '_cluster_spec': ClusterSpec({}), "
        "'_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0, '_master': '', "
        "'_evaluation_master': '', '_is_chief': True, '_num_ps_replicas': 0, "
        "'_num_worker_replicas': 1}")
    assert str(vars(c)) == expected


def test_reference_config_fields():
    c = RunConfig(tf_random_seed=1, save_checkpoints_steps=7, keep_checkpoint_max=2,
                  log_step_count_steps=5, save_summary_steps=5)
    assert (c.tf_random_seed, c.save_checkpoints_steps, c.save_checkpoints_secs) == (1, 7, None)
    assert (c.keep_checkpoint_max, c.log_step_count_steps, c.save_summary_steps) == (2, 5, 5)
    assert c.session_creation_timeout_secs == 7200 and c.checkpoint_save_graph_def is True


@pytest.mark.parametrize("kwargs, message", [
    (dict(model_dir=""), "model_dir should be non-empty"),
    (dict(tf_random_seed=1.5), "tf_random_seed must be integer."),
    (dict(save_summary_steps=-1), "save_summary_steps should be >= 0"),
    (dict(save_checkpoints_steps=-1), "save_checkpoints_steps should be >= 0"),
    (dict(save_checkpoints_secs=-1), "save_checkpoints_secs should be >= 0"),
    (dict(keep_checkpoint_max=-1), "keep_checkpoint_max should be >= 0"),
    (dict(keep_checkpoint_every_n_hours=0), "keep_checkpoint_every_n_hours should be > 0"),
    (dict(log_step_count_steps=0), "log_step_count_steps should be > 0"),
    (dict(session_creation_timeout_secs=0), "session_creation_timeout_secs should be > 0"),
    (dict(session_config=42), "session_config must be instance of ConfigProto"),
    (dict(protocol="http"), "protocol should be grpc or grpc+verbs"),
    (dict(device_fn=lambda x: x), 'device_fn must be callable with exactly one argument "op".'),
    (dict(experimental_max_worker_delay_secs=1.5),
     "experimental_max_worker_delay must be an integer if set."),
])
def test_validation_messages(kwargs, message):
    with pytest.raises(ValueError) as info:
        RunConfig(**kwargs)
    assert str(info.value) == message


def test_wrong_types_raise_type_error_naming_field():
    with pytest.raises(TypeError, match="save_summary_steps"):
        RunConfig(save_summary_steps="10")


def test_none_passes_every_validator():
    c = RunConfig(save_summary_steps=None, keep_checkpoint_max=None,
                  keep_checkpoint_every_n_hours=None, log_step_count_steps=None)
    assert c.keep_checkpoint_every_n_hours is None


def test_device_fn_and_protocol_accepted():
    def fn(op):
        return "/cpu:0"

    c = RunConfig(device_fn=fn, protocol="grpc+verbs")
    assert c.device_fn is fn and c.protocol == "grpc+verbs"


def test_pathlike_model_dir(tmp_path):
    assert RunConfig(model_dir=pathlib.Path(tmp_path)).model_dir == str(tmp_path)


def test_checkpoint_frequency_mutual_exclusion():
    c = RunConfig()
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (None, 600)
    c = RunConfig(save_checkpoints_steps=10)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (10, None)
    c = RunConfig(save_checkpoints_secs=5)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (None, 5)
    c = RunConfig(save_checkpoints_steps=None)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (None, None)
    c = RunConfig(save_checkpoints_steps=0)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (0, None)
    c = RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (None, None)
    with pytest.raises(ValueError) as info:
        RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=2)
    assert str(info.value) == ("`save_checkpoints_steps` and `save_checkpoints_secs` cannot "
                               "be both set.")


def test_replace_rules():
    c = RunConfig()
    d = c.replace(save_checkpoints_steps=5)
    assert (d.save_checkpoints_steps, d.save_checkpoints_secs) == (5, None)
    assert (c.save_checkpoints_steps, c.save_checkpoints_secs) == (None, 600)
    e = d.replace(save_checkpoints_secs=30)
    assert (e.save_checkpoints_steps, e.save_checkpoints_secs) == (None, 30)
    f = d.replace(save_checkpoints_steps=None, save_checkpoints_secs=None)
    assert (f.save_checkpoints_steps, f.save_checkpoints_secs) == (None, None)
    with pytest.raises(ValueError, match="cannot be both set"):
        d.replace(save_checkpoints_steps=1, save_checkpoints_secs=1)
    with pytest.raises(ValueError, match="keep_checkpoint_max should be >= 0"):
        c.replace(keep_checkpoint_max=-3)
    with pytest.raises(ValueError) as info:
        c.replace(master="grpc://x")
    assert str(info.value).startswith(
        "Replacing master is not supported. Allowed properties are ['model_dir', "
        "'tf_random_seed',")
    assert c.replace(model_dir="/a", tf_random_seed=3).model_dir == "/a"


def test_session_config_forms():
    assert session_thread_counts(None) == (0, 0)
    c = RunConfig(session_config={"intra_op_parallelism_threads": 3,
                                  "inter_op_parallelism_threads": 2})
    assert isinstance(c.session_config, SessionConfig)
    assert (c.kernel_threads, c.pipeline_threads) == (3, 2)

    class Proto:
        intra_op_parallelism_threads = 4
        inter_op_parallelism_threads = 1

    c = RunConfig(session_config=Proto())
    assert (c.kernel_threads, c.pipeline_threads) == (4, 1)
    with pytest.raises(ValueError, match="Unknown session_config field"):
        RunConfig(session_config={"bogus": 1})
    with pytest.raises(ValueError, match="intra_op_parallelism_threads"):
        SessionConfig(intra_op_parallelism_threads=-1)
    with pytest.raises(TypeError, match=r"inter_op_parallelism_threads.*non-negative int.*2\.5"):
        SessionConfig(inter_op_parallelism_threads=2.5)
    with pytest.raises(TypeError, match="intra_op_parallelism_threads"):
        SessionConfig(intra_op_parallelism_threads=True)
    assert repr(SessionConfig(allow_soft_placement=True)) == "allow_soft_placement: true\n"


def test_deepcopy_keeps_everything():
    c = RunConfig(model_dir="/x", tf_random_seed=7)
    d = copy.deepcopy(c)
    assert vars(d) == vars(c) or str(vars(d)) == str(vars(c))


def views(c):
    return {"task_type": str(c.task_type), "task_id": str(c.task_id), "master": c.master,
            "num_ps_replicas": str(c.num_ps_replicas),
            "num_worker_replicas": str(c.num_worker_replicas), "is_chief": str(c.is_chief),
            "global_id_in_cluster": str(c.global_id_in_cluster),
            "evaluation_master": c.evaluation_master,
            "cluster_spec": str(c.cluster_spec.as_dict())}


REFERENCE = {
    "chief": ({"cluster": {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"], "ps": ["p0:1"]},
               "task": {"type": "chief", "index": 0}},
              {"task_type": "chief", "task_id": "0", "master": "grpc://h0:1",
               "num_ps_replicas": "1", "num_worker_replicas": "3", "is_chief": "True",
               "global_id_in_cluster": "0", "evaluation_master": "",
               "cluster_spec": "{'chief': ['h0:1'], 'worker': ['h1:1', 'h2:1'], 'ps': ['p0:1']}"}),
    "worker1": ({"cluster": {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"], "ps": ["p0:1"]},
                 "task": {"type": "worker", "index": 1}},
                {"task_type": "worker", "task_id": "1", "master": "grpc://h2:1",
                 "num_ps_replicas": "1", "num_worker_replicas": "3", "is_chief": "False",
                 "global_id_in_cluster": "2", "evaluation_master": "",
                 "cluster_spec":
                     "{'chief': ['h0:1'], 'worker': ['h1:1', 'h2:1'], 'ps': ['p0:1']}"}),
    "evaluator": ({"cluster": {"chief": ["h0:1"], "worker": ["h1:1"]},
                   "task": {"type": "evaluator", "index": 0}},
                  {"task_type": "evaluator", "task_id": "0", "master": "",
                   "num_ps_replicas": "0", "num_worker_replicas": "0", "is_chief": "False",
                   "global_id_in_cluster": "None", "evaluation_master": "",
                   "cluster_spec": "{}"}),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_tf_config_views_match_reference(monkeypatch, name, estcore_log):
    cfg, expected = REFERENCE[name]
    set_tf_config(monkeypatch, cfg)
    c = RunConfig()
    assert views(c) == expected
    assert f"TF_CONFIG environment variable: {cfg}" in estcore_log()


def test_global_ids_and_session_config(monkeypatch):
    cluster = {"chief": ["c:1"], "worker": ["w0:1", "w1:1", "w2:1"], "ps": ["p0:1", "p1:1"]}
    ids = []
    for t, n in (("chief", 1), ("worker", 3), ("ps", 2)):
        for i in range(n):
            set_tf_config(monkeypatch, {"cluster": cluster, "task": {"type": t, "index": i}})
            c = RunConfig()
            ids.append(c.global_id_in_cluster)
            if t == "worker":
                assert c.session_config.device_filters == ["/job:ps", f"/job:worker/task:{i}"]
    assert ids == [0, 1, 2, 3, 4, 5]
    set_tf_config(monkeypatch, {"cluster": cluster, "task": {"type": "worker", "index": "2"}})
    assert RunConfig().task_id == 2


def test_master_style_cluster(monkeypatch):
    cluster = {"master": ["m:1"], "worker": ["w0:1"], "ps": ["p:1"]}
    set_tf_config(monkeypatch, {"cluster": cluster, "task": {"type": "master", "index": 0}})
    c = RunConfig()
    assert c.is_chief and c.num_worker_replicas == 2 and c.master == "grpc://m:1"
    set_tf_config(monkeypatch, {"cluster": cluster, "task": {"type": "ps", "index": 0}})
    assert RunConfig().global_id_in_cluster == 2
    set_tf_config(monkeypatch, {"cluster": dict(cluster, chief=["c:1"]),
                                "task": {"type": "master", "index": 0}})
    with pytest.raises(ValueError, match="job `chief` is not supported"):
        RunConfig()
    set_tf_config(monkeypatch, {"cluster": cluster, "task": {"type": "evaluator", "index": 0}})
    with pytest.raises(ValueError, match="task_type `evaluator` is not supported"):
        RunConfig()


def test_local_tf_config_masters(monkeypatch):
    set_tf_config(monkeypatch, {"session_master": "grpc://s:1", "eval_session_master": "e"})
    c = RunConfig()
    assert (c.master, c.evaluation_master, c.is_chief) == ("grpc://s:1", "e", True)


def test_single_task_cluster_master_is_local(monkeypatch):
    set_tf_config(monkeypatch, {"cluster": {"chief": ["c:1"]},
                                "task": {"type": "chief", "index": 0}})
    assert RunConfig().master == ""


@pytest.mark.parametrize("cfg, message", [
    ({"task": {"type": "ps", "index": 0}},
     'If "cluster" is not set in TF_CONFIG, task type must be WORKER.'),
    ({"task": {"type": "worker", "index": 1}},
     'If "cluster" is not set in TF_CONFIG, task index must be 0.'),
    ({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}},
     'If "cluster" is set in TF_CONFIG, it must have one "chief" node.'),
    ({"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}},
     'The "cluster" in TF_CONFIG must have only one "chief" node.'),
    ({"cluster": {"chief": ["a:1"]}, "task": {"index": 0}},
     'If "cluster" is set in TF_CONFIG, task type must be set.'),
    ({"cluster": {"chief": ["a:1"]}, "task": {"type": "chief"}},
     'If "cluster" is set in TF_CONFIG, task index must be set.'),
    ({"cluster": {"chief": ["a:1"]}, "task": {"type": "chief", "index": -1}},
     "Task index must be non-negative number."),
    ({"model_dir": ""}, "model_dir in TF_CONFIG should be non-empty."),
])
def test_tf_config_errors(monkeypatch, cfg, message):
    set_tf_config(monkeypatch, cfg)
    with pytest.raises(ValueError) as info:
        RunConfig()
    assert str(info.value) == message


def test_tf_config_invalid_task(monkeypatch):
    set_tf_config(monkeypatch, {"cluster": {"chief": ["a:1"], "worker": ["b:1"]},
                                "task": {"type": "wrker", "index": 0}})
    with pytest.raises(ValueError, match="^wrker is not a valid task_type in the cluster_spec"):
        RunConfig()
    set_tf_config(monkeypatch, {"cluster": {"chief": ["a:1"], "worker": ["b:1"]},
                                "task": {"type": "worker", "index": 3}})
    with pytest.raises(ValueError, match="^3 is not a valid task_id for task_type worker"):
        RunConfig()


def test_tf_config_json_and_service(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "")
    with pytest.raises(ValueError):
        RunConfig()
    set_tf_config(monkeypatch, {"service": "x"})
    with pytest.raises(TypeError, match='If "service" is set in TF_CONFIG, it must be a dict'):
        RunConfig()
    set_tf_config(monkeypatch, {"service": {"a": 1}})
    assert RunConfig().service == {"a": 1}


def test_tf_config_model_dir(monkeypatch, estcore_log):
    set_tf_config(monkeypatch, {"model_dir": "/from/env"})
    assert RunConfig().model_dir == "/from/env"
    assert "Using model_dir in TF_CONFIG: /from/env" in estcore_log()
    assert RunConfig(model_dir="/from/env").model_dir == "/from/env"
    with pytest.raises(ValueError, match="^`model_dir` provided in RunConfig construct, if set, "
                                         "must have the same value as the model_dir in TF_CONFIG"):
        RunConfig(model_dir="/other")


def test_cluster_spec():
    empty = ClusterSpec({})
    assert not empty and repr(empty) == "ClusterSpec({})"
    c = ClusterSpec({"worker": ["a:1", "b:1"], "chief": ["c:1"]})
    assert c and c.jobs == ["worker", "chief"]
    assert repr(c) == "ClusterSpec({'chief': ['c:1'], 'worker': ['a:1', 'b:1']})"
    assert c.as_dict() == {"worker": ["a:1", "b:1"], "chief": ["c:1"]}
    assert c.num_tasks("worker") == 2 and c.job_tasks("chief") == ["c:1"]
    sparse = ClusterSpec({"worker": {1: "b:1"}})
    assert sparse.as_dict() == {"worker": {1: "b:1"}} and sparse.job_tasks("worker") == [None,
                                                                                         "b:1"]
    assert ClusterSpec(c) == c and ClusterSpec({}) != c
    with pytest.raises(ValueError, match="No such job"):
        c.num_tasks("ps")
    with pytest.raises(TypeError, match="cluster"):
        ClusterSpec([1])


@pytest.mark.parametrize("text, position", [
    ("", "line 1 column 1 (char 0)"),
    ('{"cluster": ', "line 1 column 13 (char 12)"),
    ("{'task': 1}", "line 1 column 2 (char 1)"),
])
def test_malformed_tf_config_names_the_variable_and_position(monkeypatch, text, position):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(json.JSONDecodeError) as info:  # a ValueError, as TF's
        RunConfig()
    message = str(info.value)
    assert message.startswith("The TF_CONFIG environment variable is not valid JSON (")
    assert message.endswith(position)
    assert f"TF_CONFIG={text!r}" in message


def test_model_dir_that_is_a_file_is_refused_at_construction(tmp_path):
    a_file = tmp_path / "model.txt"
    a_file.write_text("not a directory")
    for model_dir, what in ((str(a_file), "it is a file"),
                            (a_file, "it is a file"),
                            (str(a_file / "sub" / "dir"),
                             f"{str(a_file)!r} in its path is a file")):
        expected = f"Received: model_dir={str(model_dir)!r}, and {what}"
        with pytest.raises(ValueError, match="model_dir must be a directory") as info:
            RunConfig(model_dir=model_dir)
        assert str(info.value).endswith(expected)
        with pytest.raises(ValueError, match="model_dir must be a directory"):
            Estimator(lambda features, labels, mode: None, model_dir=model_dir)
        with pytest.raises(ValueError, match="model_dir must be a directory"):
            RunConfig().replace(model_dir=model_dir)
    # a directory, or a path that does not exist yet, is fine
    assert RunConfig(model_dir=str(tmp_path)).model_dir == str(tmp_path)
    assert RunConfig(model_dir=str(tmp_path / "new" / "dir")).model_dir == str(
        tmp_path / "new" / "dir")
