"""TF1's ``tf.make_template``: a function whose variables are created on its first call and
shared by every later call.

Built on estcore's variable scopes: the first call runs ``func_`` in a new, uniquely named
variable scope (or the one opened when the template was made, ``create_scope_now_``);
later calls re-enter that scope with ``reuse=True``, so ``tf.get_variable`` returns the
same variables. As in TF, a later call that would create a new trainable variable is an
error.

Owns: :class:`Template`. Must not: create variables itself, or change how variable scopes
work (``estcore.graph.variables`` does).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from estcore.graph.ir import GraphKeys, get_collection, get_default_graph
from estcore.graph.variables import variable_scope

__all__ = ["make_template", "Template"]


class Template:
    """A function wrapped so that every call shares the variables of the first (TF1's
    ``Template``; build one with :func:`make_template`)."""

    def __init__(self, name: str, func: Callable, create_scope_now: bool = False,
                 unique_name: str | None = None, custom_getter: Any = None):
        if not callable(func):
            raise TypeError(f"make_template: `func_` must be callable. Received: {func!r}")
        if not name:
            raise ValueError(f"make_template: `name_` must be a non-empty string. "
                             f"Received: {name!r}")
        if custom_getter is not None:
            raise NotImplementedError("make_template: `custom_getter_` is not supported in "
                                      "estcore (variable scopes take no custom getter)")
        self._name = name
        self._func = func
        self._unique_name = unique_name
        self._scope = None
        self._graph = None
        if create_scope_now:
            self._graph = get_default_graph()
            with variable_scope(unique_name, default_name=name) as vs:
                self._scope = vs
        functools.update_wrapper(self, func, updated=())

    def _trainable_count(self) -> int:
        return len(get_collection(GraphKeys.TRAINABLE_VARIABLES))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = get_default_graph()
        if self._graph is not None and graph is not self._graph:
            raise ValueError(f"Template '{self._name}' was made in another graph; call it in "
                             "the graph it was first used in")
        if self._scope is None or not self._called:
            if self._scope is None:
                self._graph = graph
                with variable_scope(self._unique_name, default_name=self._name) as vs:
                    self._scope = vs
                    result = self._func(*args, **kwargs)
            else:   # create_scope_now_: the scope exists, the variables do not yet
                with variable_scope(self._scope):
                    result = self._func(*args, **kwargs)
            self._called = True
            return result
        before = self._trainable_count()
        with variable_scope(self._scope, reuse=True):
            result = self._func(*args, **kwargs)
        if self._trainable_count() != before:
            raise ValueError(f"Trainable variable created when calling template "
                             f"'{self._scope.name}' after the first time, perhaps you used "
                             "tf.Variable when you meant tf.get_variable")
        return result

    _called = False

    @property
    def name(self) -> str:
        """The name the template was made with."""
        return self._name

    @property
    def variable_scope(self) -> Any:
        """The template's variable scope (None before the first call, unless made with
        ``create_scope_now_``)."""
        return self._scope

    @property
    def variable_scope_name(self) -> str | None:
        """The full name of :attr:`variable_scope`."""
        return None if self._scope is None else self._scope.name

    def _in_scope(self, key: str) -> list:
        if self._scope is None:
            return []
        prefix = self._scope.name + "/"
        return [v for v in get_collection(key) if v.name.startswith(prefix)]

    @property
    def global_variables(self) -> list:
        """The global variables under the template's scope."""
        return self._in_scope(GraphKeys.GLOBAL_VARIABLES)

    variables = global_variables

    @property
    def trainable_variables(self) -> list:
        """The trainable variables under the template's scope."""
        return self._in_scope(GraphKeys.TRAINABLE_VARIABLES)

    @property
    def local_variables(self) -> list:
        """The local variables under the template's scope."""
        return self._in_scope(GraphKeys.LOCAL_VARIABLES)


def make_template(name_: str, func_: Callable, create_scope_now_: bool = False,
                  unique_name_: str | None = None, custom_getter_: Any = None,
                  **kwargs: Any) -> Template:
    """Wrap ``func_`` so that all its calls share one set of variables (TF1
    ``tf.make_template``).

    Args:
        name_: the template's variable scope name (made unique on first use, ``name_1``,
            ...).
        func_: the function; it creates its variables with ``tf.get_variable``.
        create_scope_now_: open (and name) the scope now rather than at the first call.
        unique_name_: use exactly this scope name (not made unique).
        custom_getter_: not supported (NotImplementedError).
        **kwargs: passed to ``func_`` on every call (TF's ``functools.partial``).

    Returns:
        A :class:`Template`, called like ``func_``.
    """
    func = functools.partial(func_, **kwargs) if kwargs else func_
    return Template(name_, func, create_scope_now_, unique_name_, custom_getter_)
