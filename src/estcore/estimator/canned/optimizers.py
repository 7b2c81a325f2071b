"""The optimizer argument of the premade estimators: a name, a class, a callable or an instance.

Owns :func:`get_optimizer_instance` (TF 1.15's rules: a name of
:data:`OPTIMIZER_CLS_NAMES` builds that ``estcore.train`` optimizer with the estimator's
default learning rate; a callable, e.g. a class or a lambda, is called with no arguments;
an :class:`~estcore.train.optimizer.Optimizer` instance is used as it is) and
:func:`premade_minimize` (the premade estimators' train op, with their slot names). Must
not: hold a default learning rate (each estimator passes its own, as TF's modules do).
"""

from __future__ import annotations

import inspect
from typing import Any

from estcore.graph.global_step import get_global_step
from estcore.graph.variables import VariableScope, variable_scope
from estcore.train.adagrad import AdagradOptimizer
from estcore.train.adam import AdamOptimizer
from estcore.train.ftrl import FtrlOptimizer
from estcore.train.gradient_descent import GradientDescentOptimizer
from estcore.train.optimizer import Optimizer
from estcore.train.rmsprop import RMSPropOptimizer

__all__ = ["OPTIMIZER_CLS_NAMES", "check_optimizer", "get_optimizer_instance",
           "premade_minimize"]

OPTIMIZER_CLS_NAMES: dict[str, type[Optimizer]] = {
    "Adagrad": AdagradOptimizer,
    "Adam": AdamOptimizer,
    "Ftrl": FtrlOptimizer,
    "RMSProp": RMSPropOptimizer,
    "SGD": GradientDescentOptimizer,
}


def _needs_learning_rate(cls: type) -> bool:
    try:
        param = inspect.signature(cls).parameters.get("learning_rate")
    except (TypeError, ValueError):  # a builtin without a signature: let the call tell
        return False
    return param is not None and param.default is inspect.Parameter.empty


def get_optimizer_instance(opt: Any, learning_rate: float | None = None) -> Optimizer:
    """An optimizer instance from a premade estimator's ``optimizer`` argument.

    Args:
        opt: one of ``'Adagrad'``, ``'Adam'``, ``'Ftrl'``, ``'RMSProp'``, ``'SGD'``; an
            :class:`Optimizer` instance; or a callable with no arguments returning one
            (an optimizer class whose learning rate has a default, or a lambda, so that
            the optimizer is made inside the model's graph).
        learning_rate: the learning rate of an optimizer given by name (required then).

    Returns:
        An :class:`Optimizer` instance.

    Raises:
        ValueError: an unknown name, a name without ``learning_rate``, or anything that
            is not (and does not make) an Optimizer. TypeError: a class whose
            ``learning_rate`` has no default (TF raised this too; the message says what
            to pass instead).
    """
    if isinstance(opt, str):
        if opt not in OPTIMIZER_CLS_NAMES:
            raise ValueError(f"Unsupported optimizer name: {opt}. Supported names are: "
                             f"{tuple(sorted(OPTIMIZER_CLS_NAMES))}")
        if not learning_rate:
            raise ValueError("learning_rate must be specified when opt is string.")
        return OPTIMIZER_CLS_NAMES[opt](learning_rate=learning_rate)
    if isinstance(opt, type) and issubclass(opt, Optimizer) and _needs_learning_rate(opt):
        raise TypeError(f"The optimizer class {opt.__name__} needs a learning_rate: pass an "
                        f"instance ({opt.__name__}(learning_rate=...)), a lambda returning "
                        "one, or the optimizer's name as a string.")
    if callable(opt) and not isinstance(opt, Optimizer):
        opt = opt()
    if not isinstance(opt, Optimizer):
        raise ValueError(f"The given object is not an Optimizer instance. Given: {opt}")
    return opt


def check_optimizer(opt: Any, arg: str = "optimizer", allow_none: bool = False) -> None:
    """Refuse, when the estimator is made, an ``optimizer`` that could never work.

    A name must be one of :data:`OPTIMIZER_CLS_NAMES`; anything else must be an
    Optimizer instance or a callable (called later, inside the model's graph).
    """
    if opt is None and allow_none:
        return
    if isinstance(opt, str):
        if opt not in OPTIMIZER_CLS_NAMES:
            raise ValueError(f"Unsupported optimizer name: {opt}. Supported names are: "
                             f"{tuple(sorted(OPTIMIZER_CLS_NAMES))}")
        return
    if not (isinstance(opt, Optimizer) or callable(opt)):
        raise ValueError(f"`{arg}` must be an optimizer name "
                         f"{tuple(sorted(OPTIMIZER_CLS_NAMES))}, an Optimizer instance or a "
                         f"callable returning one. Received: {arg}={opt!r}")


def premade_minimize(optimizer: Optimizer, loss: Any, var_list: Any = None,
                     global_step: Any = "default") -> Any:
    """``optimizer.minimize`` for a premade estimator, slots named ``<var>/<slot>``.

    TF's premade estimators partition their variables, and a single partition's slot is
    stored under ``<var>/part_0/<slot>`` or ``<var>/t_0/<slot>`` whatever variable scope
    ``minimize`` runs in; estcore does not partition and stores ``<var>/<slot>``
    (estcore.checkpoint.tf_names maps the two). So the slots are made outside the
    premade's ``dnn`` / ``linear`` variable scope (a custom model_fn's ``minimize`` in a
    variable scope gets TF's scoped slot names); the name scope is kept, for Adam's
    ``dnn/head/beta1_power``. ``global_step`` "default": the graph's.
    """
    step = get_global_step() if global_step == "default" else global_step
    with variable_scope(VariableScope(""), auxiliary_name_scope=False):
        return optimizer.minimize(loss, global_step=step, var_list=var_list)
