"""``estcore.estimator.export``: TF's ``tf.estimator.export`` namespace.

Serving signature outputs and the serving input receivers.

Re-exports only (from :mod:`estcore.export.export_output` and
:mod:`estcore.export.receivers`). Must not: hold code; be imported by estcore's own
modules.
"""

from estcore.export.export_output import (
    ClassificationOutput,
    ExportOutput,
    PredictOutput,
    RegressionOutput,
)
from estcore.export.receivers import (
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_parsing_serving_input_receiver_fn,
    build_raw_serving_input_receiver_fn,
)

__all__ = ["ClassificationOutput", "ExportOutput", "PredictOutput", "RegressionOutput",
           "ServingInputReceiver", "TensorServingInputReceiver",
           "build_parsing_serving_input_receiver_fn", "build_raw_serving_input_receiver_fn"]
