"""``tf.gfile`` of TF 1.15 (``GFile``, ``Open``, ``Exists``, ``MakeDirs``, ...): estcore's
:mod:`estcore.io.gfile`, local files only (re-exports only)."""

# ruff: noqa: F401 - this module re-exports names

from estcore.compat.v1._namespace import missing
from estcore.io.gfile import (
    Copy,
    DeleteRecursively,
    Exists,
    FastGFile,
    GFile,
    Glob,
    IsDirectory,
    ListDirectory,
    MakeDirs,
    MkDir,
    Open,
    Remove,
    Rename,
    Stat,
    Walk,
)

__getattr__ = missing("tf.gfile")
