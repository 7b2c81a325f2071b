"""Loading an export is bounded and every failure is ExportFormatError naming the file:
fixed-batch placeholders allocate nothing at load, deep JSON is refused before parsing,
window attributes of 0 are refused, every file is checked against the size and CRC-32
that saved_model.json records for it."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

import estcore as ec
import estcore.saved_model as sm
from estcore.export import ExportFormatError
from estcore.export import format as fmt

from .export_json import edit_json


def _node(data, op_type):
    return next(n for n in data["graph"]["nodes"] if n["type"] == op_type)


def test_fixed_batch_placeholder_allocates_nothing_at_load(trained, tmp_path):
    est = trained("mlp")
    fn = ec.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": np.zeros((1, 64), np.float32)}, default_batch_size=2**21)
    path = os.fsdecode(est.export_saved_model(str(tmp_path / "export"), fn))
    tracemalloc.start()
    try:
        pred = sm.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # one batch of that signature is 512 MiB of input alone; the old load ran it (1.4 GB)
    assert peak < 16 << 20
    assert pred.signatures["serving_default"].inputs["x"].shape == [2**21, 64]
    with pytest.raises(ec.errors.InvalidArgumentError, match=r"has shape \[2097152, 64\]"):
        pred({"x": np.zeros((2, 64), np.float32)})


@pytest.mark.parametrize("depth", [65, 50_000])
def test_deep_json_is_a_format_error(exported, depth):
    _, path = exported("mlp")
    graph_file = os.path.join(path, fmt.GRAPH_FILE)
    with open(graph_file, "w") as f:
        f.write('{"format": "estcore-saved-model", "x": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ExportFormatError, match=f"{graph_file}.*nests {depth + 1} levels"):
        sm.load(path)


def test_deep_attribute_with_a_valid_checksum_is_a_format_error(exported):
    _, path = exported("mlp")

    def craft(d):
        d["graph"]["nodes"][1]["attrs"]["deep"] = {"$tuple": [[[[[[[[[[1]]]]]]]]]]}
        inner = d["graph"]["nodes"][1]["attrs"]["deep"]
        for _ in range(60):
            inner = {"$tuple": [inner]}
        d["graph"]["nodes"][1]["attrs"]["deep"] = inner
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="levels deep"):
        sm.load(path)


def test_json_brackets_inside_strings_do_not_count(exported):
    _, path = exported("mlp")
    edit_json(path, lambda d: d.update(note='[[[{{{"\\' * 40))
    assert "note" in sm.load(path).meta


@pytest.mark.parametrize("op_type, attr, value, match", [
    ("FusedConv2D", "dilations", {"$tuple": [0, 0]}, "`dilations` must be positive"),
    ("FusedConv2D", "dilations", {"$tuple": [-1, 1]}, "`dilations` must be positive"),
    ("FusedConv2D", "strides", {"$tuple": [0, 1]}, "`strides` must be positive"),
    ("AvgPool", "ksize", {"$tuple": [0, 0]}, "`ksize` must be positive"),
    ("AvgPool", "dilations", {"$tuple": [2, 2]}, "pooling takes no dilation"),
    ("MaxPool", "ksize", {"$tuple": [2, 0]}, "`ksize` must be positive"),
])
def test_window_attributes_of_zero_are_refused_at_load(exported, op_type, attr, value, match):
    """(They loaded and predicted NaN.)"""
    _, path = exported("cnn")
    edit_json(path, lambda d: _node(d, op_type)["attrs"].update({attr: value}))
    with pytest.raises(ExportFormatError, match=f"Cannot load the export at {path}.*{match}"):
        sm.load(path)


def test_manifest_lists_every_other_file(trained, models, tmp_path):
    est = trained("mlp")
    asset = tmp_path / "vocab.txt"
    asset.write_text("a\nb\n")
    path = os.fsdecode(est.export_saved_model(str(tmp_path / "export"), models.serving_fn(),
                                              assets_extra={"vocab.txt": str(asset)}))
    with open(os.path.join(path, fmt.GRAPH_FILE)) as f:
        files = json.load(f)["files"]
    expected = {"consts.data", "variables/variables.data", "assets.extra/vocab.txt"}
    assert expected <= set(files) and set(files) - expected <= {"model.onnx"}
    assert files["assets.extra/vocab.txt"] == {
        "size": 4, "crc32": f"{zlib.crc32(b'a' + bytes([10]) + b'b' + bytes([10])):08x}"}
    sm.load(path)

    with open(os.path.join(path, "assets.extra", "vocab.txt"), "w") as f:
        f.write("a\nc\n")
    with pytest.raises(ExportFormatError, match=r"assets.extra/vocab.txt is corrupted: its "
                                                r"size and CRC-32 \(4 bytes"):
        sm.load(path)
    os.remove(os.path.join(path, "assets.extra", "vocab.txt"))
    with pytest.raises(ExportFormatError, match=r"assets.extra/vocab.txt is missing"):
        sm.load(path)


def test_swapped_data_files_are_named(exported, tmp_path):
    """variables.data and consts.data are both valid checkpoint files: only the
    manifest tells them apart when their tensors' names happen to fit."""
    _, path = exported("mlp")
    var, const = (os.path.join(path, fmt.VARIABLES_FILE), os.path.join(path, fmt.CONSTS_FILE))
    tmp = str(tmp_path / "swap")
    shutil.move(var, tmp)
    shutil.move(const, var)
    shutil.move(tmp, const)
    with pytest.raises(ExportFormatError, match="variables|consts"):
        sm.load(path)


@pytest.mark.parametrize("entry", ["../outside", "/etc/passwd", "a/../../x"])
def test_manifest_entries_outside_the_directory_are_refused(exported, entry):
    _, path = exported("mlp")
    edit_json(path, lambda d: d["files"].update({entry: {"size": 1, "crc32": "00000000"}}))
    with pytest.raises(ExportFormatError, match="bad entry"):
        sm.load(path)


def test_export_without_manifest_still_loads(exported, models):
    """Exports written before the manifest existed have no ``files`` field."""
    est, path = exported("mlp")
    edit_json(path, lambda d: d.pop("files"))
    x, _ = models.data(5)
    np.testing.assert_array_equal(sm.load(path)({"x": x})["classes"],
                                  models.predict_all(est, x)["classes"])


def test_sparse_variables_file_declaring_gigabytes_is_refused_cheaply(exported):
    """A 2 GiB tensor declared by a small file: the checkpoint reader's bounds, named
    as the export's variables file, before anything that size is allocated."""
    _, path = exported("mlp")
    var = os.path.join(path, fmt.VARIABLES_FILE)
    header = json.dumps({"tensors": [{"name": "dense/kernel", "dtype": "<f4",
                                      "shape": [2**29], "offset": 0, "nbytes": 2**31}],
                         "meta": {}}).encode()
    head = b"ESTCKPT\0" + struct.pack("<IQ", 1, len(header)) + header
    with open(var, "wb") as f:
        f.write(head + b"\0" * 4096)
    tracemalloc.start()
    try:
        with pytest.raises(ExportFormatError, match="variables file is corrupted.*out of range"):
            sm.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
