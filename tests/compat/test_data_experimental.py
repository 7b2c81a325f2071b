"""tf.data.experimental of compat.v1: CsvDataset, make_csv_dataset (TF 1.15's header and
type inference, shuffle / repeat / batch), and the apply-transformations."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.errors import InvalidArgumentError

exp = tf.data.experimental


@pytest.fixture
def csv_files(tmp_path):
    (tmp_path / "a.csv").write_text('a,b,name,y\n1,2.5,x,0\n3,,"q,r",1\n5,7.5,z,1\n')
    (tmp_path / "b.csv").write_text("a,b,name,y\n7,1e10,w,0\n9,2,v,1\n")
    return tmp_path


def _all(ds):
    return list(ds.as_numpy_iterator())


def test_autotune_and_names_exist():
    assert exp.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    for name in ("CsvDataset", "make_csv_dataset", "shuffle_and_repeat", "map_and_batch",
                 "parallel_interleave", "enumerate_dataset", "unbatch", "prefetch_to_device"):
        assert callable(getattr(exp, name))
    with pytest.raises(AttributeError, match="tf.data.experimental.group_by_window"):
        exp.group_by_window  # noqa: B018


def test_csv_dataset_dtypes_defaults_header_and_files(csv_files):
    files = [str(csv_files / "a.csv"), str(csv_files / "b.csv")]
    ds = exp.CsvDataset(files, [tf.int32, 0.0, "d", tf.int64], header=True)
    assert ds.output_types == (tf.int32, tf.float32, tf.string, tf.int64)
    rows = _all(ds)
    assert [r[0] for r in rows] == [1, 3, 5, 7, 9]
    assert [r[1] for r in rows] == [2.5, 0.0, 7.5, np.float32(1e10), 2.0]  # empty: default
    assert [r[2] for r in rows] == [b"x", b"q,r", b"z", b"w", b"v"]
    assert [r[3] for r in rows] == [0, 1, 1, 0, 1]


def test_csv_dataset_required_column_select_cols_and_gzip(tmp_path, csv_files):
    ds = exp.CsvDataset(str(csv_files / "a.csv"), [tf.int32, tf.float32], header=True,
                        select_cols=[0, 1])
    with pytest.raises(InvalidArgumentError, match="Field 1 is required but missing"):
        _all(ds)
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(b"1,a,2\n3,b,4\n"))
    ds = exp.CsvDataset(str(gz), [tf.int64, tf.int64], select_cols=[0, 2],
                        compression_type="GZIP")
    assert [tuple(int(v) for v in r) for r in _all(ds)] == [(1, 2), (3, 4)]
    with pytest.raises(TypeError, match="record_defaults"):
        exp.CsvDataset(str(gz), [tf.bool])
    with pytest.raises(TypeError, match="filenames"):
        exp.CsvDataset([], [tf.int32])


def test_make_csv_dataset_infers_names_and_types(csv_files):
    ds = exp.make_csv_dataset(str(csv_files / "*.csv"), 2, label_name="y", num_epochs=1,
                              shuffle=False)
    feats, label = ds.output_types
    assert list(feats) == ["a", "b", "name"]
    assert (feats["a"], feats["b"], feats["name"], label) == (
        tf.int32, tf.float32, tf.string, tf.int32)
    batches = _all(ds)
    assert [len(lab) for _, lab in batches] == [2, 2, 1]   # num_epochs=1 keeps the last one
    assert np.concatenate([f["a"] for f, _ in batches]).tolist() == [1, 3, 5, 7, 9]
    assert np.concatenate([f["b"] for f, _ in batches]).tolist() == [
        2.5, 0.0, 7.5, np.float32(1e10), 2.0]   # empty field: 0
    assert np.concatenate([lab for _, lab in batches]).tolist() == [0, 1, 1, 0, 1]


def test_make_csv_dataset_type_widening(tmp_path):
    (tmp_path / "t.csv").write_text(
        "i,big,f,d,s,empty\n1,1,1,1,1,\n2,3000000000,2.5,1e300,x,\n")
    ds = exp.make_csv_dataset(str(tmp_path / "t.csv"), 1, num_epochs=1, shuffle=False)
    types = ds.output_types
    assert [types[k] for k in ("i", "big", "f", "d", "s", "empty")] == [
        tf.int32, tf.int64, tf.float32, tf.float64, tf.string, tf.string]
    first = _all(ds)[0]
    assert first["s"].tolist() == [b"1"] and first["empty"].tolist() == [b""]


def test_make_csv_dataset_repeat_shuffle_select(csv_files):
    pattern = str(csv_files / "*.csv")
    ds = exp.make_csv_dataset(pattern, 2, label_name="y", select_columns=["y", "a"],
                              shuffle=True, shuffle_seed=3)
    feats, _ = ds.output_shapes
    assert list(feats) == ["a"] and feats["a"].as_list() == [2]   # repeats: full batches
    it = tf.data.make_one_shot_iterator(ds).get_next()
    with tf.Session() as sess:
        got = [sess.run(it) for _ in range(5)]   # two epochs of 5 rows
    a = np.concatenate([f["a"] for f, _ in got]).tolist()
    assert sorted(a) == sorted([1, 3, 5, 7, 9] * 2)
    assert a[:5] != [1, 3, 5, 7, 9] or a[5:] != [1, 3, 5, 7, 9]
    again = exp.make_csv_dataset(pattern, 2, label_name="y", select_columns=["y", "a"],
                                 shuffle=True, shuffle_seed=3).take(5)
    assert [f["a"].tolist() for f, _ in _all(again)] == [f["a"].tolist() for f, _ in got]
    label_of = {1: 0, 3: 1, 5: 1, 7: 0, 9: 1}
    for f, lab in got:
        assert [label_of[v] for v in f["a"].tolist()] == lab.tolist()


def test_make_csv_dataset_errors(tmp_path, csv_files):
    pattern = str(csv_files / "*.csv")
    with pytest.raises(ValueError, match="without a header"):
        exp.make_csv_dataset(pattern, 2, header=False)
    with pytest.raises(ValueError, match="must be one of the columns"):
        exp.make_csv_dataset(pattern, 2, label_name="nope")
    with pytest.raises(ValueError, match="duplicate column names"):
        exp.make_csv_dataset(pattern, 2, column_names=["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="column_defaults and select_columns"):
        exp.make_csv_dataset(pattern, 2, select_columns=["a"], column_defaults=[0, 0])
    with pytest.raises(ValueError, match="not a valid column"):
        exp.make_csv_dataset(pattern, 2, select_columns=["zz"])
    with pytest.raises(InvalidArgumentError, match="No files matched"):
        exp.make_csv_dataset(str(tmp_path / "none*.csv"), 2)
    (tmp_path / "other.csv").write_text("p,q\n1,2\n")
    with pytest.raises(ValueError, match="different column names"):
        exp.make_csv_dataset(str(tmp_path / "*.csv"), 2)


def test_make_csv_dataset_given_names_and_defaults(tmp_path):
    (tmp_path / "n.csv").write_text("1,x\n,y\n")
    ds = exp.make_csv_dataset(str(tmp_path / "n.csv"), 2, column_names=["k", "v"],
                              column_defaults=[-1, "?"], header=False, num_epochs=1,
                              shuffle=False)
    (batch,) = _all(ds)
    assert batch["k"].tolist() == [1, -1] and batch["v"].tolist() == [b"x", b"y"]


def test_apply_transformations():
    ds = tf.data.Dataset.range(4).apply(exp.parallel_interleave(
        lambda x: tf.data.Dataset.from_tensor_slices(np.array([x, x + 10])), cycle_length=2,
        sloppy=True))
    assert [int(v) for v in _all(ds)] == [0, 1, 10, 11, 2, 3, 12, 13]
    ds = tf.data.Dataset.range(5).apply(exp.map_and_batch(lambda x: x * 2, 2,
                                                          drop_remainder=True))
    assert [b.tolist() for b in _all(ds)] == [[0, 2], [4, 6]]
    with pytest.raises(ValueError, match="num_parallel_batches"):
        exp.map_and_batch(lambda x: x, 2, num_parallel_batches=1, num_parallel_calls=1)
    ds = tf.data.Dataset.range(3).apply(exp.shuffle_and_repeat(3, count=2, seed=1))
    got = [int(v) for v in _all(ds)]
    assert sorted(got[:3]) == [0, 1, 2] and sorted(got[3:]) == [0, 1, 2]
    ds = tf.data.Dataset.range(2).apply(exp.enumerate_dataset(start=5))
    assert [(int(i), int(v)) for i, v in _all(ds)] == [(5, 0), (6, 1)]
    ds = tf.data.Dataset.from_tensor_slices(np.arange(4).reshape(2, 2)).apply(exp.unbatch())
    assert [int(v) for v in _all(ds.apply(exp.prefetch_to_device("/gpu:0")))] == [0, 1, 2, 3]
