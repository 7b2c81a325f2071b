"""``tf.initializers`` of TF 1.15: estcore's initializers (re-exports only)."""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.compat.v1.keras import Identity as identity
from estcore.compat.v1.keras import Orthogonal as orthogonal
from estcore.compat.v1.ops import tables_initializer
from estcore.graph.variables import global_variables_initializer as global_variables
from estcore.graph.variables import local_variables_initializer as local_variables
from estcore.graph.variables import variables_initializer as variables
from estcore.initializers import *

__getattr__ = missing("tf.initializers")
