"""tf.keras.layers without weights, the merge layers, Embedding, and the orthogonal /
identity initializers (Keras's / TF 1.15's documented behaviour; numpy references)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf

KL = tf.keras.layers
XV = (np.random.default_rng(0).random((2, 4, 4, 3)) - 0.5).astype(np.float32)


def _run(ts, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(ts, feed)


def test_layers_without_weights():
    x = tf.placeholder(tf.float32, [None, 4, 4, 3])
    v = tf.placeholder(tf.float32, [None, 3])
    outs = [KL.Activation("relu")(x), KL.Activation("linear")(x), KL.ReLU(max_value=0.2)(x),
            KL.ReLU(negative_slope=0.1, threshold=0.1)(x), KL.LeakyReLU()(x),
            KL.Softmax()(x), KL.Reshape((16, 3))(x), KL.Reshape((-1, 6))(x),
            KL.Permute((3, 1, 2))(x), KL.Lambda(lambda t, k: t * k, arguments={"k": 2.0})(x),
            KL.RepeatVector(2)(v), KL.GlobalAveragePooling2D()(x), KL.GlobalMaxPooling2D()(x),
            KL.GlobalAveragePooling1D()(v[:, :, None]), KL.GlobalMaxPooling1D()(v[:, :, None])]
    vv = XV[:, 0, 0]
    got = _run(outs, {x: XV, v: vv})
    e = np.exp(XV - XV.max(-1, keepdims=True))
    want = [np.maximum(XV, 0), XV, np.clip(XV, 0, 0.2),
            np.where(XV >= 0.1, XV, (XV - 0.1) * 0.1), np.where(XV > 0, XV, 0.3 * XV),
            e / e.sum(-1, keepdims=True), XV.reshape(2, 16, 3), XV.reshape(2, 8, 6),
            XV.transpose(0, 3, 1, 2), XV * 2, np.repeat(vv[:, None], 2, 1),
            XV.mean((1, 2)), XV.max((1, 2)), vv.mean(1, keepdims=True),
            vv.max(1, keepdims=True)]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=f"output {i}")
    assert outs[6].shape.as_list() == [None, 16, 3]
    with pytest.raises(ValueError, match="permutation"):
        KL.Permute((1, 1))


def test_merge_layers():
    a = tf.constant([[1.0, 5.0]])
    b = tf.constant([[3.0, 2.0]])
    got = _run([KL.Concatenate()([a, b]), KL.concatenate([a, b], axis=0), KL.Add()([a, b, a]),
                KL.subtract([a, b]), KL.multiply([a, b]), KL.average([a, b]),
                KL.maximum([a, b]), KL.minimum([a, b])])
    np.testing.assert_array_equal(got[0], [[1, 5, 3, 2]])
    np.testing.assert_array_equal(got[1], [[1, 5], [3, 2]])
    np.testing.assert_array_equal(got[2], [[5, 12]])
    np.testing.assert_array_equal(got[3], [[-2, 3]])
    np.testing.assert_array_equal(got[4], [[3, 10]])
    np.testing.assert_array_equal(got[5], [[2, 3.5]])
    np.testing.assert_array_equal(got[6], [[3, 5]])
    np.testing.assert_array_equal(got[7], [[1, 2]])
    with pytest.raises(ValueError, match="list of at least 2"):
        KL.Add()(a)
    with pytest.raises(ValueError, match="exactly 2"):
        KL.Subtract()([a, b, a])


def test_embedding_shares_its_table_and_trains():
    ids = tf.placeholder(tf.int64, [None, 2])
    emb = KL.Embedding(10, 4, embeddings_regularizer="l2")
    first, again = emb(ids), emb(ids)
    assert [v.name for v in tf.global_variables()] == ["embedding/embeddings:0"]
    assert first.shape.as_list() == [None, 2, 4]
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    loss = tf.reduce_sum(first)
    (g,) = tf.gradients(loss, [emb.embeddings])
    table, f, s = _run([emb.embeddings, first, again], {ids: [[1, 2], [3, 1]]})
    assert np.abs(table).max() <= 0.05
    np.testing.assert_array_equal(f, table[[[1, 2], [3, 1]]])
    np.testing.assert_array_equal(f, s)
    with pytest.raises(ValueError, match="input_dim"):
        KL.Embedding(0, 3)
    assert g is not None


def test_orthogonal_and_identity_initializers():
    w = tf.get_variable("w", [6, 4], initializer=tf.orthogonal_initializer(seed=1))
    w2 = tf.get_variable("w2", [2, 3, 5], initializer=tf.keras.initializers.Orthogonal(2.0))
    eye = tf.get_variable("eye", [3, 3], initializer=tf.initializers.identity(gain=0.5))
    wv, w2v, ev = _run([w, w2, eye])
    np.testing.assert_allclose(wv.T @ wv, np.eye(4), atol=1e-5)
    flat = w2v.reshape(6, 5)
    np.testing.assert_allclose(flat.T @ flat, 4.0 * np.eye(5), atol=1e-4)
    np.testing.assert_allclose(ev, 0.5 * np.eye(3))
    with pytest.raises(ValueError, match="rank >= 2"):
        tf.keras.initializers.Orthogonal()([3])


def test_keras_conv_wrappers_and_layer_alias():
    assert KL.Layer is tf.layers.Layer
    x = tf.placeholder(tf.float32, [None, 10, 3])
    c1 = KL.Conv1D(4, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    c2 = KL.Conv2DTranspose(2, 3, strides=2, padding="same")(tf.zeros([1, 4, 4, 3]))
    c3 = KL.SeparableConv2D(5, 3, depthwise_regularizer="l2")(tf.zeros([1, 6, 6, 3]))
    assert c1.shape.as_list() == [None, 10, 4] and c2.shape.as_list() == [1, 8, 8, 2]
    assert c3.shape.as_list() == [1, 4, 4, 5]
    assert [v.name for v in tf.global_variables()] == [
        "conv1d/kernel:0", "conv1d/bias:0", "conv2d_transpose/kernel:0",
        "conv2d_transpose/bias:0", "separable_conv2d/depthwise_kernel:0",
        "separable_conv2d/pointwise_kernel:0", "separable_conv2d/bias:0"]
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
