"""A tqdm progress bar over training / evaluation steps, only on an interactive terminal."""

from __future__ import annotations

import sys
from typing import Any

from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["ProgressBarHook", "progress_enabled"]


def progress_enabled() -> bool:
    """True when stderr is a terminal (never in logs, CI or pipes)."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBarHook(SessionRunHook):
    """Advances a tqdm bar once per step; closes it at the end (or via ``close()``)."""

    def __init__(self, desc: str, total: int | None = None):
        self._desc = desc
        self._total = total
        self._bar: Any = None

    def after_create_session(self, session: Any, coord: Any) -> None:
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm is optional
            return
        self._bar = tqdm(total=self._total, desc=self._desc, unit="step", leave=False,
                         file=sys.stderr, dynamic_ncols=True)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def end(self, session: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
