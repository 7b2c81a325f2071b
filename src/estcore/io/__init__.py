"""``estcore.io``: TF's ``tf.io`` parsing names for serialized ``tf.train.Example``.

``FixedLenFeature`` / ``parse_example`` / ``parse_single_example`` build graph ops
(see :mod:`estcore.graph.ops.parsing_ops`); ``encode_example`` serializes an
Example without TensorFlow or protobuf (for serving clients and tests).

A façade: re-exports only. Must not: hold code; be imported by estcore's own modules
(they import :mod:`estcore.graph.example_proto` and
:mod:`estcore.graph.ops.parsing_ops`).
"""

from estcore.graph.example_proto import decode_example, encode_example
from estcore.graph.ops.parsing_ops import (
    FixedLenFeature,
    VarLenFeature,
    parse_example,
    parse_single_example,
)

__all__ = ["FixedLenFeature", "VarLenFeature", "parse_example", "parse_single_example",
           "encode_example", "decode_example"]
