"""``resume_scope``: the stream position an enclosing caller (the Estimator) asks to resume.

A ``train()`` call that restores a checkpoint written in the middle of an earlier
call (a process killed, an exception) calls ``input_fn()`` inside
``resume_scope(state)``, ``state`` being the input position stored in that
checkpoint (a :meth:`~estcore.inputs.numpy_io.NumpyInputStream.get_state` dict).
The first stream created inside the block that can take the state (same arrays,
batch_size, num_epochs, shuffle and seed) starts there and reports so; a stream
that cannot take it starts from its beginning, as without the scope. The caller
checks which happened (``stream.resumed``) and says so.

Owns the context variable only. Must not validate states (each stream kind checks
its own) or know about checkpoints.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["resume_scope", "take_resume_state"]


class _Offer:
    """One state on offer; taken by at most one stream."""

    __slots__ = ("state", "taken")

    def __init__(self, state: dict[str, Any]):
        self.state = state
        self.taken = False


_OFFER: contextvars.ContextVar[_Offer | None] = contextvars.ContextVar(
    "estcore_input_resume", default=None)


@contextlib.contextmanager
def resume_scope(state: dict[str, Any] | None) -> Iterator[None]:
    """Offer ``state`` to the first input stream created inside the block.

    Args:
        state: a stream state dict (JSON data, as stored in a checkpoint), or None
            for "no resume" (streams start from their beginning).
    """
    token = _OFFER.set(None if state is None else _Offer(state))
    try:
        yield
    finally:
        _OFFER.reset(token)


def take_resume_state(accept: Any) -> dict[str, Any] | None:
    """The state on offer if ``accept(state)`` returns True for it, else None.

    A stream calls this once when it is created; ``accept`` checks the state fits
    the stream (and must not raise for a state that does not). An accepted state
    is not offered again inside the same scope.
    """
    offer = _OFFER.get()
    if offer is None or offer.taken:
        return None
    if not accept(offer.state):
        return None
    offer.taken = True
    return offer.state
