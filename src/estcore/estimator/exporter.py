"""The ``Exporter`` interface used by ``EvalSpec`` / ``train_and_evaluate``.

Concrete exporters (LatestExporter, BestExporter, FinalExporter) come with the
SavedModel export issue; any subclass implementing ``name`` and ``export`` works
with :func:`estcore.estimator.train_and_evaluate` today.
"""

from __future__ import annotations

import abc
from typing import Any

__all__ = ["Exporter"]


class Exporter(abc.ABC):
    """Exports a model after an evaluation (TF's ``tf.estimator.Exporter``)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Directory name under ``model_dir/export/``."""

    @abc.abstractmethod
    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> Any:
        """Export and return the export path (or None)."""
