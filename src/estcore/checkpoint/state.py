"""The ``checkpoint`` state file (TF's text ``CheckpointState``) and checkpoint lookup.

Written by :class:`~estcore.checkpoint.saver.Saver`, read by everything that
restores. The text format is TF's::

    model_checkpoint_path: "model.ckpt-23"
    all_model_checkpoint_paths: "model.ckpt-20"
    all_model_checkpoint_paths: "model.ckpt-23"
    all_model_checkpoint_timestamps: 1795702194.25
    all_model_checkpoint_timestamps: 1795702196.5
    last_preserved_timestamp: 1795702190.0

estcore additions, all valid for TF's text parser (comments are skipped):

* ``all_model_checkpoint_timestamps`` (a real ``CheckpointState`` field, written
  by TF2's CheckpointManager) holds each listed checkpoint's save time, so
  rotation after a restart uses save times instead of file mtimes.
* Checkpoints kept by ``keep_checkpoint_every_n_hours`` stay listed in
  ``all_model_checkpoint_paths`` (so every file on disk is discoverable) and are
  marked by a comment line ``# preserved: "model.ckpt-100"``; the Saver never
  deletes them.

Paths are written relative to the directory; readers join relative entries
with the directory, so a model_dir can be moved.

Every lookup here finds checkpoints of both formats: estcore's ``<prefix>.data`` and
TF's ``<prefix>.index`` (+ data shards); :class:`CheckpointReader` reads either
(:mod:`estcore.checkpoint.format` tells them apart).

Must not: delete or rotate checkpoints (the Saver does); encode tensors (``format.py``
does); write the state file other than through :func:`estcore.checkpoint.fileio.atomic_write`.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np

from estcore.checkpoint import tf_bundle
from estcore.checkpoint.fileio import atomic_write
from estcore.checkpoint.format import (
    CHECKPOINT_SUFFIX,
    CheckpointCorruptError,
    marker_file,
    read_checkpoint,
    read_header,
    stored_format,
    verify_checkpoint,
)
from estcore.errors import NotFoundError

__all__ = [
    "CheckpointState",
    "StateParseError",
    "STATE_FILENAME",
    "parse_state_text",
    "format_state_text",
    "get_checkpoint_state",
    "write_checkpoint_state",
    "latest_checkpoint",
    "checkpoint_exists",
    "restorable_checkpoint",
    "resolve_checkpoint_path",
    "prefix_step",
    "scan_checkpoints",
    "CheckpointReader",
    "load_checkpoint",
    "list_variables",
    "load_variable",
]

logger = logging.getLogger("estcore")

STATE_FILENAME = "checkpoint"
_PRESERVED_TAG = "preserved:"


class StateParseError(ValueError):
    """The state file is not valid ``CheckpointState`` text."""


@dataclass
class CheckpointState:
    """Contents of the state file (paths as stored, usually relative)."""

    model_checkpoint_path: str = ""
    all_model_checkpoint_paths: list[str] = field(default_factory=list)
    all_model_checkpoint_timestamps: list[float] = field(default_factory=list)
    last_preserved_timestamp: float | None = None
    preserved_paths: list[str] = field(default_factory=list)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?"}


def _unescape(body: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            raw += ch.encode("utf-8")
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise StateParseError("dangling backslash in string")
        ch = body[i]
        if ch in _ESCAPES:
            raw += _ESCAPES[ch].encode()
            i += 1
        elif ch in "01234567":
            j = i
            while j < len(body) and j < i + 3 and body[j] in "01234567":
                j += 1
            raw.append(int(body[i:j], 8) & 0xFF)
            i = j
        elif ch == "x":
            j = i + 1
            while j < len(body) and j < i + 3 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 1:
                raise StateParseError("bad \\x escape")
            raw.append(int(body[i + 1:j], 16))
            i = j
        else:
            raise StateParseError(f"unknown escape \\{ch}")
    return raw.decode("utf-8", errors="surrogateescape")


def _escape(text: str) -> str:
    out = []
    for byte in text.encode("utf-8", errors="surrogateescape"):
        ch = chr(byte)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


_LINE = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$""")
_STRING = re.compile(r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')$""")


def parse_state_text(text: str) -> CheckpointState:
    """Parse the state file's text (TF text format, one field per line).

    Raises:
        StateParseError: on anything TF's text parser would reject.
    """
    state = CheckpointState()
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            rest = stripped[1:].strip()
            if rest.startswith(_PRESERVED_TAG):
                m = _STRING.match(rest[len(_PRESERVED_TAG):].strip())
                if m:
                    state.preserved_paths.append(_unescape(m.group(1) or m.group(2) or ""))
            continue
        m = _LINE.match(line)
        if not m:
            raise StateParseError(f"line {lineno}: expected 'field: value', got {line!r}")
        key, value = m.group(1), m.group(2)
        if key in ("model_checkpoint_path", "all_model_checkpoint_paths"):
            sm = _STRING.match(value)
            if not sm:
                raise StateParseError(f"line {lineno}: {key} needs a quoted string")
            s = _unescape(sm.group(1) if sm.group(1) is not None else sm.group(2))
            if key == "model_checkpoint_path":
                state.model_checkpoint_path = s
            else:
                state.all_model_checkpoint_paths.append(s)
        elif key in ("all_model_checkpoint_timestamps", "last_preserved_timestamp"):
            try:
                number = float(value)
            except ValueError:
                raise StateParseError(f"line {lineno}: {key} needs a number") from None
            if key == "last_preserved_timestamp":
                state.last_preserved_timestamp = number
            else:
                state.all_model_checkpoint_timestamps.append(number)
        else:
            raise StateParseError(f"line {lineno}: unknown field {key!r}")
    return state


def format_state_text(state: CheckpointState) -> str:
    """The state file's text for ``state`` (TF's text format + comment lines)."""
    lines = [f'model_checkpoint_path: "{_escape(state.model_checkpoint_path)}"']
    lines += [f'all_model_checkpoint_paths: "{_escape(p)}"'
              for p in state.all_model_checkpoint_paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}"
              for t in state.all_model_checkpoint_timestamps]
    if state.last_preserved_timestamp is not None:
        lines.append(f"last_preserved_timestamp: {state.last_preserved_timestamp!r}")
    lines += [f'# {_PRESERVED_TAG} "{_escape(p)}"' for p in state.preserved_paths]
    return "".join(line + "\n" for line in lines)


def _join(directory: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(directory, path)


def get_checkpoint_state(checkpoint_dir: str,
                         latest_filename: str | None = None) -> CheckpointState | None:
    """Read ``checkpoint_dir/checkpoint``; paths in the result are joined with the dir.

    Returns None when there is no state file or it cannot be parsed (with a
    warning, as TF). A state file without ``model_checkpoint_path`` raises
    ``ValueError('Invalid checkpoint state loaded from <dir>')``.
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = os.path.join(checkpoint_dir, latest_filename or STATE_FILENAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            state = parse_state_text(f.read())
    except (OSError, StateParseError) as e:
        logger.warning("%s: %s", type(e).__name__, e)
        logger.warning("%s: Checkpoint ignored", path)
        return None
    if not state.model_checkpoint_path:
        raise ValueError("Invalid checkpoint state loaded from " + checkpoint_dir)
    state.model_checkpoint_path = _join(checkpoint_dir, state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [_join(checkpoint_dir, p)
                                        for p in state.all_model_checkpoint_paths]
    state.preserved_paths = [_join(checkpoint_dir, p) for p in state.preserved_paths]
    if len(state.all_model_checkpoint_timestamps) != len(state.all_model_checkpoint_paths):
        state.all_model_checkpoint_timestamps = []
    if (not state.all_model_checkpoint_paths
            or state.all_model_checkpoint_paths[-1] != state.model_checkpoint_path):
        logger.info("%s is not in all_model_checkpoint_paths. Manually adding it.",
                    state.model_checkpoint_path)
        state.all_model_checkpoint_paths.append(state.model_checkpoint_path)
        state.all_model_checkpoint_timestamps = []
    return state


def write_checkpoint_state(checkpoint_dir: str, state: CheckpointState) -> None:
    """Write ``state`` atomically; paths inside the dir are stored relative to it (TF).

    The paths in ``state`` are as the caller holds them: absolute, or relative to the
    current directory (as ``checkpoint_dir`` may be). A path outside the directory is
    stored absolute.
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    base = os.path.abspath(checkpoint_dir)

    def rel(p: str) -> str:
        full = os.path.abspath(p)
        r = os.path.relpath(full, base)
        return full if r == os.pardir or r.startswith(os.pardir + os.sep) else r

    stored = CheckpointState(
        model_checkpoint_path=rel(state.model_checkpoint_path),
        all_model_checkpoint_paths=[rel(p) for p in state.all_model_checkpoint_paths],
        all_model_checkpoint_timestamps=list(state.all_model_checkpoint_timestamps),
        last_preserved_timestamp=state.last_preserved_timestamp,
        preserved_paths=[rel(p) for p in state.preserved_paths])
    text = format_state_text(stored)
    atomic_write(os.path.join(checkpoint_dir, STATE_FILENAME), [text.encode("utf-8")])


def checkpoint_exists(prefix: str) -> bool:
    """True if the checkpoint ``prefix`` exists in either format (estcore's ``.data``
    file or TF's ``.index`` file)."""
    return stored_format(prefix) is not None


_SUFFIXES = (CHECKPOINT_SUFFIX, tf_bundle.INDEX_SUFFIX)


def scan_checkpoints(checkpoint_dir: str, base: str = "model.ckpt") -> list[tuple[int, str]]:
    """``(step, prefix)`` of every ``<base>-<step>`` checkpoint file in ``checkpoint_dir``
    (either format; a prefix once), newest step first."""
    found: dict[str, int] = {}
    if os.path.isdir(checkpoint_dir):
        for entry in os.listdir(checkpoint_dir):
            for suffix in _SUFFIXES:
                if not entry.endswith(suffix):
                    continue
                parsed = prefix_step(entry[:-len(suffix)])
                if parsed is not None and parsed[0] == base:
                    found[os.path.join(checkpoint_dir, entry[:-len(suffix)])] = parsed[1]
    return sorted(((step, p) for p, step in found.items()), reverse=True)


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """Full prefix of the newest checkpoint in ``checkpoint_dir``, or None.

    None when there is no (readable) state file or its newest file is missing
    (logged as ``Couldn't match files for checkpoint <path>``).
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not state.model_checkpoint_path:
        return None
    if checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    logger.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None


_STEP_SUFFIX = re.compile(r"^(.+)-(\d+)$")


def prefix_step(prefix: str) -> tuple[str, int] | None:
    """``(base name, step)`` of a checkpoint prefix ``.../<base>-<step>``, or None."""
    m = _STEP_SUFFIX.match(os.path.basename(prefix))
    return (m.group(1), int(m.group(2))) if m else None


def _inside(directory: str, path: str) -> bool:
    """True if ``path`` names a file directly inside ``directory`` (symlinks resolved)."""
    return os.path.dirname(os.path.realpath(path)) == os.path.realpath(directory)


def restorable_checkpoint(checkpoint_dir: str, repair: bool = False) -> str | None:
    """The newest checkpoint of ``checkpoint_dir`` that loads, for a restore.

    Candidates, newest first: the state file's ``model_checkpoint_path``, the other
    paths it lists, then every ``model.ckpt-<step>`` checkpoint in the directory by step
    (estcore's ``.data`` or TF's ``.index``).
    Each is read whole and verified (markers, length, every checksum) before it is
    chosen, and what was read is kept for the restore that follows
    (:func:`~estcore.checkpoint.format.verify_checkpoint`), so the restore does not read
    and check the files again; a state file may only name files inside ``checkpoint_dir``.
    Whatever is skipped is logged as a WARNING with the reason. With ``repair`` (the
    chief's train call), a state file that is missing, unreadable or names another
    checkpoint is rewritten to name the one chosen (its list keeps every listed
    checkpoint that is still on disk).

    Returns:
        The chosen prefix (joined with ``checkpoint_dir``), or None when the directory
        holds no checkpoint file at all (a fresh model_dir, as TF).

    Raises:
        CheckpointCorruptError: checkpoint files exist but none of them loads
            (restoring nothing would silently start from random weights).
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    skipped: list[str] = []
    try:
        state = get_checkpoint_state(checkpoint_dir)
    except ValueError as e:  # a state file without model_checkpoint_path
        state = None
        skipped.append(f"the state file: {e}")
    listed: list[str] = []
    if state is not None:
        listed = [state.model_checkpoint_path] + state.all_model_checkpoint_paths[::-1]
    on_disk = scan_checkpoints(checkpoint_dir)
    candidates = list(dict.fromkeys(listed + [p for _, p in on_disk]))
    chosen = None
    for prefix in candidates:
        marker = marker_file(prefix)
        if marker is None:
            skipped.append(f"{prefix}: no file {prefix}{CHECKPOINT_SUFFIX} or "
                           f"{tf_bundle.index_file(prefix)}")
            continue
        if not _inside(checkpoint_dir, marker):
            skipped.append(f"{prefix}: outside {checkpoint_dir}")
            continue
        try:
            verify_checkpoint(prefix)  # kept for the restore that follows
        except (CheckpointCorruptError, OSError) as e:
            skipped.append(f"{prefix}: {e}")
            continue
        chosen = prefix
        break
    for why in skipped:
        logger.warning("Skipping checkpoint candidate %s", why)
    if chosen is None:
        if on_disk:
            raise CheckpointCorruptError(
                f"No checkpoint in {checkpoint_dir} can be restored ({len(on_disk)} checkpoint "
                f"file(s), none loads); not starting from random weights. Skipped: "
                + "; ".join(skipped))
        return None
    if skipped:
        logger.warning("Restoring from %s, the newest checkpoint in %s that loads.",
                       chosen, checkpoint_dir)
    if repair and (state is None or state.model_checkpoint_path != chosen):
        _rewrite_state(checkpoint_dir, state, chosen)
    return chosen


def _rewrite_state(checkpoint_dir: str, state: CheckpointState | None, chosen: str) -> None:
    """Point the state file at ``chosen``, keeping the listed checkpoints still on disk."""
    old = state or CheckpointState()
    markers = {p: marker_file(p) for p in old.all_model_checkpoint_paths + [chosen]}
    keep = [i for i, p in enumerate(old.all_model_checkpoint_paths)
            if p != chosen and markers[p] is not None
            and _inside(checkpoint_dir, markers[p])]
    times = old.all_model_checkpoint_timestamps
    paths = [old.all_model_checkpoint_paths[i] for i in keep] + [chosen]
    stamps = ([times[i] for i in keep] + [os.path.getmtime(markers[chosen])]
              if times else [])
    write_checkpoint_state(checkpoint_dir, CheckpointState(
        model_checkpoint_path=chosen, all_model_checkpoint_paths=paths,
        all_model_checkpoint_timestamps=stamps,
        last_preserved_timestamp=old.last_preserved_timestamp,
        preserved_paths=[p for p in old.preserved_paths if p in paths]))
    logger.warning("Rewrote the state file of %s to name %s.", checkpoint_dir, chosen)


def resolve_checkpoint_path(ckpt_dir_or_file: str) -> str:
    """A checkpoint prefix as given, or the latest checkpoint of a directory."""
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given "
                             f"directory {path}")
        return latest
    return path


class CheckpointReader:
    """Read-only access to one checkpoint (TF's ``CheckpointReader``).

    An estcore checkpoint is verified whole (its CRC covers the file) when the reader
    is made; a TF checkpoint's index is checked then, and each variable's bytes against
    their own CRC when :meth:`get_tensor` reads them (as TF).

    Args:
        prefix: checkpoint prefix (``.../model.ckpt-100``), its ``.data`` file or a TF
            checkpoint's ``.index`` file.

    Raises:
        NotFoundError: no checkpoint there (TF's "Unsuccessful TensorSliceReader
            constructor" message).
        CheckpointCorruptError: the file (estcore) or the index (TF) fails its checks.
    """

    def __init__(self, prefix: str):
        self._prefix = os.fspath(prefix)
        if self._prefix.endswith(tf_bundle.INDEX_SUFFIX) and os.path.isfile(self._prefix):
            self._prefix = self._prefix[:-len(tf_bundle.INDEX_SUFFIX)]
        self._bundle: tf_bundle.BundleIndex | None = None
        if stored_format(self._prefix) == "tf":
            self._bundle = tf_bundle.read_index(self._prefix)
            self._entries = {n: {"name": n, "shape": list(e.shape), "dtype": e.dtype_name}
                             for n, e in self._bundle.entries.items()}
            self._meta = dict(self._bundle.meta)
        else:
            header = read_header(self._prefix)  # validates the whole file (CRC)
            self._entries = {e["name"]: {**e, "dtype": np.dtype(e["dtype"]).name}
                             for e in header.get("tensors", [])}
            self._meta = header.get("meta", {})
        self._values: dict | None = None

    @property
    def format(self) -> str:
        """``"estcore"`` or ``"tf"``: the format of the checkpoint read."""
        return "estcore" if self._bundle is None else "tf"

    @property
    def meta(self) -> dict:
        return dict(self._meta)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {n: list(e["shape"]) for n, e in self._entries.items()}

    def get_variable_to_dtype_map(self) -> dict[str, str]:
        return {n: e["dtype"] for n, e in self._entries.items()}

    def has_tensor(self, name: str) -> bool:
        return name in self._entries

    def get_tensor(self, name: str):
        """The value of variable ``name`` (a numpy array; 0-d for scalars)."""
        if name not in self._entries:
            raise NotFoundError(f"Key {name} not found in checkpoint")
        if self._bundle is not None:
            return tf_bundle.read_tensor(self._bundle, name)
        if self._values is None:
            self._values, _ = read_checkpoint(self._prefix)
        return self._values[name].copy()


def load_checkpoint(ckpt_dir_or_file: str) -> CheckpointReader:
    """A reader for a checkpoint prefix, or for the latest checkpoint of a directory."""
    return CheckpointReader(resolve_checkpoint_path(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list[int]]]:
    """Sorted ``(name, shape)`` of every variable in a checkpoint."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return sorted(shapes.items())


def load_variable(ckpt_dir_or_file: str, name: str):
    """One variable's value from a checkpoint (``:0`` suffix accepted)."""
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)
