"""estcore: the TensorFlow Estimator workflow on numpy with a C core.

Public names follow TF1 (``estcore.estimator.Estimator``,
``estcore.estimator.inputs.numpy_input_fn``, ``estcore.layers.dense``, ...).
This is a façade: every name is defined in a submodule and only re-exported here, in
the order of the layers (graph names, the library, then the estimator and serving).
No module of estcore imports it.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore import errors as errors
from estcore import feature_column as feature_column
from estcore import graph as graph
from estcore import image as image
from estcore import initializers as initializers
from estcore import io as io
from estcore import layers as layers
from estcore import logging as logging  # estcore.logging (TF1: tf.logging), not stdlib
from estcore import losses as losses
from estcore import math as math
from estcore import metrics as metrics
from estcore import nn as nn
from estcore import summary as summary
from estcore import train as train
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
    he_normal,
    he_uniform,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from estcore.graph.ir import (
    Graph,
    GraphKeys,
    Operation,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    get_collection,
    get_collection_ref,
    get_default_graph,
    reset_default_graph,
)
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
from estcore.graph.ops.contraction_ops import einsum, tensordot
from estcore.graph.ops.control_flow_ops import case, cond, map_fn
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.debug_ops import Assert, Print, check_numerics
from estcore.graph.ops.dynamic_ops import boolean_mask, unique
from estcore.graph.ops.index_ops import (
    range,  # noqa: A004 - TF1 name
    reverse,
    strided_slice,
)
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
from estcore.graph.ops.math_ops import truediv as realdiv
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
from estcore.graph.ops.script_ops import py_func, py_function
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

newaxis = None  # TF1's alias of None for indexing

# The controller and serving sit above the library: their packages come last.
from estcore import checkpoint as checkpoint  # noqa: E402
from estcore import distribute as distribute  # noqa: E402
from estcore import estimator as estimator  # noqa: E402
from estcore import export as export  # noqa: E402
from estcore import hooks as hooks  # noqa: E402
from estcore import inputs as inputs  # noqa: E402
from estcore import saved_model as saved_model  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_")]
