"""What TF 2.15 serves for serialized Examples with VarLenFeature specs (run under TF).

Run with the reference venv (never from the test suite)::

    /work/tf-venv/bin/python tools/tf_fixtures/make_tf_varlen_serving.py \
        tests/export/fixtures/tf_varlen_serving.json

Exports TF's ``LinearClassifier`` model_dir ``linear_categorical`` (from
``tests/estimator/canned/fixtures/tf_model_dirs/``; columns x, c, h, z_bucketized and a
cross) through ``build_parsing_serving_input_receiver_fn(make_parse_example_spec(...))``
(``c`` and ``h`` are ``VarLenFeature``s), serves 8 Examples (several values per feature,
missing features) through the ``predict`` signature and writes the serialized Examples
(hex) and TF's outputs to the JSON.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[2]
CANNED = ROOT / "tests" / "estimator" / "canned" / "fixtures"
sys.path.insert(0, str(CANNED))

import make_tf_premade as base  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
NAME = "linear_categorical"


def _examples(d: dict) -> list[bytes]:
    out = []
    for i in range(8):
        f = {"x": tf1.train.Feature(float_list=tf1.train.FloatList(value=d["x"][i].tolist())),
             "z": tf1.train.Feature(float_list=tf1.train.FloatList(value=[float(d["z"][i])]))}
        colors = [d["c"][i].encode()] + ([b"a"] if i % 3 == 0 else [])
        if i % 4 != 1:      # examples 1 and 5: no "c"
            f["c"] = tf1.train.Feature(bytes_list=tf1.train.BytesList(value=colors))
        if i % 5 != 2:      # examples 2 and 7: no "h"
            f["h"] = tf1.train.Feature(bytes_list=tf1.train.BytesList(
                value=[d["h"][i].encode(), b"extra"]))
        out.append(tf1.train.Example(features=tf1.train.Features(feature=f))
                   .SerializeToString())
    return out


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    cls, kwargs, _ = base.CONFIGS[NAME]
    columns = [base.column(c) for c in kwargs["feature_columns"]]
    model_dir = tempfile.mkdtemp(prefix="tf_varlen_serving_")
    shutil.rmtree(model_dir)
    shutil.copytree(CANNED / "tf_model_dirs" / NAME, model_dir)
    est = getattr(tf1.estimator, cls)(model_dir=model_dir, feature_columns=columns)
    spec = tf1.feature_column.make_parse_example_spec(columns)
    path = est.export_saved_model(tempfile.mkdtemp(),
                                  tf1.estimator.export.build_parsing_serving_input_receiver_fn(
                                      spec))
    examples = _examples(base.data())
    served = tf.saved_model.load(path).signatures["predict"](examples=tf.constant(examples))
    result = {"tf_version": tf.__version__, "model_dir": NAME,
              "spec": {k: type(v).__name__ for k, v in sorted(spec.items())},
              "examples": [e.hex() for e in examples],
              "outputs": {k: v.numpy().tolist() for k, v in sorted(served.items())
                          if v.dtype != tf.string},
              "all_classes": [c.decode() for c in served["all_classes"].numpy()[0]]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
