"""``estcore.data``: TF's ``tf.data`` Dataset API (re-exports only).

Public names: :class:`Dataset`, :class:`TextLineDataset`,
:class:`FixedLengthRecordDataset`, :class:`TFRecordDataset`, :class:`Options`,
:class:`TensorSpec`, :class:`SparseTensorSpec`, :data:`AUTOTUNE`, :func:`map_mode` (how a map runs),
:class:`Iterator` (TF1's iterators: ``make_one_shot_iterator`` /
``make_initializable_iterator`` results, ``Iterator.from_structure``,
``Iterator.from_string_handle``).

This ``__init__`` only re-exports. Must not: hold code.
"""

from estcore.data.dataset import AUTOTUNE as AUTOTUNE
from estcore.data.dataset import Dataset as Dataset
from estcore.data.dataset import map_mode as map_mode
from estcore.data.files import FixedLengthRecordDataset as FixedLengthRecordDataset
from estcore.data.files import TextLineDataset as TextLineDataset
from estcore.data.files import TFRecordDataset as TFRecordDataset
from estcore.data.iterators import Iterator as Iterator
from estcore.data.node import INFINITE as INFINITE_CARDINALITY
from estcore.data.node import UNKNOWN as UNKNOWN_CARDINALITY
from estcore.data.options import Options as Options
from estcore.data.structure import SparseTensorSpec as SparseTensorSpec
from estcore.data.structure import TensorSpec as TensorSpec

__all__ = ["Dataset", "TextLineDataset", "FixedLengthRecordDataset", "TFRecordDataset",
           "AUTOTUNE", "map_mode", "Iterator", "Options", "TensorSpec", "SparseTensorSpec",
           "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY"]
