"""Warm start: initialise variables from another checkpoint (TF's ``WarmStartSettings``).

The selection rules are TF's (spec 5.6), written as pure functions over
variable names so they can be tested without a graph:

* ``vars_to_warm_start`` a string: a regex ``re.match``-ed (prefix match) against
  the TRAINABLE variables' names; ``'.*'`` (default) selects every trainable one.
* a list of strings: the union of regex matches over the GLOBAL variables
  (optimizer slots, batch-norm statistics, ``global_step`` included).
* a list of Variables: exactly those.
* None: only variables named in ``var_name_to_vocab_info``.
* ``var_name_to_prev_var_name`` maps a current name to its name in the source
  checkpoint; it does not change the selection. Unused entries are an error.

* ``var_name_to_vocab_info`` maps a variable's name to a
  :class:`~estcore.checkpoint.vocab_remap.VocabInfo`: that variable, when selected, is
  remapped by vocabulary entry (:func:`~estcore.checkpoint.vocab_remap.remap`, TF 1.15's
  semantics) instead of copied. Unused entries are an error, as TF.

The checkpoint may be estcore's or TF's (a TF model_dir or ``model.ckpt-N`` prefix):
reading goes through :class:`~estcore.checkpoint.state.CheckpointReader`, which reads
both; only the selected variables are read. From a TF checkpoint, a slot ``<var>/<slot>``
the checkpoint holds only as ``<var>/part_0/<slot>`` or ``<var>/t_0/<slot>`` (TF's premade
estimators' single-partition variables) is read from there
(:func:`~estcore.checkpoint.tf_names.partition_aliases`), as a restore does.

Must not: assign values or run a session (the Estimator's session setup writes what
:func:`warm_start_values` returns); read the checkpoint format itself (through
:mod:`estcore.checkpoint.state`); import the hooks or the estimator.
"""

from __future__ import annotations

import collections
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from estcore.checkpoint.state import CheckpointReader, checkpoint_exists, resolve_checkpoint_path
from estcore.checkpoint.tf_names import alias_hint, partition_aliases
from estcore.checkpoint.vocab_remap import VocabInfo, remap
from estcore.graph.variables import Variable

__all__ = ["VocabInfo", "WarmStartSettings", "select_variables", "resolve_checkpoint",
           "warm_start_values"]

logger = logging.getLogger("estcore")


class WarmStartSettings(collections.namedtuple(
        "WarmStartSettings", ["ckpt_to_initialize_from", "vars_to_warm_start",
                              "var_name_to_vocab_info", "var_name_to_prev_var_name"])):
    """Where and what to warm-start from.

    Args:
        ckpt_to_initialize_from: a checkpoint directory (its latest checkpoint is
            used) or a checkpoint prefix.
        vars_to_warm_start: regex string, list of regex strings, list of
            Variables, or None (see the module docstring).
        var_name_to_vocab_info: variable name -> :class:`VocabInfo` (vocabulary
            remapping of that variable).
        var_name_to_prev_var_name: current name -> name in the checkpoint.
    """

    def __new__(cls, ckpt_to_initialize_from: str | os.PathLike,
                vars_to_warm_start: Any = ".*", var_name_to_vocab_info: dict | None = None,
                var_name_to_prev_var_name: dict | None = None):
        if not ckpt_to_initialize_from:
            raise ValueError("`ckpt_to_initialize_from` MUST be set in WarmStartSettings")
        if isinstance(ckpt_to_initialize_from, os.PathLike):
            ckpt_to_initialize_from = os.fspath(ckpt_to_initialize_from)
        if isinstance(ckpt_to_initialize_from, bytes):
            ckpt_to_initialize_from = ckpt_to_initialize_from.decode("utf-8")
        for name, info in dict(var_name_to_vocab_info or {}).items():
            if not isinstance(info, VocabInfo):
                raise TypeError(f"var_name_to_vocab_info[{name!r}] must be a VocabInfo. "
                                f"Received: {info!r}")
        return super().__new__(cls, ckpt_to_initialize_from, vars_to_warm_start,
                               dict(var_name_to_vocab_info or {}),
                               dict(var_name_to_prev_var_name or {}))


def _strip(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _var_name(v: Any) -> str:
    op = getattr(v, "op", None)
    name = getattr(op, "name", None) or getattr(v, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"Cannot get the name of variable {v!r}")
    return _strip(name)


def select_variables(vars_to_warm_start: Any, trainable_names: Sequence[str],
                     global_names: Sequence[str],
                     vocab_names: Iterable[str] = ()) -> list[str]:
    """Names of the variables to warm-start, in graph order (TF's rules).

    Args:
        vars_to_warm_start: see the module docstring.
        trainable_names / global_names: the graph's variable names (no ``:0``).
        vocab_names: keys of ``var_name_to_vocab_info``.
    """
    trainable_names = [_strip(n) for n in trainable_names]
    global_names = [_strip(n) for n in global_names]
    if vars_to_warm_start is None:
        wanted = set(vocab_names)
        return [n for n in trainable_names if n in wanted]
    if isinstance(vars_to_warm_start, str):
        logger.info("Warm-starting variables only in TRAINABLE_VARIABLES.")
        pattern = re.compile(vars_to_warm_start)
        return [n for n in trainable_names if pattern.match(n)]
    if isinstance(vars_to_warm_start, list):
        if all(isinstance(v, str) for v in vars_to_warm_start):
            out: list[str] = []
            for regex in vars_to_warm_start:
                pattern = re.compile(regex)
                out += [n for n in global_names if pattern.match(n) and n not in out]
            return out
        if all(isinstance(v, Variable) or _looks_like_variable(v) for v in vars_to_warm_start):
            return [_var_name(v) for v in vars_to_warm_start]
        raise ValueError("If `vars_to_warm_start` is a list, it must be all `Variable` or all "
                         f"`str`.  Given types are {[type(v) for v in vars_to_warm_start]}")
    raise ValueError("`vars_to_warm_start must be a `list` or `str`.  Given type is "
                     f"{type(vars_to_warm_start)}")


def _looks_like_variable(v: Any) -> bool:
    return hasattr(v, "initializer") and hasattr(v, "name") and hasattr(v, "shape")


def resolve_checkpoint(ckpt_to_initialize_from: str) -> str:
    """The checkpoint prefix for a directory or prefix; ValueError when none exists."""
    path = resolve_checkpoint_path(ckpt_to_initialize_from)
    if not checkpoint_exists(path):
        raise ValueError(f"Couldn't find a checkpoint at {path} (warm start).")
    return path


def warm_start_values(settings: WarmStartSettings, trainable_names: Sequence[str],
                      global_names: Sequence[str], var_shapes: Mapping[str, Sequence[int]],
                      graph_seed: int | None = None) -> dict[str, np.ndarray]:
    """Values to assign (current name -> array) for a warm start.

    Args:
        settings: the WarmStartSettings.
        trainable_names / global_names: the graph's variable names.
        var_shapes: current variable name -> shape, used to check the checkpoint.
        graph_seed: the graph-level seed, for a ``VocabInfo.backup_initializer``
            without its own seed.

    Raises:
        ValueError: unused ``var_name_to_prev_var_name`` or ``var_name_to_vocab_info``
            entries, a tensor missing from the checkpoint, a shape mismatch, or a
            vocabulary that does not fit.
    """
    prefix = resolve_checkpoint(settings.ckpt_to_initialize_from)
    logger.info("Warm-starting from: %s", settings.ckpt_to_initialize_from)
    selected = select_variables(settings.vars_to_warm_start, trainable_names, global_names,
                                settings.var_name_to_vocab_info)
    prev_map = settings.var_name_to_prev_var_name
    used = {n for n in selected if n in prev_map}
    unused = set(prev_map) - used
    if unused:
        raise ValueError("You provided the following variables in var_name_to_prev_var_name "
                         f"that were not used: {unused}.  Perhaps you misspelled them?  Here "
                         f"is the list of viable variable names: {selected}")
    vocab_infos = settings.var_name_to_vocab_info
    vocab_unused = set(vocab_infos) - set(selected)
    if vocab_unused:
        raise ValueError("You provided the following variables in var_name_to_vocab_info that "
                         f"were not used: {vocab_unused}.  Perhaps you misspelled them?  Here "
                         f"is the list of viable variable names: {selected}")
    reader = CheckpointReader(prefix)
    shapes = reader.get_variable_to_shape_map()
    aliases, ambiguous = partition_aliases(shapes) if reader.format == "tf" else ({}, {})
    out: dict[str, np.ndarray] = {}
    for name in selected:
        source = prev_map.get(name, name)
        if source not in shapes and source in aliases:
            source = aliases[source]  # TF's <var>/part_0/<slot> or <var>/t_0/<slot>
        if source not in shapes:
            raise ValueError(f"Tensor {source} is not found in "
                             f"{settings.ckpt_to_initialize_from} checkpoint {shapes}"
                             + alias_hint(source, ambiguous))
        if name in vocab_infos:
            out[name] = remap(name, reader.get_tensor(source), vocab_infos[name],
                              tuple(var_shapes.get(name, shapes[source])), graph_seed)
            continue
        want = list(var_shapes.get(name, shapes[source]))
        if list(shapes[source]) != want:
            raise ValueError(f"Shape of variable {name} ({want}) doesn't match with shape of "
                             f"tensor {source} ({shapes[source]}) from checkpoint reader.")
        out[name] = reader.get_tensor(source)
    logger.info("Warm-started %d variables.", len(out))
    return out
