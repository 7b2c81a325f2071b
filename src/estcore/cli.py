"""The ``estcore`` command line: serve an export, convert checkpoints, without Python.

Usage::

    estcore --version
    estcore predict EXPORT_DIR --input file.npz|file.npy|file.csv|file.tfrecord
                    [--output out.npz|out.csv] [--signature NAME] [--batch-size N]
    estcore checkpoint convert SRC DST --to {tf,estcore} [--overwrite]

``.npz`` keys map to the signature's input names; a ``.npy`` or ``.csv`` file
(comma-separated numbers, no header; ``#`` comments allowed) feeds the
signature's only input (an error names the inputs when there are several). A
``.tfrecord`` file (TFRecord framing, one serialized ``tf.train.Example`` per
record, as TF writes them) feeds the only input of a signature that takes
serialized Examples (an export with ``build_parsing_serving_input_receiver_fn``).
Inputs are run in batches of ``--batch-size`` rows (default: all at once).
Without ``--output``, predictions are printed as JSON lines (one object per
example); ``--output`` writes an ``.npz`` (one array per output) or a ``.csv``
(one column per output element, with a header).

``checkpoint convert`` rewrites checkpoints between estcore's format and TF's tensor
bundle (:mod:`estcore.checkpoint.convert`): SRC a model_dir converts every checkpoint
in it into the directory DST (with a ``checkpoint`` state file); SRC a checkpoint
prefix (``model_dir/model.ckpt-100``) converts that one into the prefix DST (or into
the directory DST under the same name). One line per checkpoint written goes to stdout.

Also ``python -m estcore.cli``. Exit status: 0 on success, 2 on a usage or input error.

Must not: import the Estimator, the graph-building library or ``estcore.train`` (it
only loads an export through :mod:`estcore.saved_model.loader` and converts through
:mod:`estcore.checkpoint.convert`); write anything but ``--output``, the conversion's
DST and stdout / stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np

from estcore._version import __version__
from estcore.checkpoint.convert import convert_checkpoint, convert_model_dir
from estcore.errors import EstcoreError
from estcore.saved_model.loader import load
from estcore.summary.reader import EventFileCorruptError, iter_records

__all__ = ["main"]


class _CliError(Exception):
    pass


def _read_inputs(path: str, sig: Any) -> dict[str, np.ndarray]:
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise _CliError(f"--input: no such file: {path}")
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        return arrays
    if ext in (".tfrecord", ".tfrecords"):
        try:
            records = list(iter_records(path, strict=True))
        except EventFileCorruptError as e:
            raise _CliError(f"--input: {e}") from None
        arr = np.empty(len(records), dtype=object)
        arr[:] = records
        if len(sig.inputs) != 1 or next(iter(sig.inputs.values())).dtype != np.dtype(object):
            raise _CliError(f"--input: a .tfrecord file feeds serialized Examples to a "
                            f"signature with one string input; signature {sig.name!r} has "
                            f"inputs {sorted(sig.inputs)}")
        return {next(iter(sig.inputs)): arr}
    if ext == ".npy":
        arr = np.load(path, allow_pickle=False)
    elif ext == ".csv":
        try:
            arr = np.loadtxt(path, delimiter=",", ndmin=2, comments="#")
        except ValueError as e:
            raise _CliError(f"--input: {path} is not a CSV of numbers ({e})") from None
    else:
        raise _CliError(f"--input must be a .npz, .npy, .csv or .tfrecord file, got {path!r}")
    if len(sig.inputs) != 1:
        raise _CliError(f"--input: signature {sig.name!r} has {len(sig.inputs)} inputs "
                        f"{sorted(sig.inputs)}; a {ext} file feeds one input only: use a .npz "
                        "with one array per input name")
    spec = next(iter(sig.inputs.values()))
    if ext == ".csv":
        arr = arr.astype(spec.dtype)
        if spec.shape is not None and len(spec.shape) > 2:
            per = [d for d in spec.shape[1:]]
            if None in per:
                raise _CliError(f"--input: input {spec.name!r} has shape {spec.shape}; a CSV "
                                "row cannot be reshaped to it (use .npy or .npz)")
            arr = arr.reshape([arr.shape[0]] + per)
        elif spec.shape is not None and len(spec.shape) == 1:
            arr = arr.reshape(-1)
    return {spec.name: arr}


def _batches(inputs: dict[str, np.ndarray], batch_size: int | None):
    n = {k: len(v) if np.ndim(v) else 1 for k, v in inputs.items()}
    sizes = set(n.values())
    if len(sizes) != 1:
        raise _CliError(f"--input: arrays have different numbers of rows: {n}")
    total = sizes.pop()
    step = batch_size or max(total, 1)
    for lo in range(0, max(total, 1), step):
        yield {k: v[lo:lo + step] for k, v in inputs.items()}


def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_to_json(v) for v in value] if value.ndim else _to_json(value.item())
    if isinstance(value, (np.generic,)):
        return _to_json(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _write_csv(path: str, outputs: dict[str, np.ndarray]) -> None:
    cols, headers = [], []
    rows = None
    for key, arr in outputs.items():
        flat = arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1)
        rows = flat.shape[0]
        if flat.shape[1] == 1:
            headers.append(key)
        else:
            headers.extend(f"{key}_{j}" for j in range(flat.shape[1]))
        cols.append(flat)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(headers) + "\n")
        for i in range(rows or 0):
            f.write(",".join(repr(v.item()) if isinstance(v, np.floating) else str(v)
                             for c in cols for v in c[i]) + "\n")


def _predict(args: argparse.Namespace) -> int:
    predictor = load(args.export_dir)
    name = args.signature or predictor.default_signature
    if name not in predictor.signatures:
        raise _CliError(f"--signature: {name!r} is not a signature of {args.export_dir}; "
                        f"available: {sorted(predictor.signatures)}")
    sig = predictor.signatures[name]
    inputs = _read_inputs(args.input, sig)
    missing = sorted(set(sig.inputs) - set(inputs))
    extra = sorted(set(inputs) - set(sig.inputs))
    if missing or extra:
        raise _CliError(f"--input: signature {name!r} takes inputs {sorted(sig.inputs)}; "
                        f"missing: {missing}, unexpected: {extra}")
    parts: dict[str, list] = {k: [] for k in sig.outputs}
    for batch in _batches(inputs, args.batch_size):
        out = predictor(batch, signature=name)
        for k in parts:
            parts[k].append(out[k])
    outputs = {k: np.concatenate(v) if v and np.ndim(v[0]) else np.asarray(v[0])
               for k, v in parts.items()}
    if args.output:
        ext = os.path.splitext(args.output)[1].lower()
        if ext == ".npz":
            np.savez(args.output, **outputs)
        elif ext == ".csv":
            _write_csv(args.output, outputs)
        else:
            raise _CliError(f"--output must end in .npz or .csv, got {args.output!r}")
        return 0
    n = min((len(v) for v in outputs.values() if np.ndim(v)), default=0)
    for i in range(n):
        sys.stdout.write(json.dumps({k: _to_json(v[i]) for k, v in outputs.items()}) + "\n")
    return 0


def _convert(args: argparse.Namespace) -> int:
    if os.path.isdir(args.src):
        done = convert_model_dir(args.src, args.dst, args.to, overwrite=args.overwrite)
    else:
        done = [convert_checkpoint(args.src, args.dst, args.to, overwrite=args.overwrite)]
    for c in done:
        sys.stdout.write(f"{c.source} ({c.source_format}, {c.variables} variables) -> "
                         f"{c.destination} ({args.to})\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="estcore", description="estcore command line tools.")
    p.add_argument("--version", action="version", version=f"estcore {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="run an exported model on numpy/CSV inputs")
    pr.add_argument("export_dir", metavar="EXPORT_DIR",
                    help="one timestamped directory written by "
                    "Estimator.export_saved_model (export_dir_base/<timestamp>)")
    pr.add_argument("--input", required=True, help=".npz (keys = input names), .npy, .csv or "
                    ".tfrecord (serialized Examples)")
    pr.add_argument("--output", help="write predictions to .npz or .csv instead of printing")
    pr.add_argument("--signature", help="signature name (default: serving_default)")
    pr.add_argument("--batch-size", type=int, default=None, help="rows per run (default: all)")
    ck = sub.add_parser("checkpoint", help="checkpoint tools")
    ck_sub = ck.add_subparsers(dest="checkpoint_command", required=True)
    cv = ck_sub.add_parser("convert", help="rewrite checkpoints in estcore's or TF's format")
    cv.add_argument("src", metavar="SRC", help="a model_dir, or one checkpoint prefix "
                    "(model_dir/model.ckpt-100)")
    cv.add_argument("dst", metavar="DST", help="destination directory (SRC a model_dir) or "
                    "prefix / directory (SRC a prefix)")
    cv.add_argument("--to", required=True, choices=["tf", "estcore"],
                    help="the format to write: tf (TF's tensor bundle, model.ckpt-N.index "
                    "+ .data-00000-of-00001) or estcore (model.ckpt-N.data)")
    cv.add_argument("--overwrite", action="store_true",
                    help="replace destination checkpoints that already exist")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``estcore`` script; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "checkpoint":
        try:
            return _convert(args)
        except (EstcoreError, ValueError, OSError) as e:
            print(f"estcore: error: {e}", file=sys.stderr)
            return 2
    if args.batch_size is not None and args.batch_size <= 0:
        print(f"estcore: error: --batch-size must be a positive int, got {args.batch_size}",
              file=sys.stderr)
        return 2
    try:
        return _predict(args)
    except (_CliError, ValueError, KeyError, TypeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"estcore: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
