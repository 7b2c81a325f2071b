"""``estcore.compat``: compatibility namespaces. ``estcore.compat.v1`` is TF 1.x's.

A façade: it only re-exports ``v1``; nothing inside estcore imports it.
"""

from estcore.compat import v1 as v1

__all__ = ["v1"]
