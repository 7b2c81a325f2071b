"""Every feature column against TF 1.15's outputs (fixtures/feature_column_tf.json, made by
fixtures/make_fixtures.py with TensorFlow; TF is not needed here).

Each case builds the same columns from the same expression text, sets every variable to
the fixture's deterministic values and compares input_layer / linear_model outputs, which
carry the ids (hash buckets, vocabulary and OOV ids, crosses, bucket boundaries) and the
combiners.
"""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import estcore as ec
import estcore.compat.v1 as tf
from estcore import feature_column as fc
from estcore.graph.sparse_tensor import SparseTensor

HERE = pathlib.Path(__file__).parent / "fixtures"
DATA = json.loads((HERE / "feature_column_tf.json").read_text())
_spec = importlib.util.spec_from_file_location("make_fixtures", HERE / "make_fixtures.py")
MF = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MF)


def _features():
    out = {}
    for k, (d, v) in DATA["dense"].items():
        out[k] = ec.constant(np.array(v, dtype=object if d == "string" else d), dtype=d)
    for k, sp in DATA["sparse"].items():
        out[k] = SparseTensor(np.array(sp["indices"], np.int64),
                              np.array(sp["values"], object), np.array(sp["dense_shape"]))
    return out


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["name"] for c in DATA["cases"]])
def test_column_matches_tf(case):
    cols = MF._columns(case["columns"], fc, tf)
    out = getattr(fc, case["fn"])(_features(), cols, **case["kwargs"])
    got_vars = [(v.op.name, v.shape.as_list()) for v in ec.global_variables()]
    assert sorted(got_vars) == sorted(tuple(x) for x in
                                      [(n, s) for n, s in case["variables"]])
    with ec.Session() as s:
        s.run(ec.global_variables_initializer())
        for v in ec.global_variables():
            s.run(v.assign(MF.fill(v.op.name, v.shape.as_list())))
        got = s.run(out)
    np.testing.assert_allclose(got, np.array(case["output"], np.float32), rtol=1e-5, atol=1e-6)


def test_make_parse_example_spec_matches_tf():
    spec = fc.make_parse_example_spec(MF._columns(
        ["fc.numeric_column('x', default_value=1.5)",
         "fc.categorical_column_with_hash_bucket('s2', 5)",
         "fc.weighted_categorical_column(fc.categorical_column_with_identity('i2', 5), 'w2')",
         "fc.crossed_column(['s1', 'n'], 4)"], fc, tf))
    got = {k: [type(v).__name__, ec.as_dtype(v.dtype).name] for k, v in sorted(spec.items())}
    assert got == DATA["parse_spec"]
