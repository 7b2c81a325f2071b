import numpy as np
import pytest

import estcore
from estcore.summary import histogram as histogram_op
from estcore.summary import merge, merge_all
from estcore.summary import scalar as scalar_op
from estcore.summary import text as text_op
from estcore.summary.ops import SummaryOp, fetches_of, summary_values


def test_ops_register_in_summaries_collection():
    g = estcore.Graph()
    with g.as_default():
        assert merge_all() is None
        x = estcore.placeholder(estcore.float32, [None])
        s = scalar_op("mean", estcore.reduce_mean(x), family="stats")
        h = histogram_op("values", x)
        t = text_op("note", estcore.constant("hello"))
        other = scalar_op("private", estcore.reduce_sum(x), collections=["mine"])
        assert merge_all() == [s, h, t]
        assert merge_all("mine") == [other]
        assert s.tag == "stats/stats/mean" and s.kind == "scalar"  # TF1's family tag
        assert merge([s, [h, t]]) == [s, h, t]
        with pytest.raises(TypeError, match="merge\\(\\) takes summary ops"):
            merge([1])
        with pytest.raises(ValueError, match="`name` must be a non-empty string"):
            scalar_op("", x)
        with estcore.Session() as sess:
            values = sess.run(fetches_of([s, h, t]), {x: np.array([1.0, 3.0], np.float32)})
    out = summary_values([s, h, t], values)
    assert out[0].tag == "stats/stats/mean" and out[0].simple_value == 2.0
    assert out[1].histo.num == 2 and out[1].histo.sum == 4.0
    assert out[2].tensor.item() == b"hello" and out[2].plugin_name == "text"


def test_summary_values_errors():
    with pytest.raises(ValueError, match="Scalar summary 'a' got a value of shape"):
        summary_values([SummaryOp("scalar", "a", None)], [np.zeros(3)])
    with pytest.raises(ValueError, match="Unknown summary kind"):
        summary_values([SummaryOp("video", "a", None)], [np.zeros(3)])


def test_text_summary_of_string_array_keeps_every_string_undecorated():
    g = estcore.Graph()
    with g.as_default():
        t = text_op("notes", estcore.constant(np.array([b"a", b"bc"], dtype=object)))
        with estcore.Session() as sess:
            values = sess.run(fetches_of([t]))
    (out,) = summary_values([t], values)
    assert out.plugin_name == "text"
    assert out.tensor.tolist() == [b"a", b"bc"]
    (mixed,) = summary_values([t], [np.array(["x", b"y"], dtype=object)])
    assert mixed.tensor.tolist() == [b"x", b"y"]
    with pytest.raises(TypeError, match="A text summary needs a string tensor.*'notes'"):
        summary_values([t], [np.zeros(2, np.float32)])


def test_tags_follow_the_name_scope_and_are_unique_as_in_tf1():
    g = estcore.Graph()
    with g.as_default():
        x = estcore.constant(1.0)
        first = scalar_op("loss", x)
        second = scalar_op("loss", x)
        with estcore.name_scope("train"):
            scoped = scalar_op("loss", x)
            odd = histogram_op("acc@1 top", x)
    assert [first.tag, second.tag, scoped.tag] == ["loss", "loss_1", "train/loss"]
    assert odd.tag == "train/acc_1_top"
