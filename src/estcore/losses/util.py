"""Loss collections and the shape / weight helpers shared by losses and metrics.

The collection helpers follow TF1's ``tf.losses`` utilities (``add_loss``,
``get_losses``, ``get_regularization_losses``, ``get_regularization_loss``,
``get_total_loss``). The shape helpers, shared with :mod:`estcore.metrics`, implement
TF1's rank-squeezing rules (``remove_squeezable_dimensions``), weight broadcasting checks
(``weights_broadcast_ops``) on static shapes and ``div_no_nan``; they are public here but
not in the ``estcore.losses`` namespace. Must not import ``estcore.metrics`` (metrics
sits on losses).
"""

from __future__ import annotations

from typing import Any

from estcore.graph.dtypes import float16, float32
from estcore.graph.ir import GraphKeys, add_to_collection, get_collection
from estcore.graph.ops.array_ops import identity, ones_like, squeeze, zeros_like
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import add_n, cast, multiply, not_equal, where
from estcore.graph.shapes import fmt_shape

__all__ = [
    "add_loss",
    "get_losses",
    "get_regularization_losses",
    "get_regularization_loss",
    "get_total_loss",
    # shared with estcore.metrics (not re-exported by estcore.losses)
    "check_broadcastable",
    "check_compatible",
    "div_no_nan",
    "float_dtype",
    "format_shape",
    "remove_squeezable_dimensions",
]


# ----------------------------------------------------------------------------
# Collections
# ----------------------------------------------------------------------------

def add_loss(loss: Any, loss_collection: str | None = GraphKeys.LOSSES) -> None:
    """Add ``loss`` to ``loss_collection`` (nothing when the collection is None)."""
    if loss_collection:
        add_to_collection(loss_collection, loss)


def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list:
    """The losses in ``loss_collection`` whose names match ``scope`` (a regex prefix)."""
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list:
    """The tensors in ``REGULARIZATION_LOSSES`` (optionally filtered by ``scope``)."""
    return get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: str | None = None,
                            name: str = "total_regularization_loss"):
    """The sum of the regularization losses, or a float32 ``0.0`` when there are none."""
    losses = get_regularization_losses(scope)
    if losses:
        return add_n(losses, name=name)
    return constant(0.0, dtype=float32, name=name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: str | None = None):
    """The sum of the ``LOSSES`` collection (plus the regularization losses).

    Raises:
        ValueError: when there is no loss at all (TF1's ``add_n`` of an empty list).
    """
    losses = list(get_losses(scope=scope))
    if add_regularization_losses:
        losses += get_regularization_losses(scope=scope)
    if not losses:
        raise ValueError("get_total_loss(): no losses found in the LOSSES collection"
                         + (" or REGULARIZATION_LOSSES" if add_regularization_losses else "")
                         + f" (scope={scope!r}). Create a loss with estcore.losses.* first.")
    if len(losses) == 1:
        return identity(losses[0], name=name)
    dtypes = {t.dtype for t in losses}
    if len(dtypes) > 1:
        target = losses[0].dtype
        losses = [t if t.dtype == target else cast(t, target) for t in losses]
    return add_n(losses, name=name)


# ----------------------------------------------------------------------------
# Shape helpers (shared with estcore.metrics)
# ----------------------------------------------------------------------------

def _rank(t) -> int | None:
    return t.shape.rank


def _dims(t) -> list | None:
    shape = t.shape
    return None if shape.rank is None else list(shape.dims)


def format_shape(t) -> str:
    """``t``'s static shape for messages, as a Python tuple prints: ``(None, 3)``,
    ``(None,)``; or ``<unknown>``."""
    dims = _dims(t)
    return "<unknown>" if dims is None else fmt_shape(tuple(dims))


def remove_squeezable_dimensions(labels, predictions, expected_rank_diff: int = 0):
    """TF1 ``confusion_matrix.remove_squeezable_dimensions`` on static ranks.

    Squeezes the last dimension of ``predictions`` (when ``rank(predictions) -
    rank(labels) == expected_rank_diff + 1`` and it is 1) or of ``labels`` (when
    the difference is ``expected_rank_diff - 1``).
    """
    pr, lr = _rank(predictions), _rank(labels)
    if pr is None or lr is None:
        return labels, predictions
    diff = pr - lr
    if diff == expected_rank_diff + 1 and predictions.shape[-1] in (1, None):
        if predictions.shape[-1] == 1:
            predictions = squeeze(predictions, [-1])
    elif diff == expected_rank_diff - 1 and labels.shape[-1] == 1:
        labels = squeeze(labels, [-1])
    return labels, predictions


def check_compatible(a, b, a_name: str, b_name: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have compatible static shapes."""
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError(f"`{a_name}` and `{b_name}` must have compatible shapes. Received: "
                         f"{a_name}.shape={format_shape(a)}, {b_name}.shape={format_shape(b)}")


def check_broadcastable(weights, values, what: str = "values") -> None:
    """TF1 ``weights_broadcast_ops.assert_broadcastable`` on static shapes.

    ``weights`` must be a scalar, or have the rank of ``values`` with every
    dimension either 1 or equal to the matching dimension of ``values``.
    Unknown dimensions are accepted here (numpy broadcasting checks them when
    the graph runs).
    """
    wr, vr = _rank(weights), _rank(values)
    if wr is None or vr is None or wr == 0:
        return
    ok = wr == vr
    if ok:
        for wd, vd in zip(weights.shape.dims, values.shape.dims, strict=True):
            if wd is None or vd is None or wd == 1 or wd == vd:
                continue
            ok = False
            break
    if not ok:
        raise ValueError(
            f"`weights` can not be broadcast to {what}: weights must be a scalar or have "
            f"the rank of {what} with each dimension 1 or equal. Received: "
            f"{what}.shape={format_shape(values)}, weights.shape={format_shape(weights)}")


def div_no_nan(numerator, denominator, name: str | None = None):
    """``numerator / denominator``, 0 where ``denominator == 0`` (TF ``div_no_nan``)."""
    numerator = convert_to_tensor(numerator)
    denominator = convert_to_tensor(denominator, dtype=numerator.dtype)
    nonzero = not_equal(denominator, zeros_like(denominator))
    safe = where(nonzero, denominator, ones_like(denominator))
    # ``safe`` is never 0, so the quotient is finite and the mask zeroes it exactly.
    return multiply(numerator / safe, cast(nonzero, numerator.dtype), name=name)


def float_dtype(t, default=None):
    """The floating dtype to compute a loss in: the input's if floating, else float32."""
    dtype = t.dtype
    if dtype.is_floating:
        return float32 if dtype == float16 else dtype
    return default or float32
