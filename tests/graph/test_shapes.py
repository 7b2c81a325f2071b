"""Static shape/dtype inference and its error messages; graph checks."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import fused
from estcore.graph.shapes import dimension_value


@pytest.mark.smoke
def test_matmul_inner_dimension_error_names_op_node_and_shapes():
    x = ec.placeholder(ec.float32, [None, 784])
    w = ec.Variable(np.zeros((100, 10), np.float32))
    with ec.name_scope("dense"):
        with pytest.raises(ValueError) as info:
            ec.matmul(x, w)
    assert str(info.value) == ("matmul 'dense/MatMul': inner dimensions must match: a has "
                               "shape (None, 784), b has shape (100, 10)")


def test_static_shapes_propagate():
    x = ec.placeholder(ec.float32, [None, 784])
    w = ec.zeros([784, 10])
    y = ec.matmul(x, w) + ec.zeros([10])
    assert y.shape.as_list() == [None, 10]
    assert y.get_shape()[1] == 10 and y.shape.rank == 2
    assert ec.reduce_sum(y, axis=1).shape.as_list() == [None]
    assert ec.reduce_mean(y, axis=1, keepdims=True).shape.as_list() == [None, 1]
    assert ec.reshape(y, [-1, 5, 2]).shape.as_list() == [None, 5, 2]
    assert ec.transpose(y).shape.as_list() == [10, None]
    assert ec.concat([y, y], axis=1).shape.as_list() == [None, 20]
    assert ec.stack([y, y]).shape.as_list() == [2, None, 10]
    assert ec.expand_dims(y, 0).shape.as_list() == [1, None, 10]
    assert y[:, 2:5].shape.as_list() == [None, 3]
    assert y[0].shape.as_list() == [10]
    assert y[..., None].shape.as_list() == [None, 10, 1]
    assert ec.argmax(y, 1).shape.as_list() == [None] and ec.argmax(y, 1).dtype is ec.int64
    assert ec.shape(y).dtype is ec.int32 and ec.shape(y).shape.as_list() == [2]
    assert (y > 0).dtype is ec.bool
    assert ec.one_hot(ec.placeholder(ec.int32, [None]), 4).shape.as_list() == [None, 4]
    assert ec.tile(ec.zeros([2, 3]), [2, 1]).shape.as_list() == [4, 3]
    assert ec.gather(ec.zeros([5, 3]), ec.constant([[1, 2]])).shape.as_list() == [1, 2, 3]
    conv = ec.nn.conv2d(ec.placeholder(ec.float32, [None, 28, 28, 1]), ec.zeros([5, 5, 1, 8]),
                        strides=2, padding="SAME")
    assert conv.shape.as_list() == [None, 14, 14, 8]
    pool = ec.nn.max_pool2d(conv, 2, 2, "VALID")
    assert pool.shape.as_list() == [None, 7, 7, 8]
    d = fused.dense(x, ec.zeros([784, 32]), ec.zeros([32]), "relu")
    assert d.shape.as_list() == [None, 32]


@pytest.mark.parametrize("build,pattern", [
    (lambda: ec.zeros([3, 4]) + ec.zeros([5]),
     r"Add 'Add': incompatible shapes for broadcasting: x has shape \(3, 4\), "
     r"y has shape \(5,\)"),
    (lambda: ec.reshape(ec.zeros([3, 4]), [5, -1]),
     r"Reshape 'Reshape': cannot reshape a tensor of shape \(3, 4\) \(12 elements\)"),
    (lambda: ec.concat([ec.zeros([3, 4]), ec.zeros([2, 5])], axis=0),
     r"ConcatV2 'concat': dimension 1 of the inputs must match"),
    (lambda: ec.reduce_sum(ec.zeros([3, 4]), axis=2),
     r"Sum 'Sum': `axis` must be in \[-2, 2\) for an input of rank 2. Received: axis=2"),
    (lambda: ec.squeeze(ec.zeros([3, 4]), [0]),
     r"Squeeze 'Squeeze': cannot squeeze axis 0: it has size 3"),
    (lambda: ec.nn.conv2d(ec.zeros([1, 8, 8, 3]), ec.zeros([3, 3, 4, 2]), 1, "SAME"),
     r"input channels must match the filters' in-channels: input has shape \(1, 8, 8, 3\)"),
    (lambda: ec.nn.sparse_softmax_cross_entropy_with_logits(
        labels=ec.zeros([4], ec.int32), logits=ec.zeros([3, 5])),
     r"same batch size: labels have shape \(4,\), logits have shape \(3, 5\)"),
    (lambda: ec.zeros([2])[5], r"index 5 is out of bounds for dimension 0"),
])
def test_shape_errors(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


def test_dtype_errors_and_conversions():
    x = ec.placeholder(ec.float32, [3])
    i = ec.placeholder(ec.int32, [3])
    with pytest.raises(TypeError, match=r"Add 'Add': inputs must have the same dtype: x is "
                                        r"float32, y is int32"):
        ec.add(x, i)
    with pytest.raises(TypeError, match="Expected int32, got 0.5"):
        i * 0.5
    assert (x * 2).dtype is ec.float32          # Python int adopts the tensor's dtype
    assert (2.5 + x).dtype is ec.float32
    assert (np.ones(3) + x).dtype is ec.float32  # numpy operand defers to the Tensor
    assert (i / 2).dtype is ec.float64           # truediv of ints, as TF
    assert ec.constant(1.5).dtype is ec.float32 and ec.constant(3).dtype is ec.int32
    assert ec.constant(np.float64(1.5)).dtype is ec.float64
    with pytest.raises(TypeError, match="Python `bool`"):
        bool(x)
    with pytest.raises(TypeError, match="len"):
        len(x)


def test_names_and_graph_structure():
    x = ec.placeholder(ec.float32, [None, 2], name="x")
    with ec.name_scope("layer"):
        y = ec.nn.relu(x)
        z = ec.nn.relu(y)
    assert x.name == "x:0" and y.name == "layer/Relu:0" and z.name == "layer/Relu_1:0"
    assert y.op.type == "Relu" and y.op.inputs == (x,) and y.op.name == "layer/Relu"
    assert y.graph is ec.get_default_graph()
    g = ec.get_default_graph()
    assert g.get_tensor_by_name("layer/Relu:0") is y
    assert g.get_operation_by_name("x") is x.op
    g.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        ec.constant(1.0)


def test_collections():
    ec.add_to_collection("my", 1)
    ec.add_to_collection("my", 2)
    assert ec.get_collection("my") == [1, 2]
    v = ec.get_variable("a/b", [1])
    assert ec.get_collection(ec.GraphKeys.GLOBAL_VARIABLES) == [v]
    assert ec.get_collection(ec.GraphKeys.TRAINABLE_VARIABLES, scope="a") == [v]
    assert ec.get_collection(ec.GraphKeys.TRAINABLE_VARIABLES, scope="zz") == []


def test_cross_graph_inputs_are_rejected():
    a = ec.constant(1.0)
    with ec.Graph().as_default():
        b = ec.constant(2.0)
    with pytest.raises(ValueError, match="different Graph"):
        ec.add(a, b)


def test_checker_rejects_malformed_graphs():
    from estcore import errors
    from estcore.graph.check import check_graph

    x = ec.placeholder(ec.float32, [2])
    y = x * 2.0
    z = ec.nn.relu(y)
    g = ec.get_default_graph()
    check_graph(g)
    # an edge to a node created later (a cycle after tampering)
    z.op.inputs, y.op.inputs = (y,), (z, y.op.inputs[1])
    with pytest.raises(ValueError, match=r"input 0 of Mul 'mul' comes from 'Relu'|"
                                         r"input 0 of Mul 'Mul' comes from 'Relu'"):
        check_graph(g)
    with ec.Session() as sess, pytest.raises(ValueError, match="malformed graph"):
        sess.run(z, {x: [1.0, 2.0]})
    y.op.inputs = (x, y.op.inputs[1])
    check_graph(g)
    z.op.type = "NoSuchOp"
    with pytest.raises(ValueError, match="unregistered op type"):
        check_graph(g)
    z.op.type = "Relu"
    z.op.outputs[0].dtype = ec.float64
    with pytest.raises(ValueError, match=r"output 0 of Relu 'Relu' is float64 \(2,\), its shape "
                                         r"rule gives float32 \(2,\)"):
        check_graph(g)
    z.op.outputs[0].dtype = ec.float32
    with ec.Graph().as_default():
        other = ec.constant([1.0, 1.0])
    z.op.inputs = (other,)
    with pytest.raises(ValueError, match="not a tensor of this graph"):
        check_graph(g)
    assert issubclass(errors.InvalidArgumentError, ValueError)


def test_liveness_reuses_buffers():
    x = ec.placeholder(ec.float32, [8, 8])
    h = x
    for _ in range(6):
        h = ec.exp(ec.negative(h))  # a chain: each intermediate dies right away
    with ec.Session(config={"use_c_kernels": False}) as sess:
        out = sess.run(h, {x: np.zeros((8, 8), np.float32)})
        plan = list(sess._families.values())[0].plans[((8, 8),)]
        inter = [plan.buffers[id(t)] for p in plan.pnodes for t in p.outputs]
        distinct = {b.__array_interface__["data"][0] for b in inter}
    assert len(inter) == 12 and len(distinct) <= 3
    ref = np.zeros((8, 8), np.float32)
    for _ in range(6):
        ref = np.exp(-ref)
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_get_shape_gives_tf1_dimensions_for_unknown_sizes():
    x = ec.placeholder(ec.float32, [None, 4])
    s = x.get_shape()
    assert s[0].value is None and s[-1].value == 4 and repr(s[0]) == "Dimension(None)"
    assert (s[0] * 2).value is None and (s[1] * 2).value == 8 and (s[0] + s[1]).value is None
    assert [d.value for d in s] == [None, 4] and s.as_list() == [None, 4]
    assert s == x.shape and s[1:].as_list() == [4] and s[1:][0].value == 4
    assert (s[0] == None) is None     # noqa: E711 - TF1: an unknown dimension compares unknown
    with pytest.raises(TypeError, match="unknown Dimension"):
        int(s[0])
    assert x.shape[0] is None          # .shape keeps None (TF 2's rule, estcore's own)
    assert ec.TensorShape([s[0], s[1]]).as_list() == [None, 4]
    assert dimension_value(s[0]) is None and dimension_value(s[1]) == 4
    v = ec.Variable(np.zeros((2, 3), np.float32))
    assert v.get_shape()[1].value == 3


# ---------------------------------------------------------------- shapes given by tensors
# Expected static shapes are TF 2.15's (tf.compat.v1, graph mode) for the same programs.
def _shape_tensor_cases():
    x = ec.placeholder(ec.float32, [None, 8, 4])
    s = ec.shape(x)
    n = ec.placeholder(ec.int32, [])
    z = ec.zeros([2, 3])
    return {
        "zeros_of_a_known_dim": (ec.zeros([s[1], 3]), [8, 3]),
        "zeros_of_a_shape_slice": (ec.zeros(s[1:]), [8, 4]),
        "zeros_of_a_concat": (ec.zeros(ec.concat([s[:1], [5]], 0)), [None, 5]),
        "zeros_of_an_int64_shape": (ec.zeros(ec.cast(s, ec.int64)), [None, 8, 4]),
        "zeros_of_a_strided_shape": (ec.zeros(s[::2]), [None, 4]),
        "zeros_of_arithmetic_on_known_dims": (ec.zeros([s[1] + 1, 3]), [9, 3]),
        "zeros_of_arithmetic_on_an_unknown_dim": (ec.zeros([s[0] + 1, 3]), [None, 3]),
        "zeros_of_arithmetic_on_constants": (ec.zeros([ec.constant(2) * 3, 4]), [6, 4]),
        "ones_of_a_fed_dim": (ec.ones([n, 3]), [None, 3]),
        "fill_of_a_shape": (ec.fill(s, 2.0), [None, 8, 4]),
        "reshape_flatten": (ec.reshape(x, [-1, s[1] * s[2]]), [None, 32]),
        "reshape_stacked": (ec.reshape(x, ec.stack([s[0], 32])), [None, 32]),
        "reshape_two_unknowns": (ec.reshape(x, [s[0], -1]), [None, None]),
        "reshape_partial_with_minus_one": (ec.reshape(x, [s[0], s[1], 2, -1]),
                                           [None, 8, 2, None]),
        "reshape_the_one_unknown_is_inferred": (ec.reshape(z, [n, 3]), [2, 3]),
        "reshape_fed_and_minus_one": (ec.reshape(z, [n, -1]), [None, None]),
        "tile_by_a_known_dim": (ec.tile(x, [1, s[1], 1]), [None, 64, 4]),
        "tile_by_a_fed_multiple": (ec.tile(x, [n, 1, 1]), [None, 8, 4]),
        "range_to_a_known_dim": (ec.range(s[1]), [8]),
        "range_with_a_step": (ec.range(1, s[1], 2), [4]),
        "random_normal_of_a_shape": (ec.random_normal(s), [None, 8, 4]),
        "random_uniform_of_a_shape_slice": (ec.random_uniform(s[1:]), [8, 4]),
        "truncated_normal_of_a_list": (ec.truncated_normal([n, 3]), [None, 3]),
        "random_normal_minus_one": (ec.random_normal([-1, 3]), [None, 3]),
        "noise_added": (x + ec.random_normal(s), [None, 8, 4]),
    }


@pytest.mark.parametrize("case", sorted(_shape_tensor_cases()))
def test_static_shapes_from_shape_tensors_match_tf(case):
    t, want = _shape_tensor_cases()[case]
    assert t.shape.as_list() == want


def test_dense_after_a_reshape_by_the_batch_size_knows_its_input_width():
    x = ec.placeholder(ec.float32, [None, 2, 2])
    y = ec.layers.dense(ec.reshape(x, [ec.shape(x)[0], 4]), 3)
    assert y.shape.as_list() == [None, 3]


def test_shape_tensor_errors_found_while_building():
    n = ec.placeholder(ec.int32, [])
    z = ec.zeros([2, 3])
    with pytest.raises(ValueError, match=r"Reshape 'Reshape': cannot reshape a tensor of "
                                         r"shape \(2, 3\) \(6 elements\) to shape \(None, 7\): "
                                         r"6 is not a multiple of 7"):
        ec.reshape(z, [n, 7])
    with pytest.raises(ValueError, match=r"to shape \(None, 0\)"):
        ec.reshape(z, [n, 0])
    with pytest.raises(ValueError, match=r"Fill 'zeros_1': `dims` must be non-negative. "
                                         r"Received: dims=\[None, -2\]"):
        ec.zeros([n, -2])
    with pytest.raises(TypeError, match="`shape` must be a 1-D int32 or int64 tensor. "
                                        "Received: a float32 tensor of shape"):
        ec.reshape(z, ec.constant([2.0, 3.0]))
    with pytest.raises(TypeError, match="`shape` entries must be ints or scalar int32/int64 "
                                        "tensors"):
        ec.random_normal([n, ec.constant([1, 2])])
    with pytest.raises(ValueError, match=r"`dims` can only be a fully known TensorShape .* "
                                         r"Received: dims=\(None, 3\)"):
        ec.zeros(ec.placeholder(ec.float32, [None, 3]).shape)
    with pytest.raises(TypeError, match=r"`dims` must be integers, an int tensor, or a list "
                                        r"of ints and scalar int tensors. Received: "
                                        r"dims=\[2.5, 3\]"):
        ec.zeros([2.5, 3])


def test_constant_value_as_shape_evaluates_what_the_graph_determines():
    from estcore.graph.ops.shape_tensors import (
        constant_value_as_shape,
        static_elements,
        static_value,
    )
    x = ec.placeholder(ec.float32, [None, 8, 4])
    s = ec.shape(x)
    assert constant_value_as_shape(s).as_list() == [None, 8, 4]
    assert constant_value_as_shape(ec.stack([s[0], 3])).as_list() == [None, 3]
    assert constant_value_as_shape(ec.concat([s[1:], [-1]], 0)).as_list() == [8, 4, None]
    assert constant_value_as_shape(ec.constant(-1)).rank is None
    with pytest.raises(ValueError, match="known to be -1"):
        constant_value_as_shape(ec.constant(3))
    assert static_elements(s) == [None, 8, 4]
    assert static_elements(ec.unstack(s)[2]) == [4]
    assert int(static_value(s[1] * s[2])) == 32
    assert static_value(s[0]) is None
    assert static_value(ec.placeholder_with_default(3, [])) is None   # fed by design
    y = ec.placeholder(ec.float32, None)
    k = ec.shape(y)
    assert static_value(k) is None
    y.set_shape([2, 5])                  # a shape known later is seen
    np.testing.assert_array_equal(static_value(k), [2, 5])


def test_placeholder_with_default_of_unknown_dims_runs_its_default():
    a = ec.placeholder(ec.float32, [None, 3])
    x = ec.placeholder_with_default(a, [None, 3])
    c = ec.placeholder_with_default(ec.ones([2, 3]), [None, 3])
    assert x.shape.as_list() == [None, 3] and c.shape.as_list() == [None, 3]   # as TF
    with ec.Session() as sess:
        assert sess.run(ec.reduce_sum(x), {a: np.ones((2, 3))}) == 6.0
        assert sess.run(ec.reduce_sum(c)) == 6.0
        assert sess.run(ec.reduce_sum(c), {c: np.ones((4, 3))}) == 12.0   # fed instead
    with pytest.raises(ValueError, match=r"PlaceholderWithDefault 'PlaceholderWithDefault_2': "
                                         r"`input` \(the default value\) must have a shape "
                                         r"compatible with `shape` \(None, 4\). Received: "
                                         r"input of shape \(2, 3\)"):
        ec.placeholder_with_default(ec.ones([2, 3]), [None, 4])


def test_int_arguments_given_as_tensors_the_graph_determines():
    x = ec.placeholder(ec.float32, [None, 7, 5])
    s = ec.shape(x)
    assert ec.one_hot(ec.zeros([2], ec.int32), s[1]).shape.as_list() == [2, 7]
    assert ec.expand_dims(x, ec.constant(1)).shape.as_list() == [None, 1, 7, 5]
    assert ec.reduce_sum(x, axis=ec.rank(x) - 1).shape.as_list() == [None, 7]
    with pytest.raises(ValueError, match="`depth` must be an int known when the graph is "
                                         "built"):
        ec.one_hot(ec.zeros([2], ec.int32), s[0])
    with pytest.raises(TypeError, match="`axis` must be an int, or a scalar tensor known"):
        ec.expand_dims(x, ec.placeholder(ec.int32, []))


def test_static_value_visits_each_producer_once_per_evaluation(monkeypatch):
    """A chain of stacks of slices reaches the same producers many times: one evaluation
    must walk each once (it used to be 2**n walks: n = 17 took seconds)."""
    from estcore.graph.ops import shape_tensors as st

    calls = []
    real = st._vector_of
    monkeypatch.setattr(st, "_vector_of", lambda t, d: calls.append(t) or real(t, d))
    with ec.Graph().as_default():
        p = ec.placeholder(ec.float32, [None, 3])
        s = ec.shape(p)
        for _ in range(40):
            s = ec.stack([s[0], s[1]])
        calls.clear()
        assert st.static_elements(s) == [None, 3]
        assert len(calls) == len({id(t) for t in calls}) <= 3 * 40 + 5
        h = ec.placeholder(ec.float32, [None, 3, 4])
        s = ec.shape(h)
        for _ in range(32):
            s = ec.concat([s[:-1], [4]], 0)
            h = ec.reshape(h, s)
        assert h.shape.as_list() == [None, 3, 4]  # TF 2.15: (?, 3, 4)
