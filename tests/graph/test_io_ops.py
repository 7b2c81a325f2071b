"""``read_file`` / ``write_file`` (TF's ``tf.io.read_file`` / ``write_file``) and the TF1
names that went with them in the compat namespace (``tf.read_file``,
``tf.string_to_hash_bucket_fast``, ``tf.strings.to_hash_bucket_fast``,
``tf.tables_initializer``)."""

import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore import errors

pytestmark = pytest.mark.smoke


def test_read_file_reads_at_each_run(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"first\x00bytes")
    name = ec.placeholder(ec.string, [])
    contents = ec.io.read_file(name)
    sess = ec.Session()
    assert sess.run(contents, {name: str(path)}) == b"first\x00bytes"
    path.write_bytes(b"second")                      # not folded: the file is read again
    assert sess.run(contents, {name: str(path).encode()}) == b"second"
    const = ec.io.read_file(str(path))
    path.write_bytes(b"third")
    assert sess.run(const) == b"third"


def test_read_file_missing_is_not_found_naming_it(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(errors.NotFoundError, match="nope.bin"):
        ec.Session().run(ec.io.read_file(str(missing)))


def test_read_file_refuses_a_vector_of_names():
    with pytest.raises(ValueError, match="filename"):
        ec.io.read_file(["a", "b"])


def test_write_file_then_read(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    op = tf.io.write_file(str(target), tf.constant(b"payload"))
    sess = tf.Session()
    sess.run(op)
    assert target.read_bytes() == b"payload"
    assert sess.run(tf.read_file(str(target))) == b"payload"


def test_tf1_names():
    ids = tf.Session().run(tf.string_to_hash_bucket_fast(["a", "b", "a"], 1000))
    assert ids[0] == ids[2] and ids.dtype.name == "int64" and (0 <= ids).all()
    assert tf.strings.to_hash_bucket_fast is tf.string_to_hash_bucket_fast
    op = tf.tables_initializer()
    assert op.name == "init_all_tables"
    tf.Session().run(op)
