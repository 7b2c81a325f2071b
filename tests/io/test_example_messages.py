"""tf.train.Example message classes: wire bytes, round trips, parsing by the graph's
ParseExample, and protobuf's API behaviour (type checks, map and oneof rules)."""

from __future__ import annotations

import numpy as np
import pytest

import estcore as ec
from estcore.graph.example_proto import encode_example
from estcore.io.example import BytesList, Example, Feature, Features, FloatList, Int64List

pytestmark = pytest.mark.smoke


def _example():
    return Example(features=Features(feature={
        "age": Feature(int64_list=Int64List(value=[1, -2, 300])),
        "x": Feature(float_list=FloatList(value=[0.5, 0.1])),
        "name": Feature(bytes_list=BytesList(value=[b"ab", b""])),
    }))


def test_bytes_hand_computed():
    # Example{features{feature{key:"a" value{int64_list{value:[1, 300]}}}}}, field by field
    ex = Example(features=Features(feature={"a": Feature(int64_list=Int64List(value=[1, 300]))}))
    int64_list = b"\x0a\x03" + b"\x01\xac\x02"         # packed varints
    feature = b"\x1a" + bytes([len(int64_list)]) + int64_list
    entry = b"\x0a\x01a" + b"\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    assert ex.SerializeToString() == b"\x0a" + bytes([len(features)]) + features


def test_same_bytes_as_encode_example_and_round_trip():
    ex = _example()
    data = ex.SerializeToString()
    assert data == encode_example({"age": [1, -2, 300], "x": [0.5, 0.1],
                                   "name": [b"ab", b""]})
    back = Example.FromString(data)
    assert back == ex
    assert back.features.feature["age"].int64_list.value == [1, -2, 300]
    assert back.features.feature["x"].float_list.value == [0.5, float(np.float32(0.1))]
    assert back.features.feature["name"].bytes_list.value == [b"ab", b""]
    assert back.features.feature["x"].WhichOneof("kind") == "float_list"


def test_parsed_by_the_graph_parse_single_example():
    data = _example().SerializeToString()
    with ec.Graph().as_default():
        parsed = ec.io.parse_single_example(data, {
            "age": ec.io.FixedLenFeature([3], ec.int64),
            "x": ec.io.FixedLenFeature([2], ec.float32)})
        with ec.Session() as sess:
            got = sess.run(parsed)
    np.testing.assert_array_equal(got["age"], [1, -2, 300])
    np.testing.assert_array_equal(got["x"], np.float32([0.5, 0.1]))


def test_empty_lists_keep_their_kind():
    for cls, kind in ((FloatList, "float_list"), (Int64List, "int64_list"),
                      (BytesList, "bytes_list")):
        ex = Example(features=Features(feature={"f": Feature(**{kind: cls()})}))
        back = Example.FromString(ex.SerializeToString())
        assert back.features.feature["f"].WhichOneof("kind") == kind
        assert back == ex


def test_repeated_fields_check_types_like_protobuf():
    with pytest.raises(TypeError, match="has type str, but expected one of: bytes"):
        BytesList(value=["text"])
    with pytest.raises(TypeError, match="has type float, but expected one of: int"):
        Int64List(value=[1.5])
    with pytest.raises(TypeError, match="expected one of: int, float"):
        FloatList(value=["1.0"])
    with pytest.raises(ValueError, match="out of range"):
        Int64List(value=[2 ** 63])
    lst = FloatList(value=np.arange(3, dtype=np.float64))
    lst.value.append(np.float32(2.5))
    lst.value.extend([4, 5.0])
    assert lst.value == [0.0, 1.0, 2.0, 2.5, 4.0, 5.0]
    with pytest.raises(TypeError):
        lst.value.append(None)
    with pytest.raises(AttributeError, match="repeated field"):
        lst.value = [1.0]


def test_feature_map_and_oneof_rules():
    ex = Example()
    assert ex.SerializeToString() == b""
    assert ex.features.feature["a"].int64_list.value == []  # a missing key reads as new
    assert "a" in ex.features.feature
    assert ex.features.feature["a"].WhichOneof("kind") is None
    ex.features.feature["a"] = Feature(float_list=FloatList(value=[1.0]))
    f = ex.features.feature["a"]
    f.int64_list = Int64List(value=[7])            # setting another kind replaces the oneof
    assert f.WhichOneof("kind") == "int64_list" and f.float_list.value == []
    assert f.HasField("int64_list") and not f.HasField("bytes_list")
    with pytest.raises(TypeError, match="expected one of: Feature"):
        ex.features.feature["b"] = [1, 2]
    with pytest.raises(TypeError, match="expected one of: str"):
        ex.features.feature[3] = Feature()
    with pytest.raises(ValueError, match="no oneof"):
        f.WhichOneof("value")


def test_parse_from_string_replaces_content_and_rejects_garbage():
    ex = Example(features=Features(feature={"old": Feature(int64_list=Int64List(value=[1]))}))
    n = ex.ParseFromString(_example().SerializeToString())
    assert n == len(_example().SerializeToString())
    assert sorted(ex.features.feature) == ["age", "name", "x"]
    with pytest.raises(TypeError):
        Example.FromString("not bytes")
    with pytest.raises(ValueError):
        Example.FromString(b"\x0a\x05\x0a")


def test_list_and_feature_messages_serialize_alone():
    lst = Int64List(value=[3, -1])
    assert Int64List.FromString(lst.SerializeToString()) == lst
    feat = Feature(bytes_list=BytesList(value=[b"q"]))
    assert Feature.FromString(feat.SerializeToString()) == feat
    assert Features.FromString(_example().features.SerializeToString()) == _example().features
