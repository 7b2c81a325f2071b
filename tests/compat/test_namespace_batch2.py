"""The second batch of compat.v1 names sits where TF 1.15 has it (one object per name)."""

from __future__ import annotations

import pytest

import estcore.compat.v1 as tf
from estcore.compat.v1 import array_more, contrib_layers, data_experimental
from estcore.graph.ops import linalg_ops, segment_ops, special_ops

pytestmark = pytest.mark.smoke

SAME = {
    "tf.data.experimental.make_csv_dataset": data_experimental.make_csv_dataset,
    "tf.data.experimental.CsvDataset": data_experimental.CsvDataset,
    "tf.data.experimental.shuffle_and_repeat": data_experimental.shuffle_and_repeat,
    "tf.data.experimental.map_and_batch": data_experimental.map_and_batch,
    "tf.data.experimental.parallel_interleave": data_experimental.parallel_interleave,
    "tf.math.erf": special_ops.erf, "tf.erf": special_ops.erf, "tf.lgamma": special_ops.lgamma,
    "tf.math.lgamma": special_ops.lgamma, "tf.tan": special_ops.tan,
    "tf.math.expm1": special_ops.expm1, "tf.rint": special_ops.rint,
    "tf.segment_sum": segment_ops.segment_sum, "tf.math.segment_mean": segment_ops.segment_mean,
    "tf.math.unsorted_segment_max": segment_ops.unsorted_segment_max,
    "tf.unsorted_segment_min": segment_ops.unsorted_segment_min,
    "tf.math.bincount": segment_ops.bincount, "tf.bincount": segment_ops.bincount,
    "tf.setdiff1d": segment_ops.setdiff1d, "tf.dynamic_stitch": segment_ops.dynamic_stitch,
    "tf.dynamic_partition": array_more.dynamic_partition,
    "tf.sort": array_more.sort, "tf.argsort": array_more.argsort,
    "tf.cumprod": array_more.cumprod, "tf.math.cumprod": array_more.cumprod,
    "tf.scatter_nd": array_more.scatter_nd, "tf.sparse_to_dense": array_more.sparse_to_dense,
    "tf.sparse_tensor_dense_matmul": array_more.sparse_tensor_dense_matmul,
    "tf.sparse.matmul": array_more.sparse_tensor_dense_matmul,
    "tf.matrix_set_diag": array_more.matrix_set_diag,
    "tf.linalg.set_diag": array_more.matrix_set_diag,
    "tf.depth_to_space": array_more.depth_to_space,
    "tf.nn.space_to_depth": array_more.space_to_depth,
    "tf.confusion_matrix": array_more.confusion_matrix,
    "tf.math.confusion_matrix": array_more.confusion_matrix,
    "tf.linalg.inv": linalg_ops.matrix_inverse, "tf.matrix_inverse": linalg_ops.matrix_inverse,
    "tf.linalg.det": linalg_ops.matrix_determinant, "tf.linalg.solve": linalg_ops.matrix_solve,
    "tf.linalg.cholesky": linalg_ops.cholesky, "tf.cholesky": linalg_ops.cholesky,
    "tf.linalg.global_norm": tf.global_norm,
    "tf.contrib.layers.fully_connected": contrib_layers.fully_connected,
    "tf.contrib.layers.conv2d": contrib_layers.conv2d,
    "tf.contrib.layers.batch_norm": contrib_layers.batch_norm,
    "tf.contrib.layers.variance_scaling_initializer":
        contrib_layers.variance_scaling_initializer,
    "tf.train.WarmStartSettings": tf.estimator.WarmStartSettings,
}


@pytest.mark.parametrize("path", sorted(SAME))
def test_name_is_there(path):
    obj = tf
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    assert obj is SAME[path]


def test_warm_start_is_callable():
    assert callable(tf.train.warm_start)
