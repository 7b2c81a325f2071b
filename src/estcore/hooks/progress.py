"""The progress bar of ``train()`` / ``evaluate()``: a tqdm bar over the steps of one call.

Owns :func:`progress_enabled` (when a bar is shown: stderr is a terminal or a Jupyter
kernel; ``ESTCORE_PROGRESS=0`` turns it off, ``=1`` forces it on), :func:`batches_left`
(how many batches a finite input stream still holds) and :class:`ProgressBarHook` (the
bar: a total whenever one is known, log lines of console handlers printed above it
while it is shown, a fixed width when the terminal reports none, ``tqdm.auto`` so a
notebook gets its widget).

Must not: print anything when disabled, require tqdm (an optional dependency: without
it there is no bar and no error), or change logging handlers other than the console
ones of the root and ``estcore`` loggers, and those only while the bar is shown.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from typing import Any

from estcore.hooks.schedule import Due
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["ProgressBarHook", "progress_enabled", "batches_left", "ENV_VAR"]

ENV_VAR = "ESTCORE_PROGRESS"
_REFRESH_SECS = 0.1  # how often the bar is brought up to date (tqdm's own default)
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")
_FALLBACK_SIZE = (80, 24)  # columns, lines


def progress_enabled() -> bool:
    """Whether ``train()`` / ``evaluate()`` show a progress bar.

    ``ESTCORE_PROGRESS=0`` (or false/no/off) turns the bar off, ``=1`` (true/yes/on)
    shows it whatever stderr is; unset or empty: shown when stderr is a terminal or a
    Jupyter kernel's output stream (never in logs, CI or pipes).

    Raises:
        ValueError: ``ESTCORE_PROGRESS`` has another value.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    if value:
        raise ValueError(f"environment variable {ENV_VAR} must be 0 or 1 (or unset), got "
                         f"{os.environ[ENV_VAR]!r}")
    return _stderr_is_terminal() or _in_notebook()


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _in_notebook() -> bool:
    """True when stderr is an IPython kernel's output stream (Jupyter, Colab)."""
    return type(sys.stderr).__module__.startswith("ipykernel")


def batches_left(stream: Any, num_shards: int = 1) -> int | None:
    """How many more batches a finite input stream yields; None when unknown or endless.

    Args:
        stream: the object input_fn returned. A sized object (``len()``) counts as its
            length; a stream with ``get_state()`` reporting ``num_rows``, ``batch_size``,
            ``num_epochs`` and ``batches_consumed`` (``numpy_input_fn``'s) as the
            batches of ``num_epochs`` passes over the rows that it has not yet given.
        num_shards: processes sharing each global batch (``batch_size`` rows each).

    Returns:
        An int ``>= 0``, or None.
    """
    if stream is None:
        return None
    if hasattr(stream, "__len__"):
        try:
            return max(len(stream), 0)
        except TypeError:
            return None
    get_state = getattr(stream, "get_state", None)
    if get_state is None:
        return None
    try:
        state = get_state()
        rows, epochs = state["num_rows"], state["num_epochs"]
        per_batch, taken = state["batch_size"] * num_shards, state["batches_consumed"]
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    if epochs is None or not per_batch:
        return None
    return max(math.ceil(rows * epochs / per_batch) - taken, 0)


def _known_min(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


@contextlib.contextmanager
def _logs_above(bar_class: Any) -> Any:
    """Route the console handlers of the root and ``estcore`` loggers through
    ``bar_class.write`` (the line goes above the bar, which is redrawn below it)."""
    from tqdm.contrib.logging import logging_redirect_tqdm  # optional dependency

    def has_console_handler(logger: logging.Logger) -> bool:
        return any(isinstance(h, logging.StreamHandler)
                   and getattr(h, "stream", None) in (sys.stdout, sys.stderr)
                   for h in logger.handlers)

    root, ours = logging.getLogger(), logging.getLogger("estcore")
    loggers = [root] if has_console_handler(root) else []
    if has_console_handler(ours) and not (loggers and ours.propagate):
        loggers.append(ours)  # (with the root's redirected, ours would print twice)
    if not loggers:  # nothing prints to the console: leave the handlers alone
        yield
        return
    with logging_redirect_tqdm(loggers=loggers, tqdm_class=bar_class):
        yield


def _window() -> dict[str, Any]:
    """tqdm's size arguments: follow the terminal when it reports a size; a terminal of
    zero columns (a pty nobody sized, where tqdm would draw nothing) gets ``$COLUMNS`` x
    ``$LINES`` or 80 x 24, fixed; a notebook widget sizes itself."""
    if _in_notebook():
        return {}
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        return {"dynamic_ncols": True}
    return {"ncols": _env_int("COLUMNS", _FALLBACK_SIZE[0]),
            "nrows": _env_int("LINES", _FALLBACK_SIZE[1])}


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class ProgressBarHook(SessionRunHook):
    """A tqdm bar over the steps of one ``train()`` / ``evaluate()`` call.

    Refreshed every 0.1 s and on the last step when the total is known; the count is
    the run's ``iteration + 1``. While the bar is shown, records of the console
    handlers of the root and ``estcore`` loggers are printed above it. The bar stays
    on screen when the call ends (like a finished download) and is closed by ``end()``
    or :meth:`close`.

    Args:
        desc: the label before the bar (``"train"``, ``"evaluate"``).
        total: steps the call will run at most (``steps``, ``max_steps`` minus the
            global step it starts from), None when not bounded.
        stream: the input stream; a finite one bounds the total by its batches left
            (:func:`batches_left`).
        num_shards: processes sharing each global batch of ``stream``.
    """

    def __init__(self, desc: str, total: int | None = None, *, stream: Any = None,
                 num_shards: int = 1):
        self._desc = desc
        self._total = _known_min(total, batches_left(stream, num_shards))
        self._bar: Any = None
        self._logs: contextlib.ExitStack | None = None

    @property
    def total(self) -> int | None:
        """The total the bar shows (None: unknown, a count and a rate only)."""
        return self._total

    def after_create_session(self, session: Any, coord: Any) -> None:
        try:
            from tqdm.auto import tqdm  # optional dependency: no tqdm, no bar
        except ImportError:
            return
        self._bar = tqdm(total=self._total, desc=self._desc, unit="step", leave=True,
                         file=sys.stderr, mininterval=_REFRESH_SECS, **_window())
        self._logs = contextlib.ExitStack()
        self._logs.enter_context(_logs_above(type(self._bar)))

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._bar is not None:
            iteration = run_context.iteration
            done = self._bar.n + 1 if iteration is None else iteration + 1
            self._bar.update(done - self._bar.n)

    def next_due(self) -> Due:
        if self._bar is None:
            return Due()  # no bar: nothing to do
        last = None if self._total is None else self._total - 1  # the final count is shown
        return Due(iteration=last if last is not None and last >= self._bar.n else None,
                   time=time.monotonic() + _REFRESH_SECS, clock=time.monotonic)

    def end(self, session: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar (idempotent) and give the console handlers back."""
        bar, logs = self._bar, self._logs
        self._bar = self._logs = None
        try:
            if bar is not None:
                bar.close()
        finally:
            if logs is not None:
                logs.close()
