"""The bulk CSV path of ``TextLineDataset(f).skip(n).map(decode_csv + packaging)``.

A map whose traced outputs are all direct outputs of ONE ``DecodeCSV`` op fed by the
element placeholder itself (the rest of the function only packages them: dicts, tuples,
a popped label), over the lines of ``TextLineDataset`` files read one after another
(optionally after ``skip(n)``), is run by :func:`estcore.data.readers.iter_csv_checked`:
lines are parsed in the reader's buffer, with no ``bytes`` object per line. Elements,
their order and the resume state are the unfused path's; a bad line raises DecodeCSV's
error as the unfused map's (the element named) with the file and the 1-based line: the
rest of a file that raised runs on the unfused path from the line after the last good
chunk, which also leaves out the same elements under ``ignore_errors``.

Must not: trace functions (``mapping.py``) or frame records (``readers.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from estcore.data import readers
from estcore.data.node import Node
from estcore.data.structure import Chunk, chunk_len
from estcore.data.transforms import SkipNode

__all__ = ["BULK_CSV", "CsvPlan", "match_csv"]

logger = logging.getLogger("estcore")

BULK_CSV = "bulk_csv"
ENABLED = True  # False: every map runs unfused (tests compare the two paths)


def _source(up: Node) -> tuple[Node, int] | None:
    """``(text-lines FileNode, lines skipped first)`` when ``up`` is one, else None."""
    skip = 0
    if isinstance(up, SkipNode):
        if up.fed_args or up.count < 0:  # a fed count: the unfused path reads it per pass
            return None
        skip, up = up.count, up.inputs[0]
    if getattr(up, "kind", None) != "text_lines" or not isinstance(getattr(up, "names", None),
                                                                   list):
        return None
    return up, skip


class CsvPlan:
    """What the bulk path needs: the DecodeCSV op's checked arguments and which of its
    outputs each flattened result leaf is."""

    def __init__(self, checked: tuple, quote: bool, leaves: list[int]):
        self.checked = checked
        self.quote = quote
        self.leaves = leaves


def match_csv(up: Node, placeholders: list, outputs: list) -> CsvPlan | None:
    """A :class:`CsvPlan` when the traced map (``placeholders`` -> ``outputs``) over
    ``up`` is a bulk CSV map (see the module docstring), else None."""
    if not ENABLED or _source(up) is None or len(placeholders) != 1 or not outputs:
        return None
    op = getattr(outputs[0], "op", None)
    if op is None or op.type != "DecodeCSV" or len(op.inputs) != 1 \
            or op.inputs[0] is not placeholders[0]:
        return None
    if any(getattr(t, "op", None) is not op for t in outputs):
        return None
    a = op.attrs
    checked = (a["dtypes"], a["defaults"], a["field_delim"], a["na_value"], a["select_cols"])
    return CsvPlan(checked, bool(a["use_quote_delim"]), [t.value_index for t in outputs])


def _line_count(name: str, compression_type: Any) -> int:
    return sum(len(c) for c in readers.iter_text_lines(name, compression_type=compression_type))


Unfused = Callable[[Chunk, int, str, int], Iterator[Chunk]]


def bulk_chunks(up: Node, plan: CsvPlan, tolerant: bool | str,
                unfused: Unfused) -> Iterator[Chunk]:
    """The map's output chunks read by the bulk CSV reader.

    Args:
        up: the map's input (the FileNode, or a SkipNode over it) of this pass.
        plan: from :func:`match_csv`.
        tolerant: the map's ``ignore_errors`` mode (False, "log" or "quiet").
        unfused: ``(line chunk, position, file, first line) -> output chunks`` of the
            unfused map (failing elements raised naming the element, file and line, or
            under ``ignore_errors`` left out): the rest of a file that raised, so errors
            and dropped elements are the unfused path's.
    """
    files, left = _source(up)  # type: ignore[misc]
    ct = files.args[0]
    position = 0  # elements of the map's input before the next chunk
    for name in files.names:
        header, done = left, 0
        try:
            for cols in readers.iter_csv_checked(name, plan.checked, plan.quote,
                                                 header_lines=header, compression_type=ct):
                k = chunk_len(cols)
                done += k
                position += k
                yield [cols[i] for i in plan.leaves]
        except Exception:  # noqa: BLE001 - the unfused path names the element or drops it
            yield from _rest_unfused(name, ct, header + done, position, tolerant, unfused)
            if not tolerant:
                raise  # the unfused path did not fail: the bulk reader's error stands
            left = 0
            continue
        if left:
            left = 0 if done else max(left - _line_count(name, ct), 0)


def _rest_unfused(name: str, ct: Any, start: int, position: int, tolerant: bool | str,
                  unfused: Unfused) -> Iterator[Chunk]:
    """Lines ``start..`` of ``name`` on the unfused path; under ignore_errors a read
    error ends the file (as the FileNode does)."""
    lines = readers.iter_text_lines(name, compression_type=ct, start=start)
    while True:
        try:
            records = next(lines, None)
        except Exception:  # noqa: BLE001 - ignore_errors: the rest of the file is skipped
            if not tolerant:
                raise
            if tolerant == "log":
                logger.warning("ignore_errors: the rest of %s is skipped after a read error",
                               name, exc_info=True)
            return
        if records is None:
            return
        if records.shape[0]:
            yield from unfused([records], position, name, start + 1)
            position += records.shape[0]
            start += records.shape[0]
