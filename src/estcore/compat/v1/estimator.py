"""``tf.estimator`` of TF 1.15: estcore's ``estcore.estimator`` (re-exports only).

``inputs``, ``export`` and ``experimental`` are namespaces whose missing names (e.g.
``pandas_input_fn``) raise an AttributeError naming them. The premade estimators
(``DNNClassifier`` & co., docs/premade.md) come with ``estcore.estimator``'s names.
"""

# ruff: noqa: F401, F403 - this module re-exports names

from estcore.compat.v1._namespace import missing, namespace
from estcore.estimator import *
from estcore.estimator import experimental as _experimental
from estcore.estimator import export as _export
from estcore.estimator import inputs as _inputs


def _public(mod: object) -> dict:
    names = getattr(mod, "__all__", None) or [
        n for n in dir(mod) if not n.startswith("_") and n != "annotations"]
    return {n: getattr(mod, n) for n in names}


inputs = namespace("tf.estimator.inputs", _inputs.__doc__ or "", **_public(_inputs))
export = namespace("tf.estimator.export", _export.__doc__ or "", **_public(_export))
experimental = namespace("tf.estimator.experimental", _experimental.__doc__ or "",
                         **_public(_experimental))

__getattr__ = missing("tf.estimator")
