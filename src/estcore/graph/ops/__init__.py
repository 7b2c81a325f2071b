"""The op table and op builders (importing this package registers every row).

One module per op family: ``math_ops``, ``reduce_ops``, ``array_ops``, ``nn_ops``,
``index_ops``, ``conv_ops``, ``fused`` (Dense, fused conv), ``state_ops`` (variables, assign,
optimizer updates), ``random_ops``, ``clip_ops``, ``parsing_ops`` (serialized tf.Example).

The package ``__init__`` imports the family modules (so their rows register), then
attaches the C emitters (``c_emit.attach()``), marks TF's non-differentiable ops and
re-exports the node-construction entry points of :mod:`estcore.graph.ops.core`.
Must not: define op rows itself; import anything above the graph.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.graph.ops import (  # noqa: F401 - imported to register their rows
    array_ops,
    base64_ops,
    c_emit,
    candidate_sampling_ops,
    checks,
    clip_ops,
    contraction_ops,
    control_flow_ops,
    conv_extra_ops,
    conv_ops,
    core,
    debug_ops,
    dynamic_ops,
    file_match_ops,
    fused,
    image_ops,
    index_ops,
    io_ops,
    linalg_ops,
    lookup_ops,
    math_ops,
    nn_extra_ops,
    nn_ops,
    parsing_ops,
    random_extra_ops,
    random_ops,
    reduce_ops,
    segment_ops,
    sort_ops,
    sparse_ids,
    sparse_ops,
    sparse_parse,
    sparse_updates,
    special_ops,
    state_ops,
    string_ops,
    tensor_array,
    while_ops,
)
from estcore.graph.ops.core import constant, convert_to_tensor, make, make_op
from estcore.graph.registry import not_differentiable

c_emit.attach()  # after every op module has registered its rows

# Ops without a gradient by nature (TF's NotDifferentiable list): a gradient stops
# there. Any other op without a rule on a differentiated path raises LookupError.
not_differentiable(
    "ArgMax", "ArgMin", "All", "Any", "Equal", "NotEqual", "Greater", "GreaterEqual", "Less",
    "LessEqual", "LogicalAnd", "LogicalNot", "LogicalOr", "LogicalXor", "IsFinite", "IsInf",
    "IsNan", "OneHot", "OnesLike", "ZerosLike", "Shape", "Size", "Rank", "Range", "FloorDiv",
    "ParseExample", "RandomNormal", "RandomUniform", "InTopKV2", "NoOp", "Const", "Placeholder",
    "VariableV2", "StopGradient")

__all__ = ["make", "make_op", "constant", "convert_to_tensor", "array_ops", "clip_ops",
           "conv_ops", "fused", "index_ops", "math_ops", "nn_ops", "parsing_ops", "random_ops",
           "reduce_ops", "state_ops"]
