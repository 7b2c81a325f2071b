"""``simple_save`` (TF1 ``tf.saved_model.simple_save``): export a session's graph and
variables as one ``serving_default`` predict signature, in estcore's export format.

The directory is what ``Estimator.export_saved_model`` writes (``saved_model.json``,
``variables/``, ...; :mod:`estcore.export.format`), written by
:func:`estcore.export.writer.write_saved_model` and loadable with
:func:`estcore.saved_model.load` (and ``estcore.contrib.predictor``-style use). The session's
variable values go through a temporary checkpoint next to ``export_dir``; the export then
moves to ``export_dir`` itself (TF's layout: no timestamped subdirectory).

Must not: run the session beyond reading variable values; write anywhere but a temporary
directory beside ``export_dir`` and ``export_dir`` itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from estcore._validation import invalid
from estcore.checkpoint.format import write_checkpoint
from estcore.errors import FailedPreconditionError
from estcore.export.export_output import DEFAULT_SERVING_SIGNATURE_DEF_KEY
from estcore.export.writer import prune, write_saved_model
from estcore.graph.tensor import Tensor

__all__ = ["simple_save"]

logger = logging.getLogger("estcore")


def _tensors(what: str, value: Any, graph: Any) -> dict[str, Tensor]:
    if not isinstance(value, Mapping) or not value:
        raise invalid(what, "a non-empty dict of name -> Tensor", value, TypeError)
    out = {}
    for key, t in value.items():
        if not isinstance(key, str):
            raise invalid(what, "str keys", key, TypeError)
        t = t._as_tensor() if hasattr(t, "_as_tensor") else t
        if not isinstance(t, Tensor):
            raise invalid(f"{what}[{key!r}]", "a Tensor of the session's graph", t, TypeError)
        if t.op.graph is not graph:
            raise ValueError(f"simple_save: {what}[{key!r}] ({t.name}) is not in the session's "
                             "graph")
        out[key] = t
    return out


def simple_save(session: Any, export_dir: str | bytes | os.PathLike, inputs: Mapping,
                outputs: Mapping, legacy_init_op: Any = None) -> None:
    """Export ``session``'s graph and variables for serving (TF1 ``simple_save``).

    Writes one signature, ``serving_default`` (method ``predict``), taking ``inputs`` and
    returning ``outputs``. Load it with ``estcore.saved_model.load(export_dir)``.

    Args:
        session: the ``Session`` holding the trained variables.
        export_dir: the directory to create (it must not exist, or be empty, as TF).
        inputs: name -> input tensor (placeholders the outputs depend on).
        outputs: name -> output tensor.
        legacy_init_op: accepted for TF1 compatibility and not exported: estcore's export
            runs no initialisation op when loaded (the graph holds no tables to fill).

    Raises:
        AssertionError: ``export_dir`` exists and is not empty (TF's error).
        FailedPreconditionError: an output reads a variable the session has not initialized.
        TypeError / ValueError: ``inputs`` / ``outputs`` are not dicts of tensors of the
            session's graph, or the outputs need a placeholder that is not an input or a
            state-changing op (the writer's checks).
    """
    graph = session.graph
    ins = _tensors("inputs", inputs, graph)
    outs = _tensors("outputs", outputs, graph)
    target = os.path.abspath(os.fsdecode(os.fspath(export_dir)))
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise AssertionError("Export directory already exists, and isn't empty. Please "
                             "choose a different export directory, or delete all the contents "
                             f"of the specified directory: {target}")
    if legacy_init_op is not None:
        logger.info("simple_save: legacy_init_op is not part of an estcore export (nothing "
                    "is initialised when it is loaded).")
    values = session.get_variable_values()
    needed = [op.name for op in prune(list(outs.values())) if op.type == "VariableV2"]
    missing = [name for name in needed if name not in values]
    if missing:
        raise FailedPreconditionError(
            f"simple_save: the outputs read variables the session has not initialized: "
            f"{missing} (run their initializer or restore a checkpoint first)")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=".simple_save-") as tmp:
        prefix = os.path.join(tmp, "session")
        write_checkpoint(prefix, values)
        written = write_saved_model(os.path.join(tmp, "export"),
                                    {DEFAULT_SERVING_SIGNATURE_DEF_KEY: ("predict", ins, outs)},
                                    prefix, graph.seed, DEFAULT_SERVING_SIGNATURE_DEF_KEY)
        if os.path.isdir(target):
            os.rmdir(target)  # empty, checked above
        shutil.move(os.fsdecode(written), target)
    logger.info("SavedModel written to: %s", target)
