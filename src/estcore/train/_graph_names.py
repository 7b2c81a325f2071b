"""Names the graph core implements and ``estcore.train`` re-exports."""

from __future__ import annotations

from estcore.graph.global_step import (  # noqa: F401
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scale ``t_list`` to a global norm of at most ``clip_norm`` (the graph core's op).

    Returns:
        ``(clipped list, global_norm)``.
    """
    import estcore as ec

    return ec.clip_by_global_norm(t_list, clip_norm, use_norm=use_norm, name=name)
