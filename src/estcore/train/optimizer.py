"""The optimizer base class (TF1 ``tf.compat.v1.train.Optimizer``).

Design:
    ``minimize`` = ``compute_gradients`` (reverse-mode autodiff of the graph
    core) + ``apply_gradients``. ``apply_gradients`` creates the optimizer's
    slot variables once per variable (TF1 names: ``<var>/<OptimizerName>``,
    ``<var>/<OptimizerName>_1``, ...), builds one update op per variable
    (:mod:`estcore.train._updates`, a fused C update when the graph core has
    one; for an IndexedSlices gradient, ``_apply_sparse``: a row-sparse C update
    of the touched rows only), then ``_finish`` (e.g. Adam's ``beta1_power`` / ``beta2_power``
    updates) and, when ``global_step`` is given, increments it by 1 after all
    updates, in the same train op.

    Under an active ``estcore.distribute`` strategy with several processes,
    ``apply_gradients`` first replaces the gradients by their cross-process
    average (one fused MPI allreduce per dtype per step).

    As a convenience over TF1, ``minimize`` also runs the ops in the
    ``UPDATE_OPS`` collection (batch-norm moving averages) before the variable
    updates. Wrapping ``minimize`` in ``control_dependencies(UPDATE_OPS)``, the
    TF1 idiom, still works: an op runs at most once per ``Session.run``.

Must not: import ``estcore.distribute`` or MPI (it asks
:func:`estcore.train.strategy_context.current_strategy`, which the Estimator sets);
run a session; write a variable outside the train op it returns.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.graph.autodiff import gradients
from estcore.graph.initializers import constant_initializer, zeros_initializer
from estcore.graph.ir import GraphKeys, control_dependencies
from estcore.graph.ops.core import constant, convert_to_tensor
from estcore.graph.ops.math_ops import cast
from estcore.graph.ops.state_ops import assign_add, group
from estcore.graph.sparse_tensor import IndexedSlices
from estcore.graph.tensor import Tensor
from estcore.graph.variables import (
    Variable,
    VariableScope,
    get_variable,
    get_variable_scope,
    name_scope,
    variable_scope,
)
from estcore.train.strategy_context import current_strategy

__all__ = ["Optimizer"]


def _is_variable(v: Any) -> bool:
    return isinstance(v, Variable)


def _var_key(var) -> int:
    return id(var)


def check_hyper(name: str, value: Any, *, low: float = 0.0, high: float | None = None,
                high_inclusive: bool = False, allow_tensor: bool = True) -> Any:
    """Validate a hyper-parameter: a number in ``[low, high)`` (or a tensor / callable)."""
    if allow_tensor and (isinstance(value, (Tensor, Variable)) or callable(value)):
        return value
    if not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or not math.isfinite(float(value)):
        raise invalid(name, "a finite number" + (" or a scalar tensor" if allow_tensor else ""),
                      value, TypeError)
    v = float(value)
    if high is None:
        if v < low:
            raise invalid(name, f"a number >= {low}", value)
    else:
        bad = v < low or (v > high if high_inclusive else v >= high)
        if bad:
            close = "]" if high_inclusive else ")"
            raise invalid(name, f"a number in [{low}, {high}{close}", value)
    return value


class Optimizer:
    """Base class of the TF1 optimizers.

    Subclasses implement ``_create_slots(var_list)``, ``_prepare()`` and
    ``_apply_dense(grad, var)``, and may override ``_finish(update_ops, name)``.

    Args:
        use_locking: accepted for TF1 compatibility (updates never race here).
        name: the optimizer name, used for slot variable names.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str):
        if not name or not isinstance(name, str):
            raise invalid("name", "a non-empty str", name)
        self._use_locking = bool(use_locking)
        self._name = name
        # slot name ("m", "momentum", ...) -> {id(var): slot variable}
        self._slots: dict[str, dict[int, Any]] = {}
        # (name, id(graph)) -> variable, e.g. Adam's beta1_power
        self._non_slot_dict: dict[tuple[str, int], Any] = {}
        self._hyper_cache: dict[tuple[str, Any], Any] = {}

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------

    def get_name(self) -> str:
        return self._name

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """Add the ops that minimize ``loss`` by updating ``var_list``.

        Args:
            loss: a floating scalar tensor.
            global_step: optional int64 variable incremented by 1 after the updates.
            var_list: variables to update (default: ``TRAINABLE_VARIABLES``).
            name: name of the returned op.
            grad_loss: optional gradient of ``loss`` (default ones).

        Returns:
            The train op (runs ``UPDATE_OPS``, the variable updates and the
            global-step increment).

        Raises:
            ValueError: no variable receives a gradient from ``loss``.
        """
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not "
                "support gradients, between variables "
                f"{[_display(v) for _, v in grads_and_vars]} and loss {loss}.")
        graph = loss.graph
        update_ops = list(graph.get_collection(GraphKeys.UPDATE_OPS))
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name,
                                    _extra_dependencies=update_ops)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None):
        """Gradients of ``loss`` for ``var_list``: a list of ``(gradient or None, variable)``.

        Raises:
            TypeError: ``loss`` is not a floating tensor, or ``var_list`` holds a
                non-variable.
            ValueError: there is no variable to optimize.
        """
        if callable(loss) and not isinstance(loss, (Tensor, Variable)):
            loss = loss()
        if not isinstance(loss, (Tensor, Variable)):
            raise invalid("loss", "a scalar floating estcore.Tensor", loss, TypeError)
        if not loss.dtype.is_floating:
            raise invalid("loss", "a floating tensor (float16/32/64)", loss, TypeError)
        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP,
                                  Optimizer.GATE_GRAPH):
            raise invalid("gate_gradients", "Optimizer.GATE_NONE, GATE_OP or GATE_GRAPH",
                          gate_gradients)
        if var_list is None:
            var_list = list(loss.graph.get_collection(GraphKeys.TRAINABLE_VARIABLES))
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not _is_variable(v):
                raise invalid("var_list", "a list of estcore.Variable", v, TypeError)
        grads = gradients(loss, var_list, grad_ys=grad_loss)
        return list(zip(grads, var_list, strict=True))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None,
                        _extra_dependencies=None):
        """Add the update ops for ``grads_and_vars``.

        Args:
            grads_and_vars: iterable of ``(gradient or None, variable)``; pairs
                whose gradient is None are skipped.
            global_step: optional variable incremented by 1 after the updates.
            name: name of the returned op.

        Returns:
            The op that applies every update (and increments ``global_step``).

        Raises:
            ValueError: empty ``grads_and_vars``, every gradient None, or a
                variable listed twice.
            TypeError: a gradient that is not a tensor, or of the wrong dtype.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        seen = set()
        pairs = []
        for pair in grads_and_vars:
            try:
                g, v = pair
            except (TypeError, ValueError):
                raise invalid("grads_and_vars", "an iterable of (gradient, variable) pairs",
                              pair, TypeError) from None
            if not _is_variable(v):
                raise invalid("grads_and_vars", "pairs whose second item is an estcore.Variable",
                              v, TypeError)
            if _var_key(v) in seen:
                raise ValueError(f"Variable {_display(v)} appears more than once in "
                                 "grads_and_vars.")
            seen.add(_var_key(v))
            if g is not None:
                if not isinstance(g, IndexedSlices):
                    g = convert_to_tensor(g)
                if g.dtype != v.dtype:
                    raise TypeError(f"The gradient for {_display(v)} has dtype {g.dtype.name}; "
                                    f"expected {v.dtype.name} (the variable's dtype).")
            pairs.append((g, v))
        var_list = [v for g, v in pairs if g is not None]
        if not var_list:
            raise ValueError("No gradients provided for any variable: "
                             f"{[_display(v) for _, v in pairs]}.")
        pairs = _aggregate_across_replicas(pairs)
        self._create_slots(var_list)
        self._prepare()
        self._hyper_cache = {}

        deps = list(_extra_dependencies or ())
        with _maybe_control_dependencies(deps):
            update_ops = []
            for g, v in pairs:
                if g is None:
                    continue
                with name_scope("update_" + v.op.name.replace("/", "_")):
                    if isinstance(g, IndexedSlices):
                        update_ops.append(self._apply_sparse(g, v))
                    else:
                        update_ops.append(self._apply_dense(g, v))
            if global_step is None:
                return self._finish(update_ops, name or self._name)
            finish = self._finish(update_ops, "update")
            with control_dependencies([finish]):
                # TF1 returns the increment's op, not its value: fetching it gives None.
                return assign_add(global_step, _one_like(global_step),
                                  name=name or self._name).op

    def get_slot(self, var, name: str):
        """The slot variable ``name`` (e.g. Adam's ``"m"``) created for ``var``, or None."""
        return self._slots.get(name, {}).get(_var_key(var))

    def get_slot_names(self) -> list[str]:
        """The slot names this optimizer creates, sorted."""
        return sorted(self._slots)

    def variables(self) -> list:
        """Every slot and non-slot variable this optimizer created, by name."""
        out = [v for slots in self._slots.values() for v in slots.values()]
        out += list(self._non_slot_dict.values())
        return sorted(out, key=lambda v: v.name)

    # ------------------------------------------------------------------
    # For subclasses
    # ------------------------------------------------------------------

    def _create_slots(self, var_list) -> None:
        """Create the slot variables of each variable (none by default)."""

    def _prepare(self) -> None:
        """Convert hyper-parameters to tensors before the per-variable updates."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError(f"{type(self).__name__} must implement _apply_dense")

    def _apply_sparse(self, grad, var):
        """The update for an IndexedSlices gradient (a sparse lookup's rows). Default: the
        dense update of the densified gradient; SGD, Momentum, Adagrad, Adam, Ftrl and
        RMSProp override it with a row-sparse C update (duplicate rows summed first)."""
        return self._apply_dense(convert_to_tensor(grad), var)

    def _finish(self, update_ops, name):
        return group(*update_ops, name=name)

    def _hyper(self, key: str, value: Any, dtype):
        """Hyper-parameter ``value`` (number, tensor or callable) as a tensor of ``dtype``."""
        cache_key = (key, dtype)
        t = self._hyper_cache.get(cache_key)
        if t is None:
            if callable(value) and not isinstance(value, (Tensor, Variable)):
                value = value()
            if isinstance(value, (Tensor, Variable)):
                t = convert_to_tensor(value)
                if t.dtype != dtype:
                    t = cast(t, dtype)
            else:
                t = constant(np.asarray(value, dtype=dtype.as_numpy_dtype))
            self._hyper_cache[cache_key] = t
        return t

    def _zeros_slot(self, var, slot_name: str, op_name: str):
        return self._get_or_make_slot(var, slot_name, op_name, 0.0)

    def _get_or_make_slot(self, var, slot_name: str, op_name: str, fill_value: float):
        slots = self._slots.setdefault(slot_name, {})
        slot = slots.get(_var_key(var))
        if slot is None:
            slot = _create_slot(var, op_name, fill_value)
            slots[_var_key(var)] = slot
        return slot

    def _get_non_slot_variable(self, name: str, graph):
        return self._non_slot_dict.get((name, id(graph)))

    def _create_non_slot_variable(self, initial_value: float, name: str, colocate_with):
        """The optimizer's variable ``name`` (e.g. Adam's ``beta1_power``) of
        ``colocate_with``'s graph, created on first use.

        As TF1 (``variable_scope.variable(..., name=name)`` under ``init_scope``), the
        variable is named in the name scope in effect when the slots are created
        (``minimize`` under ``name_scope("train")`` gives ``train/beta1_power``; a
        premade estimator's head gives ``dnn/head/beta1_power``), uniquified
        (``beta1_power_1`` for a second optimizer), with no control dependencies. One
        variable per (name, graph): an optimizer used again in the same graph, in
        another scope, keeps the first one. The dict holds the variable, which holds
        its graph, so the graph's id cannot be reused while the key exists.
        """
        graph = colocate_with.graph
        key = (name, id(graph))
        v = self._non_slot_dict.get(key)
        if v is None:
            dtype = colocate_with.dtype
            with graph.as_default(), graph.control_dependencies(None):
                v = Variable(np.asarray(initial_value, dtype=dtype.as_numpy_dtype),
                             trainable=False, name=name, dtype=dtype)
            self._non_slot_dict[key] = v
        return v


def _aggregate_across_replicas(pairs: list) -> list:
    """Under an active multi-process strategy (estcore.distribute), average the gradients
    across processes first (one fused allreduce per dtype); otherwise ``pairs`` as is."""
    strategy = current_strategy()
    if strategy is None or strategy.num_replicas_in_sync <= 1:
        return pairs
    return strategy.aggregate_gradients(pairs)


# ----------------------------------------------------------------------------
# Variable creation for slots
# ----------------------------------------------------------------------------

def _display(v) -> str:
    return f"<estcore.Variable '{getattr(v, 'name', v)}'>"


def _one_like(var):
    return constant(np.asarray(1, dtype=var.dtype.as_numpy_dtype))


class _maybe_control_dependencies:
    def __init__(self, deps):
        self._deps = deps
        self._cm = None

    def __enter__(self):
        if self._deps:
            self._cm = control_dependencies(self._deps)
            self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        if self._cm is not None:
            return self._cm.__exit__(*exc)
        return False


def _unique_name(graph, base: str) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first name no variable has yet."""
    taken = {v.op.name for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES)}
    taken |= {v.op.name for v in graph.get_collection(GraphKeys.LOCAL_VARIABLES)}
    if base not in taken:
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def _create_variable(name: str, shape, dtype, initializer, graph):
    """A non-trainable global variable whose full name is exactly ``name`` (made unique)."""
    full = _unique_name(graph, name)
    # Like TF1's init_scope: no control dependencies (the initializer must not
    # wait for the train step) and no enclosing name scope. The root variable
    # scope makes the name exact (``dense/kernel/Adam``) wherever minimize() is
    # called.
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None), \
            variable_scope(VariableScope(""), auxiliary_name_scope=False):
        return get_variable(full, shape=shape, dtype=dtype, initializer=initializer,
                            trainable=False)


def _create_slot(var, op_name: str, fill_value: float):
    """The slot ``<scope>/<var>/<op_name>`` (``_1``, ``_2``... when taken), filled with
    ``fill_value``: as TF1's slot_creator, under the variable scope in effect when the
    slots are made, so ``minimize`` inside ``variable_scope("model")`` names the slot of
    ``model/dense/kernel`` ``model/model/dense/kernel/Adam`` (the names TF's checkpoints
    hold); outside any variable scope, ``<var>/<op_name>``."""
    shape = var.shape.as_list()
    init = zeros_initializer() if fill_value == 0.0 else constant_initializer(fill_value)
    scope = get_variable_scope().name
    base = f"{scope}/{var.op.name}" if scope else var.op.name
    return _create_variable(base + "/" + op_name, shape, var.dtype, init, var.graph)
