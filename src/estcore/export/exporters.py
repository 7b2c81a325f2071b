"""Exporters for ``train_and_evaluate``: the ``Exporter`` interface and TF's three.

After every evaluation, ``train_and_evaluate`` calls each exporter with
``export_path = model_dir/export/<name>``; each export is a new timestamped
directory below it (written by ``estimator.export_saved_model``).

Owns :class:`Exporter` (TF's ``tf.estimator.Exporter``, re-exported by
``estcore.estimator``), :class:`LatestExporter`, :class:`BestExporter` and
:class:`FinalExporter`. Must not import the estimator package: an exporter gets
the estimator as an argument and calls its public methods only, and
``train_and_evaluate`` checks exporters by protocol (``name`` and ``export``).
"""

from __future__ import annotations

import abc
import inspect
import logging
import os
import shutil
from collections.abc import Callable
from typing import Any

from estcore.summary import reader as summary_reader

__all__ = ["Exporter", "LatestExporter", "BestExporter", "FinalExporter"]

logger = logging.getLogger("estcore")


class Exporter(abc.ABC):
    """Exports a model after an evaluation (TF's ``tf.estimator.Exporter``).

    Any object with a string ``name`` and this ``export`` method works with
    ``train_and_evaluate``; subclassing is the documented way to write one.
    """

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Directory name under ``model_dir/export/``."""

    @abc.abstractmethod
    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> Any:
        """Export and return the export path (or None)."""


def _loss_smaller(best_eval_result: dict, current_eval_result: dict) -> bool:
    """Default BestExporter comparison: the current ``loss`` is strictly smaller."""
    default_key = "loss"
    if not best_eval_result or default_key not in best_eval_result:
        raise ValueError("best_eval_result cannot be empty or no loss is found in it.")
    if not current_eval_result or default_key not in current_eval_result:
        raise ValueError("current_eval_result cannot be empty or no loss is found in it.")
    return best_eval_result[default_key] > current_eval_result[default_key]


def _verify_compare_fn_args(compare_fn: Callable) -> None:
    try:
        params = inspect.signature(compare_fn).parameters
    except (TypeError, ValueError):
        raise ValueError(f"compare_fn ({compare_fn}) must be a function.") from None
    names = set(params)
    for required in ("best_eval_result", "current_eval_result"):
        if required not in names:
            raise ValueError(f"compare_fn ({compare_fn}) must include {required} argument.")
    extra = names - {"best_eval_result", "current_eval_result"}
    if extra:
        raise ValueError(f"compare_fn ({compare_fn}) has following not expected args: "
                         f"{sorted(extra)}")


class _SavedModelExporter(Exporter):
    """Calls ``estimator.export_saved_model`` into ``export_path``."""

    def __init__(self, name: str, serving_input_receiver_fn: Callable,
                 assets_extra: dict | None = None, as_text: bool = False):
        self._name = name
        self._serving_input_receiver_fn = serving_input_receiver_fn
        self._assets_extra = assets_extra
        self._as_text = as_text

    @property
    def name(self) -> str:
        return self._name

    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> bytes:
        del eval_result, is_the_final_export
        return estimator.export_saved_model(
            export_path, self._serving_input_receiver_fn,
            assets_extra=self._assets_extra, as_text=self._as_text,
            checkpoint_path=checkpoint_path)


def _check_exports_to_keep(exports_to_keep: Any) -> None:
    if exports_to_keep is not None and exports_to_keep <= 0:
        raise ValueError("`exports_to_keep`, if provided, must be a positive number. Got "
                         f"{exports_to_keep}")


def _garbage_collect(export_path: str, exports_to_keep: int | None) -> None:
    """Delete all but the ``exports_to_keep`` largest 10-digit numeric subdirectories."""
    if exports_to_keep is None or not os.path.isdir(export_path):
        return
    versions = sorted(int(d) for d in os.listdir(export_path)
                      if len(d) == 10 and d.isdigit()
                      and os.path.isdir(os.path.join(export_path, d)))
    for version in versions[:-exports_to_keep] if len(versions) > exports_to_keep else []:
        path = os.path.join(export_path, str(version))
        try:
            shutil.rmtree(path)
        except OSError as e:
            logger.warning("Can not delete %s recursively: %s", path, e)


class LatestExporter(Exporter):
    """Exports after every evaluation and keeps the newest ``exports_to_keep``.

    Args:
        name: directory name under ``model_dir/export``.
        serving_input_receiver_fn: returns a ServingInputReceiver.
        assets_extra: dict relative destination -> source file.
        as_text: accepted (the graph is always JSON text).
        exports_to_keep: keep this many newest exports (None: keep all).
    """

    def __init__(self, name: str, serving_input_receiver_fn: Callable,
                 assets_extra: dict | None = None, as_text: bool = False,
                 exports_to_keep: int | None = 5):
        self._saved_model_exporter = _SavedModelExporter(name, serving_input_receiver_fn,
                                                         assets_extra, as_text)
        _check_exports_to_keep(exports_to_keep)
        self._exports_to_keep = exports_to_keep

    @property
    def name(self) -> str:
        return self._saved_model_exporter.name

    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> bytes:
        result = self._saved_model_exporter.export(estimator, export_path, checkpoint_path,
                                                   eval_result, is_the_final_export)
        _garbage_collect(export_path, self._exports_to_keep)
        return result


class FinalExporter(Exporter):
    """Exports only at the end of training (``is_the_final_export``)."""

    def __init__(self, name: str, serving_input_receiver_fn: Callable,
                 assets_extra: dict | None = None, as_text: bool = False):
        self._saved_model_exporter = _SavedModelExporter(name, serving_input_receiver_fn,
                                                         assets_extra, as_text)

    @property
    def name(self) -> str:
        return self._saved_model_exporter.name

    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> bytes | None:
        if not is_the_final_export:
            return None
        logger.info("Performing the final export in the end of training.")
        return self._saved_model_exporter.export(estimator, export_path, checkpoint_path,
                                                 eval_result, is_the_final_export)


class BestExporter(Exporter):
    """Exports when the evaluation result beats the best one seen so far.

    On its first use for a model_dir it reads the eval event files matching
    ``event_file_pattern`` (relative to model_dir) to recover the best result;
    the first export call after construction always exports.

    Args:
        name: directory name under ``model_dir/export``.
        serving_input_receiver_fn: returns a ServingInputReceiver.
        event_file_pattern: glob of eval event files, relative to model_dir.
        compare_fn: ``fn(best_eval_result=, current_eval_result=) -> bool`` (default:
            current ``loss`` strictly smaller).
        assets_extra, as_text: as :class:`LatestExporter`.
        exports_to_keep: keep this many newest exports (None: keep all).
    """

    def __init__(self, name: str = "best_exporter",
                 serving_input_receiver_fn: Callable | None = None,
                 event_file_pattern: str = "eval/*.tfevents.*",
                 compare_fn: Callable = _loss_smaller, assets_extra: dict | None = None,
                 as_text: bool = False, exports_to_keep: int | None = 5):
        if not compare_fn:
            raise ValueError("`compare_fn` must not be None.")
        _verify_compare_fn_args(compare_fn)
        self._compare_fn = compare_fn
        self._saved_model_exporter = _SavedModelExporter(name, serving_input_receiver_fn,
                                                         assets_extra, as_text)
        self._event_file_pattern = event_file_pattern
        self._model_dir: str | None = None
        self._best_eval_result: dict | None = None
        _check_exports_to_keep(exports_to_keep)
        self._exports_to_keep = exports_to_keep

    @property
    def name(self) -> str:
        return self._saved_model_exporter.name

    def export(self, estimator: Any, export_path: str, checkpoint_path: str,
               eval_result: dict, is_the_final_export: bool) -> bytes | None:
        first = self._model_dir != estimator.model_dir
        if first:
            self._model_dir = estimator.model_dir
            recovered = None
            if self._event_file_pattern:
                logger.info("Loading best metric from event files.")
                recovered = self._get_best_eval_result(
                    os.path.join(self._model_dir, self._event_file_pattern))
            # The first call always exports; the recovered best stays the reference
            # when it is better than the current result.
            self._best_eval_result = eval_result
            if recovered is not None and not self._compare_fn(
                    best_eval_result=recovered, current_eval_result=eval_result):
                self._best_eval_result = recovered
        elif self._compare_fn(best_eval_result=self._best_eval_result,
                              current_eval_result=eval_result):
            self._best_eval_result = eval_result
        else:
            logger.info("Keeping the current best model (%s instead of %s).",
                        self._best_eval_result, eval_result)
            return None
        logger.info("Performing best model export.")
        export_result = self._saved_model_exporter.export(
            estimator, export_path, checkpoint_path, eval_result, is_the_final_export)
        _garbage_collect(export_path, self._exports_to_keep)
        return export_result

    def _get_best_eval_result(self, event_files: str) -> dict | None:
        """Best result among the eval event files (None when there are none)."""
        if not summary_reader.event_files(event_files):
            return None
        best = None
        for _, values in sorted(summary_reader.read_scalars(event_files).items()):
            if not values:
                continue
            if best is None or self._compare_fn(best_eval_result=best,
                                                current_eval_result=values):
                best = values
        return best
