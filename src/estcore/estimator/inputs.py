"""``estcore.estimator.inputs``: TF1's home of ``numpy_input_fn`` (re-exports).

Must not: hold code; be imported by estcore's own modules (they import
:mod:`estcore.inputs`' defining modules).
"""

from estcore.inputs import *  # noqa: F401,F403  (the public names of estcore.inputs)
from estcore.inputs import __all__ as __all__  # noqa: F401
