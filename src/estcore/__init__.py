"""estcore: the TensorFlow Estimator workflow on numpy with a C core.

Public names follow TF1 (``estcore.estimator.Estimator``,
``estcore.estimator.inputs.numpy_input_fn``, ``estcore.layers.dense``, ...).
Everything is defined in submodules; this file only re-exports.
"""

from estcore import errors as errors
from estcore._version import __version__ as __version__

__all__ = ["errors", "__version__"]
