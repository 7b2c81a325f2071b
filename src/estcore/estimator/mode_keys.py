"""``ModeKeys``: the three modes a model_fn is called in (TF's strings).

Must not: import anything from estcore (specs, the Estimator, export and the hooks'
users all compare against these strings).
"""

from __future__ import annotations

__all__ = ["ModeKeys"]


class ModeKeys:
    """Standard names for model modes.

    ``TRAIN = 'train'``, ``EVAL = 'eval'``, ``PREDICT = 'infer'`` (TF's spelling:
    not ``'predict'``).
    """

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"

    ALL = (TRAIN, EVAL, PREDICT)
