"""estcore.export.format: attribute encoding round trips and its errors in user terms."""

from __future__ import annotations

import json

import numpy as np
import pytest

import estcore as ec
from estcore.export import format as fmt


def _round_trip(value):
    consts: dict = {}
    encoded = fmt.encode_attr(value, "node/attr", consts)
    text = json.dumps(encoded, allow_nan=False)   # the export's JSON is strict
    return encoded, fmt.decode_attr(json.loads(text), "node/attr", consts)


@pytest.mark.parametrize("value, encoded", [
    (b"", {"$bytes": ""}),
    (b"NA", {"$bytes": "NA"}),
    ("caf\u00e9".encode(), {"$bytes": "caf\u00e9"}),
    (b"\xff\x00a", {"$bytes": "/wBh", "encoding": "base64"}),
    (np.bytes_(b"x"), {"$bytes": "x"}),
], ids=["empty", "text", "utf8", "binary", "numpy-bytes"])
def test_bytes_round_trip_exactly(value, encoded):
    got_encoded, back = _round_trip(value)
    assert got_encoded == encoded
    assert type(back) is bytes and back == bytes(value)


def test_bytes_inside_containers_round_trip():
    value = (b"", [b"a", 1.5], {"na": b"\xfe"})
    _, back = _round_trip(value)
    assert back == value


@pytest.mark.parametrize("bad", [
    {"$bytes": 3},
    {"$bytes": "a", "encoding": "hex"},
    {"$bytes": "not base64!", "encoding": "base64"},
    {"$bytes": "a", "extra": 1},
])
def test_malformed_bytes_are_format_errors(bad):
    with pytest.raises(fmt.ExportFormatError, match="node/attr: attribute value .* is not "
                                                     "understood"):
        fmt.decode_attr(bad, "node/attr", {})


def _named(x):
    return x


@pytest.mark.parametrize("value, what", [
    (print, r"the Python function print\(\) \(Python code\)"),
    (_named, r"the Python function _named\(\) \(Python code\)"),
    (lambda x: x, r"a Python lambda \(Python code\)"),
    (object(), r"a Python object of type object \(<object object at"),
    (ec.Graph(), r"a Python object of type Graph \("),
])
def test_an_unstorable_attribute_says_what_it_holds(value, what):
    with pytest.raises(ValueError, match=rf"attribute 'node/attr' holds {what}.*which an export "
                                         r"cannot store: it holds no Python code or objects, "
                                         r"only numbers, strings, bytes, arrays"):
        fmt.encode_attr(value, "node/attr", {})


def test_a_long_object_repr_is_cut():
    class Big:
        def __repr__(self):
            return "B" * 500

    with pytest.raises(ValueError) as info:
        fmt.encode_attr([1, Big()], "node/attr", {})
    assert "attribute 'node/attr/1' holds a Python object of type Big (BBBB" in str(info.value)
    assert "B" * 78 not in str(info.value)


def test_a_string_array_element_that_is_not_utf8_is_named():
    arr = np.array([b"ok", b"\xffbad"], dtype=object)
    with pytest.raises(ValueError, match=r"attribute 'node/attr' holds a string array whose "
                                         r"element 1 \(b'\\xffbad'\) is not UTF-8 text"):
        fmt.encode_attr(arr, "node/attr", {})


def test_unsupported_numpy_values_say_what_is_stored():
    with pytest.raises(ValueError, match=r"holds a numpy scalar of dtype datetime64\[D\]; an "
                                         r"export stores numeric and bool numpy scalars only"):
        fmt.encode_attr(np.datetime64("2020-01-01"), "node/attr", {})
    with pytest.raises(ValueError, match=r"holds a numpy array of dtype complex64; an export "
                                         r"stores numeric, bool and string arrays only"):
        fmt.encode_attr(np.zeros(2, np.complex64), "node/attr", {})


def test_string_arrays_load_as_bytes_as_the_graph_held_them():
    # A string Const holds bytes (TF's); the loaded export serves bytes, as
    # Estimator.predict does (it served str before).
    value = np.array([[b"0", "caf\u00e9".encode()], [b"", b"b"]], dtype=object)
    encoded, back = _round_trip(value)
    assert encoded == {"$strings": ["0", "caf\u00e9", "", "b"], "shape": [2, 2]}
    assert back.dtype == object and back.shape == (2, 2)
    assert back.tolist() == value.tolist() and all(type(v) is bytes for v in back.ravel())
    _, scalar = _round_trip(np.array(b"x", dtype=object))
    assert scalar.shape == () and scalar.item() == b"x"
