"""Input functions: numpy arrays to a stream of batches (``numpy_input_fn``).

Public names (also re-exported as ``estcore.estimator.inputs``):

* :func:`numpy_input_fn` -- TF1's ``tf.estimator.inputs.numpy_input_fn``, with
  a ``seed`` and a resumable ``state``.
* :func:`pandas_input_fn` -- TF1's ``tf.estimator.inputs.pandas_input_fn`` on the same
  C stream (pandas optional).
* :class:`NumpyInputStream` -- what ``input_fn()`` returns.
* :class:`TensorSpec` -- leaves of ``NumpyInputStream.element_spec``.
* :func:`seed_scope` -- the seed callers such as the Estimator pass to input_fn().
* :func:`shard_scope` -- which shard of each global batch streams produce (data-parallel
  training; the Estimator enters it under ``estcore.distribute``).

This ``__init__`` only re-exports. Must not: hold code; import anything above the
library (the Estimator imports this package, never the reverse).
"""

from estcore.inputs.numpy_io import NumpyInputStream as NumpyInputStream
from estcore.inputs.numpy_io import numpy_input_fn as numpy_input_fn
from estcore.inputs.pandas_io import pandas_input_fn as pandas_input_fn
from estcore.inputs.seed import seed_scope as seed_scope
from estcore.inputs.shard import current_shard as current_shard
from estcore.inputs.shard import shard_scope as shard_scope
from estcore.inputs.spec import TensorSpec as TensorSpec

__all__ = ["numpy_input_fn", "pandas_input_fn", "NumpyInputStream", "TensorSpec", "seed_scope",
           "shard_scope", "current_shard"]
