"""Conv and pool window attributes are validated when the node is built (from the API
and from an export's attributes): a dilation, stride or window of 0 once ran and gave
NaN or a division by zero."""

from __future__ import annotations

import pytest

import estcore as ec
from estcore.graph.ops import make_op

pytestmark = pytest.mark.smoke


def _x():
    return ec.placeholder(ec.float32, [None, 8, 8, 3])


@pytest.mark.parametrize("kwargs, name", [
    ({"dilations": 0}, "dilations"), ({"dilations": -1}, "dilations"),
    ({"dilations": [1, 0, 2, 1]}, "dilations"), ({"strides": 0}, "strides"),
])
def test_conv2d_rejects_non_positive_window_attrs(kwargs, name):
    with ec.Graph().as_default():
        args = {"strides": 1, "padding": "SAME", **kwargs}
        with pytest.raises(ValueError, match=rf"`{name}` must be positive ints.*"
                                             rf"Received: {name}="):
            ec.nn.conv2d(_x(), ec.zeros([3, 3, 3, 4]), **args)


@pytest.mark.parametrize("op", ["avg_pool2d", "max_pool2d"])
@pytest.mark.parametrize("ksize, strides, name", [(0, 1, "ksize"), ([1, 0, 2, 1], 1, "ksize"),
                                                  (2, 0, "strides")])
def test_pools_reject_non_positive_window_attrs(op, ksize, strides, name):
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match=rf"`{name}` must be positive ints"):
            getattr(ec.nn, op)(_x(), ksize, strides, "SAME")


@pytest.mark.parametrize("attrs, match", [
    ({"strides": (1, 1), "padding": "SAME", "dilations": (0, 0)}, "`dilations` must be"),
    ({"strides": (1, 1), "padding": "SAME", "dilations": (1, True)}, "`dilations` must be"),
    ({"strides": (1, 1), "padding": "SAME", "dilations": (1,)}, "`dilations` must be"),
    ({"strides": "11", "padding": "SAME", "dilations": (1, 1)}, "`strides` must be"),
    ({"strides": (1, 1), "padding": "FULL", "dilations": (1, 1)}, "`padding` must be"),
])
def test_conv_node_attrs_as_read_from_an_export(attrs, match):
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match=match):
            make_op("Conv2D", [_x(), ec.zeros([3, 3, 3, 4])], attrs)


@pytest.mark.parametrize("attrs, match", [
    ({"ksize": (0, 0), "strides": (1, 1), "padding": "SAME", "dilations": (1, 1)},
     "`ksize` must be"),
    ({"ksize": (2, 2), "strides": (1, 1), "padding": "SAME", "dilations": (2, 2)},
     "pooling takes no dilation"),
])
def test_pool_node_attrs_as_read_from_an_export(attrs, match):
    with ec.Graph().as_default():
        with pytest.raises(ValueError, match=match):
            make_op("AvgPool", [_x()], attrs)
