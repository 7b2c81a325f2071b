"""What TensorBoard shows: the graph, images and text of a training run, read back with
TensorBoard's own reader (``event_accumulator``) and its GraphDef proto classes."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.summary import FileWriter, FileWriterCache, image_values
from estcore.summary.image import encode_png, to_uint8
from estcore.summary.ops import SummaryOp, summary_values


@pytest.fixture(autouse=True)
def _clear_cache():
    yield
    FileWriterCache.clear()


def _decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for what encode_png writes (8-bit, filter 0)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = header[:4]
    channels = {0: 1, 2: 3, 6: 4}[color]
    assert depth == 8
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:].reshape(height, width, channels)


def _model_fn(features, labels, mode):
    images = ec.reshape(features["x"], [-1, 4, 4, 1])
    ec.summary.image("digits", images, max_outputs=2)
    ec.summary.text("notes", ec.constant("estcore *markdown*"))
    with ec.variable_scope("classifier"):
        hidden = ec.layers.dense(features["x"], 8, activation=ec.nn.relu, name="hidden")
        logits = ec.layers.dense(hidden, 3, name="logits")
    loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = ec.train.AdamOptimizer(0.01).minimize(loss, ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _train(model_dir, **config):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 16)).astype(np.float32)
    y = rng.integers(0, 3, 40).astype(np.int32)
    est = Estimator(_model_fn, str(model_dir), RunConfig(save_summary_steps=2, **config))
    est.train(numpy_input_fn({"x": x}, y, batch_size=10, num_epochs=1, shuffle=False))
    acc = ea.EventAccumulator(str(model_dir), size_guidance={ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc, x


def test_training_event_file_holds_graph_images_and_text(tmp_path):
    acc, x = _train(tmp_path)
    tags = acc.Tags()
    assert tags["graph"] is True
    graph = acc.Graph()  # TensorBoard's own GraphDef proto
    nodes = {n.name: n for n in graph.node}
    # ops named as in the user's code, grouped by name scope
    assert {"classifier/hidden/kernel", "classifier/logits/kernel"} <= set(nodes)
    assert any(name.startswith("classifier/hidden/") and n.op not in ("VariableV2", "Assign")
               for name, n in nodes.items())
    for n in graph.node:  # every input names a node of the graph
        for inp in n.input:
            assert inp.lstrip("^").split(":")[0] in nodes, (n.name, inp)
    kernel = nodes["classifier/hidden/kernel"]
    shape = kernel.attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [16, 8]
    assert kernel.attr["dtype"].type == 1  # DT_FLOAT

    assert tags["images"] == ["digits/image/0", "digits/image/1"]
    steps = [e.step for e in acc.Images("digits/image/0")]
    assert steps == [1, 3]  # the first step, then every save_summary_steps (TF)
    first = acc.Images("digits/image/1")[0]
    assert (first.width, first.height) == (4, 4)
    pixels = _decode_png(first.encoded_image_string)
    want = to_uint8(x[1].reshape(4, 4, 1))  # the second image of the first batch
    np.testing.assert_array_equal(pixels, want)
    assert pixels.max() == 255  # non-negative floats: the largest pixel is 255

    notes = [t for t in tags["tensors"] if t.startswith("notes")]
    assert notes == ["notes"]
    event = acc.Tensors("notes")[0]
    assert event.tensor_proto.string_val == [b"estcore *markdown*"]
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"


def test_graph_is_not_written_with_checkpoint_save_graph_def_false(tmp_path):
    acc, _ = _train(tmp_path, checkpoint_save_graph_def=False)
    assert acc.Tags()["graph"] is False


@pytest.mark.smoke
def test_graph_def_of_a_hand_built_graph(tmp_path):
    g = ec.Graph()
    with g.as_default():
        a = ec.placeholder(ec.float32, [None, 3], name="a")
        with ec.name_scope("block"):
            b = ec.nn.relu(a, name="act")
            with ec.control_dependencies([b.op]):
                c = ec.identity(a, name="out")
    with FileWriter(str(tmp_path)) as w:
        w.add_graph(g)
    acc = ea.EventAccumulator(str(tmp_path))
    acc.Reload()
    nodes = {n.name: n for n in acc.Graph().node}
    assert nodes["block/act"].input == ["a"]
    assert list(nodes[c.op.name].input) == ["a", "^block/act"]
    shape = nodes["a"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 3]


@pytest.mark.smoke
def test_image_values_tags_scaling_and_errors():
    batch = np.zeros((4, 2, 3, 3), np.float32)
    batch[0, 0, 0] = [-1.0, 0.0, 0.5]
    batch[1, 1, 2] = [np.nan, 1.0, 2.0]
    values = image_values("img", batch, max_outputs=3)
    assert [v.tag for v in values] == ["img/image/0", "img/image/1", "img/image/2"]
    assert [v.tag for v in image_values("img", batch, max_outputs=1)] == ["img/image"]
    first = _decode_png(values[0].image.encoded)
    # a negative pixel: 0 goes to 128, the largest magnitude (1.0) to 128 -+ 127
    np.testing.assert_array_equal(first[0, 0], [1, 128, 192])
    second = _decode_png(values[1].image.encoded)
    np.testing.assert_array_equal(second[1, 2], [255, 0, 0])  # non-finite: red
    assert values[1].image.colorspace == 3
    rgba = np.full((1, 1, 1, 4), 7, np.uint8)
    np.testing.assert_array_equal(_decode_png(image_values("x", rgba)[0].image.encoded),
                                  rgba[0])
    with pytest.raises(ValueError, match="'img' needs a 4-D tensor.*got shape \\(2, 3\\)"):
        image_values("img", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="1, 3 or 4 channels, got shape \\(1, 2, 2, 2\\)"):
        image_values("img", np.zeros((1, 2, 2, 2)))
    with pytest.raises(TypeError, match="uint8 or float pixels, got int32"):
        image_values("img", np.zeros((1, 2, 2, 1), np.int32))
    with pytest.raises(ValueError, match="encode_png needs a uint8 array"):
        encode_png(np.zeros((2, 2), np.uint8))
    (v,) = summary_values([SummaryOp("image", "t", None, 1)], [np.zeros((5, 1, 1, 1))])
    assert v.tag == "t/image"


@pytest.mark.smoke
def test_image_op_checks_its_arguments():
    with pytest.raises(ValueError, match="max_outputs must be a positive int, got 0"):
        ec.summary.image("a", ec.zeros([1, 2, 2, 1]), max_outputs=0)
    with pytest.raises(ValueError, match="\\[batch, height, width, channels\\].*\\(2, 2\\)"):
        ec.summary.image("a", ec.zeros([2, 2]))
    with pytest.raises(TypeError, match="uint8 or float, got int32"):
        ec.summary.image("a", ec.zeros([1, 2, 2, 3], ec.int32))
    op = ec.summary.image("fine", ec.placeholder(ec.uint8, [None, 8, 8, 3]), max_outputs=5)
    assert (op.kind, op.tag, op.max_outputs) == ("image", "fine", 5)
