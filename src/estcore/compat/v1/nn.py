"""``tf.nn`` of TF 1.15: estcore's ``estcore.nn`` (re-exports only).

A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.compat.v1.ops_extra import conv1d, crelu, log_sigmoid, xw_plus_b
from estcore.nn import *

__getattr__ = missing("tf.nn")
