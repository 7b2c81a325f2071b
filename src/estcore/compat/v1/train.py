"""``tf.train`` of TF 1.15, for everything estcore implements (re-exports only).

Optimizers and schedules from :mod:`estcore.train`; the hooks, which TF1 kept here and
estcore keeps in :mod:`estcore.hooks`; checkpoints from :mod:`estcore.checkpoint`; the
session-side adapters with TF1's signatures (``Saver``, ``MonitoredTrainingSession``, ...)
from :mod:`estcore.compat.v1.training`. A TF1 name not here raises an AttributeError
naming it (docs/compat.md).
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.checkpoint.state import (
    CheckpointReader as NewCheckpointReader,
)
from estcore.checkpoint.state import (
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
)
from estcore.checkpoint.vocab_remap import VocabInfo
from estcore.compat.v1._namespace import missing
from estcore.compat.v1.coordinator import Coordinator, start_queue_runners
from estcore.compat.v1.training import (
    ChiefSessionCreator,
    GlobalStepWaiterHook,
    MonitoredSession,
    MonitoredTrainingSession,
    Saver,
    SingularMonitoredSession,
    assert_global_step,
    checkpoint_exists,
    global_step,
    init_from_checkpoint,
)
from estcore.compat.v1.warm_start import WarmStartSettings, warm_start
from estcore.estimator.cluster import ClusterSpec
from estcore.estimator.model_fn import Scaffold
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
from estcore.hooks.profiler_hook import ProfilerHook
from estcore.hooks.session_run_hook import (
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)
from estcore.io.example import (
    BytesList,
    Example,
    Feature,
    Features,
    FloatList,
    Int64List,
)
from estcore.train import (
    AdadeltaOptimizer,
    AdagradDAOptimizer,
    AdagradOptimizer,
    AdamOptimizer,
    ExponentialMovingAverage,
    FtrlOptimizer,
    GradientDescentOptimizer,
    MomentumOptimizer,
    Optimizer,
    ProximalAdagradOptimizer,
    ProximalGradientDescentOptimizer,
    RMSPropOptimizer,
    cosine_decay,
    cosine_decay_restarts,
    create_global_step,
    exponential_decay,
    get_global_step,
    get_or_create_global_step,
    inverse_time_decay,
    linear_cosine_decay,
    natural_exp_decay,
    noisy_linear_cosine_decay,
    piecewise_constant,
    polynomial_decay,
)

__getattr__ = missing("tf.train")
