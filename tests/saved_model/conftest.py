"""Re-use the export tests' models and fixtures (loaded from tests/export/conftest.py)."""

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
