"""Names the graph core implements and ``estcore.train`` re-exports unchanged.

Only re-exports (``get_global_step`` and kin, ``clip_by_global_norm``). Must not:
define anything; wrap or change the graph core's behaviour.
"""

from __future__ import annotations

from estcore.graph.global_step import (
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)
from estcore.graph.ops.clip_ops import clip_by_global_norm

__all__ = ["clip_by_global_norm", "create_global_step", "get_global_step",
           "get_or_create_global_step"]
