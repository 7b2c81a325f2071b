"""The error of a checkpoint file that cannot be trusted, for both formats.

:class:`CheckpointCorruptError` is raised by estcore's own format
(:mod:`estcore.checkpoint.format`) and by TF's tensor bundle
(:mod:`estcore.checkpoint.tf_bundle`, :mod:`estcore.checkpoint.tf_sstable`). It is
TF's ``DataLossError`` (what TF raises for a checksum mismatch or a torn file) and,
as before, an ``InvalidArgumentError`` (so a ``ValueError``): existing ``except``
clauses keep working.

Must not: import anything of ``estcore.checkpoint`` (every checkpoint module imports it).
"""

from __future__ import annotations

from estcore.errors import DataLossError, InvalidArgumentError

__all__ = ["CheckpointCorruptError"]


class CheckpointCorruptError(InvalidArgumentError, DataLossError):
    """A checkpoint file is truncated, corrupted or not a checkpoint (the message names
    the file, and the variable where one is at fault)."""
