"""``estcore.saved_model.load(path)``: rebuild an export's graph and run it.

Loading reads ``saved_model.json`` (format in :mod:`estcore.export.format`),
validates it completely, and rebuilds each node with the op registry's own
builder (:func:`estcore.graph.ops.make_op`), so the shape rules run again and
the plan compiler fuses and plans exactly as in ``Estimator.predict``. Nothing
from the directory is executed: op types are registry keys, attributes are data.
:func:`rebuild` builds into a new Graph (``load``'s :class:`Predictor`) or into a
given graph under an import scope (TF1's ``tf.saved_model.loader.load``,
:mod:`estcore.saved_model.session_loader`), with the same checks either way.
Needs the graph and the export format; must not build or run an Estimator.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from estcore import errors
from estcore.checkpoint.format import CheckpointCorruptError, read_checkpoint
from estcore.export import format as fmt
from estcore.export.export_output import DEFAULT_SERVING_SIGNATURE_DEF_KEY
from estcore.export.writer import bodies_of
from estcore.graph.dtypes import DType, as_dtype
from estcore.graph.ir import Graph
from estcore.graph.ops import make_op
from estcore.graph.ops.subgraph import Body
from estcore.graph.registry import all_rows
from estcore.graph.session import Session
from estcore.graph.shapes import TensorShape

__all__ = ["load", "Predictor", "SignatureSpec", "TensorSpec"]
# read_export, checked_predictor, rebuild, read_signatures, check_not_a_base_dir, Export and
# Rebuilt also serve estcore.saved_model.session_loader (TF1's tf.saved_model.loader.load).

_OBJECT = np.dtype(object)
# The load-time check run (a batch of one through each signature) is skipped above this.
DRY_RUN_MAX_BYTES = 64 << 20
logger = logging.getLogger("estcore")
# Nodes a serving graph may never contain.
_FORBIDDEN = {"InitialValue"}


class TensorSpec:
    """One signature input or output: ``name`` (the key), ``tensor_name``, ``dtype``
    (numpy dtype; ``object`` for strings), ``shape`` (list, ``None`` for unknown dims)."""

    __slots__ = ("name", "tensor_name", "dtype", "dtype_name", "shape")

    def __init__(self, name: str, tensor_name: str, dtype_name: str, shape: list | None):
        self.name = name
        self.tensor_name = tensor_name
        self.dtype_name = dtype_name
        self.dtype = np.dtype(as_dtype(dtype_name).as_numpy_dtype)
        self.shape = shape

    def __repr__(self) -> str:
        return f"TensorSpec(name={self.name!r}, dtype={self.dtype_name}, shape={self.shape})"


class SignatureSpec:
    """A signature: ``method_name``, ``inputs`` and ``outputs`` (dicts of TensorSpec)."""

    def __init__(self, name: str, method_name: str, inputs: dict, outputs: dict):
        self.name = name
        self.method_name = method_name
        self.inputs = inputs
        self.outputs = outputs

    def __repr__(self) -> str:
        return (f"SignatureSpec({self.name!r}, method={self.method_name}, "
                f"inputs={list(self.inputs.values())}, outputs={list(self.outputs.values())})")


def _fail(path: str, msg: str) -> fmt.ExportFormatError:
    return fmt.ExportFormatError(f"Cannot load the export at {path}: {msg}")


def _read_arrays(path: str, prefix: str, what: str) -> dict[str, np.ndarray]:
    full = os.path.join(path, prefix)
    if not os.path.isfile(full + ".data"):
        raise _fail(path, f"the {what} file {prefix}.data is missing")
    try:
        values, _ = read_checkpoint(full)
    except CheckpointCorruptError as e:
        raise _fail(path, f"the {what} file is corrupted or truncated ({e})") from None
    return values


def _shape_list(path: str, where: str, shape: Any) -> list | None:
    if shape is None:
        return None
    if not isinstance(shape, list) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
            for d in shape):
        raise _fail(path, f"{where}: bad shape {shape!r}")
    return shape


_BODY_KEYS = {"ranges", "outputs", "inputs", "captures", "variables"}


def _body_builder(path: str, tensors: dict, ids: list) -> Any:
    """The ``$body`` decoder: a :class:`Body` over the nodes rebuilt so far (``ids``: the
    graph id of the node at each position of ``graph.nodes``)."""
    def build(spec: Any, where: str) -> Body:
        if not isinstance(spec, dict) or set(spec) != _BODY_KEYS:
            raise _fail(path, f"{where}: a sub-graph needs exactly the keys "
                              f"{sorted(_BODY_KEYS)}")
        ranges = []
        if not isinstance(spec["ranges"], list):
            raise _fail(path, f"{where}: sub-graph ranges must be a list")
        for r in spec["ranges"]:
            if not (isinstance(r, list) and len(r) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in r)
                    and 0 <= r[0] <= r[1] <= len(ids)):
                raise _fail(path, f"{where}: sub-graph range {r!r} is not [first, end] of "
                                  f"earlier nodes (0..{len(ids)})")
            ranges.append((ids[r[0]], ids[r[1] - 1] + 1) if r[1] > r[0] else (0, 0))
        parts = {}
        for part in ("outputs", "inputs", "captures", "variables"):
            names = spec[part]
            if not isinstance(names, list) or not all(isinstance(n, str) and n in tensors
                                                      for n in names):
                raise _fail(path, f"{where}: sub-graph {part} {str(names)[:200]} name "
                                  "tensors not defined earlier")
            parts[part] = names
        body = Body(ranges, [tensors[n] for n in parts["outputs"]], None,
                    inputs=[tensors[n] for n in parts["inputs"]])
        for part in ("captures", "variables"):
            found = getattr(body, part)
            if [id(t) for t in found] != [id(tensors[n]) for n in parts[part]]:
                raise _fail(path, f"{where}: the sub-graph reads {part} "
                                  f"{[t.name for t in found]}, the file records "
                                  f"{parts[part]}")
        return body
    return build


def _check_owner(path: str, op: Any) -> None:
    """A Cond / MapFn node feeds each sub-graph the tensors it captured, in order."""
    names = [t.name for t in op.inputs]
    a = op.attrs
    if op.type == "Cond":
        for b, body in enumerate(a["branches"]):
            fed = [names[1 + p] for p in a["cap_pos"][b]]
            if fed != [t.name for t in body.captures]:
                raise _fail(path, f"node '{op.name}' feeds branch {b} {fed}, the branch "
                                  f"reads {[t.name for t in body.captures]}")
    elif op.type == "MapFn":
        n = a["n_elems"]
        body = a["body"]
        fed = names[n:n + len(body.captures)]
        if len(body.inputs) != n or fed != [t.name for t in body.captures]:
            raise _fail(path, f"node '{op.name}' feeds its body {fed} for "
                              f"{len(body.inputs)} element(s), the body reads "
                              f"{[t.name for t in body.captures]} for {n}")
    for body in bodies_of(op):
        missing = [t.name for t in body.variables if t.name not in names]
        if missing:
            raise _fail(path, f"node '{op.name}': its sub-graph reads variables {missing} "
                              "that are not inputs of the node")


class Rebuilt(NamedTuple):
    """What :func:`rebuild` built.

    Attributes:
        graph: the graph the nodes were added to.
        tensors: tensor name in the file (``"dense/Relu:0"``) -> the tensor built for it.
        variables: variable name in the graph -> its value from the export.
        scope: the prefix of every node name built (``""``, ``"imp/"``, ``"imp_1/"``...).
        renamed: names in the file of the nodes built under another name because the
            graph already had that name (``"x"`` built as ``"x_1"``, as TF's import).
    """

    graph: Graph
    tensors: dict
    variables: dict
    scope: str
    renamed: list


@contextlib.contextmanager
def _import_scope(graph: Graph, import_scope: str | None) -> Iterator[str]:
    """Enter ``import_scope`` (made unique, as a name scope) or stay in the current
    scope; yields the prefix of the names built inside."""
    if import_scope:
        with graph.name_scope(import_scope) as scope:
            yield scope
    else:
        current = graph.get_name_scope()
        yield current + "/" if current else ""


def rebuild(path: str, data: dict, variables: dict, consts: dict, graph: Graph | None = None,
            import_scope: str | None = None) -> Rebuilt:
    """Build the nodes of ``data`` (validated as they are built) into a new Graph, or
    into ``graph`` under ``import_scope`` (TF's ``import_meta_graph`` naming: a used
    scope becomes ``scope_1``; a node name the graph already has gets ``_1``...).
    ``graph``'s seed and collections are left alone."""
    rows = all_rows()
    v2 = data["format_version"] >= 2
    gdata = data["graph"]
    nodes = gdata.get("nodes")
    if not isinstance(nodes, list):
        raise _fail(path, "graph.nodes is missing or not a list")
    seed = gdata.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise _fail(path, f"graph.seed must be an int or null, got {seed!r}")
    fresh = graph is None
    if fresh:
        graph = Graph()
        graph.seed = seed
    graph._check_not_finalized()
    tensors: dict[str, Any] = {}
    var_values: dict[str, np.ndarray] = {}
    ids: list[int] = []
    ops_by_name: dict[str, Any] = {}
    seen: set[str] = set()  # lower-cased, as the graph's own names are unique
    renamed: list[str] = []
    bodies = _body_builder(path, tensors, ids) if v2 else None
    with graph.as_default(), graph.control_dependencies(None), \
            _import_scope(graph, import_scope) as scope:
        for i, node in enumerate(nodes):
            try:
                if not isinstance(node, dict) or not isinstance(node.get("name"), str) \
                        or not isinstance(node.get("type"), str):
                    raise _fail(path, f"graph node #{i} is malformed (needs string name and type)")
                name, op_type = node["name"], node["type"]
                row = rows.get(op_type)
                if row is None:
                    raise _fail(path, f"node '{name}' has unknown op type {op_type!r} (op types "
                                      "are looked up in estcore's op registry only; was this "
                                      "model exported by a newer estcore?)")
                if row.writes or row.grad_op or op_type in _FORBIDDEN:
                    raise _fail(path, f"node '{name}' has op type {op_type}, which is not allowed "
                                      "in a serving graph")
                ins = node.get("inputs", [])
                attrs_json = node.get("attrs", {})
                outs_json = node.get("outputs", [])
                if not isinstance(ins, list) or not isinstance(attrs_json, dict) \
                        or not isinstance(outs_json, list):
                    raise _fail(path, f"node '{name}': inputs/attrs/outputs are malformed")
                inputs = []
                for ref in ins:
                    t = tensors.get(ref) if isinstance(ref, str) else None
                    if t is None:
                        raise _fail(path, f"node '{name}' input {ref!r} is dangling (no earlier "
                                          "node has that output)")
                    inputs.append(t)
                attrs = {k: fmt.decode_attr(v, f"node '{name}' attr {k!r}", consts, bodies)
                         for k, v in attrs_json.items()}
                control = _control(path, node, ops_by_name, v2)
                if name.lower() in seen:
                    raise _fail(path, f"node name '{name}' is duplicated")
                seen.add(name.lower())
                try:
                    with graph.control_dependencies(control):
                        op = make_op(op_type, inputs, attrs, name=name)
                except Exception as e:  # noqa: BLE001 - any shape-rule failure is a format error
                    raise _fail(path, f"node '{name}' ({op_type}) does not rebuild: {e}") from None
                if op.name != scope + name:
                    if fresh:
                        raise _fail(path, f"node name '{name}' is duplicated")
                    renamed.append(name)
                ids.append(op._id)
                ops_by_name[name] = op
                if v2:
                    _check_owner(path, op)
                if len(op.outputs) != len(outs_json):
                    raise _fail(path, f"node '{name}' ({op_type}) declares {len(outs_json)} "
                                      f"outputs, the op has {len(op.outputs)}")
                for j, (t, spec) in enumerate(zip(op.outputs, outs_json, strict=True)):
                    if not isinstance(spec, dict):
                        raise _fail(path, f"node '{name}' output {j} is malformed")
                    shape = _shape_list(path, f"node '{name}' output {j}", spec.get("shape"))
                    if not isinstance(t.dtype, DType) or not isinstance(t.shape, TensorShape):
                        raise _fail(path, f"node '{name}' ({op_type}) output {j} has no valid "
                                          "dtype/shape (bad attributes)")
                    if spec.get("dtype") != t.dtype.name:
                        raise _fail(path, f"node '{name}' output {j}: declared dtype "
                                          f"{spec.get('dtype')!r}, the op's shape rule gives "
                                          f"{t.dtype.name}")
                    if not t.shape.is_compatible_with(TensorShape(shape)):
                        raise _fail(path, f"node '{name}' output {j}: declared shape {shape}, the "
                                          f"op's shape rule gives {t.shape.as_list()}")
                    tensors[f"{name}:{j}"] = t
                if op_type == "VariableV2":
                    value = variables.get(name)
                    if value is None:
                        raise _fail(path, f"variable '{name}' has no value in "
                                          f"{fmt.VARIABLES_FILE}")
                    want = op.outputs[0]
                    if want.shape.dims is None or list(value.shape) != want.shape.as_list() \
                            or value.dtype != want.dtype.np:
                        raise _fail(path, f"variable '{name}' has shape {list(value.shape)} and "
                                          f"dtype {value.dtype} in {fmt.VARIABLES_FILE}, the graph "
                                          f"declares {want.shape} {want.dtype.name}")
                    var_values[op.name] = value
            except fmt.ExportFormatError:
                raise
            except Exception as e:  # noqa: BLE001 - malformed data in any other way
                raise _fail(path, f"graph node #{i} is malformed ({type(e).__name__}: "
                                  f"{e})") from None
    return Rebuilt(graph, tensors, var_values, scope, renamed)


def _control(path: str, node: dict, ops_by_name: dict, v2: bool) -> list:
    """The earlier nodes a node waits for (version 2, inside sub-graphs only)."""
    names = node.get("control")
    if names is None:
        return []
    if not v2:
        raise _fail(path, f"node '{node['name']}': 'control' needs format_version 2")
    if not isinstance(names, list) or not all(isinstance(n, str) and n in ops_by_name
                                              for n in names):
        raise _fail(path, f"node '{node['name']}': control {str(names)[:200]} names nodes "
                          "not defined earlier")
    return [ops_by_name[n] for n in names]


def read_signatures(path: str, data: dict, tensors: dict) -> dict[str, SignatureSpec]:
    """The signatures of ``data`` over the rebuilt ``tensors`` (checked: each names a
    tensor of the graph with the declared dtype; inputs are placeholders)."""
    out = {}
    for sname, sig in data["signatures"].items():
        if not isinstance(sig, dict) or not isinstance(sig.get("inputs"), dict) \
                or not isinstance(sig.get("outputs"), dict):
            raise _fail(path, f"signature {sname!r} is malformed")
        parts = {}
        for part in ("inputs", "outputs"):
            specs = {}
            for key, spec in sig[part].items():
                where = f"signature {sname!r} {part[:-1]} {key!r}"
                if not isinstance(spec, dict) or spec.get("tensor") not in tensors:
                    raise _fail(path, f"{where} names no tensor of the graph")
                t = tensors[spec["tensor"]]
                if spec.get("dtype") != t.dtype.name:
                    raise _fail(path, f"{where}: dtype {spec.get('dtype')!r} does not match "
                                      f"the graph's {t.dtype.name}")
                shape = _shape_list(path, where, spec.get("shape"))
                if part == "inputs" and t.op.type not in ("Placeholder",
                                                          "PlaceholderWithDefault"):
                    raise _fail(path, f"{where} is not a placeholder")
                specs[key] = TensorSpec(key, t.name, t.dtype.name, shape)
            parts[part] = specs
        out[sname] = SignatureSpec(sname, str(sig.get("method_name", "predict")),
                                   parts["inputs"], parts["outputs"])
    return out


class Predictor:
    """A loaded export: call it with a dict of numpy arrays, get a dict back.

    Attributes:
        signatures: name -> :class:`SignatureSpec` (inputs/outputs with dtypes, shapes).
        export_dir: the directory loaded.
        meta: the decoded ``saved_model.json`` minus the graph.
    """

    def __init__(self, export_dir: str, graph: Any, tensors: dict,
                 signatures: dict[str, SignatureSpec], variables: dict, meta: dict):
        self.export_dir = export_dir
        self.graph = graph
        self.signatures = signatures
        self.meta = meta
        self._tensors = tensors
        self._variables = variables
        self._session = self._new_session()
        graph.finalize()
        self._lock = threading.Lock()
        self._fetches = {name: {k: tensors[s.tensor_name] for k, s in sig.outputs.items()}
                         for name, sig in signatures.items()}
        self._default = (DEFAULT_SERVING_SIGNATURE_DEF_KEY
                         if DEFAULT_SERVING_SIGNATURE_DEF_KEY in signatures
                         else next(iter(signatures)))

    def _new_session(self) -> Any:
        """A fresh Session holding the variables (random ops restart their streams)."""
        sess = Session(graph=self.graph)
        if self._variables:
            sess.set_variable_values(self._variables)
        return sess

    @property
    def default_signature(self) -> str:
        """``serving_default`` when present, else the first signature."""
        return self._default

    def _feed(self, sig: SignatureSpec, inputs: Any) -> dict:
        if not isinstance(inputs, dict):
            if len(sig.inputs) != 1:
                raise TypeError(f"Signature {sig.name!r} has inputs {sorted(sig.inputs)}: pass "
                                f"a dict of arrays. Received: {type(inputs).__name__}")
            inputs = {next(iter(sig.inputs)): inputs}
        if inputs.keys() != sig.inputs.keys():
            missing = sorted(set(sig.inputs) - set(inputs))
            extra = sorted(set(inputs) - set(sig.inputs))
            raise KeyError(f"Signature {sig.name!r} takes inputs {sorted(sig.inputs)}; "
                           f"missing: {missing}, unexpected: {extra}")
        feed = {}
        for key, spec in sig.inputs.items():
            arr = inputs[key]
            if type(arr) is not np.ndarray:
                # bytes stay bytes objects: numpy's fixed-width "S" dtype would drop the
                # trailing NUL bytes a serialized Example may end with
                arr = np.asarray(arr, dtype=object) if spec.dtype == _OBJECT else np.asarray(arr)
            if arr.dtype != spec.dtype and spec.dtype != _OBJECT:
                if not np.can_cast(arr.dtype, spec.dtype, casting="same_kind") or \
                        (arr.dtype.kind == "f" and spec.dtype.kind in "iub"):
                    raise errors.InvalidArgumentError(
                        f"Signature {sig.name!r} input {key!r} has dtype "
                        f"{spec.dtype_name}; received an array of dtype {arr.dtype}")
                arr = arr.astype(spec.dtype)
            shape = spec.shape
            if shape is not None:
                dims = arr.shape
                if len(dims) != len(shape) or any(
                        d is not None and d != a for d, a in zip(shape, dims)):  # noqa: B905
                    raise errors.InvalidArgumentError(
                        f"Signature {sig.name!r} input {key!r} has shape {shape} (None: "
                        f"any size); received an array of shape {list(dims)}")
            feed[self._tensors[spec.tensor_name]] = arr
        return feed

    def __call__(self, inputs: Any, signature: str | None = None) -> dict[str, np.ndarray]:
        """Run a signature.

        Args:
            inputs: dict input key -> array-like (batch first); a bare array when the
                signature has one input.
            signature: the signature name (default ``serving_default``).

        Returns:
            dict output key -> numpy array.
        """
        name = self._default if signature is None else signature
        sig = self.signatures.get(name)
        if sig is None:
            raise KeyError(f"No signature {name!r} in {self.export_dir}; available: "
                           f"{sorted(self.signatures)}")
        feed = self._feed(sig, inputs)
        with self._lock:
            return self._session.run(self._fetches[name], feed_dict=feed)

    def predict(self, inputs: Any, signature: str | None = None) -> dict[str, np.ndarray]:
        """Same as calling the predictor."""
        return self(inputs, signature)

    def __repr__(self) -> str:
        return f"<estcore Predictor {self.export_dir!r} signatures={sorted(self.signatures)}>"


def load(export_dir: str | bytes | os.PathLike) -> Predictor:
    """Load an export written by ``Estimator.export_saved_model``.

    Args:
        export_dir: the timestamped export directory (str, bytes or path).

    Returns:
        A :class:`Predictor`.

    Raises:
        ExportFormatError (a ValueError): missing, corrupted or truncated files, an
            unknown format version, unknown op types, dangling inputs, shapes or dtypes
            that do not match the op's rules.
    """
    return checked_predictor(read_export(export_dir))


class Export(NamedTuple):
    """The files of an export, read and checked (:func:`read_export`): ``path``, the
    decoded ``data`` of saved_model.json, the ``variables`` and ``consts`` arrays."""

    path: str
    data: dict
    variables: dict
    consts: dict


def read_export(export_dir: str | bytes | os.PathLike) -> Export:
    """Read an export directory's files and check them (JSON fields, checksums, data
    files); the graph is checked when it is built (:func:`rebuild`).

    Raises:
        ExportFormatError: see :func:`load`.
    """
    path = os.fsdecode(os.fspath(export_dir))
    if not os.path.isdir(path):
        raise fmt.ExportFormatError(f"Export directory {path} does not exist")
    check_not_a_base_dir(path)
    data = fmt.read_json(os.path.join(path, fmt.GRAPH_FILE))
    variables = _read_arrays(path, fmt.VARIABLES_PREFIX, "variables")
    consts = _read_arrays(path, fmt.CONSTS_PREFIX, "constants")
    fmt.verify_files(path, data)  # after the data files' own checks (clearer errors first)
    return Export(path, data, variables, consts)


def checked_predictor(export: Export) -> Predictor:
    """Build ``export``'s graph in a new Graph, check its signatures and run each once
    on a zero batch (:func:`_dry_run`); the :class:`Predictor` over it."""
    path, data = export.path, export.data
    built = rebuild(path, data, export.variables, export.consts)
    signatures = read_signatures(path, data, built.tensors)
    if not signatures:
        raise _fail(path, "the export has no signature")
    meta = {k: v for k, v in data.items() if k != "graph"}
    predictor = Predictor(path, built.graph, built.tensors, signatures, built.variables, meta)
    _dry_run(path, predictor)
    predictor._session = predictor._new_session()  # the dry run must not advance random ops
    return predictor


def check_not_a_base_dir(path: str) -> None:
    """An ``export_dir_base`` (holding timestamped exports, no graph file) is named as
    such, with the exports found in it, newest last."""
    if os.path.exists(os.path.join(path, fmt.GRAPH_FILE)):
        return
    found = sorted((name for name in os.listdir(path)
                    if name.isdigit() and os.path.isfile(os.path.join(path, name, fmt.GRAPH_FILE))),
                   key=int)
    if found:
        shown = found if len(found) <= 5 else ["..."] + found[-5:]
        raise fmt.ExportFormatError(
            f"{path} is an export base directory, not an export: it holds the timestamped "
            f"exports {shown}; pass one of them, e.g. {os.path.join(path, found[-1])} "
            "(the newest)")


def _dry_run_bytes(graph: Any) -> int:
    """What a run on a batch of one needs at least: every output of the graph at its
    static shape, unknown dimensions counted as 1 (Python ints: no overflow)."""
    total = 0
    for op in graph.get_operations():
        for t in op.outputs:
            dims = t.shape.as_list() if t.shape.rank is not None else []
            count = 1
            for d in dims:
                count *= 1 if d is None else d
            total += count * (t.dtype.np.itemsize if t.dtype.np != _OBJECT else 8)
    return total


def _dry_run(path: str, predictor: Predictor) -> None:
    """Compile and run each signature once on a zero batch of one example, so that
    attributes the shape rules accepted but the kernels cannot use fail at load.

    Skipped (INFO line) when that run would need more than :data:`DRY_RUN_MAX_BYTES`
    (e.g. a placeholder with a fixed batch of 2**21 rows): load allocates nothing by
    the declared shapes, and such a signature's kernels are first checked by its
    first call."""
    need = _dry_run_bytes(predictor.graph)
    if need > DRY_RUN_MAX_BYTES:
        logger.info("Export %s: the load-time check run is skipped (a batch of one needs "
                    "%d MiB by the declared shapes); each signature is checked at its "
                    "first call.", path, need >> 20)
        return
    for name, sig in predictor.signatures.items():
        feed = {}
        for spec in sig.inputs.values():
            if spec.shape is None or spec.dtype == _OBJECT:
                break
            feed[spec.name] = np.zeros([1 if d is None else d for d in spec.shape], spec.dtype)
        else:
            try:
                with np.errstate(all="ignore"):
                    predictor(feed, signature=name)
            except errors.InvalidArgumentError as e:
                if "assertion failed: " not in str(e):
                    raise _fail(path, f"signature {name!r} does not run on a zero batch "
                                      f"({type(e).__name__}: {e})") from None
                # the model's own Assert rejects zeros (e.g. tf.case without a default):
                # the graph ran up to it, which is what this check is for
                logger.info("Export %s: signature %r refuses a zero batch (%s); loaded.",
                            path, name, e)
            except Exception as e:  # noqa: BLE001 - any failure here is a broken export
                raise _fail(path, f"signature {name!r} does not run on a zero batch "
                                  f"({type(e).__name__}: {e})") from None
