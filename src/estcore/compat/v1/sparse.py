"""``tf.sparse`` of TF 1.15 (the names feature-column programs use): estcore's row-padded
SparseTensor ops (re-exports only).

``tf.sparse.map_values`` (TF 2's) is here too: in estcore's graph a SparseTensor's
``values`` is not a tensor (its size depends on the data), so transform values with it.
A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.compat.v1.array_more import sparse_tensor_dense_matmul as matmul
from estcore.graph.ops.sparse_ids import sparse_cross_hashed as cross_hashed
from estcore.graph.ops.sparse_ids import to_indicator
from estcore.graph.ops.sparse_ops import from_dense, map_values, to_dense
from estcore.graph.ops.sparse_ops import sparse_placeholder as placeholder
from estcore.graph.ops.sparse_ops import sparse_reduce_sum as reduce_sum
from estcore.graph.sparse_tensor import SparseTensor, SparseTensorValue

__all__ = ["SparseTensor", "SparseTensorValue", "to_dense", "from_dense", "map_values",
           "placeholder", "reduce_sum", "cross_hashed", "to_indicator", "matmul"]

__getattr__ = missing("tf.sparse")
