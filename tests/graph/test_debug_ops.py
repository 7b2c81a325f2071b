"""Assert, the assert_* family, check_numerics, Print and print: TF's messages and rules
(the expected texts are TF 2.15's compat.v1 output for the same calls)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import estcore as ec
from estcore.graph.ops import checks
from estcore.graph.ops.debug_ops import Assert, Print, check_numerics, print_v2, summarize

pytestmark = pytest.mark.smoke
BAD = np.array([-1.0, np.nan, 5.0], np.float32)


def _fails(op, feed, text):
    with ec.Session() as sess, pytest.raises(ec.errors.InvalidArgumentError) as info:
        sess.run(op, feed)
    assert text in str(info.value), str(info.value)


def test_assert_message_has_tf_form():
    x = ec.placeholder(ec.float32, [None])
    a = Assert(ec.reduce_all(x > 0), ["x must be positive", x, 3])
    _fails(a, {x: BAD}, "assertion failed: [x must be positive] [-1 nan 5] [3]")
    with ec.Session() as sess:
        assert sess.run(a, {x: [1.0, 2.0]}) is None


def test_assert_equal_greater_less_non_negative_messages():
    x = ec.placeholder(ec.float32, [None], name="Placeholder")
    _fails(checks.assert_equal(x, ec.constant([1.0, 2.0, 3.0], name="Const_1"),
                               message="eqmsg"), {x: BAD},
           "assertion failed: [eqmsg] [Condition x == y did not hold element-wise:] "
           "[x (Placeholder:0) = ] [-1 nan 5] [y (Const_1:0) = ] [1 2 3]")
    _fails(checks.assert_greater(x, 0.0), {x: BAD},
           "[Condition x > y did not hold element-wise:] [x (Placeholder:0) = ] [-1 nan 5]")
    _fails(checks.assert_less(x, 1.0, data=[x], summarize=1), {x: BAD},
           "assertion failed: [-1...]")
    _fails(checks.assert_non_negative(x), {x: BAD},
           "assertion failed: [] [Condition x >= 0 did not hold element-wise:] "
           "[x (Placeholder:0) = ] [-1 nan 5]")
    with ec.Session() as sess:
        sess.run(checks.assert_equal(x, x), {x: [1.0]})


def test_constant_checks_are_decided_while_building():
    with pytest.raises(ec.errors.InvalidArgumentError,
                       match=r"Condition x == y did not hold element-wise:\nx \(Const(_\d+)?:0\) "
                             r"= \n\[1\]\ny \(Const_\d+:0\) = \n\[2\]"):
        checks.assert_equal(ec.constant([1]), ec.constant([2]))
    assert checks.assert_less(ec.constant([1]), ec.constant([2])).type == "NoOp"
    with pytest.raises(ValueError, match=r"Tensor Const_\d*:0 must have rank 1.  Received rank "
                                         r"2, shape \(1, 1\)"):
        checks.assert_rank(ec.constant([[1]]), 1)
    assert checks.assert_rank(ec.constant([1]), 1).type == "NoOp"
    with pytest.raises(TypeError, match="must be of type int32"):
        checks.assert_type(ec.constant(1.0), ec.int32)


def test_assert_rank_of_unknown_rank_checks_at_run_time():
    x = ec.placeholder(ec.float32, None)
    a = checks.assert_rank(x, 2)
    with ec.Session() as sess:
        sess.run(a, {x: np.zeros((2, 2))})
    _fails(a, {x: np.zeros(3)}, "must have rank")


def test_control_dependencies_on_an_assert_guard_the_value():
    x = ec.placeholder(ec.float32, [None])
    with ec.control_dependencies([checks.assert_positive(x)]):
        y = ec.identity(x) * 2.0
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
    _fails(y, {x: [1.0, -2.0]}, "Condition x > 0 did not hold element-wise")


@pytest.mark.parametrize("value,what", [([1.0, np.nan], "NaN"), ([np.inf, 1.0], "Inf"),
                                        ([np.inf, np.nan], "Inf and NaN")])
def test_check_numerics_messages(value, what):
    x = ec.placeholder(ec.float32, [2])
    _fails(check_numerics(x, "numerics msg"), {x: value},
           f"numerics msg : Tensor had {what} values")


def test_check_numerics_passes_finite_values_and_its_gradient_is_checked():
    x = ec.placeholder(ec.float64, [2])
    y = check_numerics(x, "m")
    (g,) = ec.gradients(ec.reduce_sum(y * ec.constant([1.0, np.inf], ec.float64)), [x])
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [1.0, 2.0])
    _fails(g, {x: [1.0, 2.0]}, "detected in gradient")
    with pytest.raises(TypeError, match="floating-point"):
        check_numerics(ec.constant([1]), "m")


def test_print_writes_message_and_data_to_stderr_first_n_times(capsys):
    x = ec.placeholder(ec.float32, [None])
    p = Print(x, [x, ec.shape(x)], message="hello: ", first_n=2, summarize=2)
    with ec.Session() as sess:
        for _ in range(3):
            np.testing.assert_allclose(sess.run(p, {x: [1.0, 2.0, 3.0]}), [1.0, 2.0, 3.0])
    assert capsys.readouterr().err == "hello: [1 2...][3]\n" * 2


def test_print_gradient_passes_through():
    x = ec.placeholder(ec.float64, [3])
    (g,) = ec.gradients(ec.reduce_sum(Print(x, [x], first_n=0) * 3.0), [x])
    with ec.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: [1, 2, 3]}), [3, 3, 3])


def test_tf_print_streams(capsys, tmp_path):
    x = ec.constant([[1, 2, 3], [4, 5, 6]])
    path = tmp_path / "out.txt"
    lines = []
    with ec.Session() as sess:
        sess.run(print_v2("x:", x, "done", output_stream=sys.stderr))
        sess.run(print_v2(ec.constant(2.5), output_stream=sys.stdout, end="!\n"))
        sess.run(print_v2("to file", x[0], output_stream=f"file://{path}", sep="|"))
        sess.run(print_v2(ec.range(10), output_stream=lines.append, summarize=2))
    out = capsys.readouterr()
    assert out.err == "x: [[1 2 3]\n [4 5 6]] done\n"
    assert out.out == "2.5!\n"
    assert path.read_text() == "to file|[1 2 3]\n"
    assert lines == ["[0 1 ... 8 9]"]
    with pytest.raises(ValueError, match="output_stream"):
        print_v2("x", output_stream="stdout")


def test_summarize_nested_and_truncated():
    # TF: assertion failed: [[0 1 2][3...]...] [1 0]  (each item inside [...])
    assert summarize(np.arange(6).reshape(2, 3), 4) == "[0 1 2][3...]..."
    assert summarize(np.array([True, False])) == "1 0"
    assert summarize(np.array(b"abc", dtype=object)) == "abc"
    assert summarize(np.arange(5), -1) == "0 1 2 3 4"
    assert summarize(np.arange(5), 2) == "0 1..."
