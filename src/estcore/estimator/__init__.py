"""``estcore.estimator``: the Estimator and everything around it (TF1 names).

``RunConfig``, ``ModeKeys``, ``EstimatorSpec``, the hooks, checkpoints
(``latest_checkpoint``, ``CheckpointReader``), warm start, ``TrainSpec`` /
``EvalSpec`` / ``train_and_evaluate``; ``estcore.estimator.inputs`` holds
``numpy_input_fn``; ``estcore.estimator.experimental`` the early-stopping hooks;
``estcore.estimator.export`` the serving output classes.
"""

from estcore.checkpoint.saver import Saver
from estcore.checkpoint.state import (
    CheckpointReader,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
)
from estcore.checkpoint.warm_starting import WarmStartSettings
from estcore.estimator import experimental as experimental
from estcore.estimator import export as export
from estcore.estimator import inputs as inputs
from estcore.estimator.estimator import Estimator
from estcore.estimator.exporter import Exporter
from estcore.estimator.hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FeedFnHook,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec, Scaffold
from estcore.estimator.run_config import ClusterSpec, RunConfig, SessionConfig, TaskType
from estcore.estimator.training import EvalSpec, TrainSpec, train_and_evaluate
from estcore.export.exporters import BestExporter, FinalExporter, LatestExporter
from estcore.export.receivers import (
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_raw_serving_input_receiver_fn,
)

__all__ = [
    "BestExporter",
    "CheckpointReader",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "ClusterSpec",
    "Estimator",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "FeedFnHook",
    "FinalExporter",
    "FinalOpsHook",
    "LatestExporter",
    "LoggingTensorHook",
    "ModeKeys",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "RunConfig",
    "Saver",
    "Scaffold",
    "SecondOrStepTimer",
    "ServingInputReceiver",
    "SessionConfig",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunHook",
    "SessionRunValues",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "TaskType",
    "TensorServingInputReceiver",
    "TrainSpec",
    "WarmStartSettings",
    "build_raw_serving_input_receiver_fn",
    "experimental",
    "export",
    "get_checkpoint_state",
    "inputs",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "train_and_evaluate",
]
