"""``Saver``: writes checkpoints, keeps the state file, rotates old checkpoints.

Rotation follows TF's Saver (spec 5.4) with its known bugs fixed:

* The Saver keeps the list L of rotating checkpoints ``(prefix, save time)``,
  oldest first. Saving P removes an older entry for P, appends ``(P, now)``,
  and when ``len(L) > max_to_keep`` moves the oldest entries out of L -- **all**
  excess entries, so lowering ``keep_checkpoint_max`` between runs shrinks the
  set to the new limit on the next save (TF dropped one per save).
* Each entry moved out is preserved if ``keep_checkpoint_every_n_hours`` is set
  and its save time is later than ``next_keep_time`` (which then advances by N
  hours, as TF); otherwise its file is deleted. ``next_keep_time`` starts at
  the Saver's construction time + N hours (as TF: the Estimator builds a Saver
  per ``train()`` call). ``keep_checkpoint_every_n_hours=None`` means "no
  preservation" (TF preserved *every* evicted checkpoint, disabling
  ``keep_checkpoint_max``).
* Preserved checkpoints stay listed in the state file and are marked with a
  ``# preserved: "..."`` comment (see :mod:`estcore.checkpoint.state`), so they remain
  discoverable and are never deleted, also after a restart.
* ``max_to_keep`` 0 or None keeps every checkpoint and lists every one in the
  state file (TF listed only the newest).
* Restart recovery (:meth:`Saver.recover_last_checkpoints`) rebuilds L from the
  state file, using the stored save times (file mtimes when absent). A checkpoint
  file on disk that the state file does not list and whose step is below the newest
  listed one (left by a process killed between the state-file write and the
  deletions) joins L as its oldest entries, so the next save rotates it out; a file
  newer than every listed one is never adopted, so never deleted. Given the
  checkpoint training resumed from, entries with a higher step (a newer checkpoint
  that did not load, or one the state file skipped) leave L too: they stay on disk,
  untouched, for inspection.
* A checkpoint is deleted only if its marker file (``<base>-<step>.data``, or TF's
  ``<base>-<step>.index``) lies directly inside the save directory and its head reads
  as a checkpoint (magic, version, tensor table; TF: the whole index); anything else is
  left in place with a WARNING. Deleting removes every file of the checkpoint (TF: the
  index, then its data shards).
* ``checkpoint_format="tf"`` writes TF's tensor bundle
  (:func:`~estcore.checkpoint.tf_bundle.write_bundle`) instead of estcore's file.
  Rotation and recovery treat both formats alike, so a TF model_dir that estcore
  continues rotates TF's checkpoints out as TF would. Saving a prefix that exists in the
  other format (the start-of-call save of a model_dir whose format changed) leaves the
  other format's files in place (readers take the newer); rotating the prefix out
  removes both.

Order of a save: checkpoint file (atomic) -> state file (atomic) -> deletions,
so a crash at any point leaves the state file naming only complete files.

Must not: read variables from a session (the caller passes ``values``, name -> array);
encode tensors or write the state file's text itself (:mod:`estcore.checkpoint.format`
and :mod:`estcore.checkpoint.state` do); delete a file that is not an estcore checkpoint
of this directory.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from estcore._validation import invalid
from estcore.checkpoint import tf_bundle
from estcore.checkpoint.format import (
    FORMATS,
    CheckpointCorruptError,
    checkpoint_files,
    marker_file,
    read_checkpoint,
    read_header_unverified,
    write_checkpoint,
)
from estcore.checkpoint.state import (
    CheckpointState,
    get_checkpoint_state,
    prefix_step,
    scan_checkpoints,
    write_checkpoint_state,
)

__all__ = ["Saver"]

logger = logging.getLogger("estcore")


def _is_checkpoint(directory: str, prefix: str) -> bool:
    """True if ``prefix``'s marker file lies directly inside ``directory`` and its head
    reads as a checkpoint (either format): the only checkpoints rotation may delete."""
    path = marker_file(prefix)
    if path is None or os.path.dirname(os.path.realpath(path)) != os.path.realpath(directory):
        return False
    try:
        read_header_unverified(prefix)
    except (OSError, CheckpointCorruptError):
        return False
    return True


def _delete(directory: str, prefix: str) -> None:
    """Remove every file of the checkpoint ``prefix`` if it is one of ``directory``."""
    files = checkpoint_files(prefix)
    if not files:
        return
    if not _is_checkpoint(directory, prefix):
        logger.warning("Not deleting %s: it is not a checkpoint file inside %s.",
                       files[0], directory)
        return
    for path in files:
        try:
            os.remove(path)
        except OSError as e:
            logger.warning("Ignoring: failed to delete checkpoint file %s: %s", path, e)


def _unlisted_older(directory: str, listed: list[str],
                    limit: int | None = None) -> list[tuple[str, float]]:
    """Checkpoints in ``directory`` named like the listed ones, not listed, with a step
    below the newest listed step (and below ``limit``), that read as checkpoints,
    oldest first, as ``(prefix, file mtime)``."""
    steps = [s for s in map(prefix_step, listed) if s is not None]
    if not steps:
        return []
    base, newest = steps[-1][0], max(step for b, step in steps if b == steps[-1][0])
    if limit is not None:
        newest = min(newest, limit)
    known = {os.path.basename(p) for p in listed}
    found = []
    for step, prefix in scan_checkpoints(directory, base):
        if step >= newest or os.path.basename(prefix) in known:
            continue
        if not _is_checkpoint(directory, prefix):
            logger.warning("Not rotating %s: it does not read as a checkpoint.", prefix)
            continue
        found.append((step, prefix, os.path.getmtime(marker_file(prefix))))
    if found:
        logger.warning("Rotating %d checkpoint(s) of %s that the state file does not list "
                       "(left by an interrupted rotation): %s", len(found), directory,
                       ", ".join(p for _, p, _ in sorted(found)))
    return [(p, t) for _, p, t in sorted(found)]


class Saver:
    """Saves named arrays as checkpoints and rotates them.

    Args:
        max_to_keep: newest rotating checkpoints kept (0 or None = all).
        keep_checkpoint_every_n_hours: preserve one evicted checkpoint per this
            many hours (None = never).
        clock: returns the current time in seconds (``time.time``; tests pass a
            fake clock).
        checkpoint_format: ``"estcore"`` (None: the same) or ``"tf"`` (TF's tensor
            bundle).
    """

    def __init__(self, max_to_keep: int | None = 5,
                 keep_checkpoint_every_n_hours: float | None = 10000.0,
                 clock: Callable[[], float] = time.time,
                 checkpoint_format: str | None = "estcore"):
        if checkpoint_format is None:
            checkpoint_format = "estcore"
        if checkpoint_format not in FORMATS:
            raise invalid("checkpoint_format", "'estcore' or 'tf'", checkpoint_format)
        self._format = checkpoint_format
        if max_to_keep is not None and (not isinstance(max_to_keep, int)
                                        or isinstance(max_to_keep, bool) or max_to_keep < 0):
            raise invalid("max_to_keep", "a non-negative int or None", max_to_keep)
        if keep_checkpoint_every_n_hours is not None and (
                isinstance(keep_checkpoint_every_n_hours, bool)
                or not isinstance(keep_checkpoint_every_n_hours, (int, float))
                or keep_checkpoint_every_n_hours <= 0):
            raise invalid("keep_checkpoint_every_n_hours", "a positive number or None",
                          keep_checkpoint_every_n_hours)
        self._max_to_keep = max_to_keep or 0
        self._every_secs = (None if keep_checkpoint_every_n_hours is None
                            else float(keep_checkpoint_every_n_hours) * 3600.0)
        self._clock = clock
        now = clock()
        self._next_keep_time = None if self._every_secs is None else now + self._every_secs
        self._last: list[tuple[str, float]] = []
        self._preserved: list[tuple[str, float]] = []

    @property
    def last_checkpoints(self) -> list[str]:
        """Prefixes of the rotating checkpoints, oldest first."""
        return [p for p, _ in self._last]

    @property
    def preserved_checkpoints(self) -> list[str]:
        """Prefixes kept by ``keep_checkpoint_every_n_hours``, oldest first."""
        return [p for p, _ in self._preserved]

    def recover_last_checkpoints(self, checkpoint_dir: str,
                                 resumed_from: str | None = None) -> None:
        """Reload the rotation list from ``checkpoint_dir``'s state file.

        Entries whose file is missing are dropped; preserved ones are kept apart.

        Args:
            checkpoint_dir: the directory of the state file.
            resumed_from: the checkpoint prefix training restored (None: the one the
                state file names, which is what a restore picks, and what
                :func:`~estcore.checkpoint.state.restorable_checkpoint` repairs it to
                name when a newer file does not load). A listed checkpoint with a
                higher step is left out of the rotation, so it is never deleted.
        """
        try:
            state = get_checkpoint_state(checkpoint_dir)
        except ValueError:  # a state file naming no checkpoint: nothing to rotate
            state = None
        self._last, self._preserved = [], []
        if state is None:
            return
        resumed_from = resumed_from or state.model_checkpoint_path
        resumed = prefix_step(resumed_from) if resumed_from else None
        limit = resumed[1] if resumed else None
        times = state.all_model_checkpoint_timestamps
        preserved = set(state.preserved_paths)
        for i, prefix in enumerate(state.all_model_checkpoint_paths):
            path = marker_file(prefix)
            if path is None:
                continue
            stamp = times[i] if times else os.path.getmtime(path)
            step = prefix_step(prefix)
            if prefix not in preserved and limit is not None and step is not None \
                    and step[1] > limit:
                logger.warning("Checkpoint %s is newer than the one training resumed from "
                               "(%s): it is kept on disk and left out of the rotation.",
                               prefix, resumed_from)
                continue
            (self._preserved if prefix in preserved else self._last).append((prefix, stamp))
        self._last[:0] = _unlisted_older(checkpoint_dir, state.all_model_checkpoint_paths,
                                         limit)

    def save(self, values: Mapping[str, Any], save_path: str, global_step: int | None = None,
             meta: Mapping[str, Any] | None = None) -> str:
        """Write a checkpoint, update the state file, rotate.

        Args:
            values: variable name -> array.
            save_path: prefix without step, e.g. ``model_dir/model.ckpt``.
            global_step: appended as ``-<step>`` when given.
            meta: small JSON dict stored in the checkpoint header.

        Returns:
            The checkpoint prefix written (``model_dir/model.ckpt-<step>``).
        """
        prefix = os.fspath(save_path)
        if global_step is not None:
            prefix = f"{prefix}-{int(global_step)}"
        directory = os.path.dirname(os.path.abspath(prefix))
        os.makedirs(directory, exist_ok=True)
        full_meta = dict(meta or {})
        if global_step is not None:
            full_meta.setdefault("global_step", int(global_step))
        if self._format == "tf":
            tf_bundle.write_bundle(prefix, values, full_meta)
        else:
            write_checkpoint(prefix, values, full_meta)
        now = self._clock()

        self._last = [(p, t) for p, t in self._last if p != prefix]
        self._preserved = [(p, t) for p, t in self._preserved if p != prefix]
        self._last.append((prefix, now))
        evicted: list[tuple[str, float]] = []
        if self._max_to_keep:
            while len(self._last) > self._max_to_keep:
                evicted.append(self._last.pop(0))
        to_delete = []
        for entry in evicted:
            if self._next_keep_time is not None and entry[1] > self._next_keep_time:
                self._preserved.append(entry)
                self._next_keep_time += self._every_secs  # type: ignore[operator]
            else:
                to_delete.append(entry[0])

        listed = sorted(self._preserved + self._last, key=lambda e: e[1])
        # The newest save must come last even if the clock went backwards.
        listed = [e for e in listed if e[0] != prefix] + [(prefix, now)]
        state = CheckpointState(
            model_checkpoint_path=prefix,
            all_model_checkpoint_paths=[p for p, _ in listed],
            all_model_checkpoint_timestamps=[t for _, t in listed],
            last_preserved_timestamp=(self._preserved[-1][1] if self._preserved else None),
            preserved_paths=[p for p, _ in self._preserved])
        write_checkpoint_state(directory, state)
        for old in to_delete:
            _delete(directory, old)
        return prefix

    def restore_names(self) -> dict[str, Any] | None:
        """What a session restore through this saver assigns: ``checkpoint name ->
        variable``, or None for every global variable under its own name (this class).

        TF1's ``Saver(var_list={...})`` in a ``Scaffold`` overrides it, so that a restore
        reads the names it was given (e.g. the shadow variables of
        ``ExponentialMovingAverage.variables_to_restore()``).
        """
        return None

    @staticmethod
    def restore(prefix: str) -> dict:
        """All variables of the checkpoint ``prefix`` (name -> array)."""
        values, _ = read_checkpoint(prefix)
        return values
