"""``estcore.saved_model``: load an export and run its signatures.

>>> predictor = estcore.saved_model.load(export_dir)
>>> predictor.signatures["serving_default"].inputs
>>> outputs = predictor({"x": batch})              # dict of numpy arrays

``simple_save(session, export_dir, inputs, outputs)`` writes a session's graph in the same
format (TF1's ``tf.saved_model.simple_save``). TF1's ways back, an export into a Session
(``tf.saved_model.loader.load``) and ``tf.contrib.predictor``, are
:mod:`estcore.saved_model.session_loader` and :mod:`estcore.saved_model.contrib_predictor`
(reached through ``estcore.compat.v1``).

Re-exports only (from :mod:`estcore.saved_model.loader`, :mod:`.simple_save` and
:mod:`estcore.export.format`). Must not: hold code; import the estimator (loading an
export needs no Estimator).
"""

from estcore.export.format import ExportFormatError
from estcore.saved_model.loader import Predictor, SignatureSpec, TensorSpec, load
from estcore.saved_model.simple_save import simple_save

__all__ = ["load", "simple_save", "Predictor", "SignatureSpec", "TensorSpec",
           "ExportFormatError"]
