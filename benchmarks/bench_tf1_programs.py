"""The TF1 program corpus (tests/compat/programs/) with estcore and with TensorFlow 2.15.

Each program runs twice, each time in a fresh process with the same arguments (same steps,
same data): as written (``import estcore.compat.v1 as tf``) and with that line rewritten to
``import tensorflow.compat.v1 as tf`` (followed by ``tf.disable_v2_behavior()`` only when the
program fails without it: programs that build graphs by hand). A small driver imports the
framework first, then runs the program with ``runpy``, so three times are measured:

* ``import``: importing ``estcore.compat.v1`` / ``tensorflow.compat.v1``;
* ``run``: the program itself after the import (graph building, training, evaluation);
* ``wall``: the whole process, interpreter start included (what a user waits for).

The ratios are estcore / TF (below 1: estcore is faster). Each program's last stdout line
(its JSON metrics) is shown for both, so the metrics can be compared too. A program that
TF 2.15 cannot run (``tf.contrib`` is gone from TF 2.x) is listed with TF's error.

TensorFlow is never a dependency: give its Python with ``ESTCORE_TF_PYTHON`` (or
``--tf-python``), e.g. ``/work/tf-venv/bin/python`` (tensorflow-cpu 2.15.1 +
tensorflow-estimator 2.15.0, numpy, scikit-learn). Without it the benchmark is skipped and
says so. Run (heavy: the whole corpus twice; use the shared lock on a shared machine)::

    ESTCORE_TF_PYTHON=/work/tf-venv/bin/python python benchmarks/bench_tf1_programs.py
    python benchmarks/bench_tf1_programs.py --tf-python PY --programs mlp_digits_custom.py
    python -m pytest benchmarks/bench_tf1_programs.py      # the same, as a test
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "compat" / "programs"
IMPORT_LINE = re.compile(r"^import estcore\.compat\.v1 as tf[ \t]*$", re.M)
# How each program is told where to write (the corpus's own conventions); others get
# --model_dir. ``{dir}`` is a fresh temporary directory per run.
ARGS = {
    "raw_session_global_step.py": ["{dir}"],
    "towers_reuse.py": ["{dir}"],
    "batchnorm_update_ops.py": ["--model_dir={dir}", "--style=deps"],
}
TIMEOUT_S = 1800

DRIVER = """\
import json, runpy, sys, time
t0 = time.perf_counter()
import {framework}
t1 = time.perf_counter()
sys.argv = [{program!r}] + {args!r}
code = 0
try:
    runpy.run_path({program!r}, run_name="__main__")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
t2 = time.perf_counter()
with open({times!r}, "w") as f:
    json.dump({{"import_s": t1 - t0, "run_s": t2 - t1}}, f)
sys.exit(code)
"""


def tf_python(explicit: str | None = None) -> str | None:
    """The TensorFlow Python to compare with: ``explicit``, else ``$ESTCORE_TF_PYTHON``."""
    return explicit or os.environ.get("ESTCORE_TF_PYTHON") or None


def programs(names: list[str] | None = None) -> list[pathlib.Path]:
    found = sorted(PROGRAMS.glob("*.py"))
    if names:
        by_name = {p.name: p for p in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"unknown program(s) {missing}; the corpus has {sorted(by_name)}")
        found = [by_name[n] for n in names]
    return found


def as_tf_program(source: str, disable_v2: bool) -> str:
    """``source`` with its estcore import line rewritten to TensorFlow's."""
    line = "import tensorflow.compat.v1 as tf"
    if disable_v2:
        line += "\ntf.disable_v2_behavior()"
    new, n = IMPORT_LINE.subn(line, source, count=1)
    if n != 1:
        raise ValueError("the program has no line 'import estcore.compat.v1 as tf'")
    return new


def run_one(python: str, framework: str, program: pathlib.Path, workdir: pathlib.Path) -> dict:
    """Run ``program`` once with ``python`` in a fresh process; its times and metrics."""
    model_dir = workdir / "model"
    args = [a.format(dir=model_dir) for a in ARGS.get(program.name, ["--model_dir={dir}"])]
    times = workdir / "times.json"
    driver = workdir / "driver.py"
    driver.write_text(DRIVER.format(framework=framework, program=str(program), args=args,
                                    times=str(times)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    start = time.perf_counter()
    proc = subprocess.run([python, str(driver)], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S, cwd=str(workdir))
    wall = time.perf_counter() - start
    out = {"ok": proc.returncode == 0, "wall_s": wall, "stderr_tail": proc.stderr[-2000:]}
    if times.exists():
        out.update(json.loads(times.read_text()))
    lines = proc.stdout.strip().splitlines()
    try:
        out["metrics"] = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        out["metrics"] = None
    return out


def compare(program: pathlib.Path, tf_py: str) -> dict:
    """Run ``program`` with estcore, then with TensorFlow; the two results and ratios."""
    result: dict = {"program": program.name}
    with tempfile.TemporaryDirectory(prefix="bench-tf1-ec-") as tmp:
        result["estcore"] = run_one(sys.executable, "estcore.compat.v1", program,
                                    pathlib.Path(tmp))
    source = program.read_text()
    for disable_v2 in (False, True):
        with tempfile.TemporaryDirectory(prefix="bench-tf1-tf-") as tmp:
            rewritten = pathlib.Path(tmp) / program.name
            rewritten.write_text(as_tf_program(source, disable_v2))
            tf_result = run_one(tf_py, "tensorflow.compat.v1", rewritten, pathlib.Path(tmp))
        tf_result["disable_v2_behavior"] = disable_v2
        if tf_result["ok"]:
            break
    result["tf"] = tf_result
    ec, tfr = result["estcore"], result["tf"]
    if ec["ok"] and tfr["ok"]:
        for key in ("run_s", "wall_s"):
            result[f"ratio_{key[:-2]}"] = ec[key] / tfr[key]
    return result


def report(results: list[dict]) -> str:
    head = (f"{'program':28} {'estcore run':>11} {'TF run':>8} {'ratio':>6}   "
            f"{'estcore wall':>12} {'TF wall':>8} {'ratio':>6}   {'import ec/TF':>12}")
    lines = [head, "-" * len(head)]
    for r in results:
        ec, tfr = r["estcore"], r["tf"]
        if "ratio_run" not in r:
            side = ec if not ec["ok"] else tfr
            who = "estcore" if side is ec else "TF"
            last = (side["stderr_tail"].strip().splitlines() or ["?"])[-1]
            lines.append(f"{r['program']:28} {who} failed: {last[:120]}")
            continue
        lines.append(
            f"{r['program']:28} {ec['run_s']:10.2f}s {tfr['run_s']:7.2f}s {r['ratio_run']:6.2f}"
            f"   {ec['wall_s']:11.2f}s {tfr['wall_s']:7.2f}s {r['ratio_wall']:6.2f}"
            f"   {ec['import_s']:5.2f}/{tfr['import_s']:.2f}s"
            + ("  (TF: disable_v2_behavior)" if tfr.get("disable_v2_behavior") else ""))
    for r in results:
        lines.append(f"{r['program']}: estcore {r['estcore'].get('metrics')} | "
                     f"TF {r['tf'].get('metrics')}")
    return "\n".join(lines)


def test_tf1_programs_against_tensorflow():
    """Every corpus program runs with both; prints the ratios (no timing threshold)."""
    tf_py = tf_python()
    if tf_py is None:
        pytest.skip("no TensorFlow Python to compare with: set ESTCORE_TF_PYTHON to a Python "
                    "with tensorflow-cpu 2.15 + tensorflow-estimator (never a dependency)")
    pytest.importorskip("sklearn")
    results = [compare(p, tf_py) for p in programs()]
    print("\n" + report(results))
    # A program may need what TF 2.x removed (tf.contrib): reported above, not a failure.
    failed = [(r["program"], r["estcore"]["stderr_tail"]) for r in results
              if not r["estcore"]["ok"]]
    assert not failed, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tf-python", default=None,
                        help="TensorFlow's Python (default: $ESTCORE_TF_PYTHON)")
    parser.add_argument("--programs", default=None,
                        help="comma-separated program file names (default: all)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    tf_py = tf_python(args.tf_python)
    if tf_py is None:
        print("skipped: no TensorFlow Python to compare with (set ESTCORE_TF_PYTHON or pass "
              "--tf-python; TensorFlow is never a dependency of estcore)")
        return 0
    names = args.programs.split(",") if args.programs else None
    results = []
    for program in programs(names):
        r = compare(program, tf_py)
        results.append(r)
        print(f"{program.name}: " + (f"ratio run {r['ratio_run']:.2f}, wall "
                                      f"{r['ratio_wall']:.2f}" if "ratio_run" in r
                                      else "failed"), flush=True)
    print(report(results))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if all(r["estcore"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
