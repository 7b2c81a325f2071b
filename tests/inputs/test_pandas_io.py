"""pandas_input_fn: TF1's checks and messages, columns by name, labels as Series or
DataFrame, string columns, the C stream's guarantees (exactly once per epoch)."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest

from estcore.estimator.inputs import pandas_input_fn

pytestmark = pytest.mark.smoke


@pytest.fixture
def frame():
    return pd.DataFrame({"a": np.arange(5), "b": list("pqrst"),
                         "c": np.linspace(0, 1, 5, dtype=np.float32)})


def test_batches_by_column_name_with_a_series_label(frame):
    y = pd.Series(np.arange(5) * 10)
    batches = list(pandas_input_fn(frame, y, batch_size=2, shuffle=False)())
    assert [b[0]["a"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b[1].tolist() for b in batches] == [[0, 10], [20, 30], [40]]
    assert batches[0][0]["b"].tolist() == [b"p", b"q"]
    assert batches[0][0]["c"].dtype == np.float32


def test_dataframe_labels_are_a_dict_and_no_labels_give_features_only(frame):
    y = pd.DataFrame({"t1": np.arange(5), "t2": np.arange(5) * 2})
    feats, labels = next(iter(pandas_input_fn(frame, y, batch_size=5, shuffle=False)()))
    assert sorted(labels) == ["t1", "t2"] and labels["t2"].tolist() == [0, 2, 4, 6, 8]
    only = next(iter(pandas_input_fn(frame, batch_size=5, shuffle=False)()))
    assert sorted(only) == ["a", "b", "c"]


def test_shuffled_epochs_hold_every_row_once(frame):
    stream = pandas_input_fn(frame, pd.Series(np.arange(5)), batch_size=3, num_epochs=3,
                             shuffle=True, seed=1, num_threads=2)()
    order = [i for f, _ in stream for i in f["a"].tolist()]
    for e in range(3):
        assert sorted(order[e * 5:(e + 1) * 5]) == list(range(5))


def test_tf_checks_and_messages(frame):
    with pytest.raises(ValueError, match="shuffle must be provided and explicitly set"):
        pandas_input_fn(frame)
    with pytest.raises(ValueError, match="Index for x and y are mismatched"):
        pandas_input_fn(frame, pd.Series(np.arange(5), index=np.arange(1, 6)), shuffle=False)
    with pytest.raises(ValueError, match="Cannot use name a for target column"):
        pandas_input_fn(frame, pd.Series(np.arange(5)), shuffle=False, target_column="a")
    with pytest.raises(TypeError, match="target_column must be a string type"):
        pandas_input_fn(frame, shuffle=False, target_column=1)


def test_bad_inputs_name_the_argument_or_column(frame):
    with pytest.raises(TypeError, match="`x` must be a pandas DataFrame"):
        pandas_input_fn(frame.to_numpy(), shuffle=False)
    with pytest.raises(TypeError, match="`y` must be None, a pandas Series"):
        pandas_input_fn(frame, np.arange(5), shuffle=False)
    holes = frame.assign(b=["p", None, "r", "s", "t"])
    with pytest.raises(TypeError, match="column 'b' row 1"):
        pandas_input_fn(holes, shuffle=False)


def test_queue_capacity_none_follows_tf(frame):
    fn = pandas_input_fn(frame, batch_size=2, shuffle=True, queue_capacity=None, seed=0)
    assert sum(f["a"].shape[0] for f in fn()) == 5


def test_missing_pandas_is_a_clear_import_error(frame, monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"pip install 'estcore\[pandas\]'"):
        pandas_input_fn(frame, shuffle=False)
