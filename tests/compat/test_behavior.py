"""TF's behaviour switches in estcore.compat.v1 (disable_v2_behavior & co.) and the
v1 / v2 tensor shapes they select (TF's documented rules: with v2 shapes ``shape[i]`` is an
int or None; with v1 shapes a Dimension, ``.value`` None when unknown)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.graph import shapes

PROGRAMS = pathlib.Path(__file__).parent / "programs"


@pytest.fixture(autouse=True)
def _restore_shape_mode():
    before = shapes.v1_shapes()
    yield
    shapes.set_v1_shapes(before)


def test_v2_shapes_are_the_default():
    assert not shapes.v1_shapes()
    x = tf.placeholder(tf.float32, [None, 3])
    assert x.shape[0] is None and x.shape[1] == 3 and list(x.shape) == [None, 3]


def test_disable_v2_behavior_gives_v1_dimensions():
    tf.disable_v2_behavior()
    x = tf.placeholder(tf.float32, [None, 3])
    assert x.shape[0].value is None and x.shape[1].value == 3
    assert repr(x.shape[0]) == "Dimension(None)" and int(x.shape[1]) == 3
    assert [d.value for d in x.shape] == [None, 3]
    assert [d.value for d in x.shape.dims] == [None, 3]
    assert x.shape.as_list() == [None, 3] and x.shape.ndims == 2
    assert x.get_shape()[0].value is None
    v = tf.Variable(np.zeros((2, 5), np.float32))
    assert v.shape[1].value == 5 and v.shape.dims[0].value == 2
    st = tf.sparse_placeholder(tf.float32, shape=[None, 4])
    assert st.shape[0].value is None and st.shape[1].value == 4
    tf.enable_v2_tensorshape()
    assert x.shape[0] is None and x.shape[1] == 3
    tf.disable_v2_tensorshape()
    assert x.shape[0].value is None


def test_v1_shapes_do_not_change_what_the_library_sees():
    tf.disable_v2_behavior()
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.dense(x, 3)              # reads x.shape[-1] inside estcore
    assert h.shape[-1].value == 3 and h.shape[0].value is None
    y = tf.reshape(x, [-1, x.shape[1].value * 1])
    p = tf.placeholder(tf.float32, x.shape)     # a v1 shape as an argument
    z = tf.zeros(tf.shape(x)) + p
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        ones = np.ones((2, 4), np.float32)
        out, yv, zv = sess.run([h, y, z], {x: ones, p: ones})
    assert out.shape == (2, 3) and yv.shape == (2, 4) and zv.shape == (2, 4)


def test_v1_shape_passed_back_is_a_plain_shape_inside():
    tf.disable_v2_tensorshape()
    x = tf.placeholder(tf.float32, [None, 2])
    s = tf.TensorShape(x.shape)
    assert s.as_list() == [None, 2]
    p = tf.placeholder(tf.float32, shape=x.shape)
    tf.enable_v2_tensorshape()
    assert p.shape[0] is None and p.shape[1] == 2


def test_eager_and_other_switches():
    assert tf.executing_eagerly() is False
    tf.disable_eager_execution()
    tf.disable_resource_variables()
    assert tf.resource_variables_enabled() is False
    tf.enable_resource_variables()
    assert tf.resource_variables_enabled() is True
    tf.disable_resource_variables()
    tf.enable_control_flow_v2()
    assert tf.control_flow_v2_enabled() is True
    tf.disable_control_flow_v2()
    assert tf.control_flow_v2_enabled() is False
    tf.disable_tensor_equality()
    with pytest.raises(NotImplementedError, match="graphs only"):
        tf.enable_eager_execution()
    with pytest.raises(NotImplementedError, match="enable_v2_tensorshape"):
        tf.enable_v2_behavior()
    with pytest.raises(NotImplementedError, match="tf.equal"):
        tf.enable_tensor_equality()
    assert tf.compat.v1.disable_v2_behavior is tf.disable_v2_behavior


def test_version_strings():
    assert tf.version.VERSION == tf.VERSION == tf.__version__
    assert tf.VERSION.startswith("1.15.0+estcore.")
    assert tf.version.GIT_VERSION == tf.GIT_VERSION == tf.__git_version__
    assert isinstance(tf.version.COMPILER_VERSION, str) and tf.COMPILER_VERSION
    with pytest.raises(AttributeError, match=r"tf\.version\.GRAPH_DEF_VERSION"):
        _ = tf.version.GRAPH_DEF_VERSION


def _run_v1(tmp_path, name: str, *args: str) -> dict:
    """Run a corpus program with ``tf.disable_v2_behavior()`` as its first statement and
    ``x.get_shape()`` spelled ``x.shape`` (so the v1 ``.shape[i].value`` path is taken)."""
    pytest.importorskip("sklearn")
    src = (PROGRAMS / name).read_text()
    marker = "import estcore.compat.v1 as tf\n"
    assert marker in src
    src = src.replace(marker, marker + "tf.disable_v2_behavior()\n", 1)
    src = src.replace(".get_shape()", ".shape")
    path = tmp_path / name
    path.write_text(src)
    proc = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_programs_run_after_disable_v2_behavior(tmp_path):
    res = _run_v1(tmp_path, "regression_custom.py", f"--model_dir={tmp_path / 'r'}")
    assert res["rmse"] < 0.9 and res["global_step"] == 800
    res = _run_v1(tmp_path, "mlp_digits_custom.py", f"--model_dir={tmp_path / 'm'}")
    assert res["accuracy"] >= 0.9 and res["global_step"] == 600
