"""estcore: the TensorFlow Estimator workflow on numpy with a C core.

Public names follow TF1 (``estcore.estimator.Estimator``,
``estcore.estimator.inputs.numpy_input_fn``, ``estcore.layers.dense``, ...).
Everything is defined in submodules; this file only re-exports.
"""

# ruff: noqa: F401 - this module re-exports names

import importlib as _importlib
import importlib.util as _importlib_util

from estcore import errors as errors
from estcore import estimator as estimator
from estcore import initializers as initializers
from estcore import io as io
from estcore import math as math
from estcore import nn as nn
from estcore._version import __version__ as __version__
from estcore.graph.autodiff import gradients
from estcore.graph.dtypes import (
    DType,
    as_dtype,
    bool,  # noqa: A004 - TF1 name
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
)
from estcore.graph.initializers import (
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from estcore.graph.ir import Graph, GraphKeys, Operation, get_default_graph, reset_default_graph
from estcore.graph.ops._core import constant, convert_to_tensor
from estcore.graph.ops.array_ops import (
    concat,
    expand_dims,
    fill,
    gather,
    identity,
    one_hot,
    ones,
    ones_like,
    placeholder,
    placeholder_with_default,
    range,  # noqa: A004 - TF1 name
    rank,
    reshape,
    shape,
    size,
    squeeze,
    stack,
    stop_gradient,
    tile,
    transpose,
    unstack,
    zeros,
    zeros_like,
)
from estcore.graph.ops.clip_ops import clip_by_global_norm, clip_by_norm, global_norm
from estcore.graph.ops.math_ops import (
    abs,  # noqa: A004 - TF1 name
    add,
    add_n,
    cast,
    ceil,
    clip_by_value,
    cos,
    div,
    divide,
    equal,
    exp,
    floor,
    floordiv,
    greater,
    greater_equal,
    is_finite,
    is_inf,
    is_nan,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004 - TF1 name
    reciprocal,
    round,  # noqa: A004 - TF1 name
    rsqrt,
    sign,
    sin,
    sqrt,
    square,
    squared_difference,
    subtract,
    truediv,
    where,
)
from estcore.graph.ops.parsing_ops import (  # TF1's top-level names
    FixedLenFeature,
    VarLenFeature,
    parse_example,
    parse_single_example,
)
from estcore.graph.ops.random_ops import random_normal, random_uniform, truncated_normal
from estcore.graph.ops.reduce_ops import (
    argmax,
    argmin,
    count_nonzero,
    reduce_all,
    reduce_any,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
)
from estcore.graph.ops.state_ops import assign, assign_add, assign_sub, group, no_op
from estcore.graph.random import get_seed, set_random_seed
from estcore.graph.session import InteractiveSession, Session, get_default_session
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor
from estcore.graph.variables import (
    AUTO_REUSE,
    Variable,
    VariableScope,
    all_variables,
    get_variable,
    get_variable_scope,
    global_variables,
    global_variables_initializer,
    local_variables,
    local_variables_initializer,
    model_variables,
    name_scope,
    trainable_variables,
    variable_scope,
    variables_initializer,
)


def control_dependencies(control_inputs):
    """Ops created inside the block run after ``control_inputs`` (default graph)."""
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(name, value):
    """Add ``value`` to collection ``name`` of the default graph."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    """Items of collection ``key`` of the default graph (optionally filtered by scope)."""
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)


he_normal = initializers.he_normal
he_uniform = initializers.he_uniform
realdiv = truediv
newaxis = None

# The library helper's packages (branch `library`): imported when they are present.
for _sub in ("layers", "losses", "metrics", "train"):
    if _importlib_util.find_spec(f"estcore.{_sub}") is not None:
        globals()[_sub] = _importlib.import_module(f"estcore.{_sub}")
del _sub

# The export issue: ``estcore.saved_model.load(export_dir)`` after a plain ``import estcore``.
from estcore import saved_model as saved_model  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_")]
