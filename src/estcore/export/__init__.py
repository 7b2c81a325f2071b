"""``estcore.export``: export a trained Estimator for serving.

* :func:`~estcore.export.receivers.build_raw_serving_input_receiver_fn`,
  :class:`ServingInputReceiver`, :class:`TensorServingInputReceiver`;
* :func:`write_saved_model` (behind ``Estimator.export_saved_model``, which traces
  the serving graph in :mod:`estcore.estimator.exporting`) writes the directory
  described in :mod:`estcore.export.format`; ``model.onnx`` comes from
  :mod:`estcore.export.onnx_export` when the ``onnx`` package is installed;
* the exporters for ``train_and_evaluate``: :class:`Exporter` (TF's interface),
  :class:`LatestExporter`, :class:`BestExporter`, :class:`FinalExporter`.

Load an export with :func:`estcore.saved_model.load`.

Layering: this package sits below ``estcore.estimator`` and never imports it (an
exporter receives the estimator as an argument and calls its public methods).
"""

from estcore.export.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from estcore.export.format import FORMAT_VERSION, ExportFormatError
from estcore.export.receivers import (
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_raw_serving_input_receiver_fn,
)
from estcore.export.writer import write_saved_model

__all__ = ["ServingInputReceiver", "TensorServingInputReceiver",
           "build_raw_serving_input_receiver_fn", "write_saved_model", "Exporter",
           "LatestExporter", "BestExporter", "FinalExporter", "FORMAT_VERSION",
           "ExportFormatError"]
