"""File contents as string tensors: ``ReadFile`` and ``WriteFile`` (TF's ``tf.io.read_file`` /
``tf.read_file`` and ``tf.io.write_file``).

Both are stateful rows (never constant-folded, never deduplicated): a file may change
between runs, and a write is a side effect. Paths go through :mod:`estcore.io.gfile`'s
rules only in that they are plain local paths; a missing file is TF's ``NotFoundError``
naming it. Must not: parse what it reads (the decode ops do), hold files open across runs.
"""

from __future__ import annotations

import os
from typing import Any

from estcore.errors import NotFoundError
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row
from estcore.graph.registry import not_differentiable
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["read_file", "write_file"]


def _path(v: Any) -> str:
    return os.fsdecode(v if isinstance(v, (str, bytes)) else bytes(v))


def _scalar_string(ctx, i: int, what: str) -> None:
    if not ctx.dtypes[i].is_string:
        raise ctx.fail(f"`{what}` must be a string tensor, got {ctx.dtypes[i].name}", TypeError)
    if ctx.shapes[i].rank not in (None, 0):
        raise ctx.fail(f"`{what}` must be a scalar, got shape {ctx.fmt(i)}")


def _read_infer(ctx):
    _scalar_string(ctx, 0, "filename")
    return [(dt.string, TensorShape([]))]


def _read_build(k):
    name, out = k.ins[0], k.outs[0]

    def run():
        path = _path(name[()])
        try:
            with open(path, "rb") as f:
                out[()] = f.read()
        except FileNotFoundError:
            raise NotFoundError(f"{path}; No such file or directory") from None
        except IsADirectoryError:
            raise NotFoundError(f"{path}; Is a directory") from None
    return run


def _write_infer(ctx):
    _scalar_string(ctx, 0, "filename")
    _scalar_string(ctx, 1, "contents")
    return []


def _write_build(k):
    name, contents = k.ins

    def run():
        path = _path(name[()])
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)   # TF's WriteFile creates missing folders
        data = contents[()]
        with open(path, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else bytes(data))
    return run


row("ReadFile", _read_infer, _read_build, None, stateful=True)
row("WriteFile", _write_infer, _write_build, None, stateful=True)
not_differentiable("ReadFile", "WriteFile")


def read_file(filename: Any, name: str | None = None) -> Tensor:
    """The whole contents of the file ``filename`` (a scalar string) as a scalar string
    tensor, read at each run (TF's ``tf.io.read_file``)."""
    return make("ReadFile", [convert_to_tensor(filename, dt.string)], {},
                name=name or "ReadFile")


def write_file(filename: Any, contents: Any, name: str | None = None):
    """An op that writes the scalar string ``contents`` to ``filename`` when run, creating
    missing folders (TF's ``tf.io.write_file``)."""
    return make_op("WriteFile", [convert_to_tensor(filename, dt.string),
                                 convert_to_tensor(contents, dt.string)], {},
                   name=name or "WriteFile")

