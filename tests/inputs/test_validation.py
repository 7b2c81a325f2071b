"""numpy_input_fn validates eagerly, with TF's messages where TF defines them (spec 1.2)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from estcore.errors import InvalidArgumentError
from estcore.inputs import numpy_input_fn, seed_scope

pytestmark = pytest.mark.smoke

X = np.arange(10.0)

SHUFFLE_MSG = ("shuffle must be provided and explicitly set as boolean "
               "(it is recommended to set it as True for training); got {}")


@pytest.mark.parametrize("shuffle", [None, 0, 1, np.bool_(True), "True"])
def test_shuffle_must_be_bool(shuffle):
    with pytest.raises(ValueError) as info:
        numpy_input_fn(X, shuffle=shuffle)
    assert str(info.value) == SHUFFLE_MSG.format(shuffle)


def test_shuffle_checked_first():
    with pytest.raises(ValueError, match="shuffle must be provided"):
        numpy_input_fn([1, 2], shuffle=None)


@pytest.mark.parametrize(("x", "name"), [([1, 2], "list"), ((1,), "tuple"), (3, "int"),
                                         (None, "NoneType")])
def test_x_type(x, name):
    with pytest.raises(TypeError) as info:
        numpy_input_fn(x, shuffle=False)
    assert str(info.value) == f"x must be a dict or array; got {name}"


def test_empty_x():
    with pytest.raises(ValueError) as info:
        numpy_input_fn({}, shuffle=False)
    assert str(info.value) == "x cannot be an empty dict"
    for empty in (np.array([]), np.zeros((5, 0))):
        with pytest.raises(ValueError) as info:
            numpy_input_fn(empty, shuffle=False)
        assert str(info.value) == "x cannot be an empty array"


def test_empty_y_dict():
    with pytest.raises(ValueError) as info:
        numpy_input_fn(X, {}, shuffle=False)
    assert str(info.value) == "y cannot be empty dict, use None instead."


def test_duplicate_keys():
    x = {"a": X, "b": X, "c": X}
    with pytest.raises(ValueError) as info:
        numpy_input_fn(x, {"a": X, "b": X}, shuffle=False)
    msg = str(info.value)
    assert msg.startswith("2 duplicate keys are found in both x and y: {")
    assert eval(msg.split(": ", 1)[1]) == {"a", "b"}  # a set literal, any order


def test_length_mismatch_array_x():
    with pytest.raises(ValueError) as info:
        numpy_input_fn(np.zeros((10, 2)), np.zeros(9), shuffle=False)
    assert str(info.value) == (
        "Length of tensors in x and y is mismatched. All elements in x and y must have the "
        "same length.\nShapes in x: {'__direct_np_input__': (10, 2)}\nShapes in y: (9,)\n")


def test_length_mismatch_dicts():
    with pytest.raises(ValueError) as info:
        numpy_input_fn({"b": np.zeros(3), "a": np.zeros(4)}, {"y": np.zeros(3)}, shuffle=False)
    assert str(info.value).endswith(
        "Shapes in x: {'a': (4,), 'b': (3,)}\nShapes in y: {'y': (3,)}\n")
    with pytest.raises(ValueError, match=re.escape("Shapes in y: None")):
        numpy_input_fn({"b": np.zeros(3), "a": np.zeros(4)}, shuffle=False)


@pytest.mark.parametrize(("kwargs", "cls", "msg"), [
    ({"batch_size": 0}, InvalidArgumentError,
     "`batch_size` must be a positive int. Received: batch_size=0 (int)"),
    ({"batch_size": 2.0}, TypeError, "`batch_size` must be a positive int"),
    ({"batch_size": True}, TypeError, "`batch_size` must be a positive int"),
    ({"num_epochs": 0}, InvalidArgumentError,
     "`num_epochs` must be a positive int or None. Received: num_epochs=0 (int)"),
    ({"num_epochs": -1}, InvalidArgumentError, "`num_epochs` must be a positive int or None"),
    ({"num_threads": 0}, InvalidArgumentError, "`num_threads` must be a positive int"),
    ({"num_threads": 10 ** 6}, InvalidArgumentError, "`num_threads` must be at most"),
    ({"queue_capacity": 0}, InvalidArgumentError, "`queue_capacity` must be a positive int"),
    ({"seed": 1.5}, TypeError, "`seed` must be an int. Received: seed=1.5 (float)"),
    ({"seed": "1"}, TypeError, "`seed` must be an int"),
    ({"num_epochs": 2 ** 62}, InvalidArgumentError, "`num_epochs` must be small enough"),
])
def test_scalar_arguments(kwargs, cls, msg):
    with pytest.raises(cls) as info:
        numpy_input_fn(X, shuffle=True, **kwargs)
    assert str(info.value).startswith(msg)


def test_dict_value_not_array():
    with pytest.raises(TypeError, match=re.escape(
            "`x['a']` must be a numpy array. Received: x['a']=[1, 2] (list)")):
        numpy_input_fn({"a": [1, 2]}, shuffle=False)
    with pytest.raises(TypeError, match=re.escape("`y['t']` must be a numpy array")):
        numpy_input_fn({"a": X}, {"t": 3}, shuffle=False)


def test_y_wrong_type():
    with pytest.raises(TypeError, match=re.escape(
            "`y` must be None, a dict of numpy arrays or a numpy array. Received: y=[1]")):
        numpy_input_fn(X, [1], shuffle=False)


def test_non_str_keys():
    with pytest.raises(TypeError, match="`x keys` must be str"):
        numpy_input_fn({1: X}, shuffle=False)


def test_zero_length_arrays_in_dict():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "`x['a']` must be an array with at least one row")):
        numpy_input_fn({"a": np.zeros(0), "b": np.zeros((0, 3))}, shuffle=False)


def test_zero_dim_array():
    with pytest.raises(InvalidArgumentError, match="at least one dimension"):
        numpy_input_fn({"a": np.array(3.0)}, shuffle=False)


@pytest.mark.parametrize("bad", [np.array([object(), None]), np.array([b"a", 1], dtype=object),
                                 np.zeros(2, dtype=[("a", "O")])], ids=["object", "mixed", "rec"])
def test_object_dtypes_unsupported(bad):
    with pytest.raises(InvalidArgumentError, match="unsupported dtype"):
        numpy_input_fn({"a": bad}, shuffle=False)
    with pytest.raises(InvalidArgumentError, match="unsupported dtype"):
        numpy_input_fn(np.zeros(2), bad, shuffle=False)


def test_seed_scope_validates():
    with pytest.raises(TypeError, match="`seed` must be an int"):
        with seed_scope(1.0):
            pass


def test_state_validated():
    fn = numpy_input_fn(X, batch_size=2, shuffle=True, seed=1)
    stream = fn()
    next(stream)
    good = stream.get_state()
    stream.close()
    with pytest.raises(TypeError, match="`state` must be a dict"):
        fn(state=[1])
    with pytest.raises(InvalidArgumentError, match=r"state\['version'\]"):
        fn(state={**good, "version": 2})
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        numpy_input_fn(X, batch_size=3, shuffle=True, state=good)
    with pytest.raises(InvalidArgumentError, match="num_rows"):
        numpy_input_fn(np.arange(11.0), batch_size=2, shuffle=True, state=good)
    with pytest.raises(InvalidArgumentError, match="columns"):
        numpy_input_fn(np.arange(10), batch_size=2, shuffle=True, state=good)
    with pytest.raises(InvalidArgumentError, match="seed=1 but numpy_input_fn was given seed=2"):
        numpy_input_fn(X, batch_size=2, shuffle=True, seed=2, state=good)
    with pytest.raises(InvalidArgumentError, match="inconsistent"):
        fn(state={**good, "epoch": 5})
    with pytest.raises(InvalidArgumentError, match="batches_consumed"):
        fn(state={**good, "batches_consumed": -1})
    with pytest.raises(InvalidArgumentError, match="past the end"):
        fn(state={**good, "batches_consumed": 6, "epoch": 1, "position": 2})
    endless = numpy_input_fn(X, batch_size=2, num_epochs=None, shuffle=True, seed=1)
    with pytest.raises(InvalidArgumentError, match="below 2"):
        endless(state={**good, "num_epochs": None, "batches_consumed": 2 ** 63,
                       "epoch": 2 ** 64 // 10, "position": 2 ** 64 % 10})
    with pytest.raises(InvalidArgumentError, match="no 'shuffle' entry"):
        fn(state={k: v for k, v in good.items() if k != "shuffle"})


@pytest.mark.parametrize("kw", [{"batch_size": 2**64}, {"batch_size": 2**40},
                                {"queue_capacity": 2**70}])
def test_huge_sizes_are_refused_by_name(kw):
    (name, value), = kw.items()
    with pytest.raises(ValueError, match=f"`{name}` must be a positive int below 2\\*\\*40. "
                                         f"Received: {name}={value}"):
        numpy_input_fn({"x": np.zeros((4, 1))}, None, shuffle=False, **kw)
