import functools

import numpy as np
import pytest

from estcore.estimator._eval_util import (
    check_reserved_metric_names,
    dict_to_str,
    extract_batch_length,
    extract_keys,
    write_checkpoint_path_to_summary,
    write_dict_to_summary,
)
from estcore.estimator._fn_utils import call_with_optional_args, fn_args, verify_model_fn_args
from estcore.estimator._input_handling import (
    Leaf,
    derive_input_seed,
    flatten_structure,
    make_input_source,
)
from estcore.summary import FileWriterCache, iter_events, read_scalars

pytestmark = pytest.mark.smoke


def test_fn_args_forms():
    def f(features, labels, mode, params=None, *, config=None, **kw):
        pass

    class C:
        def method(self, features, labels):
            pass

        def __call__(self, features, mode):
            pass

    assert fn_args(f) == ("features", "labels", "mode", "params")
    assert fn_args(C().method) == ("features", "labels")
    assert fn_args(C()) == ("features", "mode")
    assert fn_args(functools.partial(f, 1, mode=2)) == ("labels", "params")
    assert fn_args(lambda features: 0) == ("features",)


def test_verify_model_fn_args(estcore_log):
    def good(features, labels, mode, params, config):
        pass

    verify_model_fn_args(good, {"a": 1})
    verify_model_fn_args(good, None)
    assert any("includes params argument, but params are not passed" in m for m in estcore_log())

    def no_features(x, labels):
        pass

    with pytest.raises(ValueError, match=r"^model_fn \(.*\) must include features argument.$"):
        verify_model_fn_args(no_features, None)

    def no_params(features, labels):
        pass

    with pytest.raises(ValueError, match=r"does not include params argument, but params "
                                         r"\(\{'a': 1\}\) is passed to Estimator."):
        verify_model_fn_args(no_params, {"a": 1})

    def extra(features, labels, foo, bar):
        pass

    with pytest.raises(ValueError, match=r"has following not expected args: \['bar', 'foo'\]$"):
        verify_model_fn_args(extra, None)


def test_call_with_optional_args():
    assert call_with_optional_args(lambda: 1, mode="train", params={}) == 1
    assert call_with_optional_args(lambda mode, config: (mode, config), mode="m", config="c",
                                   params=1) == ("m", "c")


class Spec:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


class Stream:
    def __init__(self, batches):
        self.element_spec = ({"x": Spec((None, 4), np.float32)}, Spec((None,), np.int32))
        self._batches = batches
        self.closed = False

    def __iter__(self):
        return iter(self._batches)

    def close(self):
        self.closed = True


def test_input_source_from_stream():
    batch = ({"x": np.zeros((2, 4), np.float32)}, np.zeros(2, np.int32))
    stream = Stream([batch])
    src = make_input_source(stream)
    assert src.features_spec == {"x": Leaf(np.dtype(np.float32), (4,))}
    assert src.labels_spec == Leaf(np.dtype(np.int32), ())
    assert src.next_batch()[1].shape == (2,)
    with pytest.raises(StopIteration):
        src.next_batch()
    src.close()
    assert stream.closed


def test_input_source_forms():
    x = np.ones((3, 2), np.float64)
    y = np.arange(3)
    single = make_input_source((x, y))
    assert single.repeats_forever
    assert single.features_spec == Leaf(np.dtype(np.float64), (2,))
    for _ in range(3):
        f, labels = single.next_batch()
        assert f is not None and labels.shape == (3,)
    features_only = make_input_source({"a": x})
    assert features_only.labels_spec is None
    listed = make_input_source([(x, y), (x[:1], y[:1])])
    assert not listed.repeats_forever
    assert [b[0].shape[0] for b in (listed.next_batch(), listed.next_batch())] == [3, 1]
    gen = make_input_source(({"a": x}, None) for _ in range(2))
    assert gen.labels_spec is None and gen.features_spec == {"a": Leaf(np.dtype("f8"), (2,))}
    empty = make_input_source(iter([]))
    with pytest.raises(StopIteration):
        empty.next_batch()
    with pytest.raises(ValueError, match="^input_fn should return \\(features, labels\\) as a "
                                         "len 2 tuple.$"):
        make_input_source((x, y, y))
    with pytest.raises(TypeError, match="input_fn must return an input stream"):
        make_input_source(3)
    with pytest.raises(ValueError, match="batch dimension"):
        make_input_source([(np.float32(1), None)])
    with pytest.raises(ValueError, match=r"got a scalar at features\['x'\]\[0\]\[0\] \(1\.0\)"
                                         r"\. A Python list .* np\.asarray"):
        make_input_source([({"x": [[1.0, 2.0]]}, None)])
    single = make_input_source(({"x": np.ones((1, 2))}, np.zeros(1)))
    assert single.features_spec == {"x": Leaf(np.dtype("f8"), (2,))}


def test_flatten_structure():
    assert flatten_structure({"b": 1, "a": {"c": 2}}) == [("a/c", 2), ("b", 1)]
    assert flatten_structure((1, None)) == [("0", 1)]
    assert flatten_structure(None) == []


def test_derive_input_seed():
    assert derive_input_seed(None, 5) is None
    a, b, c = derive_input_seed(1, 0), derive_input_seed(1, 20), derive_input_seed(2, 0)
    assert len({a, b, c}) == 3 and a == derive_input_seed(1, 0)
    assert all(0 <= s < 2**31 for s in (a, b, c))


def test_dict_to_str_like_tf():
    d = {"loss": np.float32(0.77008444), "accuracy": np.float32(0.794),
         "global_step": np.int64(23), "mean_per_class_accuracy": np.float32(0.5688142),
         "blob": b"xx"}
    assert dict_to_str(d) == ("accuracy = 0.794, global_step = 23, loss = 0.77008444, "
                              "mean_per_class_accuracy = 0.5688142")


def test_eval_summaries(tmp_path, estcore_log):
    d = str(tmp_path / "eval")
    from estcore.summary import scalar_value
    from estcore.summary.summary_pb import encode_summary

    blob = encode_summary([scalar_value("a", 1.0), scalar_value("b", 2.0)])
    write_dict_to_summary(d, {"loss": np.float32(0.5), "n": np.int64(3), "global_step": 7,
                              "arr": np.arange(3), "none": None, "obj": object(),
                              "blob": blob, "bad": b"\xff\xff"}, 7)
    write_checkpoint_path_to_summary(d, "/m/model.ckpt-7", 7)
    FileWriterCache.clear()
    assert read_scalars(d) == {7: {"loss": 0.5, "n": 3.0, "blob/0": 1.0, "blob/1": 2.0}}
    files = list((tmp_path / "eval").iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")
    tags = [v.tag for e in iter_events(str(files[0])) if e.summary for v in e.summary]
    assert tags == ["loss", "n", "arr", "blob/0", "blob/1", "checkpoint_path"]
    msgs = estcore_log()
    assert "Saving dict for global step 7: arr = [0 1 2], global_step = 7, loss = 0.5, n = 3, " \
           "none = None, obj = " in msgs[0]
    assert "Saving 'checkpoint_path' summary for global step 7: /m/model.ckpt-7" in msgs
    assert any(m.startswith("Skipping summary for obj") for m in msgs)
    assert "Skipping summary for bad, cannot parse string to Summary." in msgs


def test_extract_keys_and_batch_length():
    preds = {"a": np.zeros((4, 2)), "b": np.zeros(4)}
    assert extract_keys(preds, None) is preds
    assert set(extract_keys(preds, ["a", "zzz"])) == {"a"}
    with pytest.raises(ValueError, match="^predict_keys argument is not valid in case of "
                                         "non-dict predictions.$"):
        extract_keys(np.zeros(3), ["a"])
    with pytest.raises(ValueError, match="^Expected to run at least one output from "):
        extract_keys(preds, ["zzz"])
    assert extract_batch_length(preds) == 4
    with pytest.raises(ValueError, match="^Batch length of predictions should be same. b has "
                                         "different batch length than others.$"):
        extract_batch_length({"a": np.zeros(4), "b": np.zeros(3)})


def test_reserved_metric_names():
    check_reserved_metric_names({"accuracy": 1})
    with pytest.raises(ValueError, match='^Metric with name "loss" is not allowed'):
        check_reserved_metric_names({"loss": 1})
    with pytest.raises(ValueError, match="^Metric with name `global_step` is not allowed"):
        check_reserved_metric_names({"global_step": 1})
