"""The global step: an int64 scalar, non-trainable variable named ``global_step``.

Owns creating and finding that variable in a graph (``get_global_step``,
``create_global_step``, ``get_or_create_global_step``; ``estcore.train`` re-exports them).
Must not: increment the step (``Optimizer.apply_gradients`` does, in the train op) or read
its value (a session does); create a second ``global_step`` in a graph that has one.
"""

from __future__ import annotations

from estcore.graph import dtypes as dt
from estcore.graph import initializers as inits
from estcore.graph.ir import Graph, GraphKeys, get_default_graph
from estcore.graph.shapes import TensorShape
from estcore.graph.variables import Variable

__all__ = ["get_global_step", "create_global_step", "get_or_create_global_step"]


def get_global_step(graph: Graph | None = None):
    """The graph's global step variable, or None (TF1 ``tf.train.get_global_step``).

    Raises:
        TypeError: the GLOBAL_STEP collection holds more than one variable, or the
            global step (from the collection, else the variable named
            ``global_step``) is not an integer scalar.
    """
    graph = graph or get_default_graph()
    items = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(items) > 1:
        raise TypeError("Multiple tensors in global_step collection.")
    # TF1 falls back on the variable named 'global_step' and checks it the same way.
    step = items[0] if items else getattr(graph, "_vars", {}).get("global_step")
    if step is None:
        return None
    if not step.dtype.is_integer or step.shape.rank not in (0, None):
        raise TypeError(f"Existing 'global_step' must be an integer scalar; found dtype "
                        f"{step.dtype.name} and shape {step.shape}")
    return step


def create_global_step(graph: Graph | None = None):
    """Create the global step (``ValueError`` if one exists)."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        v = Variable(None, trainable=False, _graph=graph, _exact_name="global_step",
                     _init_fn=(inits.Zeros(), _scalar(), dt.int64, (0, 0)),
                     collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])
    graph._vars["global_step"] = v
    return v


def get_or_create_global_step(graph: Graph | None = None):
    """The global step, created if missing."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def _scalar():
    return TensorShape([])
