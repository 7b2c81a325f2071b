"""Names the graph core implements and ``estcore.train`` re-exports unchanged."""

from __future__ import annotations

from estcore.graph.global_step import (
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)
from estcore.graph.ops.clip_ops import clip_by_global_norm

__all__ = ["clip_by_global_norm", "create_global_step", "get_global_step",
           "get_or_create_global_step"]
