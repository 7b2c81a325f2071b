"""``tf.data`` of TF 1.15 (and the TF 2 names Estimator code uses): estcore's
:mod:`estcore.data` (re-exports and TF1's module-level iterator helpers only).

``tf.data.make_one_shot_iterator(ds)`` / ``make_initializable_iterator(ds)`` and
``get_output_types/shapes/classes`` are TF1's ``tf.compat.v1.data`` functions;
``tf.data.experimental`` holds AUTOTUNE, the cardinality constants and the
transformations and CSV readers of :mod:`estcore.compat.v1.data_experimental`.
"""

# ruff: noqa: F401 - this module re-exports names

from typing import Any

from estcore.compat.v1 import data_experimental as _exp
from estcore.compat.v1._namespace import missing, namespace
from estcore.data import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    FixedLengthRecordDataset,
    Iterator,
    Options,
    TensorSpec,
    TextLineDataset,
    TFRecordDataset,
)


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    """TF1's ``tf.data.make_one_shot_iterator(dataset)``."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset: Dataset, shared_name: Any = None) -> Iterator:
    """TF1's ``tf.data.make_initializable_iterator(dataset)``."""
    return dataset.make_initializable_iterator(shared_name)


def get_output_types(dataset_or_iterator: Any) -> Any:
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator: Any) -> Any:
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator: Any) -> Any:
    return dataset_or_iterator.output_classes


def _ignore_errors(log_warning: bool = False) -> Any:
    """TF's ``tf.data.experimental.ignore_errors()``: for ``dataset.apply``."""
    return lambda dataset: dataset.ignore_errors(log_warning)


experimental = namespace(
    "tf.data.experimental", "TF's tf.data.experimental: AUTOTUNE, cardinality constants, "
    "CSV readers and the transformations estcore has.",
    AUTOTUNE=AUTOTUNE, INFINITE_CARDINALITY=INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY,
    cardinality=lambda dataset: dataset.cardinality(), ignore_errors=_ignore_errors,
    CsvDataset=_exp.CsvDataset, make_csv_dataset=_exp.make_csv_dataset,
    shuffle_and_repeat=_exp.shuffle_and_repeat, map_and_batch=_exp.map_and_batch,
    parallel_interleave=_exp.parallel_interleave, enumerate_dataset=_exp.enumerate_dataset,
    unbatch=_exp.unbatch, prefetch_to_device=_exp.prefetch_to_device)

__getattr__ = missing("tf.data")
