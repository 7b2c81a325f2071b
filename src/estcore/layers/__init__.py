"""``estcore.layers``: TF1 layers (``tf.compat.v1.layers``), functional and as classes.

Variables get TF1 names (``dense/kernel``, ``dense_1/bias``,
``conv2d/kernel``, ``batch_normalization/moving_mean``, ...); dense and conv
layers run on the graph core's fused C kernels; a layer takes its input's
floating dtype.

This ``__init__`` only re-exports (from ``base``, ``core``, ``convolutional``,
``convolutional_extra``, ``normalization``, ``pooling``). Must not: hold code; be imported
by estcore's own modules (they import the defining module).
"""

from estcore.layers.base import Layer
from estcore.layers.convolutional import Conv2D, conv2d
from estcore.layers.convolutional_extra import (
    AveragePooling1D,
    Conv1D,
    Conv2DTranspose,
    MaxPooling1D,
    SeparableConv2D,
    average_pooling1d,
    conv1d,
    conv2d_transpose,
    max_pooling1d,
    separable_conv2d,
)
from estcore.layers.core import Dense, Dropout, Flatten, dense, dropout, flatten
from estcore.layers.normalization import BatchNormalization, batch_normalization
from estcore.layers.pooling import (
    AveragePooling2D,
    MaxPooling2D,
    average_pooling2d,
    max_pooling2d,
)

__all__ = [
    "AveragePooling1D",
    "Conv1D",
    "Conv2DTranspose",
    "MaxPooling1D",
    "SeparableConv2D",
    "average_pooling1d",
    "conv1d",
    "conv2d_transpose",
    "max_pooling1d",
    "separable_conv2d",
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPooling2D",
    "average_pooling2d",
    "batch_normalization",
    "conv2d",
    "dense",
    "dropout",
    "flatten",
    "max_pooling2d",
]
