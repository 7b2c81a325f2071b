"""``tf.math`` of TF 1.15: estcore's ``estcore.math`` (re-exports only)."""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.compat.v1.array_extra import cumsum, unsorted_segment_mean, unsorted_segment_sum
from estcore.compat.v1.array_more import confusion_matrix, cumprod
from estcore.compat.v1.math_more import (
    lbeta,
    polyval,
    searchsorted,
    truncatediv,
    truncatemod,
    xdivy,
)
from estcore.compat.v1.ops_extra import div_no_nan as divide_no_nan
from estcore.compat.v1.ops_extra import (
    log_sigmoid,
    reduce_logsumexp,
    reduce_std,
    reduce_variance,
)
from estcore.graph.ops.segment_ops import (
    bincount,
    segment_max,
    segment_mean,
    segment_min,
    segment_prod,
    segment_sum,
    unsorted_segment_max,
    unsorted_segment_min,
    unsorted_segment_prod,
)
from estcore.graph.ops.special_ops import (
    cosh,
    digamma,
    erf,
    erfc,
    expm1,
    lgamma,
    rint,
    sinh,
    tan,
)
from estcore.math import *
from estcore.nn import sigmoid, tanh

__getattr__ = missing("tf.math")
