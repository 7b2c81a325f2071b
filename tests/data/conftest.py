"""Helpers of the Dataset tests: element lists as plain Python values."""

from __future__ import annotations

import numpy as np


def values(dataset_or_iter) -> list:
    """Every element, arrays as lists and numpy scalars as Python scalars."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, tuple):
            return tuple(plain(x) for x in v)
        if isinstance(v, (np.ndarray, np.generic)):
            return v.tolist()
        return v
    return [plain(e) for e in dataset_or_iter]
