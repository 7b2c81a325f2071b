"""Write an export directory for a traced serving graph: prune, encode, copy variables.

See :mod:`estcore.export.format` for what is written. Owns the directory layout
steps (timestamped name, temp dir then rename, removal of the temp dirs that
interrupted exports left, pruning to what the signatures need, the checkpoint's
variables, optional ``model.onnx``). Must not import the estimator package:
``Estimator.export_saved_model`` (:mod:`estcore.estimator.exporting`) traces the
PREDICT graph and builds the signatures, then calls :func:`write_saved_model`.
"""

from __future__ import annotations

import bisect
import logging
import os
import shutil
import time
from typing import Any

import numpy as np

from estcore._version import __version__
from estcore.checkpoint.format import read_checkpoint, write_checkpoint
from estcore.export import format as fmt
from estcore.export.onnx_export import UnsupportedOpsError, write_onnx
from estcore.graph.ops.subgraph import Body
from estcore.graph.registry import get_row

__all__ = ["write_saved_model", "get_timestamped_export_dir", "prune", "graph_to_json",
           "remove_temp_export_dirs"]

logger = logging.getLogger("estcore")

PREDICT_MODE = "infer"  # the value of ModeKeys.PREDICT, named in error messages
# Op types that may never appear in a serving graph (they mutate state or hold code).
_FORBIDDEN = {"InitialValue"}
# Op types that call the user's Python code: what the export error says about them.
_PYTHON_CODE = {"PyFunc": "tf.py_func / tf.py_function calls Python code"}


def get_timestamped_export_dir(export_dir_base: str) -> bytes:
    """``export_dir_base/<10-digit seconds>`` as bytes, a name not yet taken.

    The name is ``int(time.time())``; when that second is already taken (a second
    exporter, or a second export, within the same second) it is the next free second
    after it, chosen at once. TF slept one second and logged a warning per attempt (up
    to 10), which cost every evaluation a second when two exporters ran together. The
    names stay increasing with the export order, which is what loaders and
    ``exports_to_keep`` rely on.
    """
    base = os.fsdecode(export_dir_base)
    try:
        entries = os.listdir(base)
    except OSError:  # no base directory yet: every name is free
        entries = []
    taken = {int(name.removeprefix("temp-")) for name in entries
             if name.removeprefix("temp-").isdigit()}
    version = int(time.time())
    if version in taken:
        version = max(t for t in taken if t >= version) + 1
    while os.path.exists(os.path.join(base, str(version))):
        version += 1  # written by another process since the listing
    return os.fsencode(os.path.join(base, str(version)))


def remove_temp_export_dirs(export_dir_base: str | bytes) -> list[str]:
    """Remove the ``temp-<digits>`` directories that interrupted exports left in a base.

    Called when an export to ``export_dir_base`` starts: an export writes its files
    into ``temp-<timestamp>`` and renames it to ``<timestamp>`` when complete, so a
    ``temp-`` directory is one whose export was killed. Only one export may write to
    a base at a time (as only the chief exports). Nothing else is touched: not a
    symlink, not a file, not a name with anything but digits after ``temp-``.

    Returns:
        The paths removed.
    """
    base = os.fsdecode(export_dir_base)
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:  # no base directory yet
        return removed
    for entry in entries:
        tail = entry.name.removeprefix("temp-")
        if tail == entry.name or not tail.isdigit() or not entry.is_dir(follow_symlinks=False):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(entry.path)
    if removed:
        logger.warning("Removed %d temporary export directory(ies) left by interrupted "
                       "exports in %s: %s", len(removed), base,
                       ", ".join(os.path.basename(p) for p in removed))
    return removed


def _temp_export_dir(export_dir: bytes) -> str:
    head, tail = os.path.split(os.fsdecode(export_dir))
    return os.path.join(head, "temp-" + tail)


def _tensor_spec(t: Any) -> dict:
    shape = t.shape.as_list() if t.shape.rank is not None else None
    return {"tensor": t.name, "dtype": t.dtype.name, "shape": shape}


def bodies_of(op: Any) -> list:
    """The traced sub-graphs (:class:`Body`) an op's attributes hold (a ``Cond``'s
    branches, a ``MapFn``'s body)."""
    out = []
    for v in op.attrs.values():
        if isinstance(v, Body):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(b for b in v if isinstance(b, Body))
    return out


def prune(fetches: list, stop: Any = ()) -> list:
    """The nodes ``fetches`` (tensors) depend on through data inputs, in graph order.

    Control dependencies are not followed (a serving graph has no state to order),
    except inside a control-flow sub-graph: the nodes a ``Cond`` / ``MapFn`` runs
    (its bodies' nodes, with the control edges between them) are included. The inputs
    of ops whose id is in ``stop`` (ops that become graph inputs) are not followed.
    """
    seen: dict[int, Any] = {}
    stack = [t.op for t in fetches]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen[id(op)] = op
        if id(op) not in stop:
            stack.extend(t.op for t in op.inputs)
            for body in bodies_of(op):
                stack.extend(body.ops)
                stack.extend(t.op for t in body.inputs + body.outputs)
    return sorted(seen.values(), key=lambda op: op._id)


def _body_encoder(nodes: list) -> tuple:
    """``(encode, inside)``: the ``$body`` encoder for sub-graphs of ``nodes`` (sorted by
    id), and the set of node ids inside some sub-graph (filled as bodies are encoded)."""
    ids = [op._id for op in nodes]
    present = set(ids)
    inside: set[int] = set()

    def encode(value: Any, key: str) -> dict | None:
        if not isinstance(value, Body):
            return None
        if value.stash:
            raise ValueError(f"attribute {key!r} is a gradient's sub-graph (it reads values "
                             "kept by a forward cond), which is not part of a serving graph")
        ranges = []
        for a, b in value.ranges:
            lo, hi = bisect.bisect_left(ids, a), bisect.bisect_left(ids, b)
            ranges.append([lo, hi])
            inside.update(ids[lo:hi])
        names = {}
        for part in ("outputs", "inputs", "captures", "variables"):
            ts = getattr(value, part)
            lost = [t.name for t in ts if t.op._id not in present]
            if lost:
                raise ValueError(f"attribute {key!r}: the sub-graph's {part} {lost} are not "
                                 "in the exported graph")
            names[part] = [t.name for t in ts]
        return {"ranges": ranges, **names}
    return encode, inside


def graph_to_json(nodes: list, seed: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """Encode ``nodes`` as plain data; returns ``(graph json, constants)``.

    A graph with control flow (``$body`` attributes, ``control`` lists) gets the key
    ``"format_version": 2`` in the returned dict for the writer (popped before writing).
    """
    consts: dict[str, np.ndarray] = {}
    out = []
    encode_body, inside = _body_encoder(nodes)
    # sub-graphs are encoded at their owner, which comes after their nodes: first pass
    # to learn which nodes are inside one (for their control lists)
    owners = [op for op in nodes if bodies_of(op)]
    for op in owners:
        for i, body in enumerate(bodies_of(op)):
            encode_body(body, f"{op.name}/body{i}")
    for op in nodes:
        row = get_row(op.type)
        if row.writes or op.type in _FORBIDDEN or row.grad_op:
            raise ValueError(f"Cannot export: the serving graph needs node '{op.name}' of type "
                             f"{op.type}, which changes state or holds Python code. Build the "
                             "predictions without it in PREDICT mode.")
        if op.type in _PYTHON_CODE:
            raise ValueError(f"Cannot export node '{op.name}' ({op.type}): "
                             f"{_PYTHON_CODE[op.type]}, which an export cannot hold (it holds "
                             "no Python code). Build the predictions from estcore ops in "
                             "PREDICT mode, or run that code before feeding the model.")
        attrs = {}
        for k, v in op.attrs.items():
            if op.type == "Cond" and k == "stash":
                # what a forward cond keeps for its gradient: no gradient is exported
                v = [[] for _ in v]
            try:
                attrs[k] = fmt.encode_attr(v, f"{op.name}/{k}", consts, encode_body)
            except ValueError as e:
                raise ValueError(f"Cannot export node '{op.name}' ({op.type}): {e}") from None
        entry = {"name": op.name, "type": op.type,
                 "inputs": [t.name for t in op.inputs], "attrs": attrs,
                 "outputs": [{"dtype": t.dtype.name,
                              "shape": None if t.shape.rank is None else t.shape.as_list()}
                             for t in op.outputs]}
        if op._id in inside:
            control = [c.name for c in op.control_inputs if c._id in inside]
            if control:
                entry["control"] = control
        out.append(entry)
    graph = {"seed": seed, "nodes": out}
    if owners:
        graph["format_version"] = fmt.FORMAT_VERSION
    return graph, consts


def _copy_assets_extra(assets_extra: dict | None, export_dir: str) -> None:
    if not assets_extra:
        return
    if not isinstance(assets_extra, dict):
        raise TypeError("`assets_extra` must be a dict of destination path (relative) -> "
                        f"source file. Received: {assets_extra!r}")
    root = os.path.join(export_dir, fmt.ASSETS_EXTRA_DIR)
    for dest, source in assets_extra.items():
        dest = os.fspath(dest)
        if os.path.isabs(dest) or ".." in dest.replace("\\", "/").split("/"):
            raise ValueError(f"`assets_extra` destination {dest!r} must be a relative path "
                             "inside assets.extra/")
        target = os.path.join(root, dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.fspath(source), target)


def write_saved_model(export_dir_base: Any, signatures: dict, checkpoint: str,
                      graph_seed: Any, default_signature: str,
                      assets_extra: dict | None = None) -> bytes:
    """Write ``export_dir_base/<timestamp>/`` for a traced serving graph; returns its path.

    Args:
        export_dir_base: where the timestamped directory goes.
        signatures: name -> ``(method_name, inputs dict, outputs dict)`` of tensors of
            one graph (the receiver's tensors in, the model's outputs out).
        checkpoint: the checkpoint whose variables the export carries.
        graph_seed: the graph-level seed (written into the graph description).
        default_signature: the signature ``model.onnx`` is made from when present.
        assets_extra: destination (relative) -> source file, copied to ``assets.extra``.
    """
    fetches = [t for _, _, outs in signatures.values() for t in outs.values()]
    nodes = prune(fetches)
    _check_placeholders(signatures)
    graph_json, consts = graph_to_json(nodes, graph_seed)
    version = graph_json.pop("format_version", fmt.BASE_FORMAT_VERSION)
    var_names = [op.name for op in nodes if op.type == "VariableV2"]
    ckpt = checkpoint
    values, _ = read_checkpoint(ckpt)
    missing = [n for n in var_names if n not in values]
    if missing:
        raise ValueError(
            "Could not load all requested variables from checkpoint. Please make sure your "
            "model_fn does not expect variables that were not saved in the checkpoint.\n\n"
            f"Encountered error with mode `{PREDICT_MODE}` while restoring checkpoint "
            f"from: `{ckpt}`. Missing variables: {missing}")
    variables = {n: values[n] for n in var_names}
    for op in nodes:
        if op.type == "VariableV2":
            want = tuple(op.outputs[0].shape.as_list())
            if tuple(variables[op.name].shape) != want:
                raise ValueError(f"Checkpoint {ckpt}: variable {op.name} has shape "
                                 f"{list(variables[op.name].shape)}, the model_fn builds "
                                 f"{list(want)}")
    sig_json = {name: {"method_name": method,
                       "inputs": {k: _tensor_spec(t) for k, t in ins.items()},
                       "outputs": {k: _tensor_spec(t) for k, t in outs.items()}}
                for name, (method, ins, outs) in signatures.items()}
    step = values.get("global_step")
    meta = {"format": fmt.FORMAT_NAME, "format_version": version,
            "estcore_version": __version__, "tags": ["serve"],
            "global_step": int(step) if step is not None else None,
            "checkpoint": os.fspath(ckpt), "graph": graph_json, "signatures": sig_json,
            "onnx": None, "onnx_unsupported": []}

    remove_temp_export_dirs(export_dir_base)
    export_dir = get_timestamped_export_dir(export_dir_base)
    temp_dir = _temp_export_dir(export_dir)
    if os.path.exists(temp_dir):
        shutil.rmtree(temp_dir)
    os.makedirs(os.path.join(temp_dir, fmt.VARIABLES_DIR))
    try:
        write_checkpoint(os.path.join(temp_dir, fmt.VARIABLES_PREFIX), variables,
                         meta={"global_step": meta["global_step"]})
        write_checkpoint(os.path.join(temp_dir, fmt.CONSTS_PREFIX), consts)
        _copy_assets_extra(assets_extra, temp_dir)
        _write_onnx(meta, nodes, signatures, variables, temp_dir, default_signature)
        fmt.write_json(os.path.join(temp_dir, fmt.GRAPH_FILE), meta)
        os.rename(temp_dir, os.fsdecode(export_dir))
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    logger.info("SavedModel written to: %s", os.fsdecode(export_dir))
    return export_dir


def _check_placeholders(signatures: dict) -> None:
    for name, (_, ins, outs) in signatures.items():
        fed = {id(t.op) for t in ins.values()}
        for op in prune(list(outs.values())):
            if op.type == "Placeholder" and id(op) not in fed:
                raise ValueError(
                    f"Signature {name!r} needs placeholder '{op.name}', which is not among "
                    f"its receiver tensors {sorted(ins)}: return every placeholder the "
                    "features depend on in the ServingInputReceiver's receiver_tensors.")


def _write_onnx(meta: dict, nodes: list, signatures: dict, variables: dict,
                export_dir: str, default_signature: str) -> None:
    try:
        import onnx  # noqa: F401 - optional third-party dependency (estcore[onnx])
    except ImportError:
        logger.info("The `onnx` package is not installed (pip install estcore[onnx]): "
                    "model.onnx not written.")
        return

    key = (default_signature if default_signature in signatures
           else next(iter(signatures), None))
    if key is None:
        return
    _, ins, outs = signatures[key]
    ins, parsed = _onnx_inputs(ins, outs)
    try:
        write_onnx(os.path.join(export_dir, fmt.ONNX_FILE), ins, outs, variables)
    except UnsupportedOpsError as e:
        # INFO, not WARNING: model.onnx is a by-product written whenever `onnx` is
        # installed, not something this export asked for; the native export is complete,
        # and saved_model.json lists every node in onnx_unsupported.
        meta["onnx_unsupported"] = list(e.ops)
        logger.info("model.onnx not written: %s (listed in %s's onnx_unsupported). The "
                    "native export is complete.", e, fmt.GRAPH_FILE)
        return
    except Exception as e:  # noqa: BLE001 - ONNX is optional: never lose the native export
        logger.warning("model.onnx not written: the ONNX conversion failed (%s: %s). The "
                       "native export is complete.", type(e).__name__, e)
        return
    meta["onnx"] = {"file": fmt.ONNX_FILE, "signature": key}
    if parsed:
        meta["onnx"]["inputs"] = "parsed features"
        logger.info("model.onnx takes the parsed features %s as inputs (ONNX cannot parse "
                    "serialized tf.Example protos).", sorted(ins))


def _onnx_inputs(ins: dict, outs: dict) -> tuple[dict, bool]:
    """The ONNX model's inputs: the signature's, except that a serialized-Example
    input read only by a ParseExample op is replaced by the parsed features (ONNX has
    no tf.Example parser); True when that happened."""
    if len(ins) != 1 or not next(iter(ins.values())).dtype.is_string:
        return ins, False
    (t,) = ins.values()
    readers = [op for op in prune(list(outs.values())) if any(x is t for x in op.inputs)]
    if len(readers) != 1 or readers[0].type != "ParseExample":
        return ins, False
    op = readers[0]
    return dict(zip(op.attrs["keys"], op.outputs, strict=True)), True
