"""The estcore export directory format (versions 1 and 2).

An export is a directory ``export_dir_base/<10-digit timestamp>/`` holding::

    saved_model.json           the graph, the signatures, metadata (UTF-8 JSON)
    variables/variables.data   variable values, in the checkpoint file format
                               (:mod:`estcore.checkpoint.format`: magic,
                               version, JSON header, 64-byte aligned raw arrays, CRC-32)
    consts.data                constant arrays of the graph, same file format, keyed
                               ``<node name>/<attr name>[/<path>]``
    model.onnx                 optional: the default signature as an ONNX model
    assets.extra/              optional: copies of ``assets_extra`` files

``saved_model.json``::

    {"format": "estcore-saved-model",
     "format_version": 1 | 2,             2 when the graph holds control flow (below);
                                          readers refuse any version they do not know
     "estcore_version": "0.1.0",
     "tags": ["serve"],
     "global_step": 1000,
     "checkpoint": "/path/model.ckpt-1000",   (informational)
     "graph": {"seed": 42 | null,
               "nodes": [{"name": "dense/Dense", "type": "Dense",
                          "inputs": ["x:0", "dense/kernel:0", "dense/bias:0"],
                          "attrs": {...},
                          "outputs": [{"dtype": "float32", "shape": [null, 10]}]}, ...]},
     "signatures": {"serving_default": {
          "method_name": "predict" | "classify" | "regress",
          "inputs":  {"x": {"tensor": "x:0", "dtype": "float32", "shape": [null, 784]}},
          "outputs": {"probabilities": {"tensor": "Softmax:0", "dtype": ..., "shape": ...}}}},
     "onnx": {"file": "model.onnx", "signature": "serving_default"} | null,
     "onnx_unsupported": ["<op type> '<node name>'", ...],
     "files": {"consts.data": {"size": 396, "crc32": "0123abcd"}, ...},
                                          every other file of the directory (optional:
                                          exports written before it have none)
     "checksum": "crc32:0123abcd"}        CRC-32 of the canonical JSON of every other field

The checksum catches accidental corruption (it is no signature: validation of
every field on load is what guards against crafted files). ``files`` lists the size
and CRC-32 of every other file in the directory when ``saved_model.json`` was written
(it is written last), so a damaged, truncated, missing or swapped asset, ``model.onnx``
or data file is an error at load that names it. JSON nesting deeper than
:data:`MAX_JSON_DEPTH` is refused before parsing.

Nodes are listed in a topological order (every input names an earlier node's
output). ``type`` is a key of the op registry (:mod:`estcore.graph.registry`);
loading looks it up there and nowhere else. Attributes are JSON values with
tagged objects for what JSON lacks:

=====================================  ==============================================
``{"$dtype": "float32"}``              an ``estcore.DType``
``{"$shape": [null, 3]}``              a ``TensorShape`` (``{"$shape": null}``: unknown rank)
``{"$tuple": [...]}``                  a tuple
``{"$dict": {...}}``                   a dict with string keys
``{"$array": "<key>"}``                a numpy array stored in ``consts.data``
``{"$strings": [...], "shape": [..]}`` a string array (UTF-8 text; loaded as bytes)
``{"$bytes": "text"}``                 a ``bytes`` value that is UTF-8 text
``{"$bytes": "<b64>", "encoding":      any other ``bytes`` value (base64)
"base64"}``
``{"$scalar": ["<f4", 1.5]}``          a numpy scalar
``{"$float": "nan" | "inf" | "-inf"}``  a non-finite float
``{"$slice": [start, stop, step]}``     a slice (ints or null)
``{"$ellipsis": null}``                 ``...``
``{"$body": {...}}``                    a control-flow sub-graph (version 2 only, below)
=====================================  ==============================================

Version 2 (written only when the serving graph holds ``cond`` / ``case`` / ``map_fn``;
other exports stay version 1, readable by older estcore): a ``Cond`` node's ``branches``
and a ``MapFn`` node's ``body`` are ``$body`` objects that refer to nodes of the same
list, never to code::

    {"$body": {"ranges":   [[first, end], ...],  positions in graph.nodes (end excluded)
                                                 of the sub-graph's nodes, which are
                                                 listed before the node owning it
               "outputs":  ["<node>:<i>", ...],  the function's flat results
               "inputs":   [...],                map_fn's per-element placeholders
               "captures": [...],                outside tensors it reads (checked)
               "variables": [...]}}              variables it reads (checked)

A node inside a sub-graph may carry ``"control": ["<node>", ...]``: the earlier nodes
of the same sub-graph it waits for (an ``Assert`` before a result, as ``tf.case``
builds); control edges elsewhere are not kept. The loader rebuilds the nodes in order
and the ``Cond`` / ``MapFn`` nodes with sub-graphs over the rebuilt nodes; the captures
and variables it finds must equal the recorded ones.

``as_text`` is accepted for TF compatibility; the graph is always JSON text.
Nothing in the directory is ever executed: no pickle, no eval, no import by
name; unknown tags, op types, versions or dangling inputs are errors.

This module owns the format (encoding, decoding, checksums, atomic writes of the JSON);
it must not build graphs or import the estimator (the writer and the loader do the rest).
"""

from __future__ import annotations

import base64
import json
import math
import os
import types
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from estcore.checkpoint.fileio import atomic_write
from estcore.graph.dtypes import DType, as_dtype
from estcore.graph.shapes import TensorShape

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "GRAPH_FILE", "VARIABLES_DIR", "VARIABLES_FILE",
           "CONSTS_FILE", "ONNX_FILE", "ASSETS_EXTRA_DIR", "ExportFormatError",
           "MAX_JSON_DEPTH", "FORMAT_VERSIONS", "BASE_FORMAT_VERSION", "encode_attr",
           "decode_attr", "read_json", "write_json", "json_checksum", "file_manifest",
           "verify_files"]

FORMAT_NAME = "estcore-saved-model"
FORMAT_VERSION = 2         # the newest version written
FORMAT_VERSIONS = (1, 2)   # the versions this estcore reads
BASE_FORMAT_VERSION = 1    # written when no version-2 feature is used
GRAPH_FILE = "saved_model.json"
VARIABLES_DIR = "variables"
VARIABLES_FILE = os.path.join(VARIABLES_DIR, "variables.data")
VARIABLES_PREFIX = os.path.join(VARIABLES_DIR, "variables")
CONSTS_FILE = "consts.data"
CONSTS_PREFIX = "consts"
ONNX_FILE = "model.onnx"
ASSETS_EXTRA_DIR = "assets.extra"
_NUMERIC_KINDS = set("biuf")
# saved_model.json of a real export nests about 10 deep; a deeper one is refused before
# json (or the recursive attribute decoder) could hit Python's recursion limit.
MAX_JSON_DEPTH = 64
_CHUNK = 1 << 20


class ExportFormatError(ValueError):
    """An export directory is missing files, corrupted, or not understood."""


def encode_attr(value: Any, key: str, consts: dict[str, np.ndarray],
                bodies: Callable[[Any, str], dict | None] | None = None) -> Any:
    """Encode one attribute value as JSON data; arrays go to ``consts`` under ``key``.

    Args:
        bodies: the writer's encoder of sub-graphs: returns the ``$body`` content for a
            value it knows (a traced branch or body), None for anything else.

    Raises:
        ValueError: the value cannot be stored without code (e.g. a callable).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, bytes):   # e.g. decode_csv's string defaults, na_value
        try:
            return {"$bytes": bytes(value).decode("utf-8")}
        except UnicodeDecodeError:
            return {"$bytes": base64.b64encode(value).decode("ascii"), "encoding": "base64"}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, DType):
        return {"$dtype": value.name}
    if value is Ellipsis:
        return {"$ellipsis": None}
    if isinstance(value, slice):
        parts = [value.start, value.stop, value.step]
        if not all(p is None or (isinstance(p, (int, np.integer)) and not isinstance(p, bool))
                   for p in parts):
            raise ValueError(f"attribute {key!r}: slice {value!r} has non-int bounds")
        return {"$slice": [None if p is None else int(p) for p in parts]}
    if isinstance(value, TensorShape):
        return {"$shape": None if value.rank is None else list(value.as_list())}
    if isinstance(value, np.generic):
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"attribute {key!r} holds a numpy scalar of dtype {value.dtype}; "
                             "an export stores numeric and bool numpy scalars only")
        item = value.item()
        if isinstance(item, float) and not math.isfinite(item):
            item = encode_attr(item, key, consts, bodies)
        return {"$scalar": [value.dtype.str, item]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _NUMERIC_KINDS:
            consts[key] = value
            return {"$array": key}
        if value.dtype.kind in "OUS" and all(isinstance(s, (str, bytes))
                                             for s in value.reshape(-1)):
            items = []
            for i, item in enumerate(value.reshape(-1)):
                try:
                    items.append(item.decode("utf-8") if isinstance(item, bytes) else item)
                except UnicodeDecodeError:
                    raise ValueError(f"attribute {key!r} holds a string array whose element "
                                     f"{i} ({item[:40]!r}) is not UTF-8 text; an export "
                                     "stores string arrays as UTF-8 text") from None
            return {"$strings": items, "shape": list(value.shape)}
        raise ValueError(f"attribute {key!r} holds a numpy array of dtype {value.dtype}; an "
                         "export stores numeric, bool and string arrays only")
    if isinstance(value, tuple):
        return {"$tuple": [encode_attr(v, f"{key}/{i}", consts, bodies)
                           for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode_attr(v, f"{key}/{i}", consts, bodies) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"attribute {key!r}: dict key {k!r} is not a string")
            out[k] = encode_attr(v, f"{key}/{k}", consts, bodies)
        return {"$dict": out}
    if bodies is not None:
        enc = bodies(value, key)
        if enc is not None:
            return {"$body": enc}
    raise ValueError(f"attribute {key!r} holds {_describe(value)}, which an export cannot "
                     "store: it holds no Python code or objects, only numbers, strings, bytes, "
                     "arrays, dtypes, shapes, slices and lists / tuples / dicts of them")


def _describe(value: Any) -> str:
    """``value`` in a user's words, for the error of an attribute that cannot be stored."""
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        name = getattr(value, "__qualname__", getattr(value, "__name__", "?"))
        if name.endswith("<lambda>"):
            return "a Python lambda (Python code)"
        return f"the Python function {name}() (Python code)"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    kind = "callable " if callable(value) else ""
    return f"a {kind}Python object of type {type(value).__name__} ({text})"


def decode_attr(value: Any, where: str, consts: dict[str, np.ndarray],
                bodies: Callable[[Any, str], Any] | None = None) -> Any:
    """Inverse of :func:`encode_attr`; unknown tags raise :class:`ExportFormatError`.

    Args:
        bodies: the loader's builder of a sub-graph from a ``$body`` content; None (a
            version-1 file) makes ``$body`` an error.
    """
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [decode_attr(v, where, consts, bodies) for v in value]
    if not isinstance(value, dict) or len(value) == 0:
        raise ExportFormatError(f"{where}: attribute value {value!r} is not understood")
    tag = next(iter(value))
    body = value[tag]
    try:
        if tag == "$dtype" and len(value) == 1 and isinstance(body, str):
            return as_dtype(body)
        if tag == "$shape" and len(value) == 1:
            if body is None:
                return TensorShape(None)
            if not isinstance(body, list) or not all(
                    d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
                    for d in body):
                raise ExportFormatError(f"{where}: bad shape {body!r}")
            return TensorShape(body)
        if tag == "$tuple" and len(value) == 1 and isinstance(body, list):
            return tuple(decode_attr(v, where, consts, bodies) for v in body)
        if tag == "$dict" and len(value) == 1 and isinstance(body, dict):
            return {str(k): decode_attr(v, where, consts, bodies) for k, v in body.items()}
        if tag == "$array" and len(value) == 1 and isinstance(body, str):
            if body not in consts:
                raise ExportFormatError(f"{where}: constant {body!r} is missing from "
                                        f"{CONSTS_FILE}")
            arr = consts[body]
            arr.flags.writeable = False
            return arr
        if tag == "$strings" and set(value) == {"$strings", "shape"}:
            if not isinstance(body, list) or not all(isinstance(s, str) for s in body):
                raise ExportFormatError(f"{where}: bad string array")
            # bytes, as the graph held them (a string Const holds bytes, as TF's): the
            # served outputs are bytes, as Estimator.predict's
            arr = np.empty(len(body), dtype=object)
            arr[:] = [s.encode("utf-8") for s in body]
            return arr.reshape([int(d) for d in value["shape"]])
        if tag == "$scalar" and len(value) == 1 and isinstance(body, list) and len(body) == 2:
            dtype = np.dtype(str(body[0]))
            if dtype.kind not in _NUMERIC_KINDS:
                raise ExportFormatError(f"{where}: bad scalar dtype {body[0]!r}")
            return dtype.type(decode_attr(body[1], where, consts))
        if tag == "$body" and len(value) == 1:
            if bodies is None:
                raise ExportFormatError(f"{where}: a control-flow sub-graph ($body) in a "
                                        "format_version 1 file (it needs format_version 2)")
            return bodies(body, where)
        if tag == "$ellipsis" and len(value) == 1 and body is None:
            return Ellipsis
        if tag == "$slice" and len(value) == 1 and isinstance(body, list) and len(body) == 3 \
                and all(p is None or (isinstance(p, int) and not isinstance(p, bool))
                        for p in body):
            if body[2] == 0:
                raise ExportFormatError(f"{where}: slice step cannot be zero")
            return slice(*body)
        if tag == "$float" and len(value) == 1 and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$bytes" and isinstance(body, str):
            if len(value) == 1:
                return body.encode("utf-8")
            if set(value) == {"$bytes", "encoding"} and value["encoding"] == "base64":
                return base64.b64decode(body.encode("ascii"), validate=True)
    except ExportFormatError:
        raise
    except (TypeError, ValueError, KeyError) as e:  # binascii.Error is a ValueError
        raise ExportFormatError(f"{where}: attribute value {value!r} is not understood "
                                f"({e})") from None
    raise ExportFormatError(f"{where}: attribute value {value!r} is not understood (unknown "
                            "tag)")


def json_checksum(data: dict) -> str:
    """``"crc32:<8 hex>"`` of the canonical JSON of ``data`` without its ``checksum``."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return f"crc32:{zlib.crc32(canon.encode('utf-8')) & 0xFFFFFFFF:08x}"


def _file_crc32(full: str) -> tuple[int, str]:
    """Size and CRC-32 (8 hex digits) of a file, read in 1 MiB chunks."""
    crc, size = 0, 0
    with open(full, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return size, f"{crc & 0xFFFFFFFF:08x}"


def file_manifest(export_dir: str, exclude: str = GRAPH_FILE) -> dict[str, dict]:
    """``relative path -> {"size", "crc32"}`` of every regular file under ``export_dir``
    but ``exclude`` (paths with ``/``, sorted)."""
    out = {}
    for root, dirs, files in os.walk(export_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, export_dir).replace(os.sep, "/")
            if rel == exclude or not os.path.isfile(full) or os.path.islink(full):
                continue
            size, crc = _file_crc32(full)
            out[rel] = {"size": size, "crc32": crc}
    return out


def verify_files(export_dir: str, data: dict) -> None:
    """Check every file listed in ``data["files"]`` (if any): present, same size, same
    CRC-32. Raises :class:`ExportFormatError` naming the first file that differs."""
    files = data.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise ExportFormatError(f"{os.path.join(export_dir, GRAPH_FILE)}: field 'files' "
                                "is not a dict")
    root = os.path.realpath(export_dir)
    for rel, want in files.items():
        full = os.path.realpath(os.path.join(root, *str(rel).split("/")))
        if not isinstance(rel, str) or os.path.isabs(rel) or \
                os.path.commonpath([root, full]) != root or not isinstance(want, dict):
            raise ExportFormatError(f"{os.path.join(export_dir, GRAPH_FILE)}: bad entry "
                                    f"{str(rel)[:200]!r} in 'files'")
        if not os.path.isfile(full):
            raise ExportFormatError(f"{full} is missing (the export lists it in "
                                    f"{GRAPH_FILE}): the export directory is incomplete")
        size, crc = _file_crc32(full)
        if size != want.get("size") or crc != want.get("crc32"):
            raise ExportFormatError(
                f"{full} is corrupted: its size and CRC-32 ({size} bytes, {crc}) differ from "
                f"those recorded at export ({want.get('size')!r} bytes, "
                f"{want.get('crc32')!r}); the file was damaged, truncated or replaced")


def write_json(path: str, data: dict) -> None:
    """Write ``data`` (plus its checksum) as UTF-8 JSON, atomically.

    Write it last: the ``files`` field records the size and CRC-32 of every other file
    already in ``path``'s directory (see :func:`verify_files`).
    """
    data = dict(data)
    data["files"] = file_manifest(os.path.dirname(os.path.abspath(path)),
                                  exclude=os.path.basename(path))
    data["checksum"] = json_checksum(data)
    text = json.dumps(data, indent=1, sort_keys=False, allow_nan=False)
    atomic_write(path, [text.encode("utf-8")])


def read_json(path: str) -> dict:
    """Read and validate the top level of ``saved_model.json``."""
    if not os.path.isfile(path):
        raise ExportFormatError(f"{path} does not exist: not an estcore export directory "
                                "(expected the file written by export_saved_model)")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        _check_depth(path, raw)
        data = json.loads(raw.decode("utf-8"), parse_constant=lambda c: _bad_constant(path, c))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ExportFormatError(f"{path} is corrupted or truncated (invalid JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ExportFormatError(f"{path} is not an estcore saved model (missing "
                                f"\"format\": \"{FORMAT_NAME}\")")
    if data.get("checksum") != json_checksum(data):
        raise ExportFormatError(f"{path} is corrupted: checksum mismatch (the file was "
                                "modified or damaged after export)")
    version = data.get("format_version")
    if isinstance(version, bool) or version not in FORMAT_VERSIONS:
        known = " or ".join(str(v) for v in FORMAT_VERSIONS)
        raise ExportFormatError(
            f"{path} has format_version {version!r}; this estcore reads format_version "
            f"{known} only (re-export the model with this estcore version, or "
            "upgrade estcore)")
    for key, kind in (("graph", dict), ("signatures", dict)):
        if not isinstance(data.get(key), kind):
            raise ExportFormatError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    return data


def _check_depth(path: str, raw: bytes) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH`, counting brackets outside
    strings without recursion, in linear time and a few bytes of scratch per byte (for
    invalid JSON the count may be off; ``json.loads`` refuses that text anyway)."""
    codes = np.frombuffer(raw, dtype=np.uint8)
    n = codes.size
    if n == 0:
        return
    pos = np.arange(n, dtype=np.int64 if n >= 2**31 else np.int32)
    last_plain = np.maximum.accumulate(np.where(codes == 0x5C, -1, pos))  # not a backslash
    quotes = np.flatnonzero(codes == 0x22)
    before = quotes - 1
    backslashes = np.where(quotes > 0, before - last_plain[np.maximum(before, 0)], 0)
    real = quotes[backslashes % 2 == 0]  # a quote after an even run of backslashes
    del pos, last_plain, quotes, before, backslashes
    toggles = np.zeros(n, dtype=np.int8)
    toggles[real] = 1
    outside = (np.cumsum(toggles, dtype=np.int32) & 1) == 0
    del toggles
    steps = (np.isin(codes, (0x5B, 0x7B)).astype(np.int8)
             - np.isin(codes, (0x5D, 0x7D)).astype(np.int8))
    steps[~outside] = 0
    depth = int(np.cumsum(steps, dtype=np.int32).max())
    if depth > MAX_JSON_DEPTH:
        raise ExportFormatError(f"{path} is corrupted or not an estcore saved model: its JSON "
                                f"nests {depth} levels deep (at most {MAX_JSON_DEPTH})")


def _bad_constant(path: str, c: str) -> Any:
    raise ExportFormatError(f"{path}: non-standard JSON constant {c}")
