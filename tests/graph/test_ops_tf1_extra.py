"""einsum / tensordot, strided_slice, the tf.nn extras, transposed / depthwise convs and
tf.image: against numpy references written here and TF 2.15's values
(tests/layers/fixtures/tf_ops_fixtures.npz); errors in the user's terms."""

from __future__ import annotations

import io
import pathlib
import sys

import numpy as np
import pytest

import estcore as ec
from estcore import image
from estcore.graph.ops import conv_extra_ops as ce
from estcore.graph.ops.contraction_ops import einsum, tensordot
from estcore.graph.ops.index_ops import strided_slice

pytestmark = pytest.mark.smoke
RNG = np.random.default_rng(11)
FIX = np.load(pathlib.Path(__file__).parents[1] / "layers" / "fixtures" /
              "tf_ops_fixtures.npz")


def _run(t, feed=None):
    with ec.Session() as sess:
        return sess.run(t, feed)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ijk,kl", [(2, 3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(2, 3)]), ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]), ("...ij,jk->...ik", [(2, 3, 4), (4, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)])])
def test_einsum_matches_numpy(eq, shapes):
    arrays = [RNG.normal(size=s) for s in shapes]
    phs = [ec.placeholder(ec.float64, [None] * len(s)) for s in shapes]
    y = einsum(eq, *phs)
    np.testing.assert_allclose(_run(y, dict(zip(phs, arrays, strict=True))),
                               np.einsum(eq, *arrays), rtol=1e-10)


def test_einsum_static_shapes_and_errors():
    a, b = ec.placeholder(ec.float32, [2, 3]), ec.placeholder(ec.float32, [None, 4])
    assert einsum("ij,jk->ki", a, b).shape.as_list() == [4, 2]
    with pytest.raises(ValueError, match="names 2 inputs"):
        einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="diagonal"):
        einsum("ii->i", a)
    with pytest.raises(ValueError, match="rank 2 but subscripts 'ijk'"):
        einsum("ijk->i", a)
    with pytest.raises(ValueError, match="size 3 and 2"):
        einsum("ij,jk->ik", a, ec.placeholder(ec.float32, [2, 2]))
    with pytest.raises(TypeError, match="same dtype"):
        einsum("ij,jk->ik", a, ec.placeholder(ec.float64, [3, 2]))


def test_tensordot_forms():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(4, 3, 5))
    np.testing.assert_allclose(_run(tensordot(a, b, 1)), np.tensordot(a, b, 1))
    np.testing.assert_allclose(_run(tensordot(a, b, [[1, 2], [1, 0]])),
                               np.tensordot(a, b, [[1, 2], [1, 0]]))
    np.testing.assert_allclose(_run(tensordot(a, a, 0)), np.tensordot(a, a, 0))
    with pytest.raises(ValueError, match="axes"):
        tensordot(a, b, 4)


def test_strided_slice_masks_match_python_indexing():
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    cases = [
        (strided_slice(x, [0, 1, 0], [2, 3, 4], [1, 1, 2]), x[0:2, 1:3, 0:4:2]),
        (strided_slice(x, [1, 0], [2, 0], [1, 1], shrink_axis_mask=1, end_mask=2), x[1, 0:]),
        (strided_slice(x, [0, 0], [0, 1], [1, 1], ellipsis_mask=1), x[..., 0:1]),
        (strided_slice(x, [0, 0, 0], [1, 0, 3], [1, 1, -1], begin_mask=4, new_axis_mask=2),
         x[0:1, None, :3:-1]),
        (strided_slice(x, [-1], [0], [-1], end_mask=1), x[::-1]),
    ]
    for t, want in cases:
        np.testing.assert_array_equal(_run(t), want)
    with pytest.raises(ValueError, match="same length"):
        strided_slice(x, [0, 0], [1], [1])
    # bounds known only when the graph runs: a TensorStridedSlice, same masks
    b = ec.placeholder(ec.int32, [2])
    t = strided_slice(x, b, [0, 3], [1, -1], shrink_axis_mask=1, end_mask=2)
    assert t.op.type == "TensorStridedSlice" and t.shape.as_list() == [None, 4]
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(t, {b: [1, 2]}), x[1, 2::-1])
    with pytest.raises(ValueError, match="one known length"):
        strided_slice(x, b, [1])


def _lrn_ref(x, r, bias, alpha, beta):
    c = x.shape[-1]
    s = np.stack([np.sum(x[..., max(0, d - r):d + r + 1] ** 2, -1) for d in range(c)], -1)
    return x / (bias + alpha * s) ** beta


def test_nn_extras_against_references():
    x = FIX["x2"]
    np.testing.assert_allclose(_run(ec.nn.lrn(x, 2, 1.5, 0.3, 0.7)), FIX["out:lrn"],
                               rtol=1e-5)
    np.testing.assert_allclose(_run(ec.nn.local_response_normalization(x, 1)),
                               _lrn_ref(x, 1, 1.0, 1.0, 0.5), rtol=1e-5)
    y, m, v = _run(ec.nn.fused_batch_norm(x, np.linspace(0.5, 2, 3, dtype=np.float32),
                                          np.arange(3, dtype=np.float32)))
    np.testing.assert_allclose(y, FIX["out:fused_batch_norm_y"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(v, FIX["out:fused_batch_norm_var"], rtol=1e-5)
    np.testing.assert_allclose(m, x.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    y2, m2, v2 = _run(ec.nn.fused_batch_norm(x, np.ones(3), np.zeros(3), mean=m, variance=v,
                                             is_training=False))
    np.testing.assert_allclose(y2, (x - m) / np.sqrt(v + 1e-3), rtol=1e-4, atol=1e-5)
    z = np.array([[-1.0, 0.5, 3.0]])
    lab = np.array([[0.0, 1.0, 1.0]])
    want = (1 - lab) * z + (1 + 1.5 * lab) * np.log1p(np.exp(-z))
    np.testing.assert_allclose(_run(ec.nn.weighted_cross_entropy_with_logits(
        labels=lab, logits=z, pos_weight=2.5)), want, rtol=1e-6)
    np.testing.assert_allclose(_run(ec.nn.swish(z)), z / (1 + np.exp(-z)), rtol=1e-6)
    assert _run(ec.nn.zero_fraction(np.array([0, 1, 0, 2.0]))) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="is_training=False"):
        ec.nn.fused_batch_norm(x, np.ones(3), np.zeros(3), is_training=False)
    with pytest.raises(ValueError, match="4-D"):
        ec.nn.lrn(x[0])


def _tconv_ref(x, w, s, pad):
    n, h, wd, _ = x.shape
    kh, kw, co, _ = w.shape
    full = np.zeros((n, (h - 1) * s + kh, (wd - 1) * s + kw, co))
    for i in range(h):
        for j in range(wd):
            full[:, i * s:i * s + kh, j * s:j * s + kw] += np.einsum("nc,abfc->nabf",
                                                                    x[:, i, j], w)
    if pad == "VALID":
        return full
    oh, ow = h * s, wd * s
    top, left = (full.shape[1] - oh) // 2, (full.shape[2] - ow) // 2
    return full[:, top:top + oh, left:left + ow]


@pytest.mark.parametrize("pad", ["SAME", "VALID"])
def test_conv2d_transpose_and_depthwise_against_loops(pad):
    x = RNG.normal(size=(2, 3, 4, 3))
    w = RNG.normal(size=(3, 3, 2, 3))
    np.testing.assert_allclose(_run(ce.conv2d_transpose(x, w, None, 2, pad)),
                               _tconv_ref(x, w, 2, pad), rtol=1e-10)
    wd = RNG.normal(size=(2, 2, 3, 2))
    got = _run(ce.depthwise_conv2d(x, wd, [1, 1, 1, 1], "VALID"))
    ref = np.zeros((2, 2, 3, 3, 2))
    for i in range(2):
        for j in range(3):
            ref[:, i, j] = np.einsum("nabc,abcm->ncm", x[:, i:i + 2, j:j + 2], wd)
    np.testing.assert_allclose(got, ref.reshape(2, 2, 3, 6), rtol=1e-10)


def test_conv2d_transpose_output_shape_checks():
    x = ec.placeholder(ec.float32, [None, 3, 4, 3])
    w = ec.constant(np.zeros((3, 3, 2, 3), np.float32))
    assert ce.conv2d_transpose(x, w, [-1, 6, 8, 2], 2, "SAME").shape.as_list() == \
        [None, 6, 8, 2]
    with pytest.raises(ValueError, match="does not give back the input size"):
        ce.conv2d_transpose(x, w, [1, 9, 8, 2], 2, "SAME")
    with pytest.raises(ValueError, match="channels"):
        ce.conv2d_transpose(ec.placeholder(ec.float32, [1, 3, 4, 5]), w, None, 2, "SAME")


@pytest.mark.parametrize("key", ["resize_bilinear", "resize_bilinear_corners", "resize_nearest",
                                 "resize_nearest_corners"])
def test_resize_images_matches_tf(key):
    size = [8, 4] if "corners" not in key else [3, 9]
    method = image.ResizeMethod.NEAREST_NEIGHBOR if "nearest" in key else \
        image.ResizeMethod.BILINEAR
    y = image.resize_images(FIX["img"], size, method=method, align_corners="corners" in key)
    assert y.dtype == ec.float32
    np.testing.assert_allclose(_run(y), FIX["out:" + key], rtol=1e-5, atol=1e-3)


def test_image_dtypes_standardization_flip_crop():
    u8 = FIX["img"].astype(np.uint8)
    assert image.resize_images(u8, [2, 2]).dtype == ec.float32
    assert image.resize_images(u8, [2, 2], method=1).dtype == ec.uint8
    np.testing.assert_allclose(_run(image.per_image_standardization(FIX["img"])),
                               FIX["out:per_image_standardization"], rtol=1e-4, atol=1e-5)
    x = RNG.normal(size=(6, 2, 3, 1)).astype(np.float32)
    flipped = _run(image.random_flip_left_right(x, seed=4))
    kinds = [np.array_equal(f, o) * 1 + np.array_equal(f, o[:, ::-1]) * 2
             for f, o in zip(flipped, x, strict=True)]
    assert set(kinds) <= {1, 2} and len(set(kinds)) == 2
    crop = image.random_crop(np.arange(20).reshape(4, 5), [2, 3], seed=1)
    with ec.Session() as sess:
        for _ in range(5):
            c = sess.run(crop)
            r, q = divmod(int(c[0, 0]), 5)
            np.testing.assert_array_equal(c, np.arange(20).reshape(4, 5)[r:r + 2, q:q + 3])
    with pytest.raises(ValueError, match="BICUBIC"):
        image.resize_images(u8, [2, 2], method=image.ResizeMethod.BICUBIC)
    with pytest.raises(ValueError, match="larger"):
        image.random_crop(np.zeros((2, 2)), [3, 1])


def test_decode_png_and_jpeg_round_trip():
    pil = pytest.importorskip("PIL.Image")
    pixels = (np.arange(4 * 5 * 3) % 256).astype(np.uint8).reshape(4, 5, 3)
    png, jpg = io.BytesIO(), io.BytesIO()
    pil.fromarray(pixels).save(png, "PNG")
    pil.fromarray(np.full((6, 7, 3), 128, np.uint8)).save(jpg, "JPEG", quality=95)
    s = ec.placeholder(ec.string, [])
    d = image.decode_png(s)
    g = image.decode_png(s, channels=1)
    j = image.decode_jpeg(s, channels=3)
    with ec.Session() as sess:
        np.testing.assert_array_equal(sess.run(d, {s: png.getvalue()}), pixels)
        assert sess.run(ec.reduce_sum(ec.cast(g, ec.int32)), {s: png.getvalue()}) > 0
        jv = sess.run(j, {s: jpg.getvalue()})
        assert jv.shape == (6, 7, 3) and abs(int(jv.mean()) - 128) <= 2
        with pytest.raises(ec.errors.InvalidArgumentError, match="could not decode"):
            sess.run(d, {s: b"not an image"})


def test_decoding_without_pillow_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        image.decode_png(ec.constant(b"x"))


GRAD_CASES = {
    "lrn": (lambda x: ec.nn.lrn(x, 1, 1.5, 0.3, 0.7), [(1, 2, 2, 4)]),
    "fused_batch_norm": (lambda x, s, o: ec.nn.fused_batch_norm(x, s, o)[0],
                         [(2, 2, 3, 3), (3,), (3,)]),
    "swish": (lambda x: ec.nn.swish(x, beta=1.5), [(3, 4)]),
    "weighted_xent": (lambda z: ec.nn.weighted_cross_entropy_with_logits(
        labels=np.array([0.0, 1.0, 0.3]), logits=z, pos_weight=2.5), [(3,)]),
    "tensordot": (lambda a, b: tensordot(a, b, [[0, 2], [1, 0]]), [(2, 3, 4), (4, 2, 5)]),
    "strided_slice": (lambda x: strided_slice(x, [1, 0], [3, 4], [1, 2]), [(4, 5)]),
    "per_image_standardization": (image.per_image_standardization, [(2, 3, 3)]),
    "depthwise_same_rate2": (lambda x, w: ce.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME",
                                                              rate=2),
                             [(1, 5, 5, 2), (2, 2, 2, 2)]),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_compositions_differentiate_like_finite_differences(case, numeric_gradient):
    fn, shapes = GRAD_CASES[case]
    f32 = case == "per_image_standardization"   # computes in float32 (TF's rule)
    dtype = ec.float32 if f32 else ec.float64
    vals = [RNG.uniform(0.5, 1.5, size=s) * RNG.choice([-1, 1], size=s) for s in shapes]
    vals = [v.astype(dtype.np) for v in vals]
    phs = [ec.placeholder(dtype, s) for s in shapes]
    y = fn(*phs)
    w = RNG.normal(size=y.shape.as_list()).astype(y.dtype.np)
    loss = ec.reduce_sum(y * w)
    grads = ec.gradients(loss, phs)
    eps, tol = (1e-2, 2e-2) if f32 else (1e-6, 1e-6)
    with ec.Session() as sess:
        feed = dict(zip(phs, vals, strict=True))
        analytic = sess.run(grads, feed)
        for i, v in enumerate(vals):
            num = numeric_gradient(lambda u, i=i: sess.run(loss, {**feed, phs[i]: u}), v, eps)
            np.testing.assert_allclose(analytic[i], num, rtol=10 * tol, atol=tol,
                                       err_msg=f"{case} input {i}")
