"""TF1's control flow, Python escape hatches, run-time checks and the remaining array ops
for ``estcore.compat.v1``: ``tf.cond``, ``tf.case``, ``tf.map_fn``, ``tf.while_loop``,
``tf.py_func``, ``tf.py_function``, ``tf.numpy_function``, ``tf.Print``, ``tf.print``,
``tf.Assert``, the ``tf.assert_*`` family,
``tf.check_numerics``, ``tf.debugging``, ``tf.strided_slice``, ``tf.boolean_mask``,
``tf.tensordot``, ``tf.einsum``, ``tf.random_crop``, ``tf.unique``, ``tf.reverse``.

Re-exports of the graph's op builders (``estcore.graph.ops``) with TF 1.15's signatures;
``tf.print`` (TF's ``(*inputs, **kwargs)`` form) and ``tf.numpy_function`` (TF's signature
of ``py_func``) are the adapters. Must not: implement
an op (the graph's op modules do).
"""

# ruff: noqa: F401 - this module re-exports names

from __future__ import annotations

import sys

from estcore.compat.v1._namespace import namespace
from estcore.compat.v1.ops_extra import verify_tensor_all_finite
from estcore.graph.ops.checks import (
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
)
from estcore.graph.ops.contraction_ops import einsum, tensordot
from estcore.graph.ops.control_flow_ops import case, cond, map_fn
from estcore.graph.ops.debug_ops import Assert, Print, check_numerics, print_v2
from estcore.graph.ops.dynamic_ops import boolean_mask, unique
from estcore.graph.ops.index_ops import reverse, strided_slice
from estcore.graph.ops.math_ops import is_finite, is_inf, is_nan
from estcore.graph.ops.script_ops import py_func, py_function
from estcore.graph.ops.while_ops import while_loop
from estcore.image import random_crop

__all__ = ["cond", "case", "map_fn", "while_loop", "numpy_function", "py_func", "py_function",
           "Print", "print", "Assert",
           "check_numerics", "strided_slice", "boolean_mask", "tensordot", "einsum",
           "random_crop", "unique", "reverse", "reverse_v2", "debugging", "assert_equal",
           "assert_none_equal", "assert_greater",
           "assert_greater_equal", "assert_less", "assert_less_equal", "assert_negative",
           "assert_non_negative", "assert_positive", "assert_non_positive", "assert_rank",
           "assert_type", "assert_integer"]

_PRINT_KWARGS = ("output_stream", "summarize", "sep", "end", "name")
reverse_v2 = reverse


def print(*inputs, **kwargs):  # noqa: A001 - TF1 name
    """An op that prints ``inputs`` when run (TF's ``tf.print``).

    Keyword arguments: ``output_stream`` (default ``sys.stderr``; ``sys.stdout``, a
    logging function or ``"file://path"``), ``summarize`` (3), ``sep`` (" "), ``end``
    ("\\n"), ``name``. In a graph the op runs only when fetched or made a control
    dependency, as in TF1.
    """
    unknown = sorted(set(kwargs) - set(_PRINT_KWARGS))
    if unknown:
        raise ValueError(f"Unrecognized keyword arguments for tf.print: {unknown}")
    kwargs.setdefault("output_stream", sys.stderr)
    return print_v2(*inputs, **kwargs)


def numpy_function(func, inp, Tout, name=None):  # noqa: N803 - TF's argument name
    """Call ``func`` on numpy arrays when the graph runs (TF's ``tf.numpy_function``): TF's
    ``py_func`` under its TF 2 name, always stateful.

    Args:
        func: ``func(*arrays)`` returning an array (``Tout`` a dtype) or a list of arrays
            (``Tout`` a list of dtypes).
        inp: a tensor or list of tensors.
        Tout: a dtype or a list of dtypes.
        name: node name.
    """
    return py_func(func, inp, Tout, stateful=True, name=name)


debugging = namespace(
    "tf.debugging", "TF1's tf.debugging: run-time checks.",
    Assert=Assert, assert_equal=assert_equal, assert_none_equal=assert_none_equal,
    assert_greater=assert_greater, assert_greater_equal=assert_greater_equal,
    assert_less=assert_less, assert_less_equal=assert_less_equal,
    assert_negative=assert_negative, assert_non_negative=assert_non_negative,
    assert_positive=assert_positive, assert_non_positive=assert_non_positive,
    assert_rank=assert_rank, assert_type=assert_type, assert_integer=assert_integer,
    check_numerics=check_numerics, is_finite=is_finite, is_inf=is_inf, is_nan=is_nan,
    assert_all_finite=verify_tensor_all_finite)
