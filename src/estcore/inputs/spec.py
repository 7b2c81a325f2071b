"""``TensorSpec``: the static shape and dtype of one batch leaf.

Must not: import anything from estcore (the stream, the input source and the
Estimator's session setup all read it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["TensorSpec"]


class TensorSpec(NamedTuple):
    """Shape and dtype of one array of every batch an input stream yields.

    Attributes:
        shape: batch dimension first -- ``None`` when the stream is finite (the
            last batch may be short), ``batch_size`` when it is endless, as TF's
            static shapes -- then the per-example shape, e.g. ``(None, 28, 28, 1)``.
        dtype: the numpy dtype of the source array (never cast).
    """

    shape: tuple[int | None, ...]
    dtype: np.dtype
