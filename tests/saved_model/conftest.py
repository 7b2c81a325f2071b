"""Re-use the export tests' models and fixtures (loaded from tests/export/conftest.py);
linear_exports: a canned LinearClassifier exported with a parsing and a raw receiver."""

import importlib.util
import os

import pytest

_path = os.path.join(os.path.dirname(__file__), os.pardir, "export", "conftest.py")
_spec = importlib.util.spec_from_file_location("estcore_export_test_models", _path)
models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(models)

trained_dirs = models.trained_dirs
trained = models.trained
exported = models.exported


@pytest.fixture(name="models")
def models_fixture():
    """The export tests' helper module (model_fns, data, helpers)."""
    return models


@pytest.fixture(scope="session")
def linear_exports(tmp_path_factory):
    """A LinearClassifier (3 classes, feature ``x``: 3 floats) trained briefly, exported
    with a parsing receiver (input ``examples``: serialized Examples) and with a raw
    placeholder receiver (``xin``). Attributes: ``estimator``, ``parsing``, ``raw``
    (export paths, str), ``x`` (rows), ``examples`` (those rows serialized)."""
    import types

    import numpy as np

    import estcore as ec
    from estcore import feature_column as fc
    from estcore.estimator import LinearClassifier, RunConfig
    from estcore.estimator.export import (
        ServingInputReceiver,
        build_parsing_serving_input_receiver_fn,
    )
    from estcore.estimator.inputs import numpy_input_fn
    from estcore.io import encode_example

    base = tmp_path_factory.mktemp("linear_exports")
    columns = [fc.numeric_column("x", shape=[3])]
    est = LinearClassifier(columns, model_dir=str(base / "model"), n_classes=3,
                           config=RunConfig(tf_random_seed=1, log_step_count_steps=None,
                                            save_summary_steps=None))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    est.train(numpy_input_fn({"x": x}, y, batch_size=20, num_epochs=3, shuffle=False))
    parsing_fn = build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(columns))

    def raw_fn():
        ph = ec.placeholder(ec.float32, [None, 3], name="xin")
        return ServingInputReceiver({"x": ph}, {"x": ph})

    parsing = os.fsdecode(est.export_saved_model(str(base / "parsing"), parsing_fn))
    raw = os.fsdecode(est.export_saved_model(str(base / "raw"), raw_fn))
    rows = x[:5]
    return types.SimpleNamespace(estimator=est, parsing=parsing, raw=raw, x=rows,
                                 examples=[encode_example({"x": r}) for r in rows],
                                 parsing_fn=parsing_fn, raw_fn=raw_fn)
