"""The missing-name error of ``estcore.compat.v1`` and small namespace objects.

A TF 1.x name that estcore does not implement raises an ``AttributeError`` that says so
("`tf.contrib.rnn` is not available in estcore.compat.v1 (see docs/compat.md)"), never a
bare "module has no attribute". Every namespace module of ``compat.v1`` sets its module
``__getattr__`` with :func:`missing`; :func:`namespace` builds the small namespaces that
need no file of their own (``tf.saved_model.tag_constants``, ``tf.keras.utils``, ...).

Owns: that error and the namespace type. Must not: implement any TF behaviour.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["missing", "namespace", "NotInCompat", "PLANNED"]

# Names whose absence has a known reason (another issue brings them).
PLANNED = {
    "tf.feature_column": "feature columns are a separate issue",
    "tf.estimator.DNNClassifier": "premade estimators are a separate issue",
    "tf.estimator.DNNRegressor": "premade estimators are a separate issue",
    "tf.estimator.LinearClassifier": "premade estimators are a separate issue",
    "tf.estimator.LinearRegressor": "premade estimators are a separate issue",
    "tf.estimator.DNNLinearCombinedClassifier": "premade estimators are a separate issue",
    "tf.estimator.DNNLinearCombinedRegressor": "premade estimators are a separate issue",
}


class NotInCompat(AttributeError):
    """A TF 1.x name that ``estcore.compat.v1`` does not provide."""


def _error(path: str, name: str) -> AttributeError:
    full = f"{path}.{name}"
    why = PLANNED.get(full)
    extra = f"; {why}" if why else ""
    return NotInCompat(f"`{full}` is not available in estcore.compat.v1{extra} "
                       "(see docs/compat.md)")


def missing(path: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the TF namespace ``path`` (``"tf.train"``)."""
    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)   # Python's own probes (__path__, __wrapped__, ...)
        raise _error(path, name)
    return __getattr__


class _Namespace(types.ModuleType):
    """A module object whose missing attributes raise :class:`NotInCompat`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise _error(self.__dict__["_tf_path"], name)

    def __repr__(self) -> str:
        return f"<estcore.compat.v1 namespace {self.__dict__['_tf_path']}>"


def namespace(path: str, doc: str = "", **names: Any) -> types.ModuleType:
    """A namespace object ``path`` (``"tf.saved_model.tag_constants"``) holding ``names``."""
    mod = _Namespace(path.replace("tf.", "estcore.compat.v1.", 1), doc)
    mod.__dict__["_tf_path"] = path
    for key, value in names.items():
        setattr(mod, key, value)
    mod.__all__ = sorted(names)
    return mod
