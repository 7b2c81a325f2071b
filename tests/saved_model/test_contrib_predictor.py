"""TF1's tf.contrib.predictor: from_saved_model (estcore.saved_model.contrib_predictor) and
from_estimator (estcore.estimator.exporting), against estcore.saved_model.load's outputs
and TF 1.15's contrib/predictor rules (argument checks, key checks, messages)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import estcore.compat.v1 as tf
import estcore.saved_model as sm
from estcore import errors
from estcore.compat.v1._namespace import NotInCompat
from estcore.estimator import LinearClassifier
from estcore.saved_model.contrib_predictor import SavedModelPredictor, SessionPredictor


def _plain_signature(fn) -> str:
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def _assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for k in want:
        assert got[k].dtype == want[k].dtype
        np.testing.assert_array_equal(got[k], want[k])


def test_tf_1_15_signatures():
    assert _plain_signature(tf.contrib.predictor.from_saved_model) == (
        "(export_dir, signature_def_key=None, signature_def=None, input_names=None, "
        "output_names=None, tags=None, graph=None, config=None)")
    assert _plain_signature(tf.contrib.predictor.from_estimator) == (
        "(estimator, serving_input_receiver_fn, output_key=None, graph=None, config=None)")
    with pytest.raises(NotInCompat, match="tf.contrib.predictor.from_contrib_estimator"):
        tf.contrib.predictor.from_contrib_estimator  # noqa: B018 - the attribute access raises


def test_from_saved_model_runs_the_default_signature(linear_exports):
    predict_fn = tf.contrib.predictor.from_saved_model(linear_exports.parsing)
    assert isinstance(predict_fn, SavedModelPredictor)
    assert set(predict_fn.feed_tensors) == {"inputs"}
    assert predict_fn.feed_tensors["inputs"].name == "input_example_tensor:0"
    assert set(predict_fn.fetch_tensors) == {"scores", "classes"}
    assert predict_fn.feed_tensors["inputs"].graph is predict_fn.graph
    assert predict_fn.session.graph is predict_fn.graph
    got = predict_fn({"inputs": linear_exports.examples})
    want = sm.load(linear_exports.parsing)({"inputs": linear_exports.examples})
    _assert_same(got, want)
    assert repr(predict_fn).startswith("SavedModelPredictor with feed tensors {'inputs': ")


@pytest.mark.parametrize("kind", ["parsing", "raw"])
def test_from_saved_model_with_a_signature_key(linear_exports, kind):
    path = getattr(linear_exports, kind)
    key, value = ("examples", linear_exports.examples) if kind == "parsing" else \
        ("x", linear_exports.x)
    predict_fn = tf.contrib.predictor.from_saved_model(path, signature_def_key="predict")
    _assert_same(predict_fn({key: value}),
                 sm.load(path).predict({key: value}, signature="predict"))


def test_names_signature_def_and_tags(linear_exports):
    path = linear_exports.raw
    want = sm.load(path).predict({"x": linear_exports.x}, signature="predict")
    by_names = tf.contrib.predictor.from_saved_model(
        path, input_names={"rows": "xin:0"},
        output_names={"p": "linear/head/predictions/probabilities:0"})
    np.testing.assert_array_equal(by_names({"rows": linear_exports.x})["p"],
                                  want["probabilities"])
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], path)
    by_def = tf.contrib.predictor.from_saved_model(
        path, signature_def=meta.signature_def["predict"], tags="serve")
    _assert_same(by_def({"x": linear_exports.x}), want)
    by_list = tf.contrib.predictor.from_saved_model(path, "predict", tags=["serve"])
    _assert_same(by_list({"x": linear_exports.x}), want)
    with pytest.raises(RuntimeError, match="MetaGraphDef associated with tags 'train'"):
        tf.contrib.predictor.from_saved_model(path, tags="train")


def test_into_a_given_graph(linear_exports):
    graph = tf.Graph()
    with graph.as_default():
        tf.placeholder(tf.float32, name="xin")           # the export's name, taken
    predict_fn = tf.contrib.predictor.from_saved_model(linear_exports.raw, "predict",
                                                       graph=graph)
    assert predict_fn.graph is graph
    assert predict_fn.feed_tensors["x"].name == "xin_1:0"
    want = sm.load(linear_exports.raw).predict({"x": linear_exports.x}, signature="predict")
    _assert_same(predict_fn({"x": linear_exports.x}), want)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"signature_def_key": "predict", "input_names": {"x": "xin:0"},
      "output_names": {"y": "xin:0"}}, "at most one of signature_def_key"),
    ({"input_names": {"x": "xin:0"}}, "input_names and output_names must both"),
])
def test_conflicting_arguments_raise_tfs_value_error(linear_exports, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf.contrib.predictor.from_saved_model(linear_exports.raw, **kwargs)


def test_an_unknown_signature_key(linear_exports):
    with pytest.raises(ValueError) as info:
        tf.contrib.predictor.from_saved_model(linear_exports.raw, signature_def_key="nope")
    msg = str(info.value)
    assert msg.startswith('Got signature_def_key "nope". Available signatures are [')
    assert "'predict'" in msg and msg.endswith("Original error:\n'nope'")


def test_input_keys_are_checked_as_tf_checks_them(linear_exports):
    predict_fn = tf.contrib.predictor.from_saved_model(linear_exports.raw, "predict")
    with pytest.raises(ValueError, match=r"Got unexpected keys in input_dict: \{'y'\}"):
        predict_fn({"x": linear_exports.x, "y": 1})
    with pytest.raises(errors.InvalidArgumentError):    # a None value is not fed
        predict_fn({"x": None})


def test_from_estimator_matches_the_export(linear_exports):
    est = linear_exports.estimator
    raw = tf.contrib.predictor.from_estimator(est, linear_exports.raw_fn, output_key="predict")
    assert isinstance(raw, SessionPredictor) and type(raw).__name__ == "CoreEstimatorPredictor"
    assert raw.feed_tensors["x"].name == "xin:0"
    assert raw.graph.finalized                        # as TF's MonitoredSession leaves it
    _assert_same(raw({"x": linear_exports.x}),
                 sm.load(linear_exports.raw).predict({"x": linear_exports.x},
                                                     signature="predict"))
    parsing = tf.contrib.predictor.from_estimator(est, linear_exports.parsing_fn)
    assert set(parsing.feed_tensors) == {"inputs"}    # serving_default: classify
    _assert_same(parsing({"inputs": linear_exports.examples}),
                 sm.load(linear_exports.parsing)({"inputs": linear_exports.examples}))
    with pytest.raises(KeyError, match="output_key must be one of"):
        tf.contrib.predictor.from_estimator(est, linear_exports.raw_fn, output_key="nope")


def test_from_estimator_without_a_checkpoint_initializes(linear_exports, tmp_path):
    """No checkpoint: the variables are initialized, as ``predict`` (and TF's
    ChiefSessionCreator) does; a LinearClassifier starts at zero weights."""
    est = LinearClassifier([tf.feature_column.numeric_column("x", shape=[3])],
                           model_dir=str(tmp_path), n_classes=3)
    predict_fn = tf.contrib.predictor.from_estimator(est, linear_exports.raw_fn, "predict")
    probabilities = predict_fn({"x": linear_exports.x})["probabilities"]
    np.testing.assert_allclose(probabilities, np.full((5, 3), 1 / 3), rtol=1e-6)
