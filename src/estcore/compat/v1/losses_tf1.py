"""``tf.losses`` names whose TF1 dtype rule differs from estcore's.

estcore's losses keep float64 inputs in float64 (a documented choice of
:mod:`estcore.losses`); TF 1.x computed ``tf.losses.mean_squared_error`` in float32 whatever
the inputs, and TF1 programs add float32 terms to it. The TF1 namespace follows TF1.

Must not: compute a loss itself (it casts, then calls estcore's).
"""

from __future__ import annotations

from typing import Any

from estcore.graph.dtypes import float32
from estcore.graph.ir import GraphKeys
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.losses import Reduction
from estcore.losses import mean_squared_error as _mean_squared_error

__all__ = ["mean_squared_error"]


def _to_float32(x: Any, what: str) -> Any:
    if x is None:
        raise ValueError(f"mean_squared_error: `{what}` must be given. Received: None")
    t = convert_to_tensor(x)
    return t if t.dtype == float32 else cast(t, float32)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Any = None,
                       loss_collection: Any = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Any:
    """TF1's ``tf.losses.mean_squared_error``: computed in float32 (int64 / float64
    inputs are cast, as TF1 does). Shapes and weights as :func:`estcore.losses.mean_squared_error`.

    Returns:
        float32 weighted loss, a scalar unless ``reduction`` is ``NONE``.
    """
    return _mean_squared_error(_to_float32(labels, "labels"),
                               _to_float32(predictions, "predictions"), weights=weights,
                               scope=scope, loss_collection=loss_collection,
                               reduction=reduction)
