"""``tf.feature_column`` of TF 1.15: estcore's ``estcore.feature_column`` (re-exports only).

A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.feature_column import *

__getattr__ = missing("tf.feature_column")
