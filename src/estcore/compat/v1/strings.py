"""``tf.strings`` of TF 1.15 where estcore has it (:mod:`estcore.graph.ops.string_ops`,
``to_number`` from :mod:`estcore.graph.ops.parsing_ops`, ``to_hash_bucket_fast`` (FarmHash
Fingerprint64, TF's bucket ids) from :mod:`estcore.graph.ops.sparse_ids`). Re-exports only."""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.graph.ops.parsing_ops import string_to_number as to_number
from estcore.graph.ops.sparse_ids import string_to_hash_bucket_fast as to_hash_bucket_fast
from estcore.graph.ops.string_ops import (
    as_string,
    join,
    length,
    lower,
    regex_full_match,
    regex_replace,
    split,
    strip,
    substr,
    upper,
)

__getattr__ = missing("tf.strings")
