"""EstimatorSpec and the export outputs: TF's validation rules and messages, on real
tensors of a graph (the conftest's fresh default graph; ``Graph()`` for a foreign one)."""

import pytest

import estcore
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec, Scaffold
from estcore.export.export_output import ClassificationOutput, PredictOutput, RegressionOutput
from estcore.hooks.session_run_hook import SessionRunHook

pytestmark = pytest.mark.smoke


def T(name="t:0", shape=(), dtype="float32", graph=None):
    """A placeholder ``name`` of ``shape`` (None: unknown rank) in ``graph`` (default:
    the default graph)."""
    graph = graph or estcore.get_default_graph()
    with graph.as_default():
        return estcore.placeholder(estcore.as_dtype(dtype),
                                   None if shape is None else list(shape),
                                   name=name.split(":")[0])


def Op(name="train", graph=None):
    """A NoOp ``name`` in ``graph`` (default: the default graph)."""
    graph = graph or estcore.get_default_graph()
    with graph.as_default():
        return estcore.no_op(name=name)


def test_mode_keys():
    assert (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT) == ("train", "eval", "infer")


def test_train_spec_ok_and_defaults():
    loss, op = T("loss:0"), Op()
    spec = EstimatorSpec(ModeKeys.TRAIN, loss=loss, train_op=op)
    assert spec.loss is loss and spec.train_op is op
    assert spec.predictions == {} and spec.eval_metric_ops == {}
    assert spec.export_outputs is None
    assert spec.training_hooks == () and isinstance(spec.scaffold, Scaffold)


@pytest.mark.parametrize("mode, kwargs, exc, message", [
    (ModeKeys.TRAIN, lambda: dict(loss=T()), ValueError, "Missing train_op."),
    (ModeKeys.TRAIN, lambda: dict(train_op=Op()), ValueError, "Missing loss."),
    (ModeKeys.EVAL, lambda: dict(), ValueError, "Missing loss."),
    (ModeKeys.PREDICT, lambda: dict(), ValueError, "Missing predictions."),
    (ModeKeys.TRAIN, lambda: dict(loss=T(), train_op=3), TypeError,
     "train_op must be Operation or Tensor, given: 3"),
    (ModeKeys.EVAL, lambda: dict(loss=1.0), TypeError, "loss must be Tensor, given: 1.0"),
    (ModeKeys.EVAL, lambda: dict(loss=T("l:0", (2, 3))), ValueError,
     "Loss must be scalar, given: <estcore.Tensor 'l:0' shape=(2, 3) dtype=float32>"),
    (ModeKeys.PREDICT, lambda: dict(predictions={"a": 1}), TypeError,
     "predictions[a] must be Tensor, given: 1"),
    (ModeKeys.PREDICT, lambda: dict(predictions=[1]), TypeError,
     "predictions must be Tensor, given: [1]"),
    (ModeKeys.EVAL, lambda: dict(loss=T(), eval_metric_ops=[1]), TypeError,
     "eval_metric_ops must be a dict, given: [1]"),
    (ModeKeys.EVAL, lambda: dict(loss=T(), eval_metric_ops={"m": T("m:0")}), TypeError,
     "Values of eval_metric_ops must be (metric_value, update_op) tuples, given: "
     "<estcore.Tensor 'm:0' shape=() dtype=float32> for key: m"),
    (ModeKeys.TRAIN, lambda: dict(loss=T(), train_op=Op(), training_hooks=[1]),
     TypeError, "All hooks must be SessionRunHook instances, given: 1"),
    (ModeKeys.EVAL, lambda: dict(loss=T(), evaluation_hooks=["h"]), TypeError,
     "All hooks must be SessionRunHook instances, given: h"),
    (ModeKeys.PREDICT, lambda: dict(predictions=T(), prediction_hooks=[None]), TypeError,
     "All hooks must be SessionRunHook instances, given: None"),
    (ModeKeys.TRAIN, lambda: dict(loss=T(), train_op=Op(), training_chief_hooks=[2]),
     TypeError, "All hooks must be SessionRunHook instances, given: 2"),
    (ModeKeys.EVAL, lambda: dict(loss=T(), scaffold="s"), TypeError,
     "scaffold must be tf.train.Scaffold. Given: s"),
    (ModeKeys.PREDICT, lambda: dict(predictions=T(), export_outputs=[1]), TypeError,
     "export_outputs must be dict, given: [1]"),
    (ModeKeys.PREDICT, lambda: dict(predictions=T(), export_outputs={"a": 1}), TypeError,
     "Values in export_outputs must be ExportOutput objects. Given: {'a': 1}"),
])
def test_validation_errors(mode, kwargs, exc, message):
    kwargs = kwargs()
    with pytest.raises(exc) as info:
        EstimatorSpec(mode, **kwargs)
    assert str(info.value) == message


def test_multiple_export_outputs_need_default():
    p = T("p:0")
    with pytest.raises(ValueError, match="^Multiple export_outputs were provided, but none of "
                                         "them is specified as the default."):
        EstimatorSpec(ModeKeys.PREDICT, predictions=p,
                      export_outputs={"a": PredictOutput(p), "b": PredictOutput(p)})
    spec = EstimatorSpec(ModeKeys.PREDICT, predictions=p, export_outputs={"a": PredictOutput(p)})
    assert set(spec.export_outputs) == {"a", "serving_default"}


def test_default_export_output_in_predict():
    p = T("p:0")
    spec = EstimatorSpec(ModeKeys.PREDICT, predictions=p)
    out = spec.export_outputs["serving_default"]
    assert isinstance(out, PredictOutput) and out.outputs == {"output": p}
    spec = EstimatorSpec(ModeKeys.PREDICT, predictions={"probs": p})
    assert spec.export_outputs["serving_default"].outputs == {"probs": p}


def test_loss_shape_rules():
    spec = EstimatorSpec(ModeKeys.EVAL, loss=T("l:0", [1]))
    assert spec.loss.shape.as_list() == []
    # [None] (TF: accepted, then a Reshape error at run time): see test_spec_loss.py
    spec = EstimatorSpec(ModeKeys.EVAL, loss=T("l:0", None))  # unknown rank is accepted
    assert spec.loss.shape.rank is None
    spec = EstimatorSpec(ModeKeys.EVAL, loss=T("l:0", [1, 1]))
    assert spec.loss.shape.as_list() == []


def test_graph_membership():
    other = estcore.Graph()
    with pytest.raises(ValueError) as info:
        EstimatorSpec(ModeKeys.EVAL, loss=T("loss:0", graph=other))
    assert str(info.value).startswith('loss with "loss:0" must be from the default graph. '
                                      "Possible causes of this error include:")
    with pytest.raises(ValueError, match='^train_op with "t" must be from the default graph'):
        EstimatorSpec(ModeKeys.TRAIN, loss=T(), train_op=Op("t", graph=other))
    with pytest.raises(ValueError, match='^prediction values with "p:0" must be from'):
        EstimatorSpec(ModeKeys.PREDICT, predictions={"x": T("p:0", graph=other)})
    with pytest.raises(ValueError, match='^eval_metric_ops with "m:0" must be from'):
        EstimatorSpec(ModeKeys.EVAL, loss=T(),
                      eval_metric_ops={"m": (T("m:0", graph=other), Op())})


def test_train_op_ignored_outside_train_but_checked():
    spec = EstimatorSpec(ModeKeys.EVAL, loss=T())
    assert spec.train_op is None


def test_replace():
    spec = EstimatorSpec(ModeKeys.EVAL, loss=T())
    with pytest.raises(ValueError, match="^mode of EstimatorSpec cannot be changed.$"):
        spec._replace(mode=ModeKeys.TRAIN)
    assert spec._replace(mode=ModeKeys.EVAL).mode == ModeKeys.EVAL
    new = spec._replace(eval_metric_ops={"m": (T(), Op())})
    assert set(new.eval_metric_ops) == {"m"}
    with pytest.raises(TypeError, match="eval_metric_ops must be a dict"):
        spec._replace(eval_metric_ops=3)


def test_hooks_stored_as_tuples():
    h = SessionRunHook()
    spec = EstimatorSpec(ModeKeys.TRAIN, loss=T(), train_op=Op(),
                         training_hooks=[h], training_chief_hooks=(h,))
    assert spec.training_hooks == (h,) and spec.training_chief_hooks == (h,)


def test_export_output_validation():
    with pytest.raises(ValueError, match="^Prediction output value must be a Tensor; got 3.$"):
        PredictOutput({"a": 3})
    with pytest.raises(ValueError, match="^Prediction output key must be a string; got 1.$"):
        PredictOutput({1: T()})
    assert set(PredictOutput({("a", "b"): T()}).outputs) == {"a/b"}
    with pytest.raises(ValueError, match="^Classification scores must be a float32 Tensor"):
        ClassificationOutput(scores=T(dtype="int32"))
    with pytest.raises(ValueError, match="^Classification classes must be a string Tensor"):
        ClassificationOutput(classes=T(dtype="int32"))
    with pytest.raises(ValueError, match="^Cannot create a ClassificationOutput with empty"):
        ClassificationOutput()
    c = ClassificationOutput(scores=T("s:0"), classes=T("c:0", dtype="string"))
    assert set(c.outputs) == {"scores", "classes"}
    with pytest.raises(ValueError, match="^Regression output value must be a float32 Tensor"):
        RegressionOutput(T(dtype="int64"))
    assert set(RegressionOutput(T()).outputs) == {"outputs"}


def test_scaffold_copy():
    def init_fn(scaffold, sess):
        return None

    base = Scaffold(init_fn=init_fn, saver="s")
    copy = Scaffold(copy_from_scaffold=base, summary_op="x")
    assert copy.init_fn is init_fn and copy.saver == "s" and copy.summary_op == "x"
    with pytest.raises(TypeError, match="copy_from_scaffold"):
        Scaffold(copy_from_scaffold=1)
    with pytest.raises(TypeError, match="init_fn"):
        Scaffold(init_fn=3)
