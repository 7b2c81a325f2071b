"""``tf.initializers`` of TF 1.15: estcore's initializers (re-exports only)."""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.initializers import *

__getattr__ = missing("tf.initializers")
