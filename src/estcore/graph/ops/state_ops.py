"""Stateful ops: variables, assignment, optimizer updates, no_op/group.

Variable storage lives in the Session (one numpy array per variable, updated in
place). A ``VariableV2`` node's output is bound to that array by the plan; ops
that mutate a variable list the input index in ``writes`` and return the
variable (``alias=0``). The plan compiler orders every write after all reads of
the same variable in the plan, so a step's gradients always see the values
from the start of the step.

Optimizer update rows (TF1 ``ApplyX`` input orders):

* ``ApplyGradientDescent(var, alpha, delta)``
* ``ApplyMomentum(var, accum, lr, grad, momentum)``, attr ``use_nesterov``
* ``ApplyAdagrad(var, accum, lr, grad)``
* ``ApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, grad)``
* ``ApplyCenteredRMSProp(var, mg, ms, mom, lr, rho, momentum, epsilon, grad)``
* ``ApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad)``,
  attr ``use_nesterov``

Must not: own variable storage (the Session does) or order reads and writes (the plan
compiler does, from ``writes``); create Variables (:mod:`estcore.graph.variables` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estcore.graph.ir import _as_operation, get_default_graph
from estcore.graph.ops.core import convert_to_tensor, make, make_op, row

if TYPE_CHECKING:
    from estcore.graph.ir import Operation
    from estcore.graph.tensor import Tensor

__all__ = ["assign", "assign_add", "assign_sub", "no_op", "group", "apply_gradient_descent",
           "apply_momentum", "apply_adagrad", "apply_rmsprop", "apply_centered_rmsprop",
           "apply_adam", "variable_ref"]


def variable_ref(v) -> Tensor:
    """The variable's ref tensor (a ``VariableV2`` output) or a TypeError."""
    t = v._as_tensor() if hasattr(v, "_as_tensor") else None
    if t is None or t.op.type != "VariableV2":
        raise TypeError("`ref` must be an estcore Variable. Received: "
                        f"{v!r} ({type(v).__name__})")
    return t


row("VariableV2", lambda ctx: [(ctx.attrs["dtype"], ctx.attrs["shape"])], None, None,
    stateful=True)


def _assign_infer(ctx):
    if ctx.dtypes[1] is not ctx.dtypes[0]:
        raise ctx.fail(f"value dtype {ctx.dtypes[1].name} does not match the variable's "
                       f"{ctx.dtypes[0].name}", TypeError)
    if not ctx.shapes[0].is_compatible_with(ctx.shapes[1]):
        raise ctx.fail(f"value has shape {ctx.fmt(1)}, the variable has shape {ctx.fmt(0)}")
    return [(ctx.dtypes[0], ctx.shapes[0])]


def _assign_build(fn):
    def build(k):
        ref, v = k.ins
        return lambda: fn(ref, v)
    return build


def _copy(ref, v):
    np.copyto(ref, v)


def _add(ref, v):
    np.add(ref, v, out=ref)


def _sub(ref, v):
    np.subtract(ref, v, out=ref)


for _t, _fn in (("Assign", _copy), ("AssignAdd", _add), ("AssignSub", _sub)):
    row(_t, _assign_infer, _assign_build(_fn), None, stateful=True, writes=(0,), alias=0)


def _assign(op_type, ref, value, name):
    r = variable_ref(ref)
    return make(op_type, [r, convert_to_tensor(value, r.dtype)], name=name or op_type)


def assign(ref, value, validate_shape=None, use_locking=None, name=None) -> Tensor:
    """Write ``value`` into variable ``ref``; returns the variable's (updated) value."""
    return _assign("Assign", ref, value, name)


def assign_add(ref, value, use_locking=None, name=None) -> Tensor:
    """``ref += value`` in place; returns the updated value."""
    return _assign("AssignAdd", ref, value, name)


def assign_sub(ref, value, use_locking=None, name=None) -> Tensor:
    """``ref -= value`` in place; returns the updated value."""
    return _assign("AssignSub", ref, value, name)


# ---------------------------------------------------------------- no_op / group
row("NoOp", lambda ctx: [], None, None, stateful=True)


def no_op(name=None) -> Operation:
    """An op that does nothing (useful as a control-dependency anchor)."""
    return make_op("NoOp", [], name=name or "NoOp")


def group(*inputs, name=None) -> Operation:
    """An op that runs after all ``inputs`` (ops, tensors or variables)."""
    flat = []
    for i in inputs:
        if isinstance(i, (list, tuple)):
            flat.extend(i)
        elif i is not None:
            flat.append(i)
    ops = [_as_operation(i) for i in flat]
    graph = ops[0].graph if ops else get_default_graph()
    with graph.control_dependencies(ops):
        return make_op("NoOp", [], name=name or "group_deps", graph=graph)


# ---------------------------------------------------------------- optimizer updates
def _apply_infer(n_slots, grad_index):
    def infer(ctx):
        d, s = ctx.dtypes[0], ctx.shapes[0]
        if not d.is_floating:
            raise ctx.fail(f"the variable must be floating point, got {d.name}", TypeError)
        for i in range(len(ctx.dtypes)):
            if ctx.dtypes[i] is not d:
                raise ctx.fail(f"input {i} has dtype {ctx.dtypes[i].name}, the variable has "
                               f"{d.name}", TypeError)
            if i <= n_slots or i == grad_index:
                if not s.is_compatible_with(ctx.shapes[i]):
                    raise ctx.fail(f"input {i} has shape {ctx.fmt(i)}, the variable has "
                                   f"shape {ctx.fmt(0)}")
            elif ctx.shapes[i].rank not in (None, 0):
                raise ctx.fail(f"hyperparameter input {i} must be a scalar, got shape "
                               f"{ctx.fmt(i)}")
        return [(d, s)]
    return infer


def _sgd_build(k):
    var, alpha, delta = k.ins
    t = np.empty_like(var)

    def run():
        np.multiply(delta, alpha, out=t)
        np.subtract(var, t, out=var)
    return run


def _momentum_build(k):
    var, accum, lr, grad, mom = k.ins
    nesterov = k.attrs["use_nesterov"]
    t = np.empty_like(var)

    def run():
        np.multiply(accum, mom, out=accum)
        np.add(accum, grad, out=accum)
        if nesterov:
            np.multiply(accum, mom, out=t)
            np.add(t, grad, out=t)
            np.multiply(t, lr, out=t)
        else:
            np.multiply(accum, lr, out=t)
        np.subtract(var, t, out=var)
    return run


def _adagrad_build(k):
    var, accum, lr, grad = k.ins
    t = np.empty_like(var)

    def run():
        np.square(grad, out=t)
        np.add(accum, t, out=accum)
        np.sqrt(accum, out=t)
        np.divide(grad, t, out=t)
        np.multiply(t, lr, out=t)
        np.subtract(var, t, out=var)
    return run


def _rmsprop_build(k):
    centered = k.node.type == "ApplyCenteredRMSProp"
    if centered:
        var, mg, ms, mom, lr, rho, momentum, eps, grad = k.ins
    else:
        var, ms, mom, lr, rho, momentum, eps, grad = k.ins
        mg = None
    t = np.empty_like(var)
    u = np.empty_like(var)

    def run():
        r = rho[()]
        np.square(grad, out=t)
        np.multiply(t, 1 - r, out=t)
        np.multiply(ms, r, out=ms)
        np.add(ms, t, out=ms)
        if mg is not None:
            np.multiply(mg, r, out=mg)
            np.multiply(grad, 1 - r, out=u)
            np.add(mg, u, out=mg)
            np.square(mg, out=u)
            np.subtract(ms, u, out=t)
            np.add(t, eps, out=t)
        else:
            np.add(ms, eps, out=t)
        np.sqrt(t, out=t)
        np.divide(grad, t, out=t)
        np.multiply(t, lr, out=t)
        np.multiply(mom, momentum, out=mom)
        np.add(mom, t, out=mom)
        np.subtract(var, mom, out=var)
    return run


def _adam_build(k):
    var, m, v, b1p, b2p, lr, b1, b2, eps, grad = k.ins
    nesterov = k.attrs["use_nesterov"]
    t = np.empty_like(var)

    def run():
        beta1, beta2 = b1[()], b2[()]
        lr_t = lr[()] * np.sqrt(1 - b2p[()]) / (1 - b1p[()])
        np.subtract(grad, m, out=t)
        np.multiply(t, 1 - beta1, out=t)
        np.add(m, t, out=m)
        np.square(grad, out=t)
        np.subtract(t, v, out=t)
        np.multiply(t, 1 - beta2, out=t)
        np.add(v, t, out=v)
        if nesterov:
            np.multiply(m, beta1, out=t)
            np.add(t, grad * (1 - beta1), out=t)
        else:
            np.copyto(t, m)
        np.multiply(t, lr_t, out=t)
        # t <- lr_t * m / (sqrt(v) + eps), computed without a second scratch array
        np.divide(t, np.add(np.sqrt(v, out=var_scratch), eps, out=var_scratch), out=t)
        np.subtract(var, t, out=var)
    var_scratch = np.empty_like(var)
    return run








_APPLY = {
    "ApplyGradientDescent": (0, 2, _sgd_build),
    "ApplyMomentum": (1, 3, _momentum_build),
    "ApplyAdagrad": (1, 3, _adagrad_build),
    "ApplyRMSProp": (2, 7, _rmsprop_build),
    "ApplyCenteredRMSProp": (3, 8, _rmsprop_build),
    "ApplyAdam": (2, 9, _adam_build),
}
for _t, (_slots, _gi, _build) in _APPLY.items():
    row(_t, _apply_infer(_slots, _gi), _build, None, stateful=True,
        writes=tuple(range(_slots + 1)), alias=0)


def _apply(op_type, refs, rest, attrs, name):
    r = [variable_ref(v) for v in refs]
    dtype = r[0].dtype
    ins = r + [convert_to_tensor(x, dtype) for x in rest]
    return make(op_type, ins, attrs, name=name or op_type)


def apply_gradient_descent(var, alpha, delta, use_locking=False, name=None) -> Tensor:
    """``var -= alpha * delta`` in place; returns the updated variable value."""
    return _apply("ApplyGradientDescent", [var], [alpha, delta], {}, name)


def apply_momentum(var, accum, lr, grad, momentum, use_locking=False, use_nesterov=False,
                   name=None) -> Tensor:
    """``accum = accum * momentum + grad; var -= lr * accum`` (Nesterov variant optional)."""
    return _apply("ApplyMomentum", [var, accum], [lr, grad, momentum],
                  {"use_nesterov": bool(use_nesterov)}, name)


def apply_adagrad(var, accum, lr, grad, use_locking=False, name=None) -> Tensor:
    """``accum += grad^2; var -= lr * grad / sqrt(accum)``."""
    return _apply("ApplyAdagrad", [var, accum], [lr, grad], {}, name)


def apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad, use_locking=False,
                  name=None) -> Tensor:
    """``ms = rho*ms + (1-rho)*g^2; mom = momentum*mom + lr*g/sqrt(ms+eps); var -= mom``."""
    return _apply("ApplyRMSProp", [var, ms, mom], [lr, rho, momentum, epsilon, grad], {}, name)


def apply_centered_rmsprop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad,
                           use_locking=False, name=None) -> Tensor:
    """Centered RMSProp: the denominator is ``sqrt(ms - mg^2 + eps)``."""
    return _apply("ApplyCenteredRMSProp", [var, mg, ms, mom],
                  [lr, rho, momentum, epsilon, grad], {}, name)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
               use_locking=False, use_nesterov=False, name=None) -> Tensor:
    """One Adam step in place (TF1 ``ApplyAdam`` semantics)::

        lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad^2
        var -= lr_t * m / (sqrt(v) + epsilon)

    ``beta1_power``/``beta2_power`` are scalar tensors (usually variables the
    optimizer updates after the step).
    """
    return _apply("ApplyAdam", [var, m, v], [beta1_power, beta2_power, lr, beta1, beta2,
                                             epsilon, grad],
                  {"use_nesterov": bool(use_nesterov)}, name)


