"""``numpy_input_fn``: numpy arrays to a stream of batches, filled by C threads.

Separation of concerns:

* ``numpy_input_fn(...)`` validates everything at once (TF validated lazily)
  and returns a zero-argument ``input_fn``.
* ``input_fn()`` starts a :class:`NumpyInputStream`: ``num_threads`` C workers
  copy rows into pooled batch buffers, in batch order, without the GIL.
* The sampler (C, stateless) decides which rows form batch ``k`` from
  ``(seed, num_rows, batch_size, k)`` alone; the threads only decide who copies.
  So the stream's state is a handful of integers (:meth:`get_state`).

* A consumer that only reads its batches (:mod:`estcore.inputs.source`, for the
  Estimator) may switch an unshuffled, unsharded stream to read-only views of the
  source arrays before its first batch (:meth:`NumpyInputStream._use_read_only_views`):
  the C workers stop and a batch that is a run of consecutive rows is handed out
  without a copy (one that wraps from the end of an epoch to the next is joined).

Must not: copy rows in Python (only the joined wrap-around batches of the view mode) or
hold the GIL while the workers copy; build graph ops or know the Estimator (the
Estimator reads the stream through :mod:`estcore.inputs.source`); draw randomness
outside the sampler's seed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from estcore._lib import _pipeline
from estcore._validation import (
    check_int,
    check_optional_positive_int,
    check_positive_int,
    invalid,
)
from estcore.errors import CancelledError, InvalidArgumentError
from estcore.inputs._packing import Layout, build_layout, check_shuffle
from estcore.inputs.resume import take_resume_state
from estcore.inputs.seed import resolve_seed
from estcore.inputs.shard import current_shard
from estcore.inputs.spec import TensorSpec

__all__ = ["numpy_input_fn", "NumpyInputStream"]

STATE_VERSION = 1
_U64 = 1 << 64

Batch = Any  # ndarray | dict[str, ndarray] | tuple[features, labels]


class _Options:
    """The validated scalar arguments of one numpy_input_fn call."""

    __slots__ = ("batch_size", "num_epochs", "shuffle", "queue_capacity", "num_threads", "seed")

    def __init__(self, batch_size: int, num_epochs: int | None, shuffle: bool,
                 queue_capacity: int, num_threads: int, seed: int | None):
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.shuffle = shuffle
        self.queue_capacity = queue_capacity
        self.num_threads = num_threads
        self.seed = seed


def _pack(layout: Layout, leaves: list) -> Any:
    """One batch's structure (as the C stream packs it) from a leaf per column."""
    if layout.x_keys is None:
        features: Any = leaves[0]
        nx = 1
    else:
        nx = len(layout.x_keys)
        features = dict(zip(layout.x_keys, leaves[:nx], strict=True))
    if layout.y_keys is None:
        return features
    if layout.y_keys == "":
        return features, leaves[nx]
    return features, dict(zip(layout.y_keys, leaves[nx:], strict=True))


def _signature(layout: Layout) -> list[list[Any]]:
    pairs = zip(layout.names, layout.columns, strict=True)
    return [[n, a.dtype.str, list(a.shape[1:])] for n, a in pairs]


def _check_state(state: Any, layout: Layout, opts: _Options,
                 num_shards: int = 1) -> dict[str, Any]:
    """Validate a get_state() dict against these arrays and arguments.

    Positions count global batches of ``batch_size * num_shards`` rows.
    """
    if not isinstance(state, dict):
        raise invalid("state", "a dict from NumpyInputStream.get_state()", state, TypeError)
    if state.get("version") != STATE_VERSION:
        raise invalid("state['version']", f"{STATE_VERSION}", state.get("version"))
    try:
        json.dumps(state)
    except (TypeError, ValueError) as exc:
        raise invalid("state", "JSON-serialisable", state, TypeError) from exc
    expected = {
        "num_rows": layout.num_rows,
        "batch_size": opts.batch_size,
        "num_epochs": opts.num_epochs,
        "shuffle": opts.shuffle,
        "columns": _signature(layout),
    }
    for key, want in expected.items():
        if key not in state:
            raise InvalidArgumentError(f"`state` has no {key!r} entry; pass a dict returned "
                                       "by NumpyInputStream.get_state()")
        if state[key] != want:
            raise InvalidArgumentError(
                f"`state` does not match this input: state[{key!r}] is {state[key]!r} but the "
                f"input has {want!r}. A state only resumes the same arrays with the same "
                "batch_size, num_epochs and shuffle.")
    seed = check_int("state['seed']", state.get("seed"))
    if opts.seed is not None and opts.seed != seed:
        raise InvalidArgumentError(f"`state` was saved with seed={seed} but numpy_input_fn "
                                   f"was given seed={opts.seed}")
    k = state.get("batches_consumed")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise invalid("state['batches_consumed']", "a non-negative int", k)
    gbs = opts.batch_size * num_shards
    if opts.num_epochs is not None:
        end = -(-layout.num_rows * opts.num_epochs // gbs)
        if k > end:
            raise InvalidArgumentError(f"`state` is past the end of this input: "
                                       f"batches_consumed={k} but the stream has {end} batches")
    elif k * gbs >= 1 << 63:
        raise invalid("state['batches_consumed']", "below 2**63 / batch_size", k)
    pos = k * gbs
    n = layout.num_rows
    if state.get("epoch") != pos // n or state.get("position") != pos % n:
        raise InvalidArgumentError("`state` is inconsistent: epoch/position do not follow from "
                                   "batches_consumed * batch_size")
    return state


def _fits(state: Any, layout: Layout, opts: _Options, num_shards: int) -> bool:
    """True if ``state`` (offered by a resume scope) resumes this stream."""
    try:
        _check_state(state, layout, opts, num_shards)
    except (TypeError, ValueError, InvalidArgumentError):
        return False
    return True


def _c_batch_size(layout: Layout, opts: _Options, num_shards: int) -> int:
    """Rows of one global batch as the C core is asked for them.

    ``batch_size * num_shards``, but never more than the rows the stream holds in all
    (``num_rows * num_epochs`` when finite): the core sizes every batch buffer by this
    number, and a batch never has more rows than the stream. The batches are the same
    (the one batch of such a stream is all of its rows either way).
    """
    rows = opts.batch_size * num_shards
    if opts.num_epochs is not None:
        rows = min(rows, layout.num_rows * opts.num_epochs)
    return rows


class NumpyInputStream:
    """An iterable of batches over numpy arrays, filled by C worker threads.

    Every batch is ``features`` (an array, or a dict like x) when ``y`` is None,
    else ``(features, labels)``. Arrays keep the source dtype and per-example
    shape; the batch dimension comes first. Batches are writable views on pooled C
    buffers (no copy at hand-off); a buffer goes back to the pool when every
    array of its batch has been released, so keeping old batches is safe (it
    only costs memory). A stream the Estimator switched to view mode
    (:meth:`_use_read_only_views`) hands out read-only views of the source arrays
    instead.

    Iterating with ``for`` closes the stream when the loop ends, breaks or
    raises; ``next(stream)`` pulls one batch without that. ``close()``, a
    ``with`` block and garbage collection stop and join the workers too.

    Create it with ``numpy_input_fn(...)()``, not directly.
    """

    def __init__(self, layout: Layout, opts: _Options, *, state: dict | None = None,
                 _test_hooks: dict[str, int] | None = None):
        self._core = None
        self._view_next: int | None = None  # view mode: the next batch's index
        self._view_closed = False
        self._view_busy = threading.Lock()  # view mode: one consumer at a time
        self._shard = current_shard()
        self._resumed = False
        if state is None:
            state = take_resume_state(
                lambda offered: _fits(offered, layout, opts, self._shard[1]))
            self._resumed = state is not None
        if state is not None:
            state = _check_state(state, layout, opts, self._shard[1])
            seed = int(state["seed"])
            start = int(state["batches_consumed"])
        else:
            seed = resolve_seed(opts.seed)
            start = 0
        self._layout = layout
        self._opts = opts
        self._seed = seed
        self._start = start
        self._has_test_hooks = bool(_test_hooks)
        hooks = dict(_test_hooks or {})
        self._core = _pipeline._Stream(
            list(layout.columns), layout.x_keys, layout.y_keys,
            _c_batch_size(layout, opts, self._shard[1]), opts.num_epochs or 0, seed % _U64,
            opts.shuffle, opts.num_threads, opts.queue_capacity, start,
            hooks.pop("fail_at_batch", -1), hooks.pop("delay_us", 0), self._shard[0],
            self._shard[1])
        if hooks:
            raise TypeError(f"unknown test hooks: {sorted(hooks)}")

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                yield batch
        finally:
            self.close()

    def __next__(self) -> Batch:
        batch = self._next_batch()
        if batch is None:
            raise StopIteration
        return batch

    def _next_batch(self) -> Batch | None:
        if self._view_next is None:
            return self._core.next()
        if not self._view_busy.acquire(blocking=False):
            raise RuntimeError("numpy_input_fn: another thread is reading this input "
                               "stream; a stream has one consumer at a time")
        try:
            return self._next_view()
        finally:
            self._view_busy.release()

    def _next_view(self) -> Batch | None:
        """View mode's next batch, as the C stream would give it (see the module doc)."""
        k = self._view_next
        n, b, epochs = self._layout.num_rows, self._opts.batch_size, self._opts.num_epochs
        first = k * b
        last = first + b if epochs is None else min(first + b, n * epochs)
        if first >= last:  # exhausted stays exhausted, closed or not (as the C stream)
            return None
        if self._view_closed:
            raise CancelledError("numpy_input_fn: the input stream is closed")
        self._view_next = k + 1
        lo, rows = first % n, last - first
        columns = self._view_columns
        if lo + rows <= n:  # within one epoch: a view
            leaves = [c[lo:lo + rows] for c in columns]
            for v in leaves:
                v.flags.writeable = False
        else:  # from the end of an epoch into the next ones: joined
            idx = (lo + np.arange(rows)) % n
            leaves = [np.take(c, idx, axis=0) for c in columns]
        return _pack(self._layout, leaves)

    def _use_read_only_views(self) -> bool:
        """For a consumer that only reads its batches (the Estimator, through
        :func:`estcore.inputs.source.make_input_source`): if this stream is unshuffled,
        unsharded and has handed out no batch yet, stop its C workers and hand out
        read-only views of the source arrays from now on (the same batches; a batch that
        wraps from one epoch into the next is a joined copy). Returns whether it
        switched."""
        if (self._opts.shuffle or self._shard[1] != 1 or self._view_next is not None
                or self._has_test_hooks or self._core.closed
                or int(self._core.position) != self._start):
            return False
        self._core.close()
        # plain ndarrays of the source columns, as the C path hands out (no subclass)
        self._view_columns = [c.view(np.ndarray) for c in self._layout.columns]
        self._view_next = self._start
        return True

    # -- lifetime ----------------------------------------------------------

    def close(self) -> None:
        """Stop and join the worker threads (idempotent; batches already taken stay valid)."""
        if self._core is not None:
            self._core.close()
        self._view_closed = True

    @property
    def closed(self) -> bool:
        if self._view_next is not None:
            return self._view_closed
        return self._core is None or self._core.closed

    def __enter__(self) -> NumpyInputStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None:
            try:
                core.close()
            except Exception:  # noqa: BLE001 - e.g. after fork; never raise from __del__
                pass

    # -- description -------------------------------------------------------

    @property
    def seed(self) -> int:
        """The seed of this stream's shuffle order (explicit, from seed_scope, or drawn)."""
        return self._seed

    @property
    def resumed(self) -> bool:
        """True if the stream started at a state offered by an enclosing
        :func:`~estcore.inputs.resume.resume_scope` (not at its beginning)."""
        return self._resumed

    @property
    def batch_size(self) -> int:
        return self._opts.batch_size

    @property
    def num_epochs(self) -> int | None:
        return self._opts.num_epochs

    @property
    def element_spec(self) -> Any:
        """Structure of a batch with :class:`TensorSpec` leaves (before the first batch)."""
        batch_dim = None if self._opts.num_epochs is not None else self._opts.batch_size
        specs = [TensorSpec((batch_dim, *a.shape[1:]), a.dtype) for a in self._layout.columns]
        return _pack(self._layout, specs)

    def get_state(self) -> dict[str, Any]:
        """A small JSON-serialisable dict from which the stream can be resumed exactly.

        ``numpy_input_fn(..., state=s)()`` or ``input_fn(state=s)`` starts a new
        stream whose batches are exactly those this stream would have yielded
        after the ones already taken.
        """
        k = int(self._core.position) if self._view_next is None else self._view_next
        pos = k * self._opts.batch_size * self._shard[1]
        n = self._layout.num_rows
        return {
            "version": STATE_VERSION,
            "seed": self._seed,
            "batches_consumed": k,
            "epoch": pos // n,
            "position": pos % n,
            "num_rows": n,
            "batch_size": self._opts.batch_size,
            "num_epochs": self._opts.num_epochs,
            "shuffle": self._opts.shuffle,
            "columns": _signature(self._layout),
        }

    def __repr__(self) -> str:
        o = self._opts
        return (f"NumpyInputStream(num_rows={self._layout.num_rows}, batch_size={o.batch_size}, "
                f"num_epochs={o.num_epochs}, shuffle={o.shuffle}, num_threads={o.num_threads}, "
                f"queue_capacity={o.queue_capacity}, seed={self._seed}, "
                f"closed={self.closed})")


def numpy_input_fn(x: np.ndarray | dict[str, np.ndarray],
                   y: np.ndarray | dict[str, np.ndarray] | None = None,
                   batch_size: int = 128,
                   num_epochs: int | None = 1,
                   shuffle: bool | None = None,
                   queue_capacity: int = 1000,
                   num_threads: int = 1,
                   seed: int | None = None,
                   state: dict[str, Any] | None = None) -> Callable[..., NumpyInputStream]:
    """Returns an input function that streams batches of numpy arrays (TF1's numpy_input_fn).

    Args:
        x: numpy array of shape ``(N, ...)``, or dict of str -> such arrays. Any
            fixed-size dtype; any memory layout (strided and Fortran-ordered
            arrays are gathered with their strides, not copied). Never modified,
            and must not be modified while a stream runs.
        y: None, an array of shape ``(N, ...)`` or a dict of them (keys distinct
            from x's).
        batch_size: rows per batch; only the last batch of a finite stream is short.
        num_epochs: passes over the data (all threads together); None = endless.
        shuffle: must be True or False. True: a uniform random permutation of
            all rows per epoch from ``(seed, epoch)``; False: row order.
        queue_capacity: rows buffered ahead of the consumer (rounded up to whole
            batches, at least one batch per thread).
        num_threads: C worker threads sharing the work; the batches are the same
            for any value.
        seed: shuffle seed. None: the enclosing :func:`estcore.inputs.seed_scope`'s
            seed if any (the Estimator passes its graph seed), else fresh entropy.
        state: a :meth:`NumpyInputStream.get_state` dict to resume from.

    Returns:
        ``input_fn``: called with no arguments (or ``state=...``), returns a
        :class:`NumpyInputStream` yielding ``features`` when y is None, else
        ``(features, labels)``; features is an array when x is an array, else a
        dict with x's keys.

    Raises:
        ValueError / TypeError: with TF's messages for the cases TF checks, and
            ``estcore``'s template for the rest, at call time (not lazily).
    """
    shuffle = check_shuffle(shuffle)
    layout = build_layout(x, y)
    batch_size = check_positive_int("batch_size", batch_size)
    num_epochs = check_optional_positive_int("num_epochs", num_epochs)
    queue_capacity = check_positive_int("queue_capacity", queue_capacity)
    num_threads = check_positive_int("num_threads", num_threads)
    if num_threads > _pipeline.MAX_THREADS:
        raise invalid("num_threads", f"at most {_pipeline.MAX_THREADS}", num_threads)
    for name, value in (("batch_size", batch_size), ("queue_capacity", queue_capacity)):
        if value >= 1 << 40:  # the C core counts rows in int64 (and allocates batches)
            raise invalid(name, "a positive int below 2**40", value)
    if seed is not None:
        seed = check_int("seed", seed)
    if num_epochs is not None and layout.num_rows * num_epochs >= 1 << 63:
        raise invalid("num_epochs", "small enough that num_rows * num_epochs < 2**63",
                      num_epochs)
    opts = _Options(batch_size, num_epochs, shuffle, queue_capacity, num_threads, seed)
    default_state = _check_state(state, layout, opts) if state is not None else None

    def make_stream(state: dict | None, test_hooks: dict | None) -> NumpyInputStream:
        return NumpyInputStream(layout, opts, state=state, _test_hooks=test_hooks)

    def input_fn(*, state: dict[str, Any] | None = None) -> NumpyInputStream:
        """Start a stream of batches (see numpy_input_fn); ``state`` resumes one."""
        return make_stream(state if state is not None else default_state, None)

    input_fn._estcore_make_stream = make_stream  # type: ignore[attr-defined]  (tests' hooks)
    return input_fn
