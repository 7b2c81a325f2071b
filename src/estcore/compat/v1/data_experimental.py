"""TF 1.15's ``tf.data.experimental`` transformations and CSV readers on estcore.data.

``CsvDataset`` is ``TextLineDataset(f).skip(header).map(decode_csv)`` per file (the bulk
CSV path of :mod:`estcore.data.csv_map`), the files one after another.
``make_csv_dataset`` follows TF 1.15's construction: file names globbed and sorted, the
column names read from the files' header, the column types inferred from the first
``num_rows_for_inference`` rows (int32, int64, float32, float64, string, in that order;
an empty field reads as 0 or ``''``),
files interleaved, shuffle and repeat, batches, then a map to ``(features, label)``.
``shuffle_and_repeat``, ``map_and_batch``, ``parallel_interleave`` (always deterministic:
``sloppy=True`` allows any order, and estcore gives the deterministic one),
``enumerate_dataset``, ``unbatch`` and ``prefetch_to_device`` return the functions
``Dataset.apply`` takes, composed from Dataset methods.

Owns: these compositions and the CSV header / type inference. Must not: read records
itself (the readers and DecodeCSV do) or touch the pipeline's nodes.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.data import AUTOTUNE, Dataset, TextLineDataset
from estcore.data.dataset import raise_not_found
from estcore.graph import dtypes as dt
from estcore.graph.ops.decode_ops import decode_csv
from estcore.io.gfile import glob

__all__ = ["CsvDataset", "make_csv_dataset", "shuffle_and_repeat", "map_and_batch",
           "parallel_interleave", "enumerate_dataset", "unbatch", "prefetch_to_device"]

_CSV_TYPES = (dt.float32, dt.float64, dt.int32, dt.int64, dt.string)


# ---------------------------------------------------------------- transformations
def shuffle_and_repeat(buffer_size: int, count: int | None = None,
                       seed: int | None = None) -> Callable[[Dataset], Dataset]:
    """TF's ``shuffle_and_repeat``: ``dataset.shuffle(buffer_size, seed).repeat(count)``
    (a new order each epoch); for ``dataset.apply``."""
    return lambda dataset: dataset.shuffle(buffer_size, seed).repeat(count)


def map_and_batch(map_func: Callable, batch_size: int, num_parallel_batches: int | None = None,
                  drop_remainder: bool = False,
                  num_parallel_calls: int | None = None) -> Callable[[Dataset], Dataset]:
    """TF's ``map_and_batch``: ``dataset.map(map_func).batch(batch_size, drop_remainder)``.

    Raises:
        ValueError: both ``num_parallel_batches`` and ``num_parallel_calls`` given (TF's
            message); they are otherwise accepted and unused.
    """
    if num_parallel_batches is not None and num_parallel_calls is not None:
        raise ValueError("`map_and_batch` allows only one of `num_parallel_batches` and "
                         "`num_parallel_calls` to be set.")
    return lambda dataset: dataset.map(map_func).batch(batch_size, drop_remainder)


def parallel_interleave(map_func: Callable, cycle_length: int, block_length: int = 1,
                        sloppy: bool | None = False, buffer_output_elements: int | None = None,
                        prefetch_input_elements: int | None = None
                        ) -> Callable[[Dataset], Dataset]:
    """TF's ``parallel_interleave``: ``dataset.interleave(map_func, cycle_length,
    block_length)`` in its deterministic order (also with ``sloppy=True``, where TF allows
    any order). The buffer arguments are accepted and unused."""
    return lambda dataset: dataset.interleave(map_func, cycle_length, block_length)


def enumerate_dataset(start: int = 0) -> Callable[[Dataset], Dataset]:
    """TF's ``enumerate_dataset``: ``dataset.enumerate(start)``."""
    return lambda dataset: dataset.enumerate(start)


def unbatch() -> Callable[[Dataset], Dataset]:
    """TF's ``tf.data.experimental.unbatch()``: ``dataset.unbatch()``."""
    return lambda dataset: dataset.unbatch()


def prefetch_to_device(device: str, buffer_size: int | None = None
                       ) -> Callable[[Dataset], Dataset]:
    """TF's ``prefetch_to_device``: estcore has one device, so ``dataset.prefetch``."""
    return lambda dataset: dataset.prefetch(AUTOTUNE if buffer_size is None else buffer_size)


# ---------------------------------------------------------------- CsvDataset
def _file_names(filenames: Any) -> list[str]:
    if isinstance(filenames, (str, bytes, np.str_, np.bytes_)):
        filenames = [filenames]
    elif isinstance(filenames, np.ndarray):
        filenames = filenames.reshape(-1).tolist()
    if not isinstance(filenames, (list, tuple)) or not filenames:
        raise invalid("filenames", "a file name or a non-empty list of file names", filenames,
                      TypeError)
    out = []
    for f in filenames:
        if isinstance(f, (bytes, np.bytes_)):
            f = f.decode("utf-8")
        if not isinstance(f, str):
            raise invalid("filenames", "strings", f, TypeError)
        out.append(f)
    return out


def _csv_defaults(record_defaults: Any) -> list:
    """TF's rule: a DType entry is a required column of that type (an empty default)."""
    out = []
    for x in record_defaults:
        if isinstance(x, dt.DType) or (isinstance(x, type) and issubclass(x, np.generic)):
            d = dt.as_dtype(x)
            if d not in _CSV_TYPES:
                raise invalid("record_defaults", "float32, float64, int32, int64 or string",
                              d.name, TypeError)
            out.append(np.zeros(0, dtype=object if d == dt.string else d.as_numpy_dtype))
        else:
            out.append(x)
    return out


def CsvDataset(filenames: Any, record_defaults: Any, compression_type: str | None = None,  # noqa: N802 - TF's class name
               buffer_size: int | None = None, header: bool = False, field_delim: str = ",",
               use_quote_delim: bool = True, na_value: str = "",
               select_cols: Any = None) -> Dataset:
    """TF's ``tf.data.experimental.CsvDataset``: one tuple of scalars per CSV record.

    Args:
        filenames: a file name or a list of them, read one after another.
        record_defaults: one entry per output column: a DType (float32, float64, int32,
            int64, string: a required column) or a default value (its type is the
            column's).
        compression_type: None, ``''``, ``'GZIP'`` or ``'ZLIB'``.
        buffer_size: bytes read at a time.
        header: skip the first line of each file.
        field_delim, use_quote_delim, na_value, select_cols: as ``tf.io.decode_csv``.

    Returns:
        A Dataset of tuples of scalar tensors, one per record default.
    """
    names = _file_names(filenames)
    defaults = _csv_defaults(record_defaults)

    def parse(line: Any) -> tuple:
        return tuple(decode_csv(line, defaults, field_delim=field_delim,
                                use_quote_delim=use_quote_delim, na_value=na_value,
                                select_cols=select_cols))

    out = None
    for name in names:
        lines = TextLineDataset(name, compression_type=compression_type,
                                buffer_size=buffer_size)
        if header:
            lines = lines.skip(1)
        part = lines.map(parse)
        out = part if out is None else out.concatenate(part)
    return out


# ---------------------------------------------------------------- make_csv_dataset
def _glob_files(file_pattern: Any) -> list[str]:
    patterns = file_pattern if isinstance(file_pattern, (list, tuple)) else [file_pattern]
    if not patterns:
        raise ValueError("File pattern is empty.")
    names: list[str] = []
    for p in patterns:
        names.extend(glob(p.decode() if isinstance(p, bytes) else p))
    if not names:
        raise_not_found(file_pattern)
    return sorted(names)


def _open_text(name: str, compression_type: str | None) -> io.TextIOBase:
    with open(name, "rb") as f:
        data = f.read()
    if compression_type == "GZIP":
        data = gzip.decompress(data)
    elif compression_type == "ZLIB":
        data = zlib.decompress(data)
    return io.StringIO(data.decode("utf-8"), newline="")


def _rows(name: str, delim: str, quote: bool, compression_type: str | None) -> Iterator[list]:
    reader = csv.reader(_open_text(name, compression_type), delimiter=delim,
                        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
    return iter(reader)


def _infer_names(files: list[str], delim: str, quote: bool, comp: str | None) -> list[str]:
    names = None
    for f in files:
        first = next(_rows(f, delim, quote, comp), None)
        if first is None:
            raise ValueError(f"make_csv_dataset: {f} has no header line")
        if names is None:
            names = first
        elif first != names:
            raise ValueError("Files have different column names in the header row.")
    return names


def _is_int(text: str, bits: int) -> bool:
    try:
        v = int(text)
    except ValueError:
        return False
    return -(1 << (bits - 1)) <= v < (1 << (bits - 1))


def _is_float(text: str, dtype: Any) -> bool:
    try:
        with np.errstate(over="ignore"):
            return bool(dtype(float(text)) < np.inf)
    except (ValueError, OverflowError):
        return False


_CHECKS = ((dt.int32, lambda s: _is_int(s, 32)), (dt.int64, lambda s: _is_int(s, 64)),
           (dt.float32, lambda s: _is_float(s, np.float32)),
           (dt.float64, lambda s: _is_float(s, np.float64)), (dt.string, lambda s: True))


def _infer_type(text: str, na_value: str, prev: Any) -> Any:
    """TF's rule: the first of int32, int64, float32, float64, string that parses the field
    and is not narrower than the column's type so far."""
    if text in ("", na_value):
        return prev
    order = [t for t, _ in _CHECKS]
    start = 0 if prev is None else order.index(prev)
    for t, ok in _CHECKS[start:]:
        if ok(text):
            return t
    return dt.string


def _infer_defaults(files: list[str], n_cols: int, delim: str, quote: bool, na_value: str,
                    header: bool, n_rows: int, select: list[int] | None,
                    comp: str | None) -> list:
    types: list[Any] = [None] * n_cols
    seen = 0
    for f in files:
        rows = _rows(f, delim, quote, comp)
        if header:
            next(rows, None)
        for row in rows:
            if seen >= n_rows:
                break
            if select is not None:
                row = [row[i] for i in select if i < len(row)]
            for i, text in enumerate(row[:n_cols]):
                types[i] = _infer_type(text, na_value, types[i])
            seen += 1
        if seen >= n_rows:
            break
    # TF: a column with no value is a string; an empty field reads as 0 or ''
    return [np.array([""], dtype=object) if t is None or t == dt.string
            else np.zeros(1, dtype=t.as_numpy_dtype) for t in types]


def _sorted_indices(select_columns: Any, column_names: list[str]) -> list[int]:
    out = []
    for c in select_columns:
        if isinstance(c, (int, np.integer)):
            if not 0 <= c < len(column_names):
                raise ValueError(f"Column index {c} specified in select_columns out of "
                                 "valid range.")
            out.append(int(c))
        elif c in column_names:
            out.append(column_names.index(c))
        else:
            raise ValueError(f"Value '{c}' specified in select_columns not a valid column "
                             f"index or name.")
    if len(set(out)) != len(out):
        raise ValueError("select_columns contains duplicate columns")
    return sorted(out)


def make_csv_dataset(file_pattern: Any, batch_size: int, column_names: Any = None,
                     column_defaults: Any = None, label_name: str | None = None,
                     select_columns: Any = None, field_delim: str = ",",
                     use_quote_delim: bool = True, na_value: str = "", header: bool = True,
                     num_epochs: int | None = None, shuffle: bool = True,
                     shuffle_buffer_size: int = 10000, shuffle_seed: int | None = None,
                     prefetch_buffer_size: int | None = None,
                     num_parallel_reads: int | None = None, sloppy: bool = False,
                     num_rows_for_inference: int = 100, compression_type: str | None = None,
                     ignore_errors: bool = False) -> Dataset:
    """TF 1.15's ``tf.data.experimental.make_csv_dataset``: batches of
    ``(OrderedDict of column name -> [batch] tensor, label [batch])`` (features only
    when ``label_name`` is None).

    Args: TF's. ``column_names`` None reads the header of every file (they must agree);
    ``column_defaults`` None infers each column's type from the first
    ``num_rows_for_inference`` rows (a column with no value is a string; an empty field
    reads as 0 or ``''``); ``num_epochs`` None repeats forever and drops a last partial
    batch;
    ``shuffle`` shuffles the files and the records (``shuffle_buffer_size``,
    ``shuffle_seed``); ``num_parallel_reads`` files are read in turn, one record each
    (None: 1; AUTOTUNE: the CPU count); ``sloppy`` is accepted (the order is always the
    deterministic one).

    Raises:
        ValueError: TF's argument errors (no header to name the columns, duplicate
            names, a label that is not a column, defaults and columns of different
            lengths); InvalidArgumentError: no file matches ``file_pattern``.
    """
    files = _glob_files(file_pattern)
    dataset = Dataset.from_tensor_slices(np.array(files, dtype=object))
    if shuffle:
        dataset = dataset.shuffle(len(files), shuffle_seed)
    if column_names is None:
        if not header:
            raise ValueError("Cannot infer column names without a header line.")
        column_names = _infer_names(files, field_delim, use_quote_delim, compression_type)
    column_names = list(column_names)
    if len(column_names) != len(set(column_names)):
        raise ValueError("Cannot have duplicate column names.")
    select = None if select_columns is None else _sorted_indices(select_columns, column_names)
    if column_defaults is not None:
        column_defaults = _csv_defaults(column_defaults)
    else:
        n = len(select) if select is not None else len(column_names)
        column_defaults = _infer_defaults(
            files, n, field_delim, use_quote_delim, na_value, header,
            num_rows_for_inference, select, compression_type)
    if select is not None and len(column_defaults) != len(select):
        raise ValueError("If specified, column_defaults and select_columns must have same "
                         "length.")
    if select is not None and len(column_names) > len(select):
        column_names = [column_names[i] for i in select]
    if len(column_defaults) != len(column_names):
        raise ValueError("If specified, column_names and column_defaults must have same "
                         "length.")
    if label_name is not None and label_name not in column_names:
        raise ValueError("`label_name` provided must be one of the columns.")

    def file_dataset(name: Any) -> Dataset:
        ds = CsvDataset(name, column_defaults, compression_type=compression_type, header=header,
                        field_delim=field_delim, use_quote_delim=use_quote_delim,
                        na_value=na_value, select_cols=select)
        return ds.ignore_errors() if ignore_errors else ds

    dataset = dataset.interleave(file_dataset, 1 if num_parallel_reads is None
                                 else num_parallel_reads, 1)
    if num_epochs != 1 and shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, shuffle_seed).repeat(num_epochs)
    elif num_epochs != 1:
        dataset = dataset.repeat(num_epochs)
    elif shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, shuffle_seed)
    dataset = dataset.batch(batch_size, drop_remainder=num_epochs is None)

    def to_features(*columns: Any) -> Any:
        features = collections.OrderedDict(zip(column_names, columns, strict=True))
        if label_name is None:
            return features
        label = features.pop(label_name)
        return features, label

    dataset = dataset.map(to_features)
    return dataset.prefetch(AUTOTUNE if prefetch_buffer_size is None else prefetch_buffer_size)
