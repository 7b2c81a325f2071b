"""The TF reference fixture (fixtures/tf_premade.json) and the estcore side of each config.

The JSON holds the data, the configurations and what TF 2.15's ``tf.compat.v1.estimator``
premade estimators showed for them (fixtures/make_tf_premade.py writes it with the TF
reference venv; TF is never a test dependency).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

import estcore.compat.v1 as tf
import estcore.estimator as est_lib
from estcore.estimator.inputs import numpy_input_fn

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "tf_premade.json").read_text())
COLUMN_KEYS = ("feature_columns", "linear_feature_columns", "dnn_feature_columns")
# Configurations whose variables all start at zero (linear weights, the baseline bias):
# the whole training run is deterministic, so estcore's trained values must equal TF's.
ZERO_INIT = tuple(n for n, c in FIXTURE["configs"].items()
                  if c["class"].startswith(("Linear", "Baseline")))

_DTYPES = {"x": np.float32, "z": np.float32, "w": np.float32, "binary": np.int64,
           "multi": np.int64, "reg": np.float32, "reg2": np.float32}


def data() -> dict:
    out = {}
    for key, value in FIXTURE["data"].items():
        out[key] = np.array(value, dtype=_DTYPES[key]) if key in _DTYPES else np.array(value)
    return out


def column(name: str):
    """The columns the configurations name (as fixtures/make_tf_premade.py defines them)."""
    fc = tf.feature_column
    if name in ("x", "z"):
        return fc.numeric_column(name, shape=(3,) if name == "x" else (1,))
    if name == "c":
        return fc.categorical_column_with_vocabulary_list("c", ["a", "b", "c"])
    if name == "h":
        return fc.categorical_column_with_hash_bucket("h", 10)
    if name == "zb":
        return fc.bucketized_column(column("z"), [-0.5, 0.5])
    if name == "cross":
        return fc.crossed_column([column("c"), column("zb")], 7)
    if name == "c_emb":
        return fc.embedding_column(column("c"), 2)
    if name == "h_ind":
        return fc.indicator_column(column("h"))
    if name == "zb_ind":
        return fc.indicator_column(column("zb"))
    raise KeyError(name)


def make_estimator(name: str, model_dir, **extra):
    cfg = FIXTURE["configs"][name]
    kwargs = {k: ([column(c) for c in v] if k in COLUMN_KEYS else v)
              for k, v in cfg["kwargs"].items()}
    return getattr(est_lib, cfg["class"])(model_dir=str(model_dir), **kwargs, **extra)


def input_fn(name: str, epochs: int | None, labels: bool = True):
    d = data()
    features = {k: d[k] for k in ("x", "z", "w", "c", "h")}
    y = d[FIXTURE["configs"][name]["label"]] if labels else None
    return numpy_input_fn(features, y, batch_size=FIXTURE["batch_size"], num_epochs=epochs,
                          shuffle=False)


def tf_slot_free_name(name: str) -> str:
    """TF's slot name of a partitioned variable without the partition part.

    TF 2.15's v1 DNN and linear estimators create their variables through a partitioner,
    so their optimizer slots are named ``<var>/t_0/Adagrad`` or ``<var>/part_0/Ftrl``;
    estcore does not partition and names them ``<var>/Adagrad`` (what TF names the slots
    of its unpartitioned DNNLinearCombined variables).
    """
    return name.replace("/t_0/", "/").replace("/part_0/", "/")
