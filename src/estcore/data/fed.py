"""Scalar Dataset arguments that get their values when an initializer runs (TF1's
``ds.batch(batch_size_placeholder)`` fed in ``sess.run(it.initializer, {bs: 32})``).

A transformation argument (``batch_size``, ``drop_remainder``, ``count``,
``buffer_size``, ``num_shards``, ``range``'s bounds, ...) may be a graph tensor with no
value while the Dataset is built: a placeholder, or a value computed from placeholders
or variables. The Dataset keeps it as a :class:`FedArg` and the static shapes treat it
as unknown (a placeholder ``batch_size`` gives a ``None`` batch dimension, as in TF).

Who does what:

* ``Dataset`` (:mod:`estcore.data.dataset`) reads each argument with
  :func:`int_or_fed` / :func:`bool_or_fed`: a value known now is checked now (one
  message template); a graph tensor is checked as TF's op constructors check it
  (``int64`` / ``bool``, a scalar) and becomes a FedArg with a ``check`` giving TF's
  kernel message for a bad value (:func:`at_least`, :data:`BATCH_SIZE`);
* an iterator's initializer op takes every FedArg's tensor as an input (so the Session
  computes it from the run's feed_dict) and binds the values before the pass starts:
  :meth:`FedArg.convert` checks every value first, then :meth:`FedArg.commit` sets
  them, so a bad value leaves the iterator as it was (TF's ``MakeIterator``);
* nodes read the value through :func:`fed_property` while a pass runs. The value is
  bound on the Dataset's nodes, so each iterator binds its own values again before each
  of its elements: two iterators of one Dataset initialized with different values each
  see theirs, as TF's iterators capture them.

:class:`~estcore.data.sources.FedSlicesNode` (``from_tensor_slices`` of placeholders)
follows the same ``tensors`` / ``convert`` / ``commit`` protocol.

Must not: run graphs (the Session runs the initializer); know any node class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from estcore._validation import invalid
from estcore.errors import FailedPreconditionError, InvalidArgumentError
from estcore.graph import dtypes as dt
from estcore.graph.ops.core import constant_value

__all__ = ["FedArg", "value_of", "fed_property", "is_bound", "describe_arg", "fed_args",
           "int_arg", "graph_tensor", "make_fed", "at_least", "any_value", "int_or_fed",
           "bool_or_fed", "nonzero_step", "BATCH_SIZE"]


class FedArg:
    """One scalar argument given as a graph tensor with no value at build time.

    Attributes:
        name: the argument's name (``batch_size``), for messages.
        tensors: ``[tensor]``: what the initializer computes and binds.
        bound: True once an initializer has bound a value.
    """

    __slots__ = ("name", "tensors", "check", "kind", "value", "bound")

    def __init__(self, name: str, tensor: Any, kind: type, check: Callable[[Any], Any]):
        self.name = name
        self.tensors = [tensor]
        self.kind = kind  # int or bool: the Python type of the bound value
        self.check = check  # value -> value; InvalidArgumentError (TF's message) if bad
        self.value: Any = None
        self.bound = False

    def convert(self, values: list) -> Any:
        """The checked value of ``values`` (the tensor's value, as the Session ran it)."""
        arr = np.asarray(values[0])
        if arr.ndim:
            raise InvalidArgumentError(f"{self.name} must be a scalar; the value of "
                                       f"'{self.tensors[0].name}' has shape {list(arr.shape)}")
        return self.check(self.kind(arr.item()))

    def commit(self, value: Any) -> None:
        self.value = value
        self.bound = True

    def get(self) -> Any:
        if not self.bound:
            raise FailedPreconditionError(
                f"This Dataset's `{self.name}` is the graph tensor '{self.tensors[0].name}', "
                "which gets its value when an initializable iterator's initializer runs: "
                "call dataset.make_initializable_iterator() and run iterator.initializer "
                "(with a feed_dict for its placeholders) before reading elements")
        return self.value

    def __repr__(self) -> str:
        state = f"={self.value!r}" if self.bound else " (not bound)"
        return f"<FedArg {self.name} <- '{self.tensors[0].name}'{state}>"


def value_of(arg: Any) -> Any:
    """``arg``'s value: itself, or a FedArg's bound value (FailedPreconditionError if none)."""
    return arg.get() if type(arg) is FedArg else arg


def fed_property(attr: str) -> property:
    """A read-only property giving ``value_of(self.<attr>)`` (a node's argument)."""
    return property(lambda self: value_of(getattr(self, attr)))


def is_bound(*args: Any) -> bool:
    """True when none of ``args`` is a FedArg without a value yet."""
    return all(type(a) is not FedArg or a.bound for a in args)


def describe_arg(arg: Any) -> Any:
    """``arg`` for a pipeline fingerprint: the value, or the tensor's name while unbound."""
    if type(arg) is FedArg:
        return arg.value if arg.bound else ["fed", arg.tensors[0].name]
    return arg


def fed_args(*args: Any) -> tuple[FedArg, ...]:
    """The FedArgs among ``args`` (a node's ``fed_args``)."""
    return tuple(a for a in args if type(a) is FedArg)


# ---------------------------------------------------------------------- the Dataset's arguments


def int_arg(name: str, value: Any, minimum: int | None = None) -> int:
    """An int argument known now: a Python / numpy int, or a tensor whose value the graph
    alone determines (a constant; see :func:`graph_tensor`)."""
    if hasattr(value, "_as_tensor"):
        v = constant_value(value._as_tensor())
        if v is None:
            raise invalid(name, "an int or a constant tensor", value, TypeError)
        value = v.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise invalid(name, "an int", value, TypeError)
    value = int(value)
    if minimum is not None and value < minimum:
        raise invalid(name, f"an int >= {minimum}", value)
    return value


def graph_tensor(value: Any) -> Any:
    """``value``'s tensor when it is a graph tensor whose value is not known while the
    Dataset is built (a placeholder, or computed from one or from a variable), else None.

    "Known" is :func:`~estcore.graph.ops.core.constant_value`'s: a constant, a static
    shape's ``Shape`` / ``Size`` / ``Rank``. Other computed tensors (``tf.constant(3) * 2``,
    which TF folds) count as fed: an initializable iterator computes them, a one-shot
    iterator refuses them."""
    if not hasattr(value, "_as_tensor"):
        return None
    t = value._as_tensor()
    return None if constant_value(t) is not None else t


def make_fed(name: str, tensor: Any, kind: type, check: Callable[[Any], Any]) -> FedArg:
    """A FedArg for argument ``name`` after TF's checks of its tensor (``tf.int64`` or
    ``tf.bool``, a scalar)."""
    want = dt.bool if kind is bool else dt.int64
    if tensor.dtype is not want:
        raise ValueError(f"{name}: Tensor conversion requested dtype {want.name} for Tensor "
                         f"with dtype {tensor.dtype.name}: {tensor!r}")
    if tensor.shape.rank not in (None, 0):
        raise ValueError(f"{name}: Shape must be rank 0 but is rank {tensor.shape.rank} "
                         f"({tensor!r})")
    return FedArg(name, tensor, kind, check)


def at_least(minimum: int, message: str) -> Callable[[int], int]:
    """A FedArg check: the value, or TF's kernel message (``{v}``: the value)."""
    def check(v: int) -> int:
        if v < minimum:
            raise InvalidArgumentError(message.format(v=v))
        return v
    return check


def any_value(v: Any) -> Any:
    return v


def int_or_fed(name: str, value: Any, minimum: int | None = None,
               check: Callable[[int], int] = any_value) -> int | FedArg:
    """An int argument now (``minimum`` checked), or a FedArg (``check`` when bound)."""
    tensor = graph_tensor(value)
    if tensor is None:
        return int_arg(name, value, minimum)
    return make_fed(name, tensor, int, check)


def bool_or_fed(name: str, value: Any) -> bool | FedArg:
    """A bool argument now, or a FedArg of a ``tf.bool`` scalar."""
    tensor = graph_tensor(value)
    if tensor is not None:
        return make_fed(name, tensor, bool, any_value)
    if hasattr(value, "_as_tensor"):
        value = constant_value(value._as_tensor()).item()
    return bool(value)


def nonzero_step(v: int) -> int:
    """``range``'s fed ``step`` check (TF's message)."""
    if v == 0:
        raise InvalidArgumentError("step must be a non-zero integer.")
    return v


BATCH_SIZE = at_least(1, "Batch size must be greater than zero.")
