"""``estcore.saved_model``: load an export and run its signatures.

>>> predictor = estcore.saved_model.load(export_dir)
>>> predictor.signatures["serving_default"].inputs
>>> outputs = predictor({"x": batch})              # dict of numpy arrays

Re-exports only (from :mod:`estcore.saved_model.loader` and
:mod:`estcore.export.format`). Must not: hold code; import the estimator (loading an
export needs no Estimator).
"""

from estcore.export.format import ExportFormatError
from estcore.saved_model.loader import Predictor, SignatureSpec, TensorSpec, load

__all__ = ["load", "Predictor", "SignatureSpec", "TensorSpec", "ExportFormatError"]
