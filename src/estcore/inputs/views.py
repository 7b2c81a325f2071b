"""``views_scope``: input pipelines made inside it may hand out read-only views.

An Estimator only reads its batches: it feeds them to a session, which never writes a
feed. A batch that is a run of consecutive rows of an in-memory source then needs no
copy at all. :func:`estcore.inputs.source.make_input_source` enters this scope around
the iterator it starts from an ``input_fn``'s Dataset; a ``DatasetIterator`` created
inside (``estcore.data``) may then yield the batches of an unshuffled
``from_tensor_slices(...)[.repeat(n)].batch(B)`` pipeline as read-only views of the
source arrays instead of copies gathered by the C stream's workers (on a machine whose
cores all run the training step, those workers take CPU time from it).

Outside the scope (a user iterating a Dataset) batches stay writable copies, as TF's
``Tensor.numpy()`` gives.

Must not: decide which pipelines can be viewed (``estcore.data.fast`` does), or be
entered where the batches reach user code that may write into them.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["views_scope", "views_allowed"]

_VIEWS: contextvars.ContextVar[bool] = contextvars.ContextVar("estcore_input_views",
                                                              default=False)


@contextlib.contextmanager
def views_scope() -> Iterator[None]:
    """Let input pipelines started inside the block yield read-only views of their
    source arrays (for a consumer that only reads its batches)."""
    token = _VIEWS.set(True)
    try:
        yield
    finally:
        _VIEWS.reset(token)


def views_allowed() -> bool:
    """True inside :func:`views_scope`."""
    return _VIEWS.get()
