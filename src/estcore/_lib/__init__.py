"""The seam between Python and the C core (internal, not public API).

This layer's job: validate what reaches C, release the GIL around heavy or
blocking calls, turn C status codes into :mod:`estcore.errors` exceptions, and
own the memory that crosses the border. The public modules above it only shape
the interface. Nothing outside ``estcore`` should import from here.

This ``__init__`` only imports the two compiled modules (``_kernels``: the kernels and
C programs; ``_pipeline``: the input pipeline), says how to rebuild when they are
missing, and wires the one link between them: the pipeline's workers report their
bursts to the kernels' thread pool, whose load sensing leaves this process's own input
work out of the load it reads (``est_threadpool.h``, ``est_stream_set_burst_hook``).
Must not: decide what to fuse or when to run (``graph/plan.py`` and the executor do);
import anything of estcore above ``errors`` and ``_validation``; let a C status code
escape as anything but an :mod:`estcore.errors` exception.
"""

try:
    from estcore._lib import _kernels, _pipeline
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "estcore's compiled core could not be imported. This usually means the "
        "package was not built (run `pip install .` from the source tree, or "
        "`pip install --no-build-isolation -e .` again after changing C or Cython "
        f"files). Original error: {exc}"
    ) from exc

_pipeline._set_burst_hook(_kernels._own_burst_hook())

__all__ = ["_kernels", "_pipeline"]
