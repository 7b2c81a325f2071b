"""``VocabInfo`` warm start: rows / columns remapped by vocabulary entry, as TF 1.15.

fixtures/tf/vocab_warm_start/ holds a TF checkpoint, vocabulary files and what TF 2.15's
``tf.compat.v1.train.warm_start`` gave for each case (cases.json, written by
tools/tf_fixtures/make_tf_vocab_warm_start.py); estcore must give the same values.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import estcore as ec
from estcore.checkpoint.format import write_checkpoint
from estcore.checkpoint.state import load_checkpoint
from estcore.checkpoint.vocab_remap import VocabInfo, remap
from estcore.checkpoint.warm_starting import WarmStartSettings, warm_start_values
from estcore.estimator import RunConfig

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "tf" / "vocab_warm_start"
CASES = json.loads((FIXTURE / "cases.json").read_text())["cases"]


def arange(shape, dtype=None, partition_info=None):
    """0, 1, 2, ... in ``shape``: shows where each value asked for lands."""
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def _info(case: dict) -> VocabInfo:
    return VocabInfo(str(FIXTURE / case["new_vocab"]), case["new_vocab_size"],
                     case["num_oov_buckets"], str(FIXTURE / case["old_vocab"]),
                     case["old_vocab_size"], None if case["backup"] == "zeros" else arange,
                     case["axis"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_remap_gives_tfs_values(name):
    case = CASES[name]
    old = load_checkpoint(str(FIXTURE / "model.ckpt-1")).get_tensor(case["old"])
    got = remap(name, old, _info(case), tuple(case["shape"]))
    np.testing.assert_array_equal(got, np.asarray(case["value"], np.float32))
    assert got.dtype == np.float32


@pytest.mark.parametrize("name", sorted(CASES))
def test_warm_start_values_from_tfs_checkpoint(name):
    case = CASES[name]
    settings = WarmStartSettings(str(FIXTURE), vars_to_warm_start=[name],
                                 var_name_to_vocab_info={name: _info(case)},
                                 var_name_to_prev_var_name={name: case["old"]})
    values = warm_start_values(settings, [name], [name], {name: case["shape"]})
    np.testing.assert_array_equal(values[name], np.asarray(case["value"], np.float32))


def _vocab(tmp_path, name, words):
    path = tmp_path / name
    path.write_text("".join(w + "\n" for w in words))
    return str(path)


def _emb_model_fn(rows):
    def model_fn(features, labels, mode, params):
        emb = ec.get_variable("emb", shape=[rows, 2], initializer=ec.ones_initializer())
        bias = ec.get_variable("bias", shape=[3], initializer=ec.ones_initializer())
        loss = ec.reduce_sum(emb) * 0.0 + ec.reduce_sum(bias) * 0.0 + ec.reduce_sum(features)
        step = ec.train.get_global_step()
        train = ec.train.GradientDescentOptimizer(0.0).minimize(loss, global_step=step)
        return ec.estimator.EstimatorSpec(mode, loss=loss, train_op=train)
    return model_fn


def _input_fn():
    return ec.data.Dataset.from_tensor_slices(np.ones((2, 1), np.float32)).batch(2)


@pytest.fixture
def old_dir(tmp_path):
    """An estcore checkpoint: emb over vocabulary a b c (+1 OOV row), bias over x y z."""
    d = tmp_path / "old"
    d.mkdir()
    write_checkpoint(str(d / "model.ckpt-9"), {
        "global_step": np.int64(9),
        "emb": np.array([[1, 1], [2, 2], [3, 3], [-9, -9]], np.float32),
        "bias": np.array([10, 20, 30], np.float32)})
    (d / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-9"\n')
    return str(d)


def test_estimator_warm_start_with_vocab_info(tmp_path, old_dir):
    old = _vocab(tmp_path, "old.txt", ["a", "b", "c"])
    new = _vocab(tmp_path, "new.txt", ["c", "new", "a"])
    old_cls = _vocab(tmp_path, "old_cls.txt", ["x", "y", "z"])
    new_cls = _vocab(tmp_path, "new_cls.txt", ["z", "w", "x"])
    settings = WarmStartSettings(old_dir, vars_to_warm_start=".*", var_name_to_vocab_info={
        "emb": VocabInfo(new, 3, 2, old, backup_initializer=ec.constant_initializer(7.0)),
        "bias": ec.estimator.VocabInfo(new_cls, 3, 0, old_cls)})
    est = ec.estimator.Estimator(_emb_model_fn(5), model_dir=str(tmp_path / "new"),
                                 warm_start_from=settings)
    est.train(_input_fn, steps=1)
    np.testing.assert_array_equal(est.get_variable_value("emb"),
                                  [[3, 3], [7, 7], [1, 1], [7, 7], [7, 7]])
    np.testing.assert_array_equal(est.get_variable_value("bias"), [30, 0, 10])
    assert int(est.get_variable_value("global_step")) == 1  # warm start: a fresh step


def test_seeded_backup_initializer_is_deterministic_under_tf_random_seed(tmp_path, old_dir):
    old = _vocab(tmp_path, "old.txt", ["a", "b", "c"])
    new = _vocab(tmp_path, "new.txt", ["b", "q", "r", "s"])
    values = []
    for run in range(2):
        settings = WarmStartSettings(old_dir, vars_to_warm_start=None, var_name_to_vocab_info={
            "emb": VocabInfo(new, 4, 1, old,
                             backup_initializer=ec.random_normal_initializer())})
        est = ec.estimator.Estimator(_emb_model_fn(5), model_dir=str(tmp_path / f"n{run}"),
                                     warm_start_from=settings,
                                     config=RunConfig(tf_random_seed=3))
        est.train(_input_fn, steps=1)
        values.append(est.get_variable_value("emb"))
        # vars_to_warm_start=None: only the vocabulary variable is warm-started
        np.testing.assert_array_equal(est.get_variable_value("bias"), [1, 1, 1])
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_array_equal(values[0][0], [2, 2])
    assert len(np.unique(values[0][1:])) == 8  # new and OOV rows: distinct random draws


def test_unused_vocab_info_is_an_error(tmp_path, old_dir):
    old = _vocab(tmp_path, "old.txt", ["a", "b", "c"])
    settings = WarmStartSettings(old_dir, vars_to_warm_start="bias",
                                 var_name_to_vocab_info={"emb": VocabInfo(old, 3, 1, old)})
    with pytest.raises(ValueError, match=r"^You provided the following variables in "
                                         r"var_name_to_vocab_info that were not used: "
                                         r"\{'emb'\}"):
        warm_start_values(settings, ["emb", "bias"], ["emb", "bias"],
                          {"emb": [4, 2], "bias": [3]})


def test_vocab_info_validation(tmp_path):
    path = _vocab(tmp_path, "v.txt", ["a"])
    with pytest.raises(ValueError, match=r"^The only supported values for the axis argument "
                                         r"are 0 and 1.  Provided axis: 2$"):
        VocabInfo(path, 1, 0, path, axis=2)
    with pytest.raises(ValueError, match=r"new_vocab_size must be a positive int. Received: 0"):
        VocabInfo(path, 0, 0, path)
    with pytest.raises(ValueError, match=r"num_oov_buckets must be an int >= 0. Received: -1"):
        VocabInfo(path, 1, -1, path)
    with pytest.raises(ValueError, match=r"old_vocab_size must be a positive int or -1"):
        VocabInfo(path, 1, 0, path, old_vocab_size=0)
    with pytest.raises(ValueError, match=r"new_vocab must be the path of a vocabulary file"):
        VocabInfo(["a", "b"], 2, 0, path)
    with pytest.raises(TypeError, match=r"backup_initializer must be an initializer"):
        VocabInfo(path, 1, 0, path, backup_initializer=3.0)
    info = VocabInfo(pathlib.Path(path), 1, 0, path)
    assert info.new_vocab == path and info.old_vocab_size == -1 and info.axis == 0
    assert info.backup_initializer is None


def test_vocabulary_file_errors(tmp_path):
    old = np.arange(6, dtype=np.float32).reshape(3, 2)
    short = _vocab(tmp_path, "short.txt", ["a", "b"])
    twice = _vocab(tmp_path, "twice.txt", ["a", "b", "a"])
    good = _vocab(tmp_path, "good.txt", ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"short.txt has 2 entries, fewer than the 3"):
        remap("v", old, VocabInfo(short, 3, 0, good), (3, 2))
    with pytest.raises(ValueError, match=r"twice.txt has the entry b'a' twice \(lines 1 and 3\)"):
        remap("v", old, VocabInfo(good, 3, 0, twice), (3, 2))
    with pytest.raises(ValueError, match=r"Cannot read the new vocabulary file .*missing"):
        remap("v", old, VocabInfo(str(tmp_path / "missing"), 3, 0, good), (3, 2))
    with pytest.raises(ValueError, match=r"Cannot warm-start v: it has 5 rows, more than "
                                         r"new_vocab_size \(3\) \+ num_oov_buckets \(1\) = 4"):
        remap("v", old, VocabInfo(good, 3, 1, good), (5, 2))
    with pytest.raises(ValueError, match=r"checkpoint tensor has shape \[3, 2\], which does "
                                         r"not fit the variable's \[3, 4\] along axis 1"):
        remap("v", old, VocabInfo(good, 3, 0, good), (3, 4))
    with pytest.raises(ValueError, match=r"only float variables are remapped"):
        remap("v", old.astype(np.int64), VocabInfo(good, 3, 0, good), (3, 2))


def test_crlf_lines_and_a_one_dimensional_bias(tmp_path):
    old_path = tmp_path / "old.txt"
    old_path.write_bytes(b"x\r\ny\r\nz")  # CRLF, no final newline
    new = _vocab(tmp_path, "new.txt", ["z", "x"])
    got = remap("bias", np.array([1.0, 2.0, 3.0], np.float32),
                VocabInfo(new, 2, 1, str(old_path)), (3,))
    np.testing.assert_array_equal(got, [3.0, 1.0, 0.0])
