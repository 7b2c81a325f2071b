"""A tqdm progress bar over training / evaluation steps, only on an interactive terminal.

Must not: print anything when stderr is not a terminal, or require tqdm (optional).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from estcore.hooks.schedule import Due
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["ProgressBarHook", "progress_enabled"]

_REFRESH_SECS = 0.1  # how often the bar is brought up to date (tqdm's own default)


def progress_enabled() -> bool:
    """True when stderr is a terminal (never in logs, CI or pipes)."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBarHook(SessionRunHook):
    """Shows the steps done on a tqdm bar, refreshed every 0.1 s; closes it at the end
    (or via ``close()``). The count is the run's iteration + 1."""

    def __init__(self, desc: str, total: int | None = None):
        self._desc = desc
        self._total = total
        self._bar: Any = None

    def after_create_session(self, session: Any, coord: Any) -> None:
        try:
            from tqdm import tqdm  # an optional third-party dependency
        except ImportError:
            return
        self._bar = tqdm(total=self._total, desc=self._desc, unit="step", leave=False,
                         file=sys.stderr, dynamic_ncols=True)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._bar is not None:
            iteration = run_context.iteration
            done = self._bar.n + 1 if iteration is None else iteration + 1
            self._bar.update(done - self._bar.n)

    def next_due(self) -> Due:
        if self._bar is None:
            return Due()  # no bar: nothing to do
        return Due(time=time.monotonic() + _REFRESH_SECS, clock=time.monotonic)

    def end(self, session: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
