"""``estcore.Session``: variable state + plan cache + the per-run fast path.

Design:
    ``run(fetches, feed_dict)`` looks up a *family* by (fetch structure, fed
    tensors) and then a compiled plan by the fed shapes; both lookups are dict
    hits after the first run. The family knows how to flatten/rebuild the fetch
    structure and which placeholder each feed targets. A feed that is already an
    ndarray of the placeholder's dtype goes straight to ``np.copyto`` into its
    planned buffer; anything else is converted once (only when lossless in kind:
    float64 -> float32 is allowed, float -> int is refused) and validated against
    the placeholder's static shape.

    Variable storage is one numpy array per variable, owned by the session and
    updated in place by the plans; ``get_variable_values`` returns copies and
    ``set_variable_values`` writes into the same arrays (plans stay valid).

Must not: compile plans (``graph/plan.py``) or decide fusion; know about checkpoints,
hooks or the Estimator (they read and write variables through ``variable_storage`` /
``get_variable_values`` / ``set_variable_values``); copy a feed that is already an ndarray
of the right dtype more than once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from estcore import errors
from estcore.graph import dtypes as dt
from estcore.graph import random as R
from estcore.graph.fetches import flatten_fetches, structure_key
from estcore.graph.ir import Graph, Operation, get_default_graph
from estcore.graph.plan import compile_plan
from estcore.graph.shapes import TensorShape, fmt_shape
from estcore.graph.tensor import Tensor

__all__ = ["Session", "get_default_session", "InteractiveSession"]

_EMPTY: dict = {}
_tls = threading.local()


def get_default_session():
    """The innermost session of a ``with Session():`` block (or None)."""
    s = getattr(_tls, "stack", None)
    if not s:
        raise ValueError("No default session is registered. Use `with sess.as_default():` or "
                         "pass an explicit session.")
    return s[-1]


class _RunState:
    """Per-session mutable state that kernels reach: random generators per node, the
    session (for kernels that run sub-plans: cond, map_fn, data-dependent shapes) and a
    scratch dict those kernels key by node id (a cond's values kept for its gradient)."""

    __slots__ = ("rngs", "session", "scratch")

    def __init__(self, session=None):
        self.rngs: dict[int, np.random.Generator] = {}
        self.session = session
        self.scratch: dict = {}

    def rng(self, node) -> np.random.Generator:
        g = self.rngs.get(node._id)
        if g is None:
            g = self.rngs[node._id] = R.generator_for(node.attrs["seed"])
        return g


class _Family:
    """One fetch structure with one feed key order.

    ``fetch_tensors`` / ``target_ops`` are the distinct tensors and ops in creation
    order, so families that fetch the same things in other orders or with
    repeats (a hooked step whose hooks ask again for the loss) share one dict of
    plans (``plans``: feed shapes -> Plan). ``leaf_index[i]`` is leaf ``i``'s
    position in the plan's outputs (-1: an op, fetched as None), or None when
    the leaves are exactly ``fetch_tensors``.
    """

    __slots__ = ("rebuild", "fetch_tensors", "target_ops", "feed_tensors",
                 "feed_dtypes", "plans", "leaf_index", "expand")


def _expander(parts: list):
    """``values -> values`` with each composite key's value replaced by its parts."""
    def expand(values):
        out = []
        for conv, v in zip(parts, values, strict=True):
            if conv is None:
                out.append(v)
            else:
                out.extend(conv(v))
        return out
    return expand


class Session:
    """Runs graph fragments (TF1 ``tf.Session``).

    Args:
        graph: the graph to run (default: the default graph at construction).
        config: a dict; ``{"use_c_kernels": False}`` keeps every node on its numpy
            kernel (for comparisons). Other values (TF1 ConfigProto) are ignored.
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None):
        self.graph = graph if graph is not None else get_default_graph()
        self._values: dict[Operation, np.ndarray] = {}
        self._initialized: set[Operation] = set()
        self._families: dict[tuple, _Family] = {}
        self._plan_sets: dict[tuple, dict] = {}  # distinct fetches/targets/feeds -> plans
        self._run_state = _RunState(self)
        self._closed = False
        self._lock = threading.Lock()
        self._graph_ctx = None
        self.compile_count = 0
        cfg = config if isinstance(config, dict) else {}
        # C programs for runs of C-capable nodes (numpy kernels otherwise).
        self._use_c = bool(cfg.get("use_c_kernels", True))

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release variable storage and plans; later runs raise RuntimeError."""
        self._closed = True
        self._families.clear()
        self._plan_sets.clear()
        self._values.clear()

    def __enter__(self) -> Session:
        self._graph_ctx = self.graph.as_default()
        self._graph_ctx.__enter__()
        if not hasattr(_tls, "stack"):
            _tls.stack = []
        _tls.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _tls.stack.pop()
        self._graph_ctx.__exit__(*exc)
        self.close()

    def as_default(self):
        sess = self

        class _Ctx:
            def __enter__(self_inner):
                if not hasattr(_tls, "stack"):
                    _tls.stack = []
                _tls.stack.append(sess)
                return sess

            def __exit__(self_inner, *exc):
                _tls.stack.pop()
        return _Ctx()

    # ---------------------------------------------------------------- run
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Evaluate ``fetches`` (a tensor, op, variable, or nested list/tuple/dict/
        namedtuple of them) with ``feed_dict`` values; ops give None.

        Feed arrays are only read, but large ones may be read in place during the
        run rather than copied first: do not change them from another thread until
        ``run`` returns.

        Returns:
            The fetched values with the structure of ``fetches`` (numpy arrays,
            numpy scalars for 0-d tensors), as copies the caller owns.
        Raises:
            InvalidArgumentError: a feed is unknown, has the wrong shape/dtype, or a
                needed placeholder is not fed.
            FailedPreconditionError: an uninitialized variable is read.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feeds = feed_dict if feed_dict else _EMPTY  # TF1 also accepts an empty list
        if type(feeds) is not dict and not isinstance(feeds, Mapping):
            raise TypeError(f"feed_dict must be a dict of tensor -> value. Received: "
                            f"{type(feed_dict).__name__}")
        t = type(fetches)
        try:
            if t is list or t is tuple:
                fkey = (t, *fetches)
            else:
                fkey = (t, fetches)
            key = (fkey, tuple(feeds))
            fam = self._families.get(key)
        except TypeError:  # unhashable leaves (nested lists, dicts)
            key = (structure_key(fetches), tuple(feeds))
            fam = self._families.get(key)
        if fam is None:
            fam = self._make_family(fetches, feeds)
            self._families[key] = fam
        values = list(feeds.values()) if feeds else ()
        if fam.expand is not None:  # a SparseTensor key: its value feeds its parts
            values = fam.expand(values)
        return fam.rebuild(self._execute(fam, values))

    def _execute(self, fam: _Family, values: list) -> list:
        """Run ``fam`` on ``values`` (a sequence, one per ``fam.feed_tensors``, in
        order; not modified). Returns one value per leaf."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        shapes = []
        converted = None
        for i, (v, d) in enumerate(zip(values, fam.feed_dtypes, strict=False)):
            # (the identity test first: an array's native dtype is numpy's shared instance)
            if type(v) is not np.ndarray or (v.dtype is not d and v.dtype != d):
                if converted is None:
                    values = converted = list(values)
                v = values[i] = self._convert_feed(fam.feed_tensors[i], v)
            shapes.append(v.shape)
        skey = tuple(shapes)
        plan = fam.plans.get(skey)
        if plan is None:
            plan = self._compile(fam, skey)
        with self._lock:  # plans own their buffers: one run at a time per session
            if not plan.checked:
                self._check_initialized(plan)
            out = plan.run(values)
            if not plan.checked:
                self._initialized.update(plan.var_writes)
                plan.checked = all(v in self._initialized for v in plan.var_reads)
        if fam.leaf_index is not None:
            out = [None if j < 0 else out[j] for j in fam.leaf_index]
        return out

    def make_callable(self, fetches, feed_list=None, accept_options: bool = False):
        """A callable that runs ``fetches`` with positional feed values (TF1's
        ``Session.make_callable``): ``f = sess.make_callable(loss, [x, y])`` then
        ``f(x_batch, y_batch)`` is ``sess.run(loss, {x: x_batch, y: y_batch})``
        without the per-call lookups.

        Args:
            fetches: as for :meth:`run`.
            feed_list: the tensors (or tensor names) fed, in argument order.
            accept_options: if True the callable also takes ``options`` and
                ``run_metadata`` keywords (accepted, unused).

        Returns:
            ``callable(*feed_values)`` returning what ``run`` would.

        Raises:
            TypeError / InvalidArgumentError: as :meth:`run` for a bad fetch or feed
                key (here, when the callable is made); the callable raises TypeError
                when given the wrong number of values.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        if isinstance(feed_list, (str, Tensor)) or hasattr(feed_list, "_as_tensor"):
            raise TypeError(f"feed_list must be a list of tensors or tensor names. Received a "
                            f"single {type(feed_list).__name__}: wrap it in a list.")
        feeds = list(feed_list) if feed_list is not None else []
        fam = self._make_family(fetches, feeds)
        n = len(feeds)

        def run_callable(*args, options=None, run_metadata=None):
            if len(args) != n:
                raise TypeError(f"This callable takes {n} feed value(s) (for "
                                f"{[t.name for t in fam.feed_tensors]}), got {len(args)}.")
            return fam.rebuild(self._execute(fam, args if fam.expand is None
                                             else fam.expand(args)))

        if accept_options:
            return run_callable
        return lambda *args: run_callable(*args)

    def _make_family(self, fetches, feeds) -> _Family:
        fam = _Family()
        leaves, rebuild = flatten_fetches(fetches, self._as_fetch)
        fam.rebuild = rebuild
        tensors: dict[int, Tensor] = {}
        targets: dict[int, Operation] = {}
        for x in leaves:
            if isinstance(x, Operation):
                targets.setdefault(id(x), x)
            else:
                tensors.setdefault(id(x), x)
        fam.fetch_tensors = sorted(tensors.values(), key=lambda t: (t.op._id, t.value_index))
        fam.target_ops = sorted(targets.values(), key=lambda o: o._id)
        position = {id(t): i for i, t in enumerate(fam.fetch_tensors)}
        leaf_index = [-1 if isinstance(x, Operation) else position[id(x)] for x in leaves]
        fam.leaf_index = None if leaf_index == list(range(len(leaves))) else leaf_index
        fam.feed_tensors = []
        seen = set()
        parts = []   # per feed key: its value's converter to one value per part, or None
        for k in feeds:
            comps = getattr(k, "_estcore_components", None)  # a SparseTensor
            parts.append(None if comps is None else k._estcore_feed_value)
            for t in ([self._as_feed(c) for c in comps()] if comps else [self._as_feed(k)]):
                if id(t) in seen:
                    raise errors.InvalidArgumentError(f"tensor '{t.name}' is fed twice")
                seen.add(id(t))
                fam.feed_tensors.append(t)
        fam.expand = None if all(p is None for p in parts) else _expander(parts)
        fam.feed_dtypes = [t.dtype.np for t in fam.feed_tensors]
        sig = (tuple(map(id, fam.fetch_tensors)), tuple(map(id, fam.target_ops)),
               tuple(map(id, fam.feed_tensors)))
        fam.plans = self._plan_sets.setdefault(sig, {})
        return fam

    def _as_fetch(self, x):
        if isinstance(x, str):
            try:
                x = self.graph.as_graph_element(x)
            except (KeyError, ValueError) as exc:
                raise errors.InvalidArgumentError(f"Fetch argument {x!r} cannot be interpreted "
                                                  f"as a Tensor or Operation: {exc}") from None
        if isinstance(x, Operation):
            op = x
        elif isinstance(x, Tensor) or hasattr(x, "_as_tensor"):
            x = x._as_tensor()
            op = x.op
        else:
            raise TypeError(f"Fetch argument {x!r} has invalid type {type(x).__name__}: must "
                            "be a Tensor, an Operation, a Variable, a tensor name, or a nested "
                            "list/tuple/dict of those.")
        if op.graph is not self.graph:
            raise ValueError(f"Fetch argument '{getattr(x, 'name', x)}' is not an element of "
                             "this session's graph.")
        return x

    def _as_feed(self, k) -> Tensor:
        if isinstance(k, str):
            try:
                k = self.graph.get_tensor_by_name(k if ":" in k else k + ":0")
            except (KeyError, ValueError):
                raise errors.InvalidArgumentError(f"Cannot interpret feed_dict key {k!r}: no "
                                                  "such tensor in the graph.") from None
        if not (isinstance(k, Tensor) or hasattr(k, "_as_tensor")):
            raise TypeError(f"feed_dict keys must be Tensors (usually placeholders) or tensor "
                            f"names. Received: {k!r} ({type(k).__name__})")
        t = k._as_tensor()
        if t.graph is not self.graph:
            raise errors.InvalidArgumentError(f"feed_dict key '{t.name}' is not an element of "
                                              "this session's graph.")
        if t.op.type == "VariableV2":
            raise errors.InvalidArgumentError(f"feed_dict key '{t.name}' is a variable; "
                                              "variables cannot be fed (use assign or "
                                              "set_variable_values).")
        return t

    @staticmethod
    def _convert_feed(t: Tensor, v) -> np.ndarray:
        target = t.dtype
        if hasattr(v, "_as_tensor"):
            raise TypeError(f"The value of a feed cannot be a symbolic Tensor (feeding "
                            f"'{t.op.name}'). Feed numpy arrays or Python values.")
        if target.is_string:
            try:
                return dt.as_string_array(v, f"feed of string placeholder '{t.op.name}'")
            except TypeError as e:
                raise errors.InvalidArgumentError(str(e)) from None
        arr = np.asarray(v)
        src = arr.dtype
        ok = True
        if target.is_floating:
            ok = src.kind in "biuf"
        elif target.is_integer:
            if src.kind == "f":
                ok = False
            elif src.kind in "iu" or src.kind == "b":
                info = np.iinfo(target.np)
                ok = arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max)
            else:
                ok = False
        elif target.is_bool:
            ok = src.kind == "b"
        if not ok:
            raise errors.InvalidArgumentError(
                f"Cannot feed a value of dtype {src.name} to placeholder '{t.op.name}' of dtype "
                f"{target.name} without losing information (value shape {arr.shape}).")
        return arr.astype(target.np, copy=False)

    def _compile(self, fam: _Family, skey: tuple):
        for t, s in zip(fam.feed_tensors, skey, strict=False):
            if not t.shape.is_compatible_with(TensorShape(s)):
                raise errors.InvalidArgumentError(
                    f"Cannot feed value of shape {fmt_shape(s)} for tensor '{t.name}', which "
                    f"has shape {fmt_shape(t.shape)}")
        plan = compile_plan(self, fam.fetch_tensors, fam.target_ops, fam.feed_tensors,
                            list(skey))
        fam.plans[skey] = plan
        self.compile_count += 1
        return plan

    def _check_initialized(self, plan) -> None:
        for v in plan.var_reads:
            if v not in self._initialized and v not in plan.var_writes:
                raise errors.FailedPreconditionError(
                    f"Attempting to use uninitialized value {v.name} (run its initializer, "
                    "e.g. sess.run(estcore.global_variables_initializer()), or restore a "
                    "checkpoint first)")

    # ---------------------------------------------------------------- variables
    def _storage(self, var_op: Operation) -> np.ndarray:
        arr = self._values.get(var_op)
        if arr is None:
            # Plans are compiled outside the run lock: two threads compiling at once
            # must bind the same array (setdefault is atomic), or one of them would
            # update a copy nobody reads.
            t = var_op.outputs[0]
            arr = self._values.setdefault(var_op, np.zeros(t.shape.dims, t.dtype.np))
        return arr

    def _variable_ops(self) -> dict[str, Operation]:
        return {op.name: op for op in self.graph._nodes if op.type == "VariableV2"}

    def variable_storage(self, variable) -> np.ndarray:
        """A read-only view of the array that holds ``variable``'s value in this session.

        Runs update that array in place, so the view always shows the current value
        and reading it runs nothing (the hooked session reads the global step this way
        before each step: ``view.item()``). Valid until the session is closed.
        """
        view = self._storage(variable.op).view()
        view.flags.writeable = False
        return view

    def get_variable_values(self, variables=None, copy: bool = True) -> dict[str, np.ndarray]:
        """Variable values keyed by name without ``:0`` (for checkpoints).

        Args:
            variables: Variables (or names) to read; default every initialized variable.
            copy: True (default): copies the caller owns. False: read-only views of
                the session's own storage, which kernels update in place, so the views
                change with every later ``run`` (a synchronous checkpoint write reads
                them before anything runs, so it needs no snapshot).
        Raises:
            FailedPreconditionError: a requested variable is not initialized.
        """
        if variables is None:
            ops = [op for op in self._variable_ops().values() if op in self._initialized]
        else:
            by_name = self._variable_ops()
            ops = []
            for v in variables:
                name = v if isinstance(v, str) else v.op.name
                name = name[:-2] if name.endswith(":0") else name
                if name not in by_name:
                    raise errors.NotFoundError(f"Variable '{name}' is not in the graph.")
                op = by_name[name]
                if op not in self._initialized:
                    raise errors.FailedPreconditionError(
                        f"Attempting to use uninitialized value {name}")
                ops.append(op)
        if copy:
            return {op.name: self._values[op].copy() for op in ops}
        out = {}
        for op in ops:
            view = self._values[op].view()
            view.flags.writeable = False
            out[op.name] = view
        return out

    def set_variable_values(self, values: dict) -> None:
        """Write variable values by name (validates names, shapes and dtypes first).

        Raises:
            NotFoundError: a name is not a variable of the graph.
            InvalidArgumentError: a value has the wrong shape or an incompatible dtype.
        """
        by_name = self._variable_ops()
        staged = []
        for name, val in values.items():
            key = name[:-2] if isinstance(name, str) and name.endswith(":0") else name
            if not isinstance(key, str):
                key = key.op.name
            op = by_name.get(key)
            if op is None:
                raise errors.NotFoundError(
                    f"Variable '{key}' is not in the graph (known variables: "
                    f"{', '.join(sorted(by_name)) or 'none'}).")
            t = op.outputs[0]
            arr = np.asarray(val)
            if arr.shape != tuple(t.shape.dims):
                raise errors.InvalidArgumentError(
                    f"Variable '{key}' has shape {fmt_shape(t.shape)}, but the value has shape "
                    f"{fmt_shape(arr.shape)}")
            kinds = {"f": "biuf", "i": "biu", "u": "biu", "b": "b"}
            if arr.dtype.kind not in kinds.get(t.dtype.np.kind, "O"):
                raise errors.InvalidArgumentError(
                    f"Variable '{key}' has dtype {t.dtype.name}, but the value has dtype "
                    f"{arr.dtype.name}")
            staged.append((op, arr))
        for op, arr in staged:
            np.copyto(self._storage(op), arr, casting="unsafe")
            self._initialized.add(op)
        for plans in self._plan_sets.values():
            for p in plans.values():
                p.checked = False

    def uninitialized_variables(self) -> list[str]:
        """Names of the graph's variables that have no value yet."""
        return [n for n, op in self._variable_ops().items() if op not in self._initialized]


class InteractiveSession(Session):
    """A Session that installs itself as the default session on construction."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None):
        super().__init__(target, graph, config)
        if not hasattr(_tls, "stack"):
            _tls.stack = []
        _tls.stack.append(self)

    def close(self) -> None:
        s = getattr(_tls, "stack", [])
        if self in s:
            s.remove(self)
        super().close()
