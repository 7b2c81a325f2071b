"""``tf.errors`` of TF 1.15: estcore's error classes (re-exports only)."""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.errors import *

__getattr__ = missing("tf.errors")
