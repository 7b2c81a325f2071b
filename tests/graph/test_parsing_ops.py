"""Serialized tf.train.Example parsing: the wire codec and the ParseExample op."""

import numpy as np
import pytest

import estcore as ec
from estcore.errors import InvalidArgumentError
from estcore.io import (
    FixedLenFeature,
    decode_example,
    encode_example,
    parse_example,
    parse_single_example,
)


def _tf_example_classes():
    """tf.train.Example built from TF's .proto schema with the real protobuf runtime
    (a test dependency through tensorboard/onnx), to check wire compatibility."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(name="estcore_test_example.proto",
                                           package="estcore_test", syntax="proto3")
    rep, opt = (descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
                descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    T = descriptor_pb2.FieldDescriptorProto
    for name, ftype in (("BytesList", T.TYPE_BYTES), ("FloatList", T.TYPE_FLOAT),
                        ("Int64List", T.TYPE_INT64)):
        m = f.message_type.add(name=name)
        m.field.add(name="value", number=1, label=rep, type=ftype)
    feat = f.message_type.add(name="Feature")
    feat.oneof_decl.add(name="kind")
    for i, (fname, tname) in enumerate((("bytes_list", "BytesList"), ("float_list", "FloatList"),
                                        ("int64_list", "Int64List")), start=1):
        feat.field.add(name=fname, number=i, label=opt, type=T.TYPE_MESSAGE,
                       type_name=f".estcore_test.{tname}", oneof_index=0)
    feats = f.message_type.add(name="Features")
    entry = feats.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, label=opt, type=T.TYPE_STRING)
    entry.field.add(name="value", number=2, label=opt, type=T.TYPE_MESSAGE,
                    type_name=".estcore_test.Feature")
    feats.field.add(name="feature", number=1, label=rep, type=T.TYPE_MESSAGE,
                    type_name=".estcore_test.Features.FeatureEntry")
    exm = f.message_type.add(name="Example")
    exm.field.add(name="features", number=1, label=opt, type=T.TYPE_MESSAGE,
                  type_name=".estcore_test.Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("estcore_test.Example"))


@pytest.fixture(scope="module")
def Example():
    pytest.importorskip("google.protobuf")
    return _tf_example_classes()


def _pb_example(Example, floats=None, ints=None, strings=None):
    e = Example()
    for k, v in (floats or {}).items():
        e.features.feature[k].float_list.value.extend(v)
    for k, v in (ints or {}).items():
        e.features.feature[k].int64_list.value.extend(v)
    for k, v in (strings or {}).items():
        e.features.feature[k].bytes_list.value.extend(v)
    return e


def test_codec_matches_protobuf_both_ways(Example):
    x = np.array([1.5, -2.0, 3.25], np.float32)
    pb = _pb_example(Example, floats={"x": x}, ints={"n": [7, -3, 2**40]},
                     strings={"s": [b"ab", "é".encode()]})
    ours = encode_example({"x": x, "n": np.array([7, -3, 2**40]), "s": [b"ab", "é"]})
    assert ours == pb.SerializeToString(deterministic=True)  # byte for byte
    back = Example.FromString(ours)
    assert list(back.features.feature["n"].int64_list.value) == [7, -3, 2**40]
    decoded = decode_example(pb.SerializeToString())
    np.testing.assert_array_equal(decoded["x"][1], x)
    assert decoded["n"][1].dtype == np.int64 and decoded["n"][1].tolist() == [7, -3, 2**40]
    assert decoded["s"][1] == [b"ab", "é".encode()]


def test_decoder_reads_unpacked_repeated_fields_and_skips_unknown_ones():
    from estcore.proto.wire import field_bytes, field_float, field_varint

    floats = field_bytes(2, field_float(1, 1.0) + field_float(1, 2.0))   # unpacked FloatList
    ints = field_bytes(3, field_varint(1, 5) + field_varint(1, (1 << 64) - 1))  # -1 as varint
    entry = lambda k, v: field_bytes(1, field_bytes(1, k) + field_bytes(2, v))  # noqa: E731
    data = field_bytes(1, entry("f", floats) + entry("i", ints)) + field_varint(9, 1)
    decoded = decode_example(data)
    assert decoded["f"][1].tolist() == [1.0, 2.0]
    assert decoded["i"][1].tolist() == [5, -1]


def test_parse_example_dtypes_shapes_defaults():
    rows = [encode_example({"x": np.arange(4, dtype=np.float32) + i, "label": [i],
                            "name": f"n{i}", "tags": [b"a", b"b"]}) for i in range(3)]
    s = ec.placeholder(ec.string, [None])
    out = parse_example(s, {"x": FixedLenFeature([2, 2], ec.float32),
                            "label": FixedLenFeature([], ec.int64),
                            "name": FixedLenFeature([], ec.string),
                            "tags": FixedLenFeature([2], ec.string),
                            "w": FixedLenFeature([2], ec.float32, default_value=0.5),
                            "k": FixedLenFeature([1], ec.string, default_value="none")})
    assert out["x"].shape.as_list() == [None, 2, 2] and out["x"].dtype is ec.float32
    assert out["label"].dtype is ec.int64 and out["tags"].shape.as_list() == [None, 2]
    with ec.Session() as sess:
        r = sess.run(out, {s: rows})
    np.testing.assert_array_equal(r["x"], np.arange(4, dtype=np.float32).reshape(1, 2, 2)
                                  + np.arange(3, dtype=np.float32).reshape(3, 1, 1))
    assert r["label"].tolist() == [0, 1, 2]
    assert r["name"].tolist() == [b"n0", b"n1", b"n2"]
    assert r["tags"].tolist() == [[b"a", b"b"]] * 3
    assert r["w"].tolist() == [[0.5, 0.5]] * 3
    assert r["k"].tolist() == [[b"none"]] * 3


def test_parse_single_example():
    s = ec.placeholder(ec.string, [])
    out = parse_single_example(s, {"x": FixedLenFeature([3], ec.float32)})
    assert out["x"].shape.as_list() == [3]
    with ec.Session() as sess:
        got = sess.run(out["x"], {s: encode_example({"x": [1.0, 2.0, 3.0]})})
    assert got.tolist() == [1.0, 2.0, 3.0]


def test_run_time_errors_name_feature_and_example():
    s = ec.placeholder(ec.string, [None])
    out = parse_example(s, {"x": FixedLenFeature([2], ec.float32)})
    with ec.Session() as sess:
        with pytest.raises(InvalidArgumentError,
                           match=r"Feature: x \(data type: float\) is required but could not "
                                 "be found"):
            sess.run(out, {s: [encode_example({"y": [1.0]})]})
        with pytest.raises(InvalidArgumentError,
                           match=r"Key: x, Index: 1\.  Data types don't match\. Data type: "
                                 "int64 but expected type: float"):
            sess.run(out, {s: [encode_example({"x": [1.0, 2.0]}), encode_example({"x": [1, 2]})]})
        with pytest.raises(InvalidArgumentError,
                           match=r"Number of float values != expected\.  Values size: 3 but "
                                 r"output shape: \[2\]"):
            sess.run(out, {s: [encode_example({"x": [1.0, 2.0, 3.0]})]})
        with pytest.raises(InvalidArgumentError, match="Could not parse example input 0"):
            sess.run(out, {s: [b"\x0a\xff"]})
        assert sess.run(out, {s: []})["x"].shape == (0, 2)  # an empty batch


@pytest.mark.parametrize("spec, match", [
    (FixedLenFeature([None], ec.float32), "must be fully defined"),
    (FixedLenFeature([2], ec.int32), "unsupported dtype int32"),
    (FixedLenFeature([2], ec.float32, default_value=[1.0, 2.0, 3.0]), "has 3 values"),
    (FixedLenFeature([2], ec.int64, default_value=0.5), "cannot be represented as int64"),
    ("x", "expected a FixedLenFeature"),
])
def test_spec_errors(spec, match):
    s = ec.placeholder(ec.string, [None])
    with pytest.raises(ValueError, match=match):
        parse_example(s, {"x": spec})


def test_input_must_be_a_string_vector():
    with pytest.raises(TypeError, match="must be a string tensor, got float32"):
        parse_example(ec.placeholder(ec.float32, [None]), {"x": FixedLenFeature([1], ec.float32)})
    with pytest.raises(ValueError, match=r"vector of serialized Examples, got shape \(2, 2\)"):
        parse_example(ec.placeholder(ec.string, [2, 2]), {"x": FixedLenFeature([1], ec.float32)})


def test_no_gradient_through_parsing():
    s = ec.placeholder(ec.string, [None])
    x = parse_example(s, {"x": FixedLenFeature([2], ec.float32)})["x"]
    assert ec.gradients(ec.reduce_sum(x), [s]) == [None]


def test_encode_example_type_errors():
    with pytest.raises(TypeError, match="feature names must be str"):
        encode_example({1: [1.0]})
    with pytest.raises(TypeError, match="feature 'c' has values of dtype complex128"):
        encode_example({"c": np.array([1j])})


def test_scalar_string_default_is_bytes_not_an_array():
    s = ec.placeholder(ec.string, [None])
    out = parse_example(s, {"k": FixedLenFeature([], ec.string, default_value="d")})["k"]
    with ec.Session() as sess:
        r = sess.run(out, {s: [encode_example({"x": [1.0]}), encode_example({"k": b"q"})]})
    assert r.tolist() == [b"d", b"q"] and [type(v) for v in r] == [bytes, bytes]


def test_decoding_follows_tf_for_odd_but_valid_inputs():
    from estcore.proto.wire import field_bytes, field_varint

    def entry(key, feature):
        return field_bytes(1, field_bytes(1, key) + (b"" if feature is None
                                                     else field_bytes(2, feature)))

    good = field_bytes(2, field_bytes(1, np.float32([1, 2]).tobytes()))  # packed FloatList
    # a later entry of the same key without a value does not erase the valid one; a
    # malformed feature nobody asked for (and a non-UTF-8 key) is not read at all
    data = field_bytes(1, entry(b"x", good) + entry(b"x", None) + entry(b"junk", b"\xff")
                       + entry(b"\xff\xfe", good))
    assert decode_example(data, ["x"])["x"][1].tolist() == [1.0, 2.0]
    # int64 varints wrap to 64 bits (protobuf's rule) instead of overflowing
    big = field_bytes(3, field_bytes(1, b"\xff" * 9 + b"\x7f"))
    s = ec.placeholder(ec.string, [None])
    out = parse_example(s, {"n": FixedLenFeature([1], ec.int64)})["n"]
    with ec.Session() as sess:
        assert sess.run(out, {s: [field_bytes(1, entry(b"n", big))]}).tolist() == [[-1]]
        with pytest.raises(InvalidArgumentError, match="Could not parse example input 0"):
            sess.run(out, {s: [field_bytes(1, entry(b"n", field_bytes(3, field_varint(1, 1)
                                                                      + b"\x08")))]})


def test_more_argument_errors():
    s = ec.placeholder(ec.string, [None])
    with pytest.raises(ValueError, match="Feature keys must be non-empty strings. Received: 1"):
        parse_example(s, {1: FixedLenFeature([1], ec.float32), "a": FixedLenFeature([1],
                                                                                ec.float32)})
    with pytest.raises(ValueError, match=r"must be a scalar .* shape \(None,\)"):
        parse_single_example(s, {"a": FixedLenFeature([1], ec.float32)})
    for bad in (float("inf"), 2.0 ** 63):
        with pytest.raises(ValueError, match="cannot be represented as int64"):
            parse_example(s, {"a": FixedLenFeature([1], ec.int64, default_value=bad)})
    with pytest.raises(TypeError, match="feature 'a' is None"):
        encode_example({"a": None})
    with pytest.raises(TypeError, match="mixes bytes/str with other values"):
        encode_example({"a": [b"a", 1]})
    with pytest.raises(ValueError, match=r"output shape: \[2,2\]"):
        with ec.Session() as sess:
            t = parse_example(s, {"x": FixedLenFeature([2, 2], ec.float32)})["x"]
            sess.run(t, {s: [encode_example({"x": [1.0]})]})


def test_encode_example_refuses_uint64_beyond_int64():
    with pytest.raises(ValueError, match="out of range for an Int64List: 18446744073709551615"):
        encode_example({"n": np.array([2**64 - 1], np.uint64)})
    assert decode_example(encode_example({"n": np.array([2**63 - 1], np.uint64)}))["n"][1][0] \
        == 2**63 - 1
