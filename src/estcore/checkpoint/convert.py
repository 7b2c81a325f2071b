"""Convert checkpoints between estcore's format and TF's tensor bundle (``estcore
checkpoint convert``).

A source directory converts every checkpoint its state file lists and every
``model.ckpt-<step>`` checkpoint on disk, under the same names, and writes a state file
for the destination directory that lists them in the source's order with the source's
save times. A source prefix converts that one checkpoint (the destination is a prefix,
or a directory to put it in under the same name; no state file). Every value is read
verified and written atomically; estcore's checkpoint meta travels in both formats.
Event files, graphs and exports are not copied.

Must not: delete or modify anything in the source; overwrite a destination
checkpoint that exists in the target format unless asked (``overwrite``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from estcore.checkpoint import tf_bundle
from estcore.checkpoint.format import (
    FORMATS,
    checkpoint_file,
    marker_file,
    read_checkpoint,
    stored_format,
    write_checkpoint,
)
from estcore.checkpoint.state import (
    CheckpointState,
    get_checkpoint_state,
    scan_checkpoints,
    write_checkpoint_state,
)
from estcore.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError

__all__ = ["ConvertedCheckpoint", "convert_checkpoint", "convert_model_dir"]


@dataclass(frozen=True)
class ConvertedCheckpoint:
    """One checkpoint written by a conversion."""

    source: str
    destination: str
    source_format: str
    variables: int


def _target_exists(prefix: str, to: str) -> bool:
    if to == "tf":
        return tf_bundle.is_bundle(prefix)
    return os.path.isfile(checkpoint_file(prefix))


def convert_checkpoint(src: str, dst: str, to: str,
                       overwrite: bool = False) -> ConvertedCheckpoint:
    """Write the checkpoint ``src`` (a prefix) as ``dst`` in format ``to``.

    Args:
        src: source checkpoint prefix (either format).
        dst: destination prefix, or an existing directory (then ``dst/<basename>``).
        to: ``"tf"`` or ``"estcore"``.
        overwrite: replace a destination checkpoint that exists in format ``to``.

    Raises:
        NotFoundError: ``src`` is no checkpoint.
        AlreadyExistsError: ``dst`` exists in format ``to`` and not ``overwrite``.
        InvalidArgumentError: a variable the target cannot hold (a TF string,
            complex or partitioned variable), named.
        CheckpointCorruptError: ``src`` fails its checks.
    """
    if to not in FORMATS:
        raise InvalidArgumentError(f"convert: 'to' must be one of {list(FORMATS)}. "
                                   f"Received: {to!r}")
    src, dst = os.fspath(src), os.fspath(dst)
    kind = stored_format(src)
    if kind is None:
        raise NotFoundError(f"convert: no checkpoint {src} (no file {checkpoint_file(src)} "
                            f"or {tf_bundle.index_file(src)})")
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(src))
    if not overwrite and _target_exists(dst, to):
        raise AlreadyExistsError(f"convert: {dst} already exists in {to!r} format (pass "
                                 "overwrite / --overwrite to replace it)")
    values, meta = read_checkpoint(src)
    unreadable = getattr(values, "unreadable", [])
    if unreadable:
        values[unreadable[0]]  # raises the error that names the variable and the reason
    if to == "tf":
        tf_bundle.write_bundle(dst, values, meta)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        write_checkpoint(dst, values, meta)
    return ConvertedCheckpoint(src, dst, kind, len(values))


def convert_model_dir(src_dir: str, dst_dir: str, to: str,
                      overwrite: bool = False) -> list[ConvertedCheckpoint]:
    """Convert every checkpoint of ``src_dir`` into ``dst_dir`` (see the module docstring).

    Returns:
        What was converted, oldest first as the state file lists them.

    Raises:
        NotFoundError: ``src_dir`` holds no checkpoint.
        Same as :func:`convert_checkpoint` for each checkpoint.
    """
    src_dir, dst_dir = os.fspath(src_dir), os.fspath(dst_dir)
    try:
        state = get_checkpoint_state(src_dir)
    except ValueError:  # a state file naming no checkpoint: the scan still finds them
        state = None
    listed = list(state.all_model_checkpoint_paths) if state is not None else []
    # (get_checkpoint_state empties the timestamps unless there is one per path)
    times = (dict(zip(listed, state.all_model_checkpoint_timestamps, strict=False))
             if state else {})
    listed = [p for p in listed if marker_file(p) is not None]
    scanned = [p for _, p in sorted(scan_checkpoints(src_dir))]
    prefixes = [p for p in scanned if p not in listed] + listed
    if not prefixes:
        raise NotFoundError(f"convert: no checkpoint in {src_dir}")
    os.makedirs(dst_dir, exist_ok=True)
    done = [convert_checkpoint(p, os.path.join(dst_dir, os.path.basename(p)), to,
                               overwrite) for p in prefixes]
    stamps = [times.get(p) for p in prefixes]
    write_checkpoint_state(dst_dir, CheckpointState(
        model_checkpoint_path=done[-1].destination,
        all_model_checkpoint_paths=[c.destination for c in done],
        all_model_checkpoint_timestamps=(
            [float(t) for t in stamps] if all(t is not None for t in stamps) else [])))
    return done
