"""``tf.image`` of TF 1.15: estcore's ``estcore.image`` (re-exports only).

A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.compat.v1.image_color import *
from estcore.compat.v1.image_tf1 import *
from estcore.image import *

__getattr__ = missing("tf.image")
