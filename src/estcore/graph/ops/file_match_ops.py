"""``tf.io.matching_files`` / ``tf.matching_files``: the file names matching glob patterns,
read when the graph runs (a stateful dynamic row: never constant-folded, since files
come and go between runs).

Patterns are local paths (``*``, ``?``, ``[...]``, Python's :mod:`glob`, as
:func:`estcore.io.gfile.glob`, which this layer may not import); a
scalar pattern or a vector of them; the result is a sorted 1-D string tensor, empty when
nothing matches (as TF).

Owns: the ``MatchingFiles`` row. Must not: read the files.
"""

from __future__ import annotations

import glob
import os

import numpy as np

from estcore.graph import dtypes as dt
from estcore.graph.ops.core import convert_to_tensor, make
from estcore.graph.ops.dynamic_ops import dynamic_row
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["matching_files"]


def _infer(ctx):
    if not ctx.dtypes[0].is_string:
        raise ctx.fail(f"`pattern` must be a string tensor, got {ctx.dtypes[0].name}",
                       TypeError)
    if ctx.shapes[0].rank not in (None, 0, 1):
        raise ctx.fail(f"`pattern` must be a scalar or a vector, got shape {ctx.fmt(0)}")
    return [(dt.string, TensorShape([None]))]


def _eager(k):
    patterns = [os.fsdecode(p if isinstance(p, (str, bytes)) else bytes(p))
                for p in np.asarray(k.ins[0], dtype=object).reshape(-1)]
    names = sorted({os.fsencode(n) for p in patterns for n in glob.glob(p)})
    return [np.array(names, dtype=object).reshape(-1)]


dynamic_row("MatchingFiles", _infer, _eager, None, stateful=True)


def matching_files(pattern, name=None) -> Tensor:
    """TF's ``tf.io.matching_files``: sorted names of the files matching ``pattern`` (a
    string or a vector of them) when the graph runs; empty when none does."""
    return make("MatchingFiles", [convert_to_tensor(pattern, dt.string)],
                name=name or "MatchingFiles")
