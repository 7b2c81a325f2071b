"""``tf.random`` of TF 1.15: the random ops under their ``tf.random`` names (re-exports).

``normal`` / ``uniform`` / ``truncated_normal`` are ``tf.random_normal`` & co.;
``shuffle`` is ``tf.random_shuffle``; ``categorical`` / ``multinomial`` draw class
indices; the candidate samplers are ``tf.nn``'s. ``gamma`` and ``poisson`` are not available.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.graph.ops.candidate_sampling_ops import (
    all_candidate_sampler,
    fixed_unigram_candidate_sampler,
    learned_unigram_candidate_sampler,
    log_uniform_candidate_sampler,
    uniform_candidate_sampler,
)
from estcore.graph.ops.random_extra_ops import categorical, multinomial
from estcore.graph.ops.random_extra_ops import random_shuffle as shuffle
from estcore.graph.ops.random_ops import random_normal as normal
from estcore.graph.ops.random_ops import random_uniform as uniform
from estcore.graph.ops.random_ops import truncated_normal
from estcore.graph.random import get_seed, set_random_seed

__all__ = ["normal", "uniform", "truncated_normal", "shuffle", "categorical", "multinomial",
           "set_random_seed", "get_seed", "all_candidate_sampler",
           "fixed_unigram_candidate_sampler", "learned_unigram_candidate_sampler",
           "log_uniform_candidate_sampler", "uniform_candidate_sampler"]

__getattr__ = missing("tf.random")
