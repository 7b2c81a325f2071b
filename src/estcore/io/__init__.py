"""``estcore.io``: TF's ``tf.io`` parsing names for serialized ``tf.train.Example``, CSV
text and raw bytes, and TFRecord files.

``FixedLenFeature`` / ``parse_example`` / ``parse_single_example`` / ``decode_csv`` /
``decode_raw`` / ``read_file`` / ``write_file`` build graph ops (see
:mod:`estcore.graph.ops.parsing_ops` and :mod:`estcore.graph.ops.io_ops`);
``encode_example`` serializes an Example without TensorFlow or protobuf (for serving
clients and tests); ``TFRecordWriter`` / ``TFRecordOptions`` write TFRecord files
(:mod:`estcore.io.tf_record`) and ``tf_record_iterator`` reads them
(:mod:`estcore.data.readers`).

A façade: re-exports only. Must not: hold code; be imported by estcore's own modules
(they import :mod:`estcore.graph.example_proto` and
:mod:`estcore.graph.ops.parsing_ops`).
"""

from estcore.data.readers import tf_record_iterator
from estcore.graph.example_proto import decode_example, encode_example
from estcore.graph.ops.io_ops import read_file, write_file
from estcore.graph.ops.parsing_ops import (
    FixedLenFeature,
    VarLenFeature,
    decode_csv,
    decode_raw,
    parse_example,
    parse_single_example,
)
from estcore.io.tf_record import TFRecordCompressionType, TFRecordOptions, TFRecordWriter

__all__ = ["FixedLenFeature", "VarLenFeature", "parse_example", "parse_single_example",
           "encode_example", "decode_example", "decode_csv", "decode_raw", "TFRecordWriter",
           "TFRecordOptions", "TFRecordCompressionType", "tf_record_iterator", "read_file",
           "write_file"]
