"""``pandas_input_fn``: a pandas DataFrame to a stream of batches on the C pipeline.

TF1's ``tf.estimator.inputs.pandas_input_fn`` with its checks and messages (shuffle must
be a bool; ``target_column`` a str not already a column of x; the index of x and y must
match: ``Index for x and y are mismatched.``). Features are x's columns by name; labels
are y (a Series: one array; a DataFrame: a dict by y's column names). The columns become
numpy arrays once, at call time, and the batches come from the same C stream as
:func:`~estcore.inputs.numpy_io.numpy_input_fn` (worker threads, pooled buffers, a
uniform permutation per epoch when shuffling -- not TF's queue with
``min_after_dequeue``; every row exactly once per epoch for any ``num_threads``).

Column dtypes: numbers and bools keep their numpy dtype; string columns (object of
``str``/``bytes``, or pandas' ``str`` dtype) become fixed-width UTF-8 ``bytes`` arrays
(fed to string tensors); a column holding anything else raises naming the column.

pandas is optional (``pip install estcore[pandas]``): it is imported when the function
is called, with a clear error when missing. Must not: copy rows in Python per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.inputs._packing import check_shuffle
from estcore.inputs.numpy_io import NumpyInputStream, numpy_input_fn

__all__ = ["pandas_input_fn"]


def _pandas() -> Any:
    try:
        import pandas  # local: optional third-party dependency
    except ImportError:
        raise ImportError("pandas_input_fn needs pandas, which is not installed: "
                          "pip install 'estcore[pandas]'") from None
    return pandas


def _column(pd: Any, series: Any, name: str) -> np.ndarray:
    """One column as a numpy array the C stream can copy."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        arr = series.to_numpy()
        if arr.dtype.hasobject:  # nullable integer/bool columns holding NA
            raise TypeError(f"pandas_input_fn: column {name!r} holds missing values in a "
                            f"nullable {series.dtype} column; fill them or cast to float first")
        return arr
    values = series.to_numpy(dtype=object)
    out = []
    for i, v in enumerate(values.tolist()):
        if isinstance(v, str):
            out.append(v.encode("utf-8"))
        elif isinstance(v, bytes):
            out.append(v)
        else:
            raise TypeError(f"pandas_input_fn: column {name!r} row {i} holds "
                            f"{type(v).__name__} {v!r}; only numeric, bool and string "
                            "columns are supported (fill missing strings first)")
    return np.array(out, dtype=bytes)


def _frame_columns(pd: Any, frame: Any, what: str) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for c in frame.columns:
        key = c if isinstance(c, str) else str(c)
        if key in cols:
            raise ValueError(f"pandas_input_fn: {what} has two columns named {key!r}")
        cols[key] = _column(pd, frame[c], key)
    return cols


def pandas_input_fn(x: Any, y: Any = None, batch_size: int = 128, num_epochs: int | None = 1,
                    shuffle: bool | None = None, queue_capacity: int | None = 1000,
                    num_threads: int = 1, target_column: str = "target",
                    seed: int | None = None) -> Callable[..., NumpyInputStream]:
    """Returns an input_fn that feeds a DataFrame's rows in batches (TF1's pandas_input_fn).

    Args:
        x: pandas DataFrame; each column is a feature (key: the column name).
        y: None, a Series (labels: one array) or a DataFrame (labels: a dict by column
            name); its index must equal x's.
        batch_size: rows per batch; only the last batch of a finite stream is short.
        num_epochs: passes over the data; None: endless.
        shuffle: must be True or False (True: a uniform permutation per epoch).
        queue_capacity: rows buffered ahead (None: ``len(x)``, 4x when shuffling, as TF).
        num_threads: C worker threads; the batches are the same for any value.
        target_column: the label's name when y is a Series; must not be a column of x.
        seed: shuffle seed (estcore extension; None: the Estimator's seed scope).

    Returns:
        ``input_fn()`` returning a stream of ``(features, labels)`` (or ``features``).

    Raises:
        ValueError / TypeError: TF's messages for its checks; ImportError without pandas.
    """
    pd = _pandas()
    shuffle = check_shuffle(shuffle)
    if not isinstance(target_column, str):
        raise TypeError("target_column must be a string type")
    if not isinstance(x, pd.DataFrame):
        raise invalid("x", "a pandas DataFrame", x, TypeError)
    if len(x) == 0:
        raise invalid("x", "a DataFrame with at least one row", x)
    features = _frame_columns(pd, x, "x")
    labels: Any = None
    if y is not None:
        if not isinstance(y, (pd.Series, pd.DataFrame)):
            raise invalid("y", "None, a pandas Series or a pandas DataFrame", y, TypeError)
        if target_column in x:
            raise ValueError(f"Cannot use name {target_column} for target column: DataFrame "
                             f"already has a column with that name: {x.columns}")
        if not np.array_equal(x.index, y.index):
            raise ValueError("Index for x and y are mismatched.\nIndex for x: "
                             f"{x.index}\nIndex for y: {y.index}\n")
        if isinstance(y, pd.DataFrame):
            labels = _frame_columns(pd, y, "y")
        else:
            labels = _column(pd, y, target_column)
    if queue_capacity is None:
        queue_capacity = 4 * len(x) if shuffle else len(x)
    return numpy_input_fn(features, labels, batch_size=batch_size, num_epochs=num_epochs,
                          shuffle=shuffle, queue_capacity=queue_capacity,
                          num_threads=num_threads, seed=seed)
