"""``estcore.estimator``: TF's ``tf.estimator`` namespace (re-exports only).

``Estimator``, ``RunConfig``, ``ModeKeys``, ``EstimatorSpec``, ``TrainSpec`` /
``EvalSpec`` / ``train_and_evaluate`` (defined in this package); the hooks
(from ``estcore.hooks``), checkpoints and warm start (from ``estcore.checkpoint``),
the exporters and serving receivers (from ``estcore.export``); the premade estimators
(``DNNClassifier`` & co.), ``add_metrics`` and ``classifier_parse_example_spec`` /
``regressor_parse_example_spec`` (from ``estcore.estimator.canned``).
``estcore.estimator.inputs`` holds ``numpy_input_fn``,
``estcore.estimator.experimental`` the early-stopping hooks and
``estcore.estimator.export`` the serving output classes.

Nothing inside estcore imports this module: implementation modules import the
module that defines a name.

Must not: hold code.
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
from estcore.checkpoint.warm_starting import VocabInfo, WarmStartSettings
from estcore.estimator import experimental as experimental
from estcore.estimator import export as export
from estcore.estimator import inputs as inputs
from estcore.estimator.canned.baseline import (
    BaselineClassifier,
    BaselineEstimator,
    BaselineRegressor,
)
from estcore.estimator.canned.dnn import DNNClassifier, DNNEstimator, DNNRegressor
from estcore.estimator.canned.dnn_linear_combined import (
    DNNLinearCombinedClassifier,
    DNNLinearCombinedEstimator,
    DNNLinearCombinedRegressor,
)
from estcore.estimator.canned.extenders import add_metrics
from estcore.estimator.canned.linear import LinearClassifier, LinearEstimator, LinearRegressor
from estcore.estimator.canned.parsing_utils import (
    classifier_parse_example_spec,
    regressor_parse_example_spec,
)
from estcore.estimator.cluster import ClusterSpec, TaskType
from estcore.estimator.estimator import Estimator
from estcore.estimator.mode_keys import ModeKeys
from estcore.estimator.model_fn import EstimatorSpec, Scaffold
from estcore.estimator.run_config import RunConfig
from estcore.estimator.session_config import SessionConfig
from estcore.estimator.training import EvalSpec, TrainSpec, train_and_evaluate
from estcore.export.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from estcore.export.receivers import (
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_raw_serving_input_receiver_fn,
)
from estcore.hooks.basic_hooks import (
    FeedFnHook,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    StepCounterHook,
    StopAtStepHook,
)
from estcore.hooks.checkpoint_hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    SummarySaverHook,
)
from estcore.hooks.session_run_hook import (
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)

__all__ = [
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "BestExporter",
    "CheckpointReader",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "ClusterSpec",
    "DNNClassifier",
    "DNNEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "Estimator",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "FeedFnHook",
    "FinalExporter",
    "FinalOpsHook",
    "LatestExporter",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
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
    "VocabInfo",
    "WarmStartSettings",
    "add_metrics",
    "build_raw_serving_input_receiver_fn",
    "classifier_parse_example_spec",
    "experimental",
    "export",
    "get_checkpoint_state",
    "inputs",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "regressor_parse_example_spec",
    "train_and_evaluate",
]
