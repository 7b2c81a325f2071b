"""The estimator's one seam to the graph API (``estcore.Tensor``, default graph).

Everything in ``estcore.estimator`` that asks "is this a tensor / an operation?"
or "which graph is the default?" goes through this module, so the controller
does not depend on the graph package's internals. Test code may register extra
tensor-like classes with :func:`register_tensor_type` (used by unit tests that
exercise validation without building graphs).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_tensor",
    "is_operation",
    "is_variable",
    "get_default_graph",
    "register_tensor_type",
    "register_operation_type",
]

_EXTRA_TENSOR_TYPES: list[type] = []
_EXTRA_OPERATION_TYPES: list[type] = []


def _estcore_attr(name: str) -> Any:
    import estcore

    return getattr(estcore, name, None)


def register_tensor_type(cls: type) -> None:
    """Treat instances of ``cls`` as tensors (for tests and adapters)."""
    if cls not in _EXTRA_TENSOR_TYPES:
        _EXTRA_TENSOR_TYPES.append(cls)


def register_operation_type(cls: type) -> None:
    """Treat instances of ``cls`` as operations (for tests and adapters)."""
    if cls not in _EXTRA_OPERATION_TYPES:
        _EXTRA_OPERATION_TYPES.append(cls)


def is_variable(x: Any) -> bool:
    cls = _estcore_attr("Variable")
    return cls is not None and isinstance(x, cls)


def is_tensor(x: Any) -> bool:
    """True for an ``estcore.Tensor`` (a Variable counts, as it reads as a Tensor)."""
    cls = _estcore_attr("Tensor")
    if cls is not None and isinstance(x, cls):
        return True
    if is_variable(x):
        return True
    return any(isinstance(x, c) for c in _EXTRA_TENSOR_TYPES)


def is_operation(x: Any) -> bool:
    """True for a graph operation (what ``estcore.group`` / ``no_op`` return)."""
    cls = _estcore_attr("Operation")
    if cls is not None and isinstance(x, cls):
        return True
    return any(isinstance(x, c) for c in _EXTRA_OPERATION_TYPES)


def get_default_graph() -> Any:
    """The default graph, or None when the graph package is not available."""
    fn = _estcore_attr("get_default_graph")
    return fn() if fn is not None else None


def get_global_step(graph: Any = None) -> Any:
    """The graph's ``global_step`` variable, or None (graph package API)."""
    try:
        from estcore.graph.global_step import get_global_step as fn
    except ImportError:
        return None
    return fn(graph) if graph is not None else fn()


def graph_key(name: str, default: str) -> str:
    """``estcore.GraphKeys.<name>`` when available, else ``default``."""
    keys = _estcore_attr("GraphKeys")
    return getattr(keys, name, default) if keys is not None else default


def add_to_collection(key: str, value: Any) -> None:
    fn = _estcore_attr("add_to_collection")
    if fn is None:
        raise RuntimeError("estcore's graph package is not available: cannot add summaries "
                           "to the default graph.")
    fn(key, value)


def get_collection(key: str) -> list:
    fn = _estcore_attr("get_collection")
    if fn is None:
        return []
    return list(fn(key))


def as_graph_element(obj: Any) -> Any:
    """A tensor / operation for ``obj``; names are looked up in the default graph."""
    if is_tensor(obj) or is_operation(obj) or not isinstance(obj, str):
        return obj
    graph = get_default_graph()
    for attr in ("as_graph_element", "get_tensor_by_name"):
        fn = getattr(graph, attr, None)
        if fn is not None:
            return fn(obj)
    raise ValueError(f"Cannot look up tensor {obj!r} by name: no default graph.")
