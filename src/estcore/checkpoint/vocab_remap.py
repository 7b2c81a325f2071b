"""``VocabInfo``: warm-starting a variable whose vocabulary changed (TF 1.15's semantics).

A variable backed by a vocabulary (an embedding, a linear model's weights of a vocabulary
column, an output layer over class names) has one row (``axis=0``) or column
(``axis=1``) per vocabulary entry, then one per OOV bucket. When the vocabulary changes
between the checkpoint and the model, :func:`remap` builds the new value entry by entry:

* Vocabulary files are text, one entry per line (the line without its ``\\n`` / ``\\r\\n``,
  compared as bytes). The new vocabulary's first ``new_vocab_size`` lines are used;
  the old one's first ``old_vocab_size`` lines (-1: all; ``axis=1`` always uses all, as
  TF).
* ``axis=0``: row ``i`` is the checkpoint's row of the old entry equal to new entry
  ``i``; a new entry not in the old vocabulary gets values from ``backup_initializer``
  (zeros when None), and so do the ``num_oov_buckets`` OOV rows (the checkpoint's OOV
  rows are not carried over: the hashing differs). ``axis=1``: the same for columns,
  every row kept.
* ``backup_initializer`` is called as TF calls it: once with shape ``[missing cells, 1]``
  (laid out over the missing cells in row-major order), once with ``[OOV rows,
  columns]`` (``axis=0``) or ``[rows, OOV columns]`` (``axis=1``).
* Only the variable named in ``var_name_to_vocab_info`` is remapped; its optimizer slots
  are not (as TF: a slot selected by ``vars_to_warm_start`` is copied as it is, and a
  changed vocabulary size makes that a shape error).

Differences from TF, which raised: a 1-D variable with ``axis=0`` (a bias over classes,
the example in TF's own ``VocabInfo`` docs) is remapped as a one-column matrix; any
float dtype is accepted (TF: float32 only).

Must not: read checkpoints (the caller passes the old value) or assign variables.
"""

from __future__ import annotations

import collections
import os
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.graph.initializers import Initializer

__all__ = ["VocabInfo", "read_vocabulary", "remap"]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _path(value: Any, field: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str) or not value:
        raise ValueError(f"VocabInfo.{field} must be the path of a vocabulary file (one entry "
                         f"per line). Received: {value!r}")
    return value


class VocabInfo(collections.namedtuple("VocabInfo", [
        "new_vocab", "new_vocab_size", "num_oov_buckets", "old_vocab", "old_vocab_size",
        "backup_initializer", "axis"])):
    """Vocabulary information for warm-starting one variable (TF's ``VocabInfo``).

    Args:
        new_vocab: path of the model's vocabulary file.
        new_vocab_size: how many of its first entries the model uses (a positive int).
        num_oov_buckets: OOV buckets after the vocabulary (an int >= 0).
        old_vocab: path of the checkpoint's vocabulary file.
        old_vocab_size: how many of its first entries the checkpoint used (-1: all).
        backup_initializer: initializer of new entries and OOV buckets (None: zeros).
        axis: 0 (rows: embeddings, linear weights) or 1 (columns: an output layer's
            kernel over a class vocabulary).
    """

    def __new__(cls, new_vocab: str | os.PathLike, new_vocab_size: int, num_oov_buckets: int,
                old_vocab: str | os.PathLike, old_vocab_size: int = -1,
                backup_initializer: Callable | None = None, axis: int = 0):
        if axis != 0 and axis != 1:
            raise ValueError("The only supported values for the axis argument are 0 and 1.  "
                             f"Provided axis: {axis}")
        new_vocab = _path(new_vocab, "new_vocab")
        old_vocab = _path(old_vocab, "old_vocab")
        if not _is_int(new_vocab_size) or new_vocab_size < 1:
            raise ValueError(f"VocabInfo.new_vocab_size must be a positive int. Received: "
                             f"{new_vocab_size!r}")
        if not _is_int(num_oov_buckets) or num_oov_buckets < 0:
            raise ValueError(f"VocabInfo.num_oov_buckets must be an int >= 0. Received: "
                             f"{num_oov_buckets!r}")
        if not _is_int(old_vocab_size) or (old_vocab_size < 1 and old_vocab_size != -1):
            raise ValueError(f"VocabInfo.old_vocab_size must be a positive int or -1 (the "
                             f"whole file). Received: {old_vocab_size!r}")
        if backup_initializer is not None and not callable(backup_initializer):
            raise TypeError(f"VocabInfo.backup_initializer must be an initializer (callable) "
                            f"or None. Received: {backup_initializer!r}")
        return super().__new__(cls, new_vocab, int(new_vocab_size), int(num_oov_buckets),
                               old_vocab, int(old_vocab_size), backup_initializer, int(axis))


def read_vocabulary(path: str, size: int, what: str) -> list[bytes]:
    """The first ``size`` entries (all when -1) of the vocabulary file ``path``.

    Raises:
        ValueError: the file cannot be read or has fewer than ``size`` lines.
    """
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except OSError as e:
        raise ValueError(f"Cannot read the {what} vocabulary file {path}: {e}") from None
    if lines and lines[-1] == b"":
        lines.pop()  # the file's final newline
    entries = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if size == -1:
        return entries
    if len(entries) < size:
        raise ValueError(f"The {what} vocabulary file {path} has {len(entries)} entries, "
                         f"fewer than the {size} VocabInfo asks for.")
    return entries[:size]


def _index(entries: list[bytes], path: str) -> dict[bytes, int]:
    out: dict[bytes, int] = {}
    for i, word in enumerate(entries):
        if out.setdefault(word, i) != i:
            raise ValueError(f"The old vocabulary file {path} has the entry {word!r} twice "
                             f"(lines {out[word] + 1} and {i + 1}).")
    return out


def _initial(initializer: Callable | None, shape: tuple[int, int], dtype: np.dtype,
             seed: tuple[int, int] | None) -> np.ndarray:
    if initializer is None:
        return np.zeros(shape, dtype)
    if isinstance(initializer, Initializer) and initializer.seed is None and seed is not None:
        value = initializer(shape, seed=seed)
    else:
        value = initializer(shape)
    arr = np.asarray(value)
    if arr.size != shape[0] * shape[1]:
        raise ValueError(f"VocabInfo.backup_initializer returned {arr.size} values for "
                         f"shape {list(shape)}")
    return arr.reshape(shape).astype(dtype, copy=False)


def remap(name: str, old: np.ndarray, info: VocabInfo, shape: tuple[int, ...],
          graph_seed: int | None = None) -> np.ndarray:
    """The warm-start value of variable ``name`` (of ``shape``) from the checkpoint's
    ``old`` value, remapped by vocabulary entry (see the module docstring).

    Args:
        name: the variable's name (for errors, and the initializer's seed).
        old: the checkpoint's tensor, float, 2-D (1-D with ``axis=0``).
        info: the variable's :class:`VocabInfo`.
        shape: the variable's shape: ``[new_vocab_size + num_oov_buckets, columns]``
            for ``axis=0`` (fewer rows: the first ones, as TF), ``[rows,
            new_vocab_size + num_oov_buckets]`` for ``axis=1``.
        graph_seed: with an estcore initializer without its own seed, each call's seed is
            ``(graph_seed, crc32 of the name and the call)`` (deterministic under
            ``tf_random_seed``).

    Returns:
        The new value, of ``shape`` and ``old``'s dtype.

    Raises:
        ValueError: a vocabulary file, shape or dtype that does not fit.
    """
    old = np.asarray(old)
    shape = tuple(int(d) for d in shape)
    if old.dtype.kind != "f":
        raise ValueError(f"Cannot warm-start {name} with a vocabulary: its checkpoint tensor "
                         f"is {old.dtype}, only float variables are remapped.")
    flat = info.axis == 0 and len(shape) == 1 and old.ndim == 1
    if flat:
        shape, old = (shape[0], 1), old.reshape(-1, 1)
    if len(shape) != 2 or old.ndim != 2:
        raise ValueError(f"Cannot warm-start {name} with a vocabulary: expected a 2-D variable "
                         f"(1-D with axis=0), but the variable has shape {list(shape)} and "
                         f"the checkpoint tensor {list(old.shape)}.")

    def seed(call: str) -> tuple[int, int] | None:
        if graph_seed is None:
            return None
        return int(graph_seed), zlib.crc32(f"{name}/{call}".encode())

    new = read_vocabulary(info.new_vocab, info.new_vocab_size, "new")
    old_vocab = _index(read_vocabulary(info.old_vocab, info.old_vocab_size if info.axis == 0
                                       else -1, "old"), info.old_vocab)
    vocab_axis, other = info.axis, 1 - info.axis
    total = info.new_vocab_size + info.num_oov_buckets
    if info.axis == 0 and shape[0] > total:
        raise ValueError(f"Cannot warm-start {name}: it has {shape[0]} rows, more than "
                         f"new_vocab_size ({info.new_vocab_size}) + num_oov_buckets "
                         f"({info.num_oov_buckets}) = {total}.")
    if info.axis == 1 and shape[1] != total:
        raise ValueError(f"Cannot warm-start {name}: expected its 2nd dimension to be "
                         f"new_vocab_size ({info.new_vocab_size}) + num_oov_buckets "
                         f"({info.num_oov_buckets}) = {total}, but its shape is "
                         f"{list(shape)}.")
    if old.shape[other] < shape[other] or (info.axis == 0 and old.shape[1] != shape[1]):
        raise ValueError(f"Cannot warm-start {name}: the checkpoint tensor has shape "
                         f"{list(old.shape)}, which does not fit the variable's "
                         f"{list(shape) if not flat else [shape[0]]} along axis {other}.")
    n_vocab = min(shape[vocab_axis], info.new_vocab_size)
    n_oov = shape[vocab_axis] - n_vocab
    source = np.array([old_vocab.get(word, -1) for word in new[:n_vocab]], dtype=np.int64)
    if source.size and source.max() >= old.shape[vocab_axis]:
        raise ValueError(f"Cannot warm-start {name}: the old vocabulary {info.old_vocab} maps "
                         f"an entry to index {int(source.max())}, but the checkpoint tensor "
                         f"has {old.shape[vocab_axis]} along axis {vocab_axis}.")
    present = source >= 0
    rows = shape[0] if info.axis == 1 else n_vocab
    cols = n_vocab if info.axis == 1 else shape[1]
    out = np.empty((rows, cols), dtype=old.dtype)
    missing = np.zeros((rows, cols), dtype=bool)
    if info.axis == 0:
        out[present] = old[source[present]]
        missing[~present] = True
    else:
        out[:, present] = old[:rows, source[present]]
        missing[:, ~present] = True
    count = int(missing.sum())
    if count:
        out[missing] = _initial(info.backup_initializer, (count, 1), old.dtype,
                                seed("missing")).reshape(-1)
    if n_oov:
        oov_shape = (n_oov, cols) if info.axis == 0 else (rows, n_oov)
        extra = _initial(info.backup_initializer, oov_shape, old.dtype, seed("oov"))
        out = np.concatenate([out, extra], axis=vocab_axis)
    return out.reshape(-1) if flat else out
