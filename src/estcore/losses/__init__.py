"""``estcore.losses``: TF1 losses (``tf.compat.v1.losses``) with weights and reductions.

Every loss returns the reduced, weighted loss and adds it to the ``LOSSES``
collection (``loss_collection``); :func:`get_total_loss` sums that collection
and the regularization losses.

This ``__init__`` only re-exports (from ``losses_impl``, ``losses_extra`` and ``util``).
Must not: hold code; be imported by estcore's own modules (``estcore.metrics`` imports
:mod:`estcore.losses.util` directly).
"""

from estcore.losses.losses_extra import cosine_distance
from estcore.losses.losses_impl import (
    Reduction,
    absolute_difference,
    compute_weighted_loss,
    hinge_loss,
    huber_loss,
    log_loss,
    mean_squared_error,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)
from estcore.losses.util import (
    add_loss,
    get_losses,
    get_regularization_loss,
    get_regularization_losses,
    get_total_loss,
)

__all__ = [
    "Reduction",
    "absolute_difference",
    "add_loss",
    "compute_weighted_loss",
    "cosine_distance",
    "get_losses",
    "get_regularization_loss",
    "get_regularization_losses",
    "get_total_loss",
    "hinge_loss",
    "huber_loss",
    "log_loss",
    "mean_squared_error",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
