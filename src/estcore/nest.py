"""Nested structures (TF's ``tf.nest``): flatten them to leaves and pack leaves back.

Owns the one walk over nested Python containers that the graph (``Session.run``
fetches), the inputs (feature / label dicts) and the Estimator (specs, hooks) share.
It imports nothing from estcore and must not: it sits below the graph.

Semantics follow ``tf.nest``:

* Structures are lists, tuples (namedtuples included) and ``Mapping`` s (``dict``,
  ``OrderedDict``, ``defaultdict``...), nested to any depth. Everything else is a
  leaf: ``None``, strings, bytes, numpy arrays, tensors, sets, and a tuple whose type
  has ``shape`` and ``dtype`` (a ``TensorSpec`` namedtuple, a leaf as in TF), and any
  object whose type has ``_estcore_components`` (a composite that ``Session.run``
  fetches as one value: a SparseTensor, a summary op, a list subclass of merged summary
  ops), as TF's nest keeps a composite tensor whole.
* Mappings flatten in sorted key order (keys of mixed, unorderable types raise
  TypeError, as in TF); packing restores the original mapping's own key order and
  type (a ``defaultdict`` keeps its ``default_factory``). Namedtuples flatten in
  field order.
* Not supported (TF's extras): ``attrs`` classes, mapping views and
  ``expand_composites``.

For a per-step loop, :func:`packer` walks a structure once and returns its leaves
with a ``rebuild(values)`` that packs new values without any type checks.
"""

from __future__ import annotations

import reprlib
from collections import defaultdict
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from operator import itemgetter
from typing import Any

__all__ = [
    "assert_same_structure",
    "flatten",
    "flatten_with_paths",
    "is_nested",
    "map_structure",
    "pack_sequence_as",
    "packer",
]

# What a type is to nest, decided once per type.
_LEAF, _SEQUENCE, _NAMEDTUPLE, _MAPPING = 0, 1, 2, 3
_kinds: dict[type, int] = {}
_MAX_CACHED_KINDS = 4096


def _kind_of_type(t: type) -> int:
    kind = _kinds.get(t)
    if kind is not None:
        return kind
    if hasattr(t, "_estcore_components"):
        kind = _LEAF  # a composite value (SparseTensor, summary op): fetched as one
    elif issubclass(t, tuple):
        if hasattr(t, "shape") and hasattr(t, "dtype"):
            kind = _LEAF  # a spec (TensorSpec is a NamedTuple): a leaf, as in TF
        elif isinstance(getattr(t, "_fields", None), Sequence):
            kind = _NAMEDTUPLE
        else:
            kind = _SEQUENCE
    elif issubclass(t, list):
        kind = _SEQUENCE
    elif issubclass(t, Mapping):
        kind = _MAPPING
    else:
        kind = _LEAF
    if len(_kinds) >= _MAX_CACHED_KINDS:  # classes made on the fly: keep the cache bounded
        _kinds.clear()
    _kinds[t] = kind
    return kind


def _kind(x: Any) -> int:
    kind = _kinds.get(type(x))
    return _kind_of_type(type(x)) if kind is None else kind


_short_repr = reprlib.Repr()
_short_repr.maxlevel = 4
_short_repr.maxother = 80
_short_repr.maxstring = 60
_MAX_REPR = 300


def _short(x: Any) -> str:
    """A repr of ``x`` for error messages, cut to a few hundred characters."""
    try:
        text = _short_repr.repr(x)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(x).__name__} object>"
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "..."


def _sorted_keys(mapping: Mapping) -> list:
    try:
        return sorted(mapping)
    except TypeError as e:
        raise TypeError(
            "nest only supports dicts with sortable keys; got keys "
            f"{_short(list(mapping))} ({e})") from None


def _children(x: Any, kind: int) -> list:
    """The direct children of a structure, in flatten order."""
    if kind == _MAPPING:
        return [x[k] for k in _sorted_keys(x)]
    return list(x)


def _like(instance: Any, kind: int, args: list) -> Any:
    """A structure of ``instance``'s type holding ``args`` (in flatten order)."""
    if kind == _MAPPING:
        by_key = dict(zip(_sorted_keys(instance), args, strict=True))
        t = type(instance)
        if isinstance(instance, MutableMapping):
            result = (defaultdict(instance.default_factory) if t is defaultdict else t())
            for k in instance:
                result[k] = by_key[k]
            return result
        try:
            return t((k, by_key[k]) for k in instance)
        except TypeError as e:
            raise TypeError(
                f"Error creating an object of type {t.__name__} like {_short(instance)}: a "
                "Mapping type must accept one iterable of (key, value) pairs. "
                f"Cause: {e}") from None
    if kind == _NAMEDTUPLE:
        return type(instance)(*args)
    return type(instance)(args)


def is_nested(structure: Any) -> bool:
    """True for a list, tuple, namedtuple or Mapping; False for a leaf.

    Args:
        structure: any Python object.

    Returns:
        Whether :func:`flatten` would look inside ``structure``.
    """
    return _kind(structure) != _LEAF


def _flatten_into(x: Any, out: list) -> None:
    kind = _kind(x)
    if kind == _LEAF:
        out.append(x)
    elif kind == _MAPPING:
        for k in _sorted_keys(x):
            _flatten_into(x[k], out)
    else:
        for v in x:
            _flatten_into(v, out)


def flatten(structure: Any) -> list:
    """The leaves of ``structure``, depth first (mapping values in sorted key order).

    Args:
        structure: a nested structure, or a single leaf.

    Returns:
        A list of leaves; ``[structure]`` for a leaf (``flatten(None) == [None]``).

    Raises:
        TypeError: a mapping's keys cannot be sorted.
    """
    out: list = []
    _flatten_into(structure, out)
    return out


def _yield_paths(x: Any, path: tuple, out: list) -> None:
    kind = _kind(x)
    if kind == _LEAF:
        out.append((path, x))
    elif kind == _MAPPING:
        for k in _sorted_keys(x):
            _yield_paths(x[k], path + (k,), out)
    elif kind == _NAMEDTUPLE:
        for field, v in zip(type(x)._fields, x, strict=True):
            _yield_paths(v, path + (field,), out)
    else:
        for i, v in enumerate(x):
            _yield_paths(v, path + (i,), out)


def flatten_with_paths(structure: Any) -> list[tuple[tuple, Any]]:
    """``[(path, leaf)]`` in :func:`flatten` order (TF's ``flatten_with_tuple_paths``).

    A path is a tuple of the mapping keys, sequence indices and namedtuple field
    names that lead from the top to the leaf; a top-level leaf has the path ``()``.

    Args:
        structure: a nested structure, or a single leaf.

    Returns:
        One ``(path, leaf)`` pair per leaf.
    """
    out: list = []
    _yield_paths(structure, (), out)
    return out


def _pack(structure: Any, flat: Sequence, start: int) -> tuple[int, Any]:
    kind = _kind(structure)
    if kind == _LEAF:
        return start + 1, flat[start]
    packed = []
    for child in _children(structure, kind):
        start, value = _pack(child, flat, start)
        packed.append(value)
    return start, _like(structure, kind, packed)


def pack_sequence_as(structure: Any, flat_sequence: Sequence) -> Any:
    """Pack ``flat_sequence`` (in :func:`flatten` order) into the shape of ``structure``.

    Args:
        structure: the nested structure to copy (its leaves are ignored).
        flat_sequence: a list or tuple holding one value per leaf of ``structure``.

    Returns:
        A structure of the same types as ``structure`` (a mapping keeps its key order
        and type) holding the values of ``flat_sequence``; for a leaf ``structure``,
        ``flat_sequence[0]``.

    Raises:
        TypeError: ``flat_sequence`` is not a list or tuple.
        ValueError: the number of values differs from the number of leaves.
    """
    if _kind(flat_sequence) not in (_SEQUENCE, _NAMEDTUPLE):
        raise TypeError(f"Attempted to pack value:\n  {_short(flat_sequence)}\ninto a "
                        f"structure, but found incompatible type "
                        f"`{type(flat_sequence).__name__}` instead.")
    if _kind(structure) == _LEAF:
        if len(flat_sequence) != 1:
            raise ValueError(
                f"The target structure is of type `{type(structure).__name__}`\n  "
                f"{_short(structure)}\nHowever the input is a sequence of length "
                f"{len(flat_sequence)}.\n  {_short(flat_sequence)}\nnest cannot guarantee "
                "that it is safe to map one to the other.")
        return flat_sequence[0]
    n_leaves = len(flatten(structure))
    if n_leaves != len(flat_sequence):
        raise ValueError(
            f"Could not pack sequence. Structure had {n_leaves} leaves, but flat_sequence "
            f"had {len(flat_sequence)} items. Structure: {_short(structure)}, "
            f"flat_sequence: {_short(flat_sequence)}.")
    return _pack(structure, flat_sequence, 0)[1]


def _same_namedtuples(a: Any, b: Any) -> bool:
    """Two namedtuple types with the same name and fields count as one type (TF)."""
    return type(a).__name__ == type(b).__name__ and type(a)._fields == type(b)._fields


def _mismatch(a: Any, b: Any, check_types: bool, path: tuple) -> tuple[type, str] | None:
    """``(error class, detail)`` for the first difference between ``a`` and ``b``."""
    ka, kb = _kind(a), _kind(b)
    at = f"At path {path!r}: " if path else ""
    if (ka == _LEAF) != (kb == _LEAF):
        nested, leaf = (a, b) if kb == _LEAF else (b, a)
        return ValueError, (f"{at}substructure {_short(nested)} is nested while "
                            f"{_short(leaf)} is not.")
    if ka == _LEAF:
        return None
    if check_types and type(a) is not type(b):
        same = ((ka == kb == _NAMEDTUPLE and _same_namedtuples(a, b))
                or (isinstance(a, list) and isinstance(b, list))  # list subclasses agree
                or ka == kb == _MAPPING)  # any two mappings agree, as in TF
        if not same:
            return TypeError, (f"{at}the two structures don't have the same sequence type: "
                               f"{_short(a)} has type {type(a).__name__}, while {_short(b)} "
                               f"has type {type(b).__name__}.")
    if ka == _MAPPING and kb == _MAPPING:
        if set(a) != set(b):
            return ValueError, (f"{at}the two dictionaries don't have the same set of keys: "
                                f"the first has keys {_short(_sorted_keys(a))}, the second "
                                f"has keys {_short(_sorted_keys(b))}.")
        keys = _sorted_keys(a)
        pairs = [((k,), a[k], b[k]) for k in keys]
    elif (ka == _MAPPING) != (kb == _MAPPING):
        return ValueError, f"{at}{_short(a)} and {_short(b)} are not both mappings."
    else:
        if len(a) != len(b):
            return ValueError, (f"{at}sequences of different lengths: {len(a)} "
                                f"({_short(a)}) and {len(b)} ({_short(b)}).")
        pairs = [((i,), x, y) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    for step, x, y in pairs:
        found = _mismatch(x, y, check_types, path + step)
        if found is not None:
            return found
    return None


def assert_same_structure(nest1: Any, nest2: Any, check_types: bool = True) -> None:
    """Raise unless ``nest1`` and ``nest2`` have the same nested structure.

    Args:
        nest1: a nested structure or leaf.
        nest2: a nested structure or leaf.
        check_types: also require the same container types (a list is not a tuple);
            as in TF, any two mappings agree, list subclasses agree with lists, and
            namedtuple types with the same name and fields agree.

    Raises:
        ValueError: the structures differ in nesting, length or mapping keys.
        TypeError: ``check_types`` and two containers at one place differ in type.
    """
    n1, n2 = len(flatten(nest1)), len(flatten(nest2))
    if n1 != n2:
        raise ValueError(
            "The two structures don't have the same number of elements.\n\n"
            f"First structure ({n1} elements): {_short(nest1)}\n\n"
            f"Second structure ({n2} elements): {_short(nest2)}")
    found = _mismatch(nest1, nest2, check_types, ())
    if found is not None:
        error, detail = found
        raise error("The two structures don't have the same nested structure.\n\n"
                    f"First structure: {_short(nest1)}\n\n"
                    f"Second structure: {_short(nest2)}\n\n"
                    f"More specifically: {detail[0].upper()}{detail[1:]}")


def map_structure(func: Callable[..., Any], *structures: Any, check_types: bool = True) -> Any:
    """Apply ``func`` to the leaves of ``structures`` at the same places.

    Args:
        func: called as ``func(leaf_1, ..., leaf_n)``, one leaf of each structure.
        *structures: one or more structures of the same nested structure.
        check_types: passed to :func:`assert_same_structure`.

    Returns:
        A structure like ``structures[0]`` holding ``func``'s results.

    Raises:
        TypeError: ``func`` is not callable, or the container types differ.
        ValueError: no structure is given, or the structures differ.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got: {_short(func)}")
    if not structures:
        raise ValueError("Must provide at least one structure")
    for other in structures[1:]:
        assert_same_structure(structures[0], other, check_types=check_types)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*leaves) for leaves in zip(*flats, strict=True)])


def _compile(x: Any, leaves: list, sort_keys: bool) -> Callable[[Sequence], Any]:
    """A rebuild function for ``x``; appends ``x``'s leaves to ``leaves``."""
    kind = _kind(x)
    if kind == _LEAF:
        leaves.append(x)
        return itemgetter(len(leaves) - 1)
    t = type(x)
    if kind == _MAPPING:
        keys = list(x)  # the caller's order, kept by the rebuilt mapping
        order = _sorted_keys(x) if sort_keys else keys
        built = {k: _compile(x[k], leaves, sort_keys) for k in order}
        items = [(k, built[k]) for k in keys]
        if t is dict:
            return lambda v: {k: f(v) for k, f in items}
        if isinstance(x, MutableMapping):
            factory = x.default_factory if t is defaultdict else None

            def rebuild_mutable(v: Sequence) -> Any:
                out = defaultdict(factory) if t is defaultdict else t()
                for k, f in items:
                    out[k] = f(v)
                return out
            return rebuild_mutable
        return lambda v: t((k, f(v)) for k, f in items)
    parts = [_compile(child, leaves, sort_keys) for child in x]
    if t is tuple:
        return lambda v: tuple([f(v) for f in parts])
    if t is list:
        return lambda v: [f(v) for f in parts]
    if kind == _NAMEDTUPLE:
        return lambda v: t(*[f(v) for f in parts])
    return lambda v: t([f(v) for f in parts])


def packer(structure: Any, *, sort_keys: bool = True
           ) -> tuple[list, Callable[[Sequence], Any]]:
    """Walk ``structure`` once; return ``(leaves, rebuild)`` for a per-step loop.

    ``rebuild(values)`` equals ``pack_sequence_as(structure, values)`` but checks
    nothing: ``values`` must hold one value per leaf, in the order of ``leaves``.
    A flat list or tuple of leaves (the common case) rebuilds with ``list`` /
    ``tuple`` itself.

    Args:
        structure: a nested structure, or a single leaf.
        sort_keys: False walks mappings in their own key order instead of sorted
            order, so keys need not be orderable (TF1's ``Session.run`` fetches,
            whose dict keys may be any hashables).

    Returns:
        ``(leaves, rebuild)``; with ``sort_keys``, ``leaves == flatten(structure)``.
    """
    t = type(structure)
    if (t is list or t is tuple) and all(_kind(x) == _LEAF for x in structure):
        return list(structure), t
    leaves: list = []
    rebuild = _compile(structure, leaves, sort_keys)
    return leaves, rebuild
