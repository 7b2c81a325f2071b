"""``tf.flags`` / ``tf.app.flags``: absl-py's flags, as TF 1.x re-exported them.

TF 1.15's flags module was absl's with two additions, both kept here: the ``DEFINE_*``
functions also accept the old keywords ``flag_name=`` / ``default_value=`` /
``docstring=``, and ``FLAGS`` parses ``sys.argv`` on the first read of a flag value if
nothing has parsed it yet (so a flag read outside ``tf.app.run`` works, as in TF1).
absl-py is a dependency of estcore (pure Python).

Must not: define any flag of its own.
"""

# ruff: noqa: F401 - this module re-exports absl's names

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from absl import flags as _absl_flags
from absl.flags import (
    ArgumentParser,
    ArgumentSerializer,
    BooleanFlag,
    BooleanParser,
    DuplicateFlagError,
    EnumFlag,
    EnumParser,
    Error,
    Flag,
    FlagHolder,
    FlagValues,
    FloatParser,
    IllegalFlagValueError,
    IntegerParser,
    ListParser,
    UnparsedFlagAccessError,
    UnrecognizedFlagError,
    ValidationError,
    adopt_module_key_flags,
    declare_key_flag,
    mark_bool_flags_as_mutual_exclusive,
    mark_flag_as_required,
    mark_flags_as_mutual_exclusive,
    mark_flags_as_required,
    multi_flags_validator,
    register_multi_flags_validator,
    register_validator,
    validator,
)

from estcore.compat.v1._namespace import missing

__getattr__ = missing("tf.flags")


_RENAMED = {"flag_name": "name", "default_value": "default", "docstring": "help"}


def _accept_flag_name(define: Callable[..., Any]) -> Callable[..., Any]:
    """TF1's wrapper: ``flag_name=``, ``default_value=`` and ``docstring=`` are the old
    spellings of ``name=``, ``default=`` and ``help=``."""
    @functools.wraps(define)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for old, new in _RENAMED.items():
            if old in kwargs:
                kwargs[new] = kwargs.pop(old)
        return define(*args, **kwargs)
    return wrapper


DEFINE = _accept_flag_name(_absl_flags.DEFINE)
DEFINE_alias = _accept_flag_name(_absl_flags.DEFINE_alias)
DEFINE_bool = _accept_flag_name(_absl_flags.DEFINE_bool)
DEFINE_boolean = _accept_flag_name(_absl_flags.DEFINE_boolean)
DEFINE_enum = _accept_flag_name(_absl_flags.DEFINE_enum)
DEFINE_enum_class = _accept_flag_name(_absl_flags.DEFINE_enum_class)
DEFINE_flag = _absl_flags.DEFINE_flag
DEFINE_float = _accept_flag_name(_absl_flags.DEFINE_float)
DEFINE_integer = _accept_flag_name(_absl_flags.DEFINE_integer)
DEFINE_list = _accept_flag_name(_absl_flags.DEFINE_list)
DEFINE_multi = _accept_flag_name(_absl_flags.DEFINE_multi)
DEFINE_multi_enum = _accept_flag_name(_absl_flags.DEFINE_multi_enum)
DEFINE_multi_float = _accept_flag_name(_absl_flags.DEFINE_multi_float)
DEFINE_multi_integer = _accept_flag_name(_absl_flags.DEFINE_multi_integer)
DEFINE_multi_string = _accept_flag_name(_absl_flags.DEFINE_multi_string)
DEFINE_spaceseplist = _accept_flag_name(_absl_flags.DEFINE_spaceseplist)
DEFINE_string = _accept_flag_name(_absl_flags.DEFINE_string)


class _FlagValuesWrapper:
    """absl's ``FLAGS``, parsing ``sys.argv`` on the first read of a value (TF1)."""

    def __init__(self, wrapped: FlagValues):
        object.__setattr__(self, "_wrapped", wrapped)

    def __getattr__(self, name: str) -> Any:
        wrapped = object.__getattribute__(self, "_wrapped")
        if not wrapped.is_parsed() and not name.startswith("_") and name in wrapped:
            wrapped(sys.argv)
        return getattr(wrapped, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_wrapped"), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(object.__getattribute__(self, "_wrapped"), name)

    def __dir__(self) -> list[str]:
        return dir(object.__getattribute__(self, "_wrapped"))

    def __contains__(self, name: str) -> bool:
        return name in object.__getattribute__(self, "_wrapped")

    def __iter__(self) -> Any:
        return iter(object.__getattribute__(self, "_wrapped"))

    def __getitem__(self, name: str) -> Any:
        return object.__getattribute__(self, "_wrapped")[name]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return object.__getattribute__(self, "_wrapped")(*args, **kwargs)


FLAGS = _FlagValuesWrapper(_absl_flags.FLAGS)
