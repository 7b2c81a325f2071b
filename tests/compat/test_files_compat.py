"""TF1 programs' file and string names in estcore.compat.v1: tf.decode_csv / tf.io /
tf.strings / tf.python_io, with TF 1.15's signatures."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import estcore.compat.v1 as tf

SIGNATURES = {  # TF 1.15's API documentation
    "decode_csv": "(records, record_defaults, field_delim=',', use_quote_delim=True, name=None, "
                  "na_value='', select_cols=None)",
    "io.decode_csv": "(records, record_defaults, field_delim=',', use_quote_delim=True, "
                     "name=None, na_value='', select_cols=None)",
    "decode_raw": "(input_bytes=None, out_type=None, little_endian=True, name=None, bytes=None)",
    "io.decode_raw": "(input_bytes=None, out_type=None, little_endian=True, name=None, "
                     "bytes=None)",
    "string_to_number": "(string_tensor, out_type=ANY, name=None)",
    "strings.to_number": "(string_tensor, out_type=ANY, name=None)",
    "string_split": "(source, sep=None, skip_empty=True, delimiter=None, "
                    "result_type='SparseTensor', name=None)",
    "strings.split": "(input=None, sep=None, maxsplit=-1, result_type='SparseTensor', "
                     "source=None, name=None)",
    "strings.length": "(input, name=None, unit='BYTE')",
    "strings.substr": "(input, pos, len, name=None, unit='BYTE')",
    "substr": "(input, pos, len, name=None, unit='BYTE')",
    "strings.strip": "(input, name=None)",
    "string_strip": "(input, name=None)",
    "strings.lower": "(input, encoding='', name=None)",
    "strings.upper": "(input, encoding='', name=None)",
    "strings.join": "(inputs, separator='', name=None)",
    "string_join": "(inputs, separator='', name=None)",
    "strings.regex_full_match": "(input, pattern, name=None)",
    "strings.regex_replace": "(input, pattern, rewrite, replace_global=True, name=None)",
    "regex_replace": "(input, pattern, rewrite, replace_global=True, name=None)",
    "strings.as_string": "(input, precision=-1, scientific=False, shortest=False, width=-1, "
                         "fill='', name=None)",
    "as_string": "(input, precision=-1, scientific=False, shortest=False, width=-1, fill='', "
                 "name=None)",
    "io.parse_single_example": "(serialized, features, name=None, example_names=None)",
    "io.TFRecordWriter": "(path, options=None)",
    "python_io.TFRecordWriter": "(path, options=None)",
    "io.TFRecordOptions": "(compression_type=None, flush_mode=None, input_buffer_size=None, "
                          "output_buffer_size=None, window_bits=None, compression_level=None, "
                          "compression_method=None, mem_level=None, compression_strategy=None)",
    "io.tf_record_iterator": "(path, options=None)",
    "python_io.tf_record_iterator": "(path, options=None)",
}


def _resolve(path: str):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_signature_starts_with_tf_115s(path):
    want = SIGNATURES[path]
    params = list(inspect.signature(_resolve(path)).parameters.values())
    got = []
    for p in params:
        if p.default is inspect.Parameter.empty:
            got.append(p.name)
        elif "ANY" in want and p.name == "out_type":
            got.append(f"{p.name}=ANY")
        else:
            got.append(f"{p.name}={p.default!r}")
    n = want.count(",") + 1
    assert "(" + ", ".join(got[:n]) + ")" == want


def test_csv_program_in_a_session():
    lines = ["5.1,3.5,setosa", "6.2,,virginica", '7.0,2.9,"versi,color"']
    with tf.Graph().as_default():
        line = tf.placeholder(tf.string, [None])
        a, b, label = tf.decode_csv(line, [[0.0], [-1.0], [""]])
        features = tf.stack([a, b], axis=1)
        n = tf.strings.length(label)
        with tf.Session() as sess:
            f, lab, ln = sess.run([features, label, n], {line: np.array(lines, dtype=object)})
    np.testing.assert_array_equal(f, np.array([[5.1, 3.5], [6.2, -1.0], [7.0, 2.9]], np.float32))
    assert lab.tolist() == [b"setosa", b"virginica", b"versi,color"]
    assert ln.tolist() == [6, 9, 11]


def test_python_io_round_trip_and_decode_raw(tmp_path):
    path = str(tmp_path / "images.tfrecord")
    images = np.arange(2 * 4, dtype=np.uint8).reshape(2, 4)
    with tf.python_io.TFRecordWriter(path, tf.python_io.TFRecordOptions(
            tf.python_io.TFRecordCompressionType.GZIP)) as w:
        for img in images:
            w.write(img.tobytes())
    opts = tf.io.TFRecordOptions(compression_type="GZIP")
    records = list(tf.python_io.tf_record_iterator(path, opts))
    assert records == [img.tobytes() for img in images]
    with tf.Graph().as_default():
        raw = tf.placeholder(tf.string, [None])
        pixels = tf.reshape(tf.decode_raw(raw, tf.uint8), [-1, 2, 2])
        with tf.Session() as sess:
            got = sess.run(pixels, {raw: np.array(records, dtype=object)})
    np.testing.assert_array_equal(got, images.reshape(2, 2, 2))


def test_string_split_values_fetch_as_padded_parts():
    with tf.Graph().as_default():
        st = tf.string_split(["a b", "c"])
        with tf.Session() as sess:
            cols, vals, shape = sess.run([st.cols, st.padded_values, st.dense_shape])
    assert shape.tolist() == [2, 2]
    assert vals[cols >= 0].tolist() == [b"a", b"b", b"c"]
