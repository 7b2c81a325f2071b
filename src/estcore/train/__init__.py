"""``estcore.train``: TF1 optimizers, learning-rate schedules and global-step helpers.

Optimizers follow ``tf.compat.v1.train`` (update formulas, slot names,
``minimize`` / ``compute_gradients`` / ``apply_gradients``). The global-step
helpers and ``clip_by_global_norm`` are the graph core's, re-exported here.

This ``__init__`` only re-exports. Must not: hold code; be imported by estcore's own
modules (they import the defining module).
"""

from estcore.train._graph_names import (
    clip_by_global_norm,
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)
from estcore.train.adadelta import AdadeltaOptimizer
from estcore.train.adagrad import AdagradOptimizer
from estcore.train.adagrad_da import AdagradDAOptimizer
from estcore.train.adam import AdamOptimizer
from estcore.train.ftrl import FtrlOptimizer
from estcore.train.gradient_descent import GradientDescentOptimizer
from estcore.train.learning_rate_decay import (
    cosine_decay,
    cosine_decay_restarts,
    exponential_decay,
    inverse_time_decay,
    linear_cosine_decay,
    natural_exp_decay,
    noisy_linear_cosine_decay,
    piecewise_constant,
    polynomial_decay,
)
from estcore.train.momentum import MomentumOptimizer
from estcore.train.moving_averages import ExponentialMovingAverage, assign_moving_average
from estcore.train.optimizer import Optimizer
from estcore.train.proximal import ProximalAdagradOptimizer, ProximalGradientDescentOptimizer
from estcore.train.rmsprop import RMSPropOptimizer

__all__ = [
    "AdadeltaOptimizer",
    "AdagradDAOptimizer",
    "AdagradOptimizer",
    "AdamOptimizer",
    "ExponentialMovingAverage",
    "FtrlOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "Optimizer",
    "ProximalAdagradOptimizer",
    "ProximalGradientDescentOptimizer",
    "RMSPropOptimizer",
    "assign_moving_average",
    "clip_by_global_norm",
    "cosine_decay",
    "cosine_decay_restarts",
    "create_global_step",
    "exponential_decay",
    "get_global_step",
    "get_or_create_global_step",
    "inverse_time_decay",
    "linear_cosine_decay",
    "natural_exp_decay",
    "noisy_linear_cosine_decay",
    "piecewise_constant",
    "polynomial_decay",
]
