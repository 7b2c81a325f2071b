"""TF's checkpoint names for the optimizer slots of single-partition variables.

TF's premade v1 estimators (``DNNClassifier``, ``LinearClassifier`` and their kin) create
their variables through a partitioner. With the default partitioner a variable has one
partition, ``<var>/part_0``, whose slice covers the whole tensor; TF's Saver stores such
a slice as an ordinary tensor under the variable's full name ``<var>`` (so estcore reads
the variable itself unchanged). The optimizer slots of those variables are saved under
the slot variable's own name, which keeps the partition part: ``<var>/part_0/Ftrl``
(linear models) or ``<var>/t_0/Adagrad`` (DNN layers). estcore never partitions and
names a slot ``<var>/<slot>``.

:func:`partition_aliases` maps estcore's slot name to TF's stored name when that is
unambiguous: ``<var>`` is stored, the variable has a single partition (no
``<var>/part_1`` or ``<var>/t_1`` key), ``<var>/<slot>`` itself is not stored, and only
one stored key gives the name. Restoring a TF-format checkpoint and warm-starting from
one use it; TF's own names stay what ``list_variables`` shows.

Must not: read files (it works on names); decide what a restore does with a name it
cannot resolve (the caller reports it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["PARTITION_PARTS", "partition_aliases", "alias_hint"]

# The partition parts TF's premade estimators put in their slots' names.
PARTITION_PARTS = ("part", "t")

_SLOT = re.compile(r"^(?P<var>.+)/(?P<part>part|t)_0/(?P<slot>.+)$")


def _multi_partition(var: str, names: set[str], prefixes: tuple[str, ...]) -> bool:
    """True if ``var`` has a second partition among ``names``."""
    second = tuple(f"{var}/{part}_1" for part in PARTITION_PARTS)
    return any(n in second or n.startswith(prefixes) for n in names)


def partition_aliases(names: Iterable[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """estcore's slot names for TF's single-partition slot names.

    Args:
        names: the variable names stored in a TF checkpoint.

    Returns:
        ``(aliases, ambiguous)``: ``aliases`` maps ``<var>/<slot>`` to the stored
        ``<var>/part_0/<slot>`` or ``<var>/t_0/<slot>``; ``ambiguous`` maps a name that
        several stored keys (or a multi-partition variable) would give to those keys, sorted.
    """
    stored = set(names)
    found: dict[str, list[str]] = {}
    for name in sorted(stored):
        m = _SLOT.match(name)
        if m is None or m["var"] not in stored:
            continue
        found.setdefault(f"{m['var']}/{m['slot']}", []).append(name)
    aliases: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    for alias, keys in found.items():
        if alias in stored:
            continue
        m = _SLOT.match(keys[0])
        assert m is not None
        var, slot = m["var"], m["slot"]
        prefixes = tuple(f"{var}/{part}_1/" for part in PARTITION_PARTS)
        if len(keys) == 1 and not _multi_partition(var, stored, prefixes):
            aliases[alias] = keys[0]
        else:
            piece = re.compile(rf"^{re.escape(var)}/(?:part|t)_\d+/{re.escape(slot)}$")
            ambiguous[alias] = sorted(n for n in stored if piece.match(n))
    return aliases, ambiguous


def alias_hint(name: str, ambiguous: dict[str, list[str]]) -> str:
    """A sentence for a missing ``name`` that TF's partition names cannot stand in for
    (empty when ``name`` is not one of those)."""
    keys = ambiguous.get(name)
    if not keys:
        return ""
    return (f" (the checkpoint holds {', '.join(keys)}: a variable with more than one "
            "partition, or several candidates; estcore maps TF's <var>/part_0/<slot> or "
            "<var>/t_0/<slot> to <var>/<slot> only for a single-partition variable)")
