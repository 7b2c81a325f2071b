"""TF1's tf.saved_model.loader.load (estcore.saved_model.session_loader): an export into a
Session, as TF 1.15 does it (tags, names, import_scope, a second load), checked against
estcore.saved_model.load's outputs. TF 1.15's behaviour was read off TF 2.15's
tf.compat.v1 loader with an Estimator export (the messages and names quoted here)."""

from __future__ import annotations

import copy
import inspect
import logging
import os
import shutil

import numpy as np
import pytest

import estcore.compat.v1 as tf
import estcore.saved_model as sm
from estcore.export import ExportFormatError
from estcore.saved_model import session_loader

from .export_json import edit_json

SERVING = tf.saved_model.tag_constants.SERVING


def _plain_signature(fn) -> str:
    """``fn``'s signature without annotations, as TF's API documentation writes it."""
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def _feeds(exports, path: str, sig_name: str) -> dict:
    """The signature's inputs by key: serialized Examples or the raw rows."""
    sig = sm.load(path).signatures[sig_name]
    value = exports.examples if path == exports.parsing else exports.x
    return {key: value for key in sig.inputs}


@pytest.mark.parametrize("kind", ["parsing", "raw"])
def test_every_signature_runs_as_the_predictor(linear_exports, kind):
    path = getattr(linear_exports, kind)
    ref = sm.load(path)
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [SERVING], path)
        assert sorted(meta.signature_def) == sorted(ref.signatures)
        for name, sig in meta.signature_def.items():
            feeds = _feeds(linear_exports, path, name)
            got = sess.run({k: info.name for k, info in sig.outputs.items()},
                           feed_dict={sig.inputs[k].name: v for k, v in feeds.items()})
            want = ref.predict(feeds, signature=name)
            assert set(got) == set(want)
            for k in want:
                assert got[k].dtype == want[k].dtype
                np.testing.assert_array_equal(got[k], want[k])


def test_a_tf1_program_feeds_and_fetches_by_the_signature_names(linear_exports):
    """The canonical TF1 serving client, word for word."""
    path = linear_exports.parsing
    serialized = linear_exports.examples
    want = sm.load(path).predict({"examples": serialized}, signature="predict")
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [tf.saved_model.tag_constants.SERVING], path)
        sig = meta.signature_def[
            tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
        scores = sess.run(sig.outputs["scores"].name,
                          feed_dict={sig.inputs["inputs"].name: serialized})
        predict = meta.signature_def["predict"]
        probabilities = sess.run(predict.outputs["probabilities"].name,
                                 feed_dict={predict.inputs["examples"].name: serialized})
        # the names a TF1 program hard-codes (TF's Estimator export uses the same two)
        examples = sess.graph.get_tensor_by_name("input_example_tensor:0")
        by_name = sess.run("linear/head/predictions/probabilities:0", {examples: serialized})
    np.testing.assert_array_equal(scores, want["probabilities"])
    np.testing.assert_array_equal(probabilities, want["probabilities"])
    np.testing.assert_array_equal(by_name, want["probabilities"])


def test_the_signature_def_has_tfs_fields(linear_exports):
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [SERVING], linear_exports.parsing)
    assert meta.meta_info_def.tags == ["serve"]
    assert meta.meta_info_def.tensorflow_version.startswith("1.15.0+estcore.")
    assert meta.collection_def == {} and meta.asset_file_def == []
    default = meta.signature_def["serving_default"]
    assert default.method_name == "tensorflow/serving/classify"
    assert meta.signature_def["predict"].method_name == "tensorflow/serving/predict"
    info = default.inputs["inputs"]
    assert info.name == "input_example_tensor:0"
    assert info.dtype == 7 and info.dtype == tf.string          # TF's DataType number
    assert tf.as_dtype(info.dtype) is tf.string
    assert [d.size for d in info.tensor_shape.dim] == [-1] and not info.tensor_shape.unknown_rank
    scores = default.outputs["scores"]
    assert scores.dtype == 1 and scores.dtype == tf.float32 and scores.dtype != tf.int64
    assert np.dtype(scores.dtype) == np.float32
    assert [d.size for d in scores.tensor_shape.dim] == [-1, 3]
    assert meta.signature_def["predict"].outputs["class_ids"].dtype == 9   # int64
    assert hash(scores.dtype) == hash(1)
    copied = copy.deepcopy(meta).signature_def["serving_default"].inputs["inputs"]
    assert copied.dtype == tf.string and copied.name == info.name


def test_variables_hold_the_export_values(linear_exports):
    est = linear_exports.estimator
    with tf.Session(graph=tf.Graph()) as sess:
        tf.saved_model.loader.load(sess, [SERVING], linear_exports.raw)
        values = sess.get_variable_values()
        assert values, "the export's variables are in the session"
        for name, value in values.items():
            np.testing.assert_array_equal(value, est.get_variable_value(name))
        assert sess.uninitialized_variables() == []
        # not in the collections: TF's initializer would reset them, estcore's leaves them
        assert tf.global_variables() == []
        sess.run(tf.global_variables_initializer())
        for name, value in sess.get_variable_values().items():
            np.testing.assert_array_equal(value, values[name])


def test_import_scope_prefixes_the_graph_not_the_signature(linear_exports):
    path = linear_exports.raw
    want = sm.load(path).predict({"x": linear_exports.x}, signature="predict")
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [SERVING], path, import_scope="imp")
        sig = meta.signature_def["predict"]
        assert sig.inputs["x"].name == "xin:0"                # as TF: relative to the scope
        assert {op.name.split("/")[0] for op in sess.graph.get_operations()} == {"imp"}
        got = sess.run("imp/" + sig.outputs["probabilities"].name,
                       {"imp/" + sig.inputs["x"].name: linear_exports.x})
        np.testing.assert_array_equal(got, want["probabilities"])
        t = tf.saved_model.utils.get_tensor_from_tensor_info(sig.inputs["x"],
                                                             import_scope="imp")
        assert t is sess.graph.get_tensor_by_name("imp/xin:0")
        with pytest.raises(KeyError):
            tf.saved_model.get_tensor_from_tensor_info(sig.inputs["x"], sess.graph)
        # the same scope again: TF's name scope rule makes it imp_1
        meta2 = tf.saved_model.loader.load(sess, [SERVING], path, import_scope="imp")
        assert {op.name.split("/")[0] for op in sess.graph.get_operations()} == {"imp",
                                                                                 "imp_1"}
        sig2 = meta2.signature_def["predict"]
        got2 = sess.run("imp_1/" + sig2.outputs["probabilities"].name,
                        {"imp_1/" + sig2.inputs["x"].name: linear_exports.x})
        np.testing.assert_array_equal(got2, want["probabilities"])


def test_a_load_inside_a_name_scope_builds_in_it(linear_exports):
    with tf.Session(graph=tf.Graph()) as sess:
        with tf.name_scope("outer"):
            meta = tf.saved_model.loader.load(sess, [SERVING], linear_exports.raw)
        sig = meta.signature_def["predict"]
        assert sig.inputs["x"].name == "xin:0"
        assert sess.graph.get_tensor_by_name("outer/xin:0").op.type == "Placeholder"
        with pytest.raises(KeyError):
            sess.graph.get_tensor_by_name("xin:0")


def test_a_second_load_into_the_same_graph(linear_exports, caplog):
    """TF renames the nodes whose names the graph already has (``xin`` -> ``xin_1``); its
    signature_def keeps the stored names (the earlier nodes), estcore's names the nodes
    it built, and a WARNING says so."""
    path = linear_exports.raw
    want = sm.load(path).predict({"x": linear_exports.x}, signature="predict")
    with tf.Session(graph=tf.Graph()) as sess:
        first = tf.saved_model.loader.load(sess, [SERVING], path)
        n = len(sess.graph.get_operations())
        with caplog.at_level(logging.WARNING, logger="estcore"):
            second = tf.saved_model.loader.load(sess, [SERVING], path)
        assert len(sess.graph.get_operations()) == 2 * n
        assert "the graph already had" in caplog.text and "<name>_N" in caplog.text
        assert sess.graph.get_tensor_by_name("xin_1:0").op.type == "Placeholder"
        s1, s2 = first.signature_def["predict"], second.signature_def["predict"]
        assert s1.inputs["x"].name == "xin:0" and s2.inputs["x"].name == "xin_1:0"
        for sig in (s1, s2):
            got = sess.run(sig.outputs["probabilities"].name,
                           {sig.inputs["x"].name: linear_exports.x})
            np.testing.assert_array_equal(got, want["probabilities"])
        assert len(sess.get_variable_values()) == 2 * len(sm.load(path)._variables)


def test_a_user_placeholder_with_an_export_name(linear_exports):
    """TF: the export's ``xin`` becomes ``xin_1`` and the signature says ``xin:0``, the
    user's placeholder, so the TF program feeds the wrong tensor; estcore's says
    ``xin_1:0``."""
    with tf.Session(graph=tf.Graph()) as sess:
        mine = tf.placeholder(tf.float32, name="xin")
        assert sess.run(mine * 2.0, {mine: 1.5}) == 3.0     # a session that ran before
        meta = tf.saved_model.loader.load(sess, [SERVING], linear_exports.raw)
        sig = meta.signature_def["predict"]
        assert sig.inputs["x"].name == "xin_1:0"
        assert sess.graph.get_tensor_by_name(sig.inputs["x"].name) is not mine
        got = sess.run(sig.outputs["probabilities"].name,
                       {sig.inputs["x"].name: linear_exports.x})
    want = sm.load(linear_exports.raw).predict({"x": linear_exports.x}, signature="predict")
    np.testing.assert_array_equal(got, want["probabilities"])


@pytest.mark.parametrize(("tags", "shown"), [
    (["train"], "'train'"),
    (["serve", "gpu"], "'serve', 'gpu'"),
    ("serve", "serve"),              # a string is a set of letters, as in TF
])
def test_other_tags_raise_tfs_runtime_error(linear_exports, tags, shown):
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(RuntimeError) as info:
            tf.saved_model.loader.load(sess, tags, linear_exports.raw)
        assert sess.graph.get_operations() == []
    assert str(info.value).startswith(
        f"MetaGraphDef associated with tags {shown} could not be found in SavedModel, with "
        "available tags '[{'serve'}]'.")


def test_tags_come_from_saved_model_json(linear_exports, tmp_path):
    path = str(tmp_path / "export")
    shutil.copytree(linear_exports.raw, path)
    edit_json(path, lambda d: d.update(tags=["serve", "gpu"]))
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(RuntimeError, match="available tags"):
            tf.saved_model.loader.load(sess, [SERVING], path)
        meta = tf.saved_model.loader.load(sess, ["gpu", "serve"], path)
        assert sorted(meta.meta_info_def.tags) == ["gpu", "serve"]
    edit_json(path, lambda d: d.pop("tags"))          # no tags: an Estimator export's
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [SERVING], path)
        assert meta.meta_info_def.tags == ["serve"]
    edit_json(path, lambda d: d.update(tags="serve"))
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(ExportFormatError, match='"tags" must be a list of strings'):
            tf.saved_model.loader.load(sess, [SERVING], path)


def test_a_broken_export_leaves_the_graph_as_it_was(linear_exports, tmp_path):
    path = str(tmp_path / "export")
    shutil.copytree(linear_exports.raw, path)

    def break_last_node(data):
        data["graph"]["nodes"][-1]["type"] = "NoSuchOp"
    edit_json(path, break_last_node)
    with tf.Session(graph=tf.Graph()) as sess:
        tf.placeholder(tf.float32, name="mine")
        with pytest.raises(ExportFormatError, match="unknown op type 'NoSuchOp'"):
            tf.saved_model.loader.load(sess, [SERVING], path)
        assert [op.name for op in sess.graph.get_operations()] == ["mine"]
        assert sess.get_variable_values() == {}


def test_missing_files_raise_tfs_os_error(linear_exports, tmp_path):
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(OSError, match="SavedModel file does not exist at: "):
            tf.saved_model.loader.load(sess, [SERVING], str(tmp_path / "nothing"))
        base = os.path.dirname(linear_exports.raw)
        with pytest.raises(OSError, match="export base directory.*timestamped exports"):
            tf.saved_model.loader.load(sess, [SERVING], base)
        (tmp_path / "tf_export").mkdir()
        (tmp_path / "tf_export" / "saved_model.pb").write_bytes(b"\x00")
        with pytest.raises(OSError, match="TensorFlow SavedModel"):
            tf.saved_model.loader.load(sess, [SERVING], str(tmp_path / "tf_export"))


def test_maybe_saved_model_directory_and_the_v1_aliases(linear_exports, tmp_path):
    assert tf.saved_model.load is tf.saved_model.loader.load       # TF 1.15's v1 alias
    for fn in (tf.saved_model.loader.maybe_saved_model_directory,
               tf.saved_model.maybe_saved_model_directory, tf.saved_model.contains_saved_model):
        assert fn(linear_exports.raw) is True
        assert fn(os.fsencode(linear_exports.raw)) is True
        assert fn(os.path.dirname(linear_exports.raw)) is False
        assert fn(str(tmp_path / "nothing")) is False
    assert _plain_signature(tf.saved_model.loader.load) == (
        "(sess, tags, export_dir, import_scope=None, **saver_kwargs)")   # TF 1.15's
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.load(sess, [SERVING], os.fsencode(linear_exports.raw),
                                   clear_devices=True)          # TF's Saver kwargs: ignored
        assert "predict" in meta.signature_def


def test_a_finalized_graph_or_a_non_session_is_refused(linear_exports):
    graph = tf.Graph()
    graph.finalize()
    with tf.Session(graph=graph) as sess:
        with pytest.raises(RuntimeError, match="finalized"):
            tf.saved_model.loader.load(sess, [SERVING], linear_exports.raw)
    with pytest.raises(TypeError, match="`sess` must be a tf.Session"):
        session_loader.load(object(), [SERVING], linear_exports.raw)


def test_estcore_load_is_unchanged_by_the_shared_rebuild(linear_exports):
    pred = sm.load(linear_exports.parsing)
    assert pred.graph.get_tensor_by_name("input_example_tensor:0").op.type == "Placeholder"
    assert pred.graph.finalized
    out = pred({"examples": linear_exports.examples}, signature="predict")
    assert out["probabilities"].shape == (5, 3)


def test_import_scope_must_be_a_valid_scope_name(linear_exports):
    with tf.Session(graph=tf.Graph()) as sess:
        with pytest.raises(ValueError, match="valid scope name"):
            tf.saved_model.loader.load(sess, [SERVING], linear_exports.raw,
                                       import_scope="bad name!")
