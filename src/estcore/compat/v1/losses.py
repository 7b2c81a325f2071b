"""``tf.losses`` of TF 1.15: estcore's ``estcore.losses`` (re-exports only).

``mean_squared_error`` computes in float32, as TF1 (:mod:`estcore.compat.v1.losses_tf1`).
A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1 import losses_tf1 as _tf1
from estcore.compat.v1._namespace import missing
from estcore.losses import *

mean_squared_error = _tf1.mean_squared_error   # after the * import, which has estcore's
mean_pairwise_squared_error = _tf1.mean_pairwise_squared_error

__getattr__ = missing("tf.losses")
