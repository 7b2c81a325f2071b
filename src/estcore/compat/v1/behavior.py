"""TF's process-wide behaviour switches, as ``estcore.compat.v1`` names them.

``tf.disable_v2_behavior()`` (the first line of most ported programs) and its parts:
``disable_v2_tensorshape`` / ``enable_v2_tensorshape`` switch the shapes user code sees
(``graph/shapes.py``: with v1 shapes ``x.shape[i]`` is a ``Dimension``, ``.value`` None
when unknown; with v2 shapes, estcore's default as TF 2.x's compat.v1's, an int or None).
The other switches name behaviour estcore has one way only: graph mode (never eager),
TF1's control flow and resource variables (estcore's variables have the semantics a TF1
program relies on either way), ``==`` as identity. Turning them to what estcore does is
accepted and recorded; asking for eager execution is an error that says why.

Owns: the recorded switch state. Must not: change any behaviour other than the shape
switch (the graph owns it, :func:`estcore.graph.shapes.set_v1_shapes`).
"""

from __future__ import annotations

from estcore.graph.shapes import set_v1_shapes, v1_shapes

__all__ = ["disable_v2_behavior", "enable_v2_behavior", "disable_eager_execution",
           "enable_eager_execution", "executing_eagerly", "disable_v2_tensorshape",
           "enable_v2_tensorshape", "disable_resource_variables", "enable_resource_variables",
           "resource_variables_enabled", "disable_control_flow_v2", "enable_control_flow_v2",
           "control_flow_v2_enabled", "disable_tensor_equality", "enable_tensor_equality",
           "v2_tensorshape_enabled"]

_state = {"resource_variables": False, "control_flow_v2": False}

_GRAPH_ONLY = ("estcore runs TF1 graphs only (placeholders, Sessions, Estimators): there is "
               "no eager execution")


def disable_v2_tensorshape() -> None:
    """TF's ``disable_v2_tensorshape``: ``tensor.shape[i]`` and ``tensor.shape.dims`` give
    ``Dimension`` objects (``Dimension(None)``, ``.value`` None, when unknown), as in TF1."""
    set_v1_shapes(True)


def enable_v2_tensorshape() -> None:
    """TF's ``enable_v2_tensorshape`` (the default): ``tensor.shape[i]`` is an int or None."""
    set_v1_shapes(False)


def v2_tensorshape_enabled() -> bool:
    """Whether ``tensor.shape[i]`` gives ints and Nones (v2 shapes, the default)."""
    return not v1_shapes()


def disable_eager_execution() -> None:
    """Accepted: estcore always builds graphs (TF's ``disable_eager_execution``)."""


def enable_eager_execution(config=None, device_policy=None,  # noqa: ANN001 - TF1 signature
                           execution_mode=None) -> None:
    """Not available: estcore has no eager execution.

    Raises:
        NotImplementedError: always.
    """
    raise NotImplementedError(f"tf.enable_eager_execution(): {_GRAPH_ONLY}. Remove the call, "
                              "or call tf.disable_eager_execution() instead.")


def executing_eagerly() -> bool:
    """False: estcore code always builds a graph (TF1 graph mode)."""
    return False


def disable_resource_variables() -> None:
    """Accepted (TF's ``disable_resource_variables``); estcore's variables behave as TF1's
    ref variables do in the programs it runs."""
    _state["resource_variables"] = False


def enable_resource_variables() -> None:
    """Accepted and recorded (TF's ``enable_resource_variables``); estcore has one kind of
    variable, read after the writes its control dependencies order."""
    _state["resource_variables"] = True


def resource_variables_enabled() -> bool:
    """What the last ``enable_/disable_resource_variables`` call asked for (False first)."""
    return _state["resource_variables"]


def disable_control_flow_v2() -> None:
    """Accepted (TF's ``disable_control_flow_v2``): estcore has one control flow."""
    _state["control_flow_v2"] = False


def enable_control_flow_v2() -> None:
    """Accepted and recorded (TF's ``enable_control_flow_v2``): estcore has one control flow."""
    _state["control_flow_v2"] = True


def control_flow_v2_enabled() -> bool:
    """What the last ``enable_/disable_control_flow_v2`` call asked for (False first)."""
    return _state["control_flow_v2"]


def disable_tensor_equality() -> None:
    """Accepted (TF's ``disable_tensor_equality``): ``==`` on tensors is identity, as in
    TF1 (``tf.equal`` compares values)."""


def enable_tensor_equality() -> None:
    """Not available: estcore keeps TF1's ``==`` (identity; tensors hash by id).

    Raises:
        NotImplementedError: always.
    """
    raise NotImplementedError("tf.enable_tensor_equality(): estcore keeps TF1's tensor `==` "
                              "(identity); compare values with tf.equal.")


def disable_v2_behavior() -> None:
    """TF's ``disable_v2_behavior``: every switch to TF 1.x's side; in estcore that is v1
    tensor shapes (the rest already is TF1's: graph mode, TF1 control flow)."""
    disable_v2_tensorshape()
    disable_eager_execution()
    disable_resource_variables()
    disable_control_flow_v2()
    disable_tensor_equality()


def enable_v2_behavior() -> None:
    """Not available: TF 2.x behaviour is eager execution, which estcore does not have.

    Raises:
        NotImplementedError: always (nothing is switched).
    """
    raise NotImplementedError(f"tf.enable_v2_behavior(): {_GRAPH_ONLY}. For TF 2.x's "
                              "shapes alone call tf.enable_v2_tensorshape().")
