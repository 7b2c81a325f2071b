"""``tf.nn`` of TF 1.15: estcore's ``estcore.nn`` (re-exports only).

A TF1 name estcore does not have raises an AttributeError naming it (docs/compat.md).
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1 import rnn as _rnn
from estcore.compat.v1._namespace import missing
from estcore.compat.v1._namespace import namespace as _namespace
from estcore.compat.v1.array_more import depth_to_space, space_to_depth
from estcore.compat.v1.math_more import (
    log_poisson_loss,
    normalize_moments,
    sufficient_statistics,
    weighted_moments,
)
from estcore.compat.v1.ops_extra import atrous_conv2d, conv1d, crelu, log_sigmoid, xw_plus_b
from estcore.compat.v1.ops_extra import dropout as _dropout_tf1
from estcore.compat.v1.rnn import bidirectional_dynamic_rnn, dynamic_rnn, static_rnn
from estcore.nn import *

dropout = _dropout_tf1   # after the star import: TF1's dropout (a tensor keep_prob too)
rnn_cell = _namespace(
    "tf.nn.rnn_cell", "TF1's tf.nn.rnn_cell: the cells estcore has (compat/v1/rnn.py).",
    RNNCell=_rnn.RNNCell, BasicRNNCell=_rnn.BasicRNNCell, BasicLSTMCell=_rnn.BasicLSTMCell,
    LSTMCell=_rnn.LSTMCell, GRUCell=_rnn.GRUCell, MultiRNNCell=_rnn.MultiRNNCell,
    DropoutWrapper=_rnn.DropoutWrapper,
    LSTMStateTuple=_rnn.LSTMStateTuple)

__getattr__ = missing("tf.nn")
