"""``tf.python_io`` of TF 1.15: TFRecord writing and reading (:mod:`estcore.io.tf_record`,
:func:`estcore.data.readers.tf_record_iterator`). Re-exports only."""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.data.readers import tf_record_iterator
from estcore.io.tf_record import TFRecordCompressionType, TFRecordOptions, TFRecordWriter

__getattr__ = missing("tf.python_io")
