"""Every differentiable op's gradient rule against central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import contraction_ops as cx
from estcore.graph.ops import control_flow_ops as cf
from estcore.graph.ops import conv_extra_ops as ce
from estcore.graph.ops import debug_ops as dbg
from estcore.graph.ops import fused, state_ops  # noqa: F401
from estcore.graph.ops import image_ops as img
from estcore.graph.ops import linalg_ops as linalg
from estcore.graph.ops import segment_ops as seg
from estcore.graph.ops import sparse_ops as sp_ops
from estcore.graph.ops import special_ops as special
from estcore.graph.ops import tensor_array as ta
from estcore.graph.ops import while_ops as wl
from estcore.graph.ops.core import make
from estcore.graph.registry import all_rows
from estcore.graph.sparse_tensor import SparseTensor

f64 = ec.float64
RNG = np.random.default_rng(0)


def _u(shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape)


def _away(shape, lo=0.2, hi=2.0):
    """Values bounded away from zero, random sign."""
    return RNG.uniform(lo, hi, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def _distinct(shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n).reshape(shape) * 0.37 - n * 0.15).astype(np.float64)


def _default(v):
    """A scalar int that the plan compiler folds but graph building does not see."""
    return ec.placeholder_with_default(np.int32(v), [])


def _run_int(x, v):
    """A scalar int computed from ``x`` (so known only when the graph runs), equal to ``v``."""
    return ec.cast(ec.reduce_sum(x) * 0.0, ec.int32) + v


# op type -> (builder(*placeholders) -> tensor or list, list of input value makers)
CASES = {
    "Neg": (lambda x: -x, [lambda: _u((3, 4))]),
    "Abs": (lambda x: abs(x), [lambda: _away((3, 4))]),
    "Square": (ec.square, [lambda: _u((3, 4))]),
    "Sqrt": (ec.sqrt, [lambda: _u((3, 4), 0.5, 2)]),
    "Rsqrt": (ec.rsqrt, [lambda: _u((3, 4), 0.5, 2)]),
    "Exp": (ec.exp, [lambda: _u((3, 4))]),
    "Log": (ec.log, [lambda: _u((3, 4), 0.5, 2)]),
    "Log1p": (ec.log1p, [lambda: _u((3, 4), -0.5, 2)]),
    "Sign": (ec.sign, [lambda: _away((3, 4))]),
    "Reciprocal": (ec.reciprocal, [lambda: _away((3, 4))]),
    "Floor": (ec.floor, [lambda: _u((3, 4)) + 0.5 - (_u((3, 4)) > 5)]),
    "Ceil": (ec.ceil, [lambda: np.floor(_u((3, 4)) * 3) + 0.5]),
    "Round": (ec.round, [lambda: np.floor(_u((3, 4)) * 3) + 0.25]),
    "Sin": (ec.sin, [lambda: _u((3, 4))]),
    "Cos": (ec.cos, [lambda: _u((3, 4))]),
    "Add": (lambda x, y: x + y, [lambda: _u((3, 4)), lambda: _u((4,))]),
    "Sub": (lambda x, y: x - y, [lambda: _u((3, 1)), lambda: _u((3, 4))]),
    "Mul": (lambda x, y: x * y, [lambda: _u((2, 3, 4)), lambda: _u((3, 1))]),
    "RealDiv": (lambda x, y: x / y, [lambda: _u((3, 4)), lambda: _away((1, 4))]),
    # x stays 0.1 away from multiples of y (the discontinuities)
    "FloorMod": (lambda x, y: x % y, [lambda: _u((3, 4), 0.1, 1.6)
                                      + 1.7 * RNG.integers(-2, 3, (3, 4)),
                                      lambda: np.full((3, 4), 1.7)]),
    "Pow": (lambda x, y: x ** y, [lambda: _u((3, 4), 0.5, 2), lambda: _u((3, 4), -1.5, 1.5)]),
    "Maximum": (ec.maximum, [lambda: _distinct((3, 4)), lambda: _distinct((3, 4)) + 0.1]),
    "Minimum": (ec.minimum, [lambda: _distinct((3, 4)), lambda: _distinct((4,)) + 0.1]),
    "SquaredDifference": (ec.squared_difference, [lambda: _u((3, 4)), lambda: _u((3, 4))]),
    "MatMul": (ec.matmul, [lambda: _u((3, 4)), lambda: _u((4, 2))]),
    "MatMul_tt": (lambda a, b: ec.matmul(a, b, transpose_a=True, transpose_b=True),
                  [lambda: _u((4, 3)), lambda: _u((2, 4))]),
    "MatMul_t_b": (lambda a, b: ec.matmul(a, b, transpose_b=True),
                   [lambda: _u((3, 4)), lambda: _u((2, 4))]),
    "MatMul_t_a": (lambda a, b: ec.matmul(a, b, transpose_a=True),
                   [lambda: _u((4, 3)), lambda: _u((4, 2))]),
    # float32 round trip: loose finite differences (the loss is linear in x)
    "Cast": (lambda x: ec.cast(ec.cast(x, ec.float32), ec.float64) * 1.0,
             [lambda: np.round(_u((3, 4)) * 8) / 8], {"eps": 1e-2, "tol": 1e-4}),
    "AddN": (lambda x, y: ec.add_n([x, y, x]), [lambda: _u((3, 4)), lambda: _u((3, 4))]),
    "SelectV2": (lambda x, y: ec.where(ec.constant(RNG.random((3, 4)) > 0.5), x, y),
                 [lambda: _u((3, 4)), lambda: _u((4,))]),
    "Identity": (ec.identity, [lambda: _u((3, 4))]),
    "PlaceholderWithDefault": (lambda x: ec.placeholder_with_default(x, [3, 4]),
                               [lambda: _u((3, 4))]),
    "Reshape": (lambda x: ec.reshape(x, [4, -1]), [lambda: _u((3, 4))]),
    "Squeeze": (lambda x: ec.squeeze(x, [1]), [lambda: _u((3, 1, 4))]),
    "ExpandDims": (lambda x: ec.expand_dims(x, 1), [lambda: _u((3, 4))]),
    "Transpose": (lambda x: ec.transpose(x, [2, 0, 1]), [lambda: _u((2, 3, 4))]),
    "ConcatV2": (lambda x, y: ec.concat([x, y, x], axis=1),
                 [lambda: _u((3, 2)), lambda: _u((3, 4))]),
    "Pack": (lambda x, y: ec.stack([x, y], axis=1), [lambda: _u((3, 4)), lambda: _u((3, 4))]),
    "Unpack": (lambda x: ec.unstack(x, axis=1), [lambda: _u((3, 4))]),
    "Tile": (lambda x: ec.tile(x, [2, 3]), [lambda: _u((2, 3))]),
    "Fill": (lambda x: ec.fill([2, 3], ec.reduce_sum(x)), [lambda: _u((3,))]),
    "GatherV2": (lambda x: ec.gather(x, ec.constant([2, 0, 2, 1])),
                 [lambda: _u((3, 4))]),
    "GatherV2_axis1": (lambda x: ec.gather(x, ec.constant([[3, 0], [3, 3]]), axis=1),
                       [lambda: _u((2, 4))]),
    "StridedSlice": (lambda x: x[1:, ::2, None, -1], [lambda: _u((3, 4, 2))]),
    # bounds the plan compiler folds (a default), read every run (an index computed from
    # x), and slice bounds known only at run time (a data-dependent shape)
    # (reshaped: the loss's weights need the static shape the bounds hide)
    "TensorStridedSlice": (lambda x: ec.reshape(x[_default(1):, ::2, None, _default(1) - 2],
                                                [2, 2, 1]), [lambda: _u((3, 4, 2))]),
    "TensorStridedSlice_run_index": (lambda x: ec.reshape(x[_run_int(x, 1), 1:], [3]),
                                     [lambda: _u((3, 4))]),
    "TensorStridedSlice_run_bounds": (
        lambda x: ec.reshape(x[_run_int(x, 1):_run_int(x, 3), ::-1], [2, 3]),
        [lambda: _u((4, 3))]),
    "Sum": (lambda x: ec.reduce_sum(x, axis=[0, 2]), [lambda: _u((2, 3, 4))]),
    "Mean": (lambda x: ec.reduce_mean(x, axis=1, keepdims=True), [lambda: _u((3, 4))]),
    "Max": (lambda x: ec.reduce_max(x, axis=0), [lambda: _distinct((3, 4))]),
    "Min": (lambda x: ec.reduce_min(x), [lambda: _distinct((3, 4))]),
    "Prod": (lambda x: ec.reduce_prod(x, axis=1), [lambda: _away((3, 4), 0.5, 1.5)]),
    "Relu": (ec.nn.relu, [lambda: _away((3, 4))]),
    "Relu6": (ec.nn.relu6, [lambda: _away((3, 4)) * 4]),
    "LeakyRelu": (lambda x: ec.nn.leaky_relu(x, 0.1), [lambda: _away((3, 4))]),
    "Elu": (ec.nn.elu, [lambda: _away((3, 4))]),
    "Selu": (ec.nn.selu, [lambda: _away((3, 4))]),
    "Sigmoid": (ec.nn.sigmoid, [lambda: _u((3, 4))]),
    "Tanh": (ec.nn.tanh, [lambda: _u((3, 4))]),
    "Softplus": (ec.nn.softplus, [lambda: _u((3, 4))]),
    "Softsign": (ec.nn.softsign, [lambda: _u((3, 4))]),
    "Softmax": (ec.nn.softmax, [lambda: _u((3, 4))]),
    "Softmax_axis0": (lambda x: ec.nn.softmax(x, axis=0), [lambda: _u((3, 4))]),
    "LogSoftmax": (ec.nn.log_softmax, [lambda: _u((3, 4))]),
    "SparseSoftmaxCrossEntropyWithLogits": (
        lambda x: ec.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ec.constant([1, 0, 3], dtype=ec.int64), logits=x), [lambda: _u((3, 4))]),
    "SoftmaxCrossEntropyWithLogits": (
        lambda z, x: ec.nn.softmax_cross_entropy_with_logits(labels=z, logits=x),
        [lambda: _u((3, 4), 0, 1), lambda: _u((3, 4))]),
    "SigmoidCrossEntropyWithLogits": (
        lambda z, x: ec.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
        [lambda: _u((3, 4), 0, 1), lambda: _away((3, 4))]),
    "BiasAdd": (ec.nn.bias_add, [lambda: _u((2, 3, 4)), lambda: _u((4,))]),
    "Conv2D": (lambda x, w: ec.nn.conv2d(x, w, strides=1, padding="SAME"),
               [lambda: _u((2, 4, 4, 2)), lambda: _u((3, 3, 2, 3))]),
    "Conv2D_valid_strided": (lambda x, w: ec.nn.conv2d(x, w, strides=2, padding="VALID"),
                             [lambda: _u((1, 5, 5, 2)), lambda: _u((2, 2, 2, 2))]),
    "Conv2D_dilated": (lambda x, w: ec.nn.conv2d(x, w, strides=1, padding="SAME", dilations=2),
                       [lambda: _u((1, 5, 5, 1)), lambda: _u((2, 2, 1, 2))]),
    "FusedConv2D": (lambda x, w, b: fused.conv2d(x, w, b, strides=2, padding="SAME",
                                                 activation="tanh"),
                    [lambda: _u((2, 5, 4, 2)), lambda: _u((3, 2, 2, 3)), lambda: _u((3,))]),
    "MaxPool": (lambda x: ec.nn.max_pool2d(x, 2, 2, "SAME"), [lambda: _distinct((1, 5, 4, 2))]),
    "AvgPool": (lambda x: ec.nn.avg_pool2d(x, 3, 2, "SAME"), [lambda: _u((2, 5, 5, 2))]),
    "Dense": (lambda x, w, b: fused.dense(x, w, b, "sigmoid"),
              [lambda: _u((3, 4)), lambda: _u((4, 2)), lambda: _u((2,))]),
    "Dense_relu": (lambda x, w, b: fused.dense(x, w, b, "relu"),
                   [lambda: _u((3, 4)), lambda: _u((4, 5)), lambda: _u((5,))]),
    "Dense_nobias_rank3": (lambda x, w: fused.dense(x, w, None, "tanh"),
                           [lambda: _u((2, 3, 4)), lambda: _u((4, 2))]),
    "SumToShape": (lambda x: make("SumToShape", [x, ec.zeros([1, 4], f64)]),
                   [lambda: _u((3, 4))]),
    "BroadcastLike": (lambda x: make("BroadcastLike", [x, ec.zeros([3, 4], f64)]),
                      [lambda: _u((1, 4))]),
    "ReshapeLike": (lambda x: make("ReshapeLike", [x, ec.zeros([4, 3], f64)]),
                    [lambda: _u((3, 4))]),
    # control flow and debug ops (graph/ops/control_flow_ops.py, debug_ops.py)
    "Cond": (lambda x, w: cf.cond(ec.constant(True), lambda: ec.nn.tanh(x * w),
                                  lambda: x), [lambda: _u((3, 4)), lambda: _u((4,))]),
    "Cond_false": (lambda x, w: cf.cond(ec.constant(False), lambda: x,
                                        lambda: ec.exp(x) * w), [lambda: _u((3, 4)),
                                                                lambda: _u((4,))]),
    "MapFn": (lambda x, w: cf.map_fn(lambda r: ec.reduce_sum(ec.square(r) * w), x),
              [lambda: _u((3, 4)), lambda: _u((4,))]),
    "While": (lambda x, w: wl.while_loop(lambda i, a: i < 3,
                                         lambda i, a: (i + 1, ec.nn.tanh(a * w) + x),
                                         [ec.constant(0), x])[1],
              [lambda: _u((3, 4)), lambda: _u((4,))]),
    # element 1 written then read twice, element 2 never written (zeros)
    "TensorArrayScatter": (lambda x, w: ta.TensorArray(f64, size=4).write(1, x * x)
                           .scatter([3, 0], w).gather([0, 1, 3, 1]),
                           [lambda: _u((3, 4)), lambda: _u((2, 3, 4))]),
    "TensorArrayScatter_in_while": (
        lambda x, w: wl.while_loop(
            lambda i, t: i < 3,
            lambda i, t: (i + 1, t.write(i, ec.nn.tanh(x * w * ec.cast(i + 1, f64)))),
            [ec.constant(0), ta.TensorArray(f64, size=3)])[1].gather([0, 1, 2]),
        [lambda: _u((3, 4)), lambda: _u((4,))]),
    "TensorArrayGather": (lambda x, w: ta.TensorArray(f64, size=3).unstack(x).read(1) * w,
                          [lambda: _u((3, 4)), lambda: _u((4,))]),
    "CheckNumerics": (lambda x: dbg.check_numerics(x * x, "m"), [lambda: _u((3, 4))]),
    "PrintV1": (lambda x: dbg.Print(x * x, [x], first_n=0), [lambda: _u((3, 4))]),
    "Einsum": (lambda a, b: cx.einsum("ijk,kl->jl", a, b),
               [lambda: _u((2, 3, 4)), lambda: _u((4, 2))]),
    "Einsum_ellipsis_summed": (lambda a, b: cx.einsum("...k,j->...", a, b),
                               [lambda: _u((2, 3, 4)), lambda: _u((5,))]),
    "Conv2DBackpropInput": (lambda x, w: ce.conv2d_transpose(x, w, None, 2, "SAME"),
                            [lambda: _u((2, 3, 4, 3)), lambda: _u((3, 2, 2, 3))]),
    "Conv2DBackpropInput_valid": (lambda x, w: ce.conv2d_transpose(x, w, None, [1, 2],
                                                                   "VALID"),
                                  [lambda: _u((1, 3, 2, 2)), lambda: _u((2, 3, 3, 2))]),
    "DepthwiseConv2dNative": (lambda x, w: ce.depthwise_conv2d(x, w, [1, 2, 1, 1], "SAME"),
                              [lambda: _u((2, 5, 4, 3)), lambda: _u((3, 2, 3, 2))]),
    # bilinear resizing computes in float32 (TF's): a float32 tolerance
    "ResizeImage": (lambda x: ec.cast(img.resize(x, (5, 3), "bilinear"), f64),
                    [lambda: _u((2, 3, 4, 2))], {"eps": 1e-2, "tol": 1e-3}),
    "ResizeImage_nearest": (lambda x: img.resize(x, (7, 2), "nearest", True),
                            [lambda: _u((3, 4, 2))]),
    # a crop as large as the value: the drawn offset is always 0
    "RandomCrop": (lambda x: img.random_crop(x, [3, 4]) * x, [lambda: _u((3, 4))]),
    "hand_mlp_fused_by_plan": (
        lambda x, w, b: ec.nn.tanh(ec.matmul(x, w) + b),
        [lambda: _u((3, 4)), lambda: _u((4, 2)), lambda: _u((2,))]),
    "clip_by_global_norm": (
        lambda x, y: ec.clip_by_global_norm([x, y], 1.0)[0],
        [lambda: _u((3,)), lambda: _u((2, 2))]),
    "TopKV2": (lambda x: ec.nn.top_k(x, 2)[0], [lambda: _distinct((3, 4))]),
    "moments": (lambda x: list(ec.nn.moments(x, [0])), [lambda: _u((4, 3))]),
    "l2_normalize": (lambda x: ec.nn.l2_normalize(x, axis=1), [lambda: _u((3, 4))]),
    # sparse ops (row-padded SparseTensors: cols -1 = padding)
    "EmbeddingLookupSparse": (lambda p: sp_ops.embedding_lookup_sparse(
        p, _sp_ids(), None, combiner="sqrtn", max_norm=1.5), [lambda: _u((5, 3))]),
    "EmbeddingLookupSparse_weighted": (lambda p: sp_ops.embedding_lookup_sparse(
        p, _sp_ids(), _sp_ids(np.array([0.5, 2.0, 1.5, 1.0])), combiner="mean"),
        [lambda: _u((5, 3))]),
    "EmbeddingLookupSparse_weights_mean": (lambda w: sp_ops.embedding_lookup_sparse(
        ec.constant(_u((5, 3))), _sp_ids(), _sp_ids_w(w), combiner="mean"),
        [lambda: _u((4,), 0.5, 2.0)]),
    "EmbeddingLookupSparse_weights_sqrtn": (lambda w: sp_ops.embedding_lookup_sparse(
        ec.constant(_u((5, 3))), _sp_ids(), _sp_ids_w(w), combiner="sqrtn", max_norm=1.0),
        [lambda: _u((4,), 0.5, 2.0)]),
    "EmbeddingLookupSparse_weights_sum": (lambda w: sp_ops.embedding_lookup_sparse(
        ec.constant(_u((5, 3))), _sp_ids(), _sp_ids_w(w), combiner="sum"),
        [lambda: _u((4,), 0.5, 2.0)]),
    "SparseToDense": (lambda v: sp_ops.to_dense(_sp_parts(v)), [lambda: _u((2, 2))]),
    "SparseRowSum": (lambda v: sp_ops.sparse_reduce_sum(_sp_parts(v), axis=1),
                     [lambda: _u((2, 2))]),
    # special functions, segment reductions, dense linear algebra (compat.v1's names)
    "Tan": (special.tan, [lambda: _u((3, 4), -1.2, 1.2)]),
    "Sinh": (special.sinh, [lambda: _u((3, 4))]),
    "Cosh": (special.cosh, [lambda: _u((3, 4))]),
    "Expm1": (special.expm1, [lambda: _u((3, 4))]),
    "Rint": (special.rint, [lambda: np.floor(_u((3, 4)) * 3) + 0.25]),
    "Erf": (special.erf, [lambda: _u((3, 4))]),
    "Erfc": (special.erfc, [lambda: _u((3, 4))]),
    "Lgamma": (special.lgamma, [lambda: _u((3, 4), 0.3, 4.0)]),
    **{f"SegmentReduce_{k}": (lambda x, k=k: ec.reshape(getattr(seg, f"segment_{k}")(
        x, ec.constant([0, 0, 2, 2, 2])), [3, 2]), [lambda: _distinct((5, 2))])
       for k in ("sum", "mean", "max", "min", "prod")},
    **{f"UnsortedSegmentReduce_{k}": (lambda x, k=k: ec.reshape(getattr(
        seg, f"unsorted_segment_{k}")(x, ec.constant([2, -1, 0, 2, 1]), 3), [3, 2]),
        [lambda: _distinct((5, 2))]) for k in ("max", "min", "prod")},
    "DynamicStitch": (lambda a, b: ec.reshape(seg.dynamic_stitch(
        [ec.constant([0, 2]), ec.constant([1, 3])], [a, b]), [4, 2]),
        [lambda: _u((2, 2)), lambda: _u((2, 2))]),
    "MatrixInverse": (linalg.matrix_inverse, [lambda: _u((2, 3, 3)) + 3 * np.eye(3)]),
    "MatrixDeterminant": (linalg.matrix_determinant, [lambda: _u((3, 3)) + 2 * np.eye(3)]),
    "MatrixSolve": (linalg.matrix_solve, [lambda: _u((3, 3)) + 3 * np.eye(3),
                                          lambda: _u((3, 2))]),
    "Cholesky": (lambda a: linalg.cholesky(ec.matmul(a, a, transpose_b=True) + 2 * np.eye(3)),
                 [lambda: _u((3, 3))]),
}


def _sp_ids(values=None):
    """ids rows [1, 3, 1], [], [4] (values: per-slot weights instead of the ids)."""
    v = np.array([1, 3, 1, 4], np.int64) if values is None else values
    return SparseTensor([[0, 0], [0, 1], [0, 2], [2, 0]], v, [3, 3])


def _sp_ids_w(w):
    """Weights for :func:`_sp_ids`' slots from a [4] tensor (rows [w0, w1, w2], [], [w3])."""
    cols = ec.constant(np.array([[0, 1, 2, -1], [-1] * 4, [0, -1, -1, -1]], np.int64))
    z = ec.zeros([1], w.dtype)
    pad = ec.reshape(ec.concat([w[:3], z, z, z, z, z, w[3:], z, z, z], 0), [3, 4])
    return SparseTensor.from_parts(cols, pad, ec.constant(np.array([3, 3], np.int64)))


def _sp_parts(v):
    cols = ec.constant(np.array([[0, 2], [1, -1]], np.int64))
    return SparseTensor.from_parts(cols, v, ec.constant(np.array([2, 3], np.int64)))


def _op_type(case_id: str) -> str:
    return case_id.split("_")[0] if case_id.split("_")[0] in all_rows() else case_id


def _loss_and_grads(builder, values):
    phs = [ec.placeholder(f64, v.shape) for v in values]
    outs = builder(*phs)
    outs = outs if isinstance(outs, list) else [outs]
    terms = []
    for o in outs:
        w = RNG.standard_normal(o.shape.as_list())
        terms.append(ec.reduce_sum(o * ec.constant(w)))
    loss = ec.add_n(terms)
    grads = ec.gradients(loss, phs)
    return phs, loss, grads


@pytest.mark.smoke
@pytest.mark.parametrize("use_c", [True, False], ids=["c", "numpy"])
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_gradient_matches_finite_differences(case_id, use_c, numeric_gradient):
    builder, makers, *opts = CASES[case_id]
    opts = opts[0] if opts else {}
    values = [m() for m in makers]
    phs, loss, grads = _loss_and_grads(builder, values)
    with ec.Session(config={"use_c_kernels": use_c}) as sess:
        feed = dict(zip(phs, values, strict=True))
        analytic = sess.run(grads, feed)
        eps = opts.get("eps", 1e-6)
        tol = opts.get("tol", 1e-6)
        for i, v in enumerate(values):
            num = numeric_gradient(lambda u, i=i: sess.run(loss, {**feed, phs[i]: u}), v, eps)
            assert analytic[i] is not None, f"{case_id}: no gradient for input {i}"
            np.testing.assert_allclose(analytic[i], num, rtol=10 * tol, atol=tol,
                                       err_msg=f"{case_id}: input {i}")
        # a gradient plan is compiled once and reused for every perturbed run
        assert sess.compile_count <= 3


def test_dropout_gradient_is_the_mask():
    x = ec.placeholder(f64, [4, 5])
    y = ec.nn.dropout(x, rate=0.4, seed=3)
    (g,) = ec.gradients(ec.reduce_sum(y * 2.0), [x])
    with ec.Session() as sess:
        xv = _u((4, 5))
        yv, gv = sess.run([y, g], {x: xv})
    mask = gv / 2.0
    assert set(np.unique(np.round(mask, 12))) <= {0.0, round(1 / 0.6, 12)}
    np.testing.assert_allclose(yv, xv * mask)


def test_every_differentiable_op_has_a_gradient_case():
    covered = {_op_type(c) for c in CASES} | {"Dropout"}
    differentiable = {t for t, r in all_rows().items() if r.differentiable}
    missing = differentiable - covered
    assert not missing, f"ops without a gradient test case: {sorted(missing)}"


def test_integer_and_bool_ops_have_no_gradient():
    x = ec.placeholder(f64, [3])
    i = ec.cast(x, ec.int32)
    y = ec.cast(i * 2, f64)
    assert ec.gradients(ec.reduce_sum(y), [x]) == [None]
    b = ec.greater(x, 0.0)
    assert ec.gradients(ec.reduce_sum(ec.cast(b, f64)), [x]) == [None]
    assert ec.gradients(ec.reduce_sum(ec.argmax(ec.expand_dims(x, 0), 1)), [x]) == [None]


def test_stop_gradient_and_unconnected():
    x = ec.placeholder(f64, [3])
    z = ec.placeholder(f64, [3])
    y = ec.reduce_sum(x * ec.stop_gradient(x))
    gx, gz = ec.gradients(y, [x, z])
    assert gz is None
    with ec.Session() as sess:
        xv = np.array([1.0, 2.0, 3.0])
        np.testing.assert_allclose(sess.run(gx, {x: xv}), xv)


def test_unconnected_gradients_zero_gives_zeros_not_none():
    x = ec.placeholder(f64, [3])
    z = ec.constant(np.ones((2, 2)))
    y = ec.reduce_sum(ec.square(x))
    gx, gz = ec.gradients(y, [x, z], unconnected_gradients="zero")
    (gz_alone,) = ec.gradients(y, [z], unconnected_gradients="zero")  # nothing connected
    with ec.Session() as sess:
        xv = np.array([1.0, 2.0, 3.0])
        got = sess.run([gx, gz, gz_alone], {x: xv})
    np.testing.assert_allclose(got[0], 2 * xv)
    np.testing.assert_array_equal(got[1], np.zeros((2, 2)))
    np.testing.assert_array_equal(got[2], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`unconnected_gradients` must be 'none' or 'zero'"):
        ec.gradients(y, [x], unconnected_gradients="zeros")
    with pytest.raises(TypeError, match="stop_gradient"):
        ec.gradients(y, [x], stop_gradient=[x])  # misspelt: refused, not ignored


def test_gradients_accumulate_with_add_n_and_grad_ys():
    x = ec.placeholder(f64, [2])
    y1, y2 = x * 3.0, ec.square(x)
    g = ec.gradients([y1, y2], x, grad_ys=[ec.constant([1.0, 2.0], f64),
                                            ec.constant([1.0, 1.0], f64)])[0]
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: [1.0, 5.0]}), [3 + 2, 6 + 10])
    assert any(op.type == "AddN" for op in ec.get_default_graph().get_operations())


def test_an_op_without_a_gradient_rule_on_the_path_raises_lookup_error():
    """TF's LookupError, also for second-order gradients (not implemented); ops without a
    gradient by nature (argmax, comparisons, shapes ...) stop the gradient quietly."""
    x = ec.placeholder(f64, [3, 4])
    y = ec.reduce_sum(ec.nn.relu(x) * 2.0)
    (g,) = ec.gradients(y, [x])
    with pytest.raises(LookupError, match=r"^No gradient defined for operation '.*' "
                                          r"\(op type: ActivationGrad\)$"):
        ec.gradients(ec.reduce_sum(g), [x])
    idx = ec.cast(ec.argmax(x, 1), f64)
    assert ec.gradients(ec.reduce_sum(idx), [x]) == [None]
    mixed = ec.reduce_sum(x) + ec.reduce_sum(ec.cast(ec.equal(x, 0.0), f64))
    (g2,) = ec.gradients(mixed, [x])
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(g2, {x: np.zeros((3, 4))}), 1.0)


@pytest.mark.parametrize("fn", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_prod"])
def test_reduction_of_an_unknown_rank_input_and_its_gradient(fn, numeric_gradient):
    """Reducing a tensor whose rank is unknown when the graph is built (axis None or an
    explicit axis) is resolved when the plan is built (was: TypeError at the run)."""
    x = ec.placeholder(ec.float64, [2, 3])
    w = ec.placeholder(ec.float64, None)
    t = x * w
    every, last = getattr(ec, fn)(t), getattr(ec, fn)(t, axis=-1)
    gx = ec.gradients(ec.reduce_sum(every) + ec.reduce_sum(last), [x])[0]
    xv = np.arange(1.0, 7.0).reshape(2, 3)
    wv = np.array([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]])
    npfn = {"reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_max": np.max,
            "reduce_prod": np.prod}[fn]
    with ec.Session() as s:
        ev, lv, gv = s.run([every, last, gx], {x: xv, w: wv})
    np.testing.assert_allclose(ev, npfn(xv * wv))
    np.testing.assert_allclose(lv, npfn(xv * wv, axis=-1))
    num = numeric_gradient(lambda v: npfn(v * wv) + npfn(v * wv, axis=-1).sum(), xv)
    np.testing.assert_allclose(gv, num, rtol=1e-6, atol=1e-6)
