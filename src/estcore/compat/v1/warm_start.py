"""TF 1.15's ``tf.train.warm_start``: called while a graph is built (usually in a
``model_fn``), it makes the selected variables' initializers load their values from a
checkpoint.

The selection, renaming and vocabulary remapping are the Estimator's warm start
(:func:`estcore.checkpoint.warm_starting.warm_start_values`, TF's rules); the values are
read when ``warm_start`` is called, as TF reads the checkpoint's shapes then, and handed to
the variables' initializers as ``tf.train.init_from_checkpoint`` does.

Owns: that redirection. Must not: run a session or choose variables itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estcore.checkpoint.warm_starting import WarmStartSettings, warm_start_values
from estcore.compat.v1.training import _FromCheckpoint
from estcore.graph.ir import get_default_graph
from estcore.graph.variables import Variable, global_variables, trainable_variables

__all__ = ["warm_start", "WarmStartSettings"]


def _name(v: Variable) -> str:
    return v.op.name


def warm_start(ckpt_to_initialize_from: str, vars_to_warm_start: Any = ".*",
               var_name_to_vocab_info: dict | None = None,
               var_name_to_prev_var_name: dict | None = None) -> None:
    """Initialise the selected variables of the default graph from a checkpoint.

    Args:
        ckpt_to_initialize_from: a checkpoint directory (its latest checkpoint) or prefix,
            estcore's or TF's.
        vars_to_warm_start: a regex (matched against the TRAINABLE variables' names), a
            list of regexes (over all global variables), a list of Variables, or None
            (only the variables of ``var_name_to_vocab_info``). Default ``'.*'``.
        var_name_to_vocab_info: variable name -> ``tf.train.VocabInfo`` (rows remapped
            by vocabulary).
        var_name_to_prev_var_name: variable name -> its name in the checkpoint.

    Raises:
        ValueError: TF's errors (no checkpoint, unused map entries, a tensor missing from
            the checkpoint, shapes that differ), or a selected variable not made by
            ``get_variable`` with an initializer (estcore redirects only those).
    """
    settings = WarmStartSettings(ckpt_to_initialize_from, vars_to_warm_start,
                                 var_name_to_vocab_info, var_name_to_prev_var_name)
    variables = {_name(v): v for v in global_variables()}
    shapes = {n: v.shape.as_list() for n, v in variables.items()}
    values = warm_start_values(settings, [_name(v) for v in trainable_variables()],
                               list(variables), shapes, get_default_graph().seed)
    for name, value in values.items():
        var = variables[name]
        init = var.initial_value.op
        if init.type != "InitialValue":
            raise ValueError(f"warm_start: variable {name} was created from a value, not by "
                             "get_variable with an initializer; estcore can redirect only "
                             "get_variable's initializers")
        init.attrs["init"] = _FromCheckpoint(np.asarray(value), var.dtype.as_numpy_dtype)
