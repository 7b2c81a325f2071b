"""estcore's graph engine: IR, op table, autodiff, variables, plan compiler, executor.

Users reach it through the top-level names (``estcore.placeholder``,
``estcore.Session``, ``estcore.gradients`` ...). The internal entry points for
the library (layers, losses, optimizers, metrics) are:

Fused ops (``estcore.graph.ops.fused``):
    ``dense(x, kernel, bias=None, activation=None, name=None)`` -> Tensor
        ``activation(x @ kernel + bias)`` as one node, gradient as one node.
        ``activation``: None, ``"relu"|"sigmoid"|"tanh"|"elu"|"selu"`` or an
        ``estcore.nn`` function; other callables are applied after the node.
    ``conv2d(x, kernel, bias=None, strides=1, padding="VALID", activation=None,
    dilations=1, name=None)`` -> Tensor: the same for NHWC conv2d.

Optimizer update ops (``estcore.graph.ops.state_ops``), TF1 ``ApplyX`` argument
orders; each updates the variable and its slots in place and returns the variable:
    ``apply_gradient_descent(var, alpha, delta)``
    ``apply_momentum(var, accum, lr, grad, momentum, use_nesterov=False)``
    ``apply_adagrad(var, accum, lr, grad)``
    ``apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad)``
    ``apply_centered_rmsprop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad)``
    ``apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
    use_nesterov=False)``
    ``var``/slots are Variables; the rest are scalar tensors or Python numbers
    (the gradient is a tensor of the variable's shape).

Global step (``estcore.graph.global_step``): ``get_global_step(graph=None)``,
``create_global_step(graph=None)``, ``get_or_create_global_step(graph=None)``.

Variables (``estcore.graph.variables``): ``Variable``, ``get_variable``,
``variable_scope``, ``name_scope``, ``AUTO_REUSE``, collections helpers. A
variable created with ``collections=[GraphKeys.LOCAL_VARIABLES, ...]`` is local.

Adding an op = adding a row (``estcore.graph.registry.OpRow``) in one of the
modules of ``estcore.graph.ops``; a C emitter for it goes in ``ops/c_emit.py``.

Execution (``Session.run``): one plan per (fetch structure, fed tensors, fed
shapes), compiled once (pruning, graph check, constant folding, fusion,
scheduling, buffer planning) and cached. Runs of C-capable nodes execute as one
``estcore._lib._kernels.Program`` each; the rest run as numpy closures.
``Session(config={"use_c_kernels": False})`` forces the numpy kernels. Updates of a
variable are ordered after every read of it in the same run; a fetched variable
shows its value at the end of the run.

This package ``__init__`` only re-exports (the submodules and the names above); the code
lives in the modules it names. Must not: import anything above the graph (the library,
inputs, hooks, checkpoint, estimator); know about the Estimator or model_fn.
"""

# ruff: noqa: F401 - this module re-exports names

from estcore.graph import (
           autodiff,
           global_step,
           initializers,
           ops,  # noqa: F401 - registers the op table
           variables,
)
from estcore.graph.dtypes import DType, as_dtype
from estcore.graph.ir import Graph, GraphKeys, Operation, get_default_graph, reset_default_graph
from estcore.graph.session import InteractiveSession, Session, get_default_session
from estcore.graph.shapes import TensorShape
from estcore.graph.tensor import Tensor

__all__ = ["ops", "autodiff", "global_step", "initializers", "variables", "DType", "as_dtype",
           "Graph", "GraphKeys", "Operation", "get_default_graph", "reset_default_graph",
           "Session", "InteractiveSession", "get_default_session", "TensorShape", "Tensor"]
