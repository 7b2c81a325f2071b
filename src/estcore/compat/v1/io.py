"""``tf.io`` of TF 1.15 where estcore has it: the ``tf.train.Example`` parsing names,
``decode_csv`` / ``decode_raw``, ``read_file`` / ``write_file``, TFRecord writing and
reading (``TFRecordWriter``, ``TFRecordOptions``, ``tf_record_iterator``) and
``tf.io.gfile`` (snake_case file API, :mod:`estcore.io.gfile`), ``encode_base64`` /
``decode_base64``, ``matching_files``. Re-exports only."""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing, namespace
from estcore.data.readers import tf_record_iterator
from estcore.graph.ops.base64_ops import decode_base64, encode_base64
from estcore.graph.ops.file_match_ops import matching_files
from estcore.graph.ops.io_ops import read_file, write_file
from estcore.graph.ops.parsing_ops import (
    FixedLenFeature,
    VarLenFeature,
    decode_csv,
    decode_raw,
    parse_example,
    parse_single_example,
)
from estcore.image import decode_image, decode_jpeg, decode_png
from estcore.io import gfile as _gfile
from estcore.io.tf_record import TFRecordCompressionType, TFRecordOptions, TFRecordWriter

gfile = namespace("tf.io.gfile", _gfile.__doc__ or "",
                  **{n: getattr(_gfile, n) for n in ("GFile", "exists", "makedirs", "mkdir",
                                                     "glob", "listdir", "remove", "rename",
                                                     "copy", "rmtree", "isdir", "stat",
                                                     "walk")})

__getattr__ = missing("tf.io")
