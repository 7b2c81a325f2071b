"""Row-sparse optimizer updates: ``SparseApply*`` rows over an IndexedSlices gradient.

Owns one row per family (TF1's ``SparseApply*`` input orders, with the IndexedSlices as
``(grad_values, indices)`` at the end):

* ``SparseApplyGradientDescent(var, lr, values, indices)``
* ``SparseApplyMomentum(var, accum, lr, momentum, values, indices)``, attr ``use_nesterov``
* ``SparseApplyAdagrad(var, accum, lr, values, indices)``
* ``SparseApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, values,
  indices)``, attr ``use_nesterov`` -- LAZY: only the touched rows' ``m``, ``v`` and
  ``var`` change (TF1's ``AdamOptimizer`` decays every row's ``m`` / ``v`` on a sparse
  step, O(vocabulary); this is ``tf.contrib.opt.LazyAdamOptimizer``'s rule)
* ``SparseApplyFtrl(var, accum, linear, lr, l1, l2, lr_power, l2_shrinkage, values,
  indices)``
* ``SparseApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, values, indices)`` and
  ``SparseApplyCenteredRMSProp(var, mg, ms, mom, ...)``

Each kernel is one C call (``_kernels.sparse_apply``, GIL released) that sums duplicate
indices first and then updates each touched row once; cost O(n log n + rows touched x
row width), independent of the variable's first dimension. Index ``-1`` rows are padding
and skipped; any other index outside ``[0, rows)`` is an InvalidArgumentError.

Must not: create variables or slots (the optimizers do); densify the gradient.
"""

from __future__ import annotations

import numpy as np

from estcore._lib import _kernels
from estcore.graph.ops.core import convert_to_tensor, make, row
from estcore.graph.ops.state_ops import variable_ref

__all__ = ["sparse_apply_gradient_descent", "sparse_apply_momentum", "sparse_apply_adagrad",
           "sparse_apply_adam", "sparse_apply_ftrl", "sparse_apply_rmsprop"]

# op type -> (kind, number of slot variables after var, number of scalar hyperparameters)
_ROWS = {
    "SparseApplyGradientDescent": ("sgd", 0, 1),
    "SparseApplyMomentum": ("momentum", 1, 2),
    "SparseApplyAdagrad": ("adagrad", 1, 1),
    "SparseApplyAdam": ("adam", 2, 6),
    "SparseApplyFtrl": ("ftrl", 2, 5),
    "SparseApplyRMSProp": ("rmsprop", 2, 4),
    "SparseApplyCenteredRMSProp": ("rmsprop", 3, 4),
}


def _infer(n_slots, n_hyper):
    def infer(ctx):
        d, s = ctx.dtypes[0], ctx.shapes[0]
        if not d.is_floating:
            raise ctx.fail(f"the variable must be floating point, got {d.name}", TypeError)
        for i in range(1, n_slots + 1 + n_hyper + 1):
            if ctx.dtypes[i] is not d:
                raise ctx.fail(f"input {i} has dtype {ctx.dtypes[i].name}, the variable has "
                               f"{d.name}", TypeError)
        for i in range(1, n_slots + 1):
            if not s.is_compatible_with(ctx.shapes[i]):
                raise ctx.fail(f"slot input {i} has shape {ctx.fmt(i)}, the variable has "
                               f"shape {ctx.fmt(0)}")
        g = ctx.shapes[-2]
        if not ctx.dtypes[-1].is_integer:
            raise ctx.fail(f"indices must be integers, got {ctx.dtypes[-1].name}", TypeError)
        if g.rank is not None and s.rank is not None and (
                g.rank != s.rank or not g[1:].is_compatible_with(s[1:])):
            raise ctx.fail(f"gradient values {ctx.fmt(len(ctx.shapes) - 2)} do not match "
                           f"the variable's rows {ctx.fmt(0)}")
        return [(d, s)]
    return infer


def _build(k):
    kind, n_slots, n_hyper = _ROWS[k.node.type]
    ins = k.ins
    var = ins[0]
    slots = list(ins[1:1 + n_slots]) + [None] * (3 - n_slots)
    hyper = ins[1 + n_slots:1 + n_slots + n_hyper]
    values, indices = ins[-2], ins[-1]
    flag = 1 if k.attrs.get("use_nesterov") else 0
    if n_slots == 3:   # centered RMSProp: TF's order (mg, ms, mom); C's (ms, mom, mg)
        slots = [slots[1], slots[2], slots[0]]
        flag = 1
    apply = _kernels.sparse_apply

    if kind == "adam":   # C order: lr, beta1, beta2, eps, beta1_power, beta2_power
        def hyper_values():
            b1p, b2p, lr, b1, b2, eps = (float(h) for h in hyper[:6])
            return (lr, b1, b2, eps, b1p, b2p)
    else:
        def hyper_values():
            return tuple(float(h) for h in hyper)

    def run():
        g = values if values.flags.c_contiguous else np.ascontiguousarray(values)
        idx = indices if indices.dtype == np.int64 and indices.flags.c_contiguous \
            else np.ascontiguousarray(indices, np.int64)
        apply(kind, var, slots[0], slots[1], g.reshape((idx.shape[0],) + var.shape[1:]),
              idx.reshape(-1), hyper_values(), flag, slots[2])
    return run


for _t, (_kind, _n_slots, _n_hyper) in _ROWS.items():
    row(_t, _infer(_n_slots, _n_hyper), _build, None, stateful=True,
        writes=tuple(range(_n_slots + 1)), alias=0)


def _apply(op_type, refs, hyper, grad, attrs=None, name=None):
    r = [variable_ref(v) for v in refs]
    dtype = r[0].dtype
    ins = r + [convert_to_tensor(h, dtype) for h in hyper]
    ins += [convert_to_tensor(grad.values), convert_to_tensor(grad.indices)]
    return make(op_type, ins, attrs or {}, name=name or op_type)


def sparse_apply_gradient_descent(var, lr, grad, name=None):
    """``var[i] -= lr * g_i`` for the rows of IndexedSlices ``grad`` (duplicates summed)."""
    return _apply("SparseApplyGradientDescent", [var], [lr], grad, name=name)


def sparse_apply_momentum(var, accum, lr, momentum, grad, use_nesterov=False, name=None):
    """TF1's ``SparseApplyMomentum`` on the touched rows."""
    return _apply("SparseApplyMomentum", [var, accum], [lr, momentum], grad,
                  {"use_nesterov": bool(use_nesterov)}, name)


def sparse_apply_adagrad(var, accum, lr, grad, name=None):
    """TF1's ``SparseApplyAdagrad`` on the touched rows."""
    return _apply("SparseApplyAdagrad", [var, accum], [lr], grad, name=name)


def sparse_apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
                      use_nesterov=False, name=None):
    """Lazy Adam on the touched rows (see the module docstring)."""
    return _apply("SparseApplyAdam", [var, m, v],
                  [beta1_power, beta2_power, lr, beta1, beta2, epsilon], grad,
                  {"use_nesterov": bool(use_nesterov)}, name)


def sparse_apply_ftrl(var, accum, linear, lr, l1, l2, lr_power, l2_shrinkage, grad, name=None):
    """TF1's ``SparseApplyFtrlV2`` on the touched rows."""
    return _apply("SparseApplyFtrl", [var, accum, linear], [lr, l1, l2, lr_power, l2_shrinkage],
                  grad, name=name)


def sparse_apply_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad, mg=None, name=None):
    """TF1's ``SparseApplyRMSProp`` (``SparseApplyCenteredRMSProp`` with ``mg``) on the
    touched rows."""
    if mg is not None:
        return _apply("SparseApplyCenteredRMSProp", [var, mg, ms, mom],
                      [lr, rho, momentum, epsilon], grad, name=name)
    return _apply("SparseApplyRMSProp", [var, ms, mom], [lr, rho, momentum, epsilon], grad,
                  name=name)
