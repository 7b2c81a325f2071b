"""``estcore.compat.v1``: the TF 1.x namespace, for ``import estcore.compat.v1 as tf``.

The attribute tree is TF 1.15's for everything estcore implements: the graph names at the
top level (``tf.placeholder``, ``tf.get_variable``, ``tf.Session``, ...) and ``tf.estimator``,
``tf.train``, ``tf.layers``, ``tf.nn``, ``tf.losses``, ``tf.metrics``, ``tf.summary``,
``tf.logging``, ``tf.app``, ``tf.flags``, ``tf.gfile``, ``tf.io``, ``tf.keras.utils``,
``tf.contrib`` (a few names), ``tf.errors``, ``tf.initializers``, ``tf.math``,
``tf.saved_model`` and ``tf.compat.v1`` (this module again). A TF1 name that estcore does
not implement raises an AttributeError that names it and points to docs/compat.md.

``__version__`` is ``"1.15.0+estcore.<estcore version>"``: TF1 programs that check for a 1.x
TensorFlow pass, and the local part says what this is (docs/compat.md).

This is a façade: re-exports and namespace objects only. estcore's own top-level names
(``import estcore``) stay estcore's; nothing inside estcore imports this module.
"""

# ruff: noqa: F401 - this module re-exports names

import platform as _platform
import sys as _sys

from estcore import (
    AUTO_REUSE,
    DType,
    FixedLenFeature,
    Graph,
    GraphKeys,
    InteractiveSession,
    Operation,
    Session,
    Tensor,
    TensorShape,
    Variable,
    VariableScope,
    VarLenFeature,
    abs,  # noqa: A004 - TF1 name
    add,
    add_n,
    add_to_collection,
    add_to_collections,
    all_variables,
    argmax,
    argmin,
    as_dtype,
    assign,
    assign_add,
    assign_sub,
    bool,  # noqa: A004 - TF1 name
    cast,
    ceil,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    concat,
    constant,
    constant_initializer,
    control_dependencies,
    convert_to_tensor,
    cos,
    div,
    divide,
    equal,
    exp,
    fill,
    float16,
    float32,
    float64,
    floor,
    floordiv,
    gather,
    get_collection,
    get_collection_ref,
    get_default_graph,
    get_default_session,
    get_seed,
    get_variable,
    get_variable_scope,
    global_norm,
    global_variables,
    global_variables_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    gradients,
    greater,
    greater_equal,
    group,
    identity,
    int8,
    int16,
    int32,
    int64,
    is_finite,
    is_inf,
    is_nan,
    less,
    less_equal,
    local_variables,
    local_variables_initializer,
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
    model_variables,
    multiply,
    name_scope,
    negative,
    no_op,
    not_equal,
    one_hot,
    ones,
    ones_initializer,
    ones_like,
    parse_example,
    parse_single_example,
    placeholder,
    placeholder_with_default,
    pow,  # noqa: A004 - TF1 name
    random_normal,
    random_normal_initializer,
    random_uniform,
    random_uniform_initializer,
    range,  # noqa: A004 - TF1 name
    rank,
    realdiv,
    reciprocal,
    reset_default_graph,
    reshape,
    round,  # noqa: A004 - TF1 name
    rsqrt,
    set_random_seed,
    shape,
    sign,
    sin,
    size,
    sqrt,
    square,
    squared_difference,
    stack,
    stop_gradient,
    string,
    subtract,
    tile,
    trainable_variables,
    transpose,
    truediv,
    truncated_normal,
    truncated_normal_initializer,
    uint8,
    unstack,
    variable_scope,
    variables_initializer,
    variance_scaling_initializer,
    where,
    zeros,
    zeros_initializer,
    zeros_like,
)
from estcore._version import __version__ as _estcore_version
from estcore.compat.v1 import app as app
from estcore.compat.v1 import contrib as contrib
from estcore.compat.v1 import data as data
from estcore.compat.v1 import errors as errors
from estcore.compat.v1 import estimator as estimator
from estcore.compat.v1 import feature_column as feature_column
from estcore.compat.v1 import flags as flags
from estcore.compat.v1 import gfile as gfile
from estcore.compat.v1 import image as image
from estcore.compat.v1 import initializers as initializers
from estcore.compat.v1 import io as io
from estcore.compat.v1 import keras as keras
from estcore.compat.v1 import layers as layers
from estcore.compat.v1 import logging as logging
from estcore.compat.v1 import losses as losses
from estcore.compat.v1 import math as math
from estcore.compat.v1 import metrics as metrics
from estcore.compat.v1 import nn as nn
from estcore.compat.v1 import python_io as python_io
from estcore.compat.v1 import random as random
from estcore.compat.v1 import sparse as sparse
from estcore.compat.v1 import strings as strings
from estcore.compat.v1 import summary as summary
from estcore.compat.v1 import train as train
from estcore.compat.v1._namespace import missing as _missing
from estcore.compat.v1._namespace import namespace as _namespace
from estcore.compat.v1.array_extra import (
    broadcast_to,
    clip_by_average_norm,
    cumsum,
    is_numeric_tensor,
    linspace,
    matrix_band_part,
    matrix_diag,
    matrix_diag_part,
    meshgrid,
    parallel_stack,
    saturate_cast,
    trace,
    unsorted_segment_mean,
    unsorted_segment_sum,
)
from estcore.compat.v1.array_more import (
    argsort,
    confusion_matrix,
    cumprod,
    depth_to_space,
    dynamic_partition,
    matrix_set_diag,
    scatter_nd,
    sort,
    space_to_depth,
    sparse_tensor_dense_matmul,
    sparse_to_dense,
)
from estcore.compat.v1.array_tf1 import gather_nd, pad, slice
from estcore.compat.v1.behavior import (
    control_flow_v2_enabled,
    disable_control_flow_v2,
    disable_eager_execution,
    disable_resource_variables,
    disable_tensor_equality,
    disable_v2_behavior,
    disable_v2_tensorshape,
    enable_control_flow_v2,
    enable_eager_execution,
    enable_resource_variables,
    enable_tensor_equality,
    enable_v2_behavior,
    enable_v2_tensorshape,
    executing_eagerly,
    resource_variables_enabled,
)
from estcore.compat.v1.control_flow import (
    Assert,
    Print,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_integer,
    assert_less,
    assert_less_equal,
    assert_negative,
    assert_non_negative,
    assert_non_positive,
    assert_none_equal,
    assert_positive,
    assert_rank,
    assert_type,
    boolean_mask,
    case,
    check_numerics,
    cond,
    debugging,
    einsum,
    map_fn,
    numpy_function,
    print,  # noqa: A004 - TF1 name
    py_func,
    py_function,
    random_crop,
    reverse,
    reverse_v2,
    strided_slice,
    tensordot,
    unique,
    while_loop,
)
from estcore.compat.v1.functional import foldl, foldr, scan
from estcore.compat.v1.graph_tf1 import (
    RunMetadata,
    RunOptions,
    colocate_with,
    device,
    init_scope,
)
from estcore.compat.v1.math_more import (
    histogram_fixed_width,
    invert_permutation,
    lbeta,
    searchsorted,
    truncatediv,
    truncatemod,
    unique_with_counts,
    unravel_index,
)
from estcore.compat.v1.ops import (
    count_nonzero,
    expand_dims,
    reduce_all,
    reduce_any,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    split,
    squeeze,
    tables_initializer,
    to_double,
    to_float,
    to_int32,
    to_int64,
)
from estcore.compat.v1.ops_extra import as_str_any as _as_str_any
from estcore.compat.v1.ops_extra import (
    div_no_nan,
    eye,
    get_local_variable,
    identity_n,
    log_sigmoid,
    matrix_transpose,
    moving_average_variables,
    no_regularizer,
    norm,
    reduce_logsumexp,
    scalar_mul,
    sequence_mask,
    shape_n,
    verify_tensor_all_finite,
)
from estcore.compat.v1.ops_extra import path_to_str as _path_to_str
from estcore.compat.v1.ops_extra import tuple_ as tuple  # noqa: A004 - TF1 name
from estcore.compat.v1.rnn import reverse_sequence
from estcore.compat.v1.template import make_template
from estcore.data.structure import SparseTensorSpec, TensorSpec
from estcore.estimator.session_config import GPUOptions
from estcore.estimator.session_config import SessionConfig as ConfigProto
from estcore.graph.ops import lookup_ops as _lookup
from estcore.graph.ops.base64_ops import decode_base64, encode_base64
from estcore.graph.ops.file_match_ops import matching_files
from estcore.graph.ops.io_ops import read_file, write_file
from estcore.graph.ops.linalg_ops import (
    cholesky,
    matrix_determinant,
    matrix_inverse,
    matrix_solve,
)
from estcore.graph.ops.parsing_ops import decode_csv, decode_raw, string_to_number
from estcore.graph.ops.random_extra_ops import multinomial, random_shuffle
from estcore.graph.ops.segment_ops import (
    bincount,
    dynamic_stitch,
    segment_max,
    segment_mean,
    segment_min,
    segment_prod,
    segment_sum,
    setdiff1d,
    unsorted_segment_max,
    unsorted_segment_min,
    unsorted_segment_prod,
)
from estcore.graph.ops.sparse_ids import string_to_hash_bucket_fast
from estcore.graph.ops.sparse_ops import sparse_placeholder, sparse_reduce_sum
from estcore.graph.ops.sparse_ops import to_dense as sparse_tensor_to_dense
from estcore.graph.ops.special_ops import (
    cosh,
    digamma,
    erf,
    erfc,
    expm1,
    lgamma,
    rint,
    sinh,
    tan,
)
from estcore.graph.ops.string_ops import (
    as_string,
    regex_replace,
    string_join,
    string_split,
    substr,
)
from estcore.graph.ops.string_ops import strip as string_strip
from estcore.graph.ops.tensor_array import TensorArray
from estcore.graph.shapes import Dimension as _Dimension
from estcore.graph.shapes import dimension_value
from estcore.graph.sparse_tensor import IndexedSlices, SparseTensor, SparseTensorValue
from estcore.math import floormod as _floormod
from estcore.nn import l2_normalize as _l2_normalize
from estcore.nn import sigmoid, tanh
from estcore.saved_model import session_loader as _sm_loader
from estcore.saved_model.simple_save import simple_save as _simple_save
from estcore.summary import HistogramProto, Summary

__version__ = f"1.15.0+estcore.{_estcore_version}"


def _as_bytes(text, encoding="utf-8"):  # noqa: ANN001, ANN202 - TF's tf.compat.as_bytes
    return text if isinstance(text, bytes) else str(text).encode(encoding)


def _as_text(data, encoding="utf-8"):  # noqa: ANN001, ANN202 - TF's tf.compat.as_text
    return data.decode(encoding) if isinstance(data, bytes) else str(data)


VERSION = __version__
GIT_VERSION = __git_version__ = f"estcore-{_estcore_version}"
COMPILER_VERSION = __compiler_version__ = _platform.python_compiler()
version = _namespace("tf.version", "TF's tf.version: the version strings.", VERSION=VERSION,
                     GIT_VERSION=GIT_VERSION, COMPILER_VERSION=COMPILER_VERSION)

double = float64
newaxis = None

saved_model = _namespace(
    "tf.saved_model", "TF1's tf.saved_model: the constants Estimator code names, "
    "simple_save and loading an export into a Session (loader.load).",
    tag_constants=_namespace("tf.saved_model.tag_constants", "", SERVING="serve",
                             TRAINING="train", EVAL="eval"),
    signature_constants=_namespace(
        "tf.saved_model.signature_constants", "",
        DEFAULT_SERVING_SIGNATURE_DEF_KEY="serving_default",
        PREDICT_METHOD_NAME="tensorflow/serving/predict",
        CLASSIFY_METHOD_NAME="tensorflow/serving/classify",
        REGRESS_METHOD_NAME="tensorflow/serving/regress"),
    SERVING="serve", TRAINING="train", EVAL="eval",
    DEFAULT_SERVING_SIGNATURE_DEF_KEY="serving_default", simple_save=_simple_save,
    loader=_namespace("tf.saved_model.loader", "", load=_sm_loader.load,
                      maybe_saved_model_directory=_sm_loader.maybe_saved_model_directory),
    utils=_namespace("tf.saved_model.utils", "",
                     get_tensor_from_tensor_info=_sm_loader.get_tensor_from_tensor_info),
    load=_sm_loader.load, maybe_saved_model_directory=_sm_loader.maybe_saved_model_directory,
    contains_saved_model=_sm_loader.maybe_saved_model_directory,
    get_tensor_from_tensor_info=_sm_loader.get_tensor_from_tensor_info)

compat = _namespace("tf.compat", "TF1's tf.compat: ``tf.compat.v1`` is this namespace.",
                    v1=_sys.modules[__name__], dimension_value=dimension_value,
                    as_bytes=_as_bytes, as_text=_as_text, as_str=_as_text,
                    as_str_any=_as_str_any, path_to_str=_path_to_str)
Dimension = _Dimension
where_v2 = where
lin_space = linspace
orthogonal_initializer = keras.Orthogonal
diag = matrix_diag
diag_part = matrix_diag_part
AggregationMethod = _namespace(
    "tf.AggregationMethod", "TF's gradient aggregation methods (accepted by tf.gradients; "
    "estcore always adds with add_n).", ADD_N=0, DEFAULT=0, EXPERIMENTAL_TREE=1,
    EXPERIMENTAL_ACCUMULATE_N=2)
floor_div = floordiv
floormod = _floormod
initialize_all_variables = global_variables_initializer
initialize_local_variables = local_variables_initializer
initialize_all_tables = tables_initializer
lookup = _namespace(
    "tf.lookup", "TF 1.15's tf.lookup (graph/ops/lookup_ops.py).",
    StaticHashTable=_lookup.StaticHashTable, StaticVocabularyTable=_lookup.StaticVocabularyTable,
    KeyValueTensorInitializer=_lookup.KeyValueTensorInitializer,
    TextFileInitializer=_lookup.TextFileInitializer, TextFileIndex=_lookup.TextFileIndex)
linalg = _namespace(
    "tf.linalg", "TF 1.15's tf.linalg, where estcore has it.", matmul=matmul,
    matrix_transpose=matrix_transpose, transpose=matrix_transpose, einsum=einsum,
    tensordot=tensordot, eye=eye, norm=norm, l2_normalize=_l2_normalize, diag=matrix_diag,
    diag_part=matrix_diag_part, trace=trace, band_part=matrix_band_part, inv=matrix_inverse,
    det=matrix_determinant, solve=matrix_solve, cholesky=cholesky, global_norm=global_norm,
    set_diag=matrix_set_diag)

__getattr__ = _missing("tf")
