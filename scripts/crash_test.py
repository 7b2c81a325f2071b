#!/usr/bin/env python
"""Crash test: train with SIGKILLs at random moments, restart each time, check nothing is lost.

A worker process trains a small MLP in the epoch-per-call workflow (one
``Estimator.train`` per epoch over ``numpy_input_fn(num_epochs=1, shuffle=True)``,
checkpoints every 5 steps, ``keep_checkpoint_max=3``) and exports the model after each
epoch. Every write pauses mid-file (``ESTCORE_TEST_WRITE_PAUSE_S``) so that kills land
inside checkpoint, state-file and export writes too. The driver kills the worker with
SIGKILL after a random delay, inspects the directory, starts a new worker, and so on
until a worker finishes; then it starts a new round in a fresh directory until the
requested number of kills is reached. Checked and reported:

* every restart restores the newest checkpoint completely saved before the kill (the
  one the state file names; the file is CRC-checked by the driver): ``restored_ok``,
  ``data_lost`` (restarts that came back at an older step);
* leftovers of the kill (``.tmp-*`` files, ``temp-<ts>`` export directories) are gone
  once the next worker has started training / finished an export: ``leftovers``;
* checkpoint files on disk at any kill never exceed ``keep_checkpoint_max`` + 1 (the
  save whose rotation was cut short) and at the end of a round ``keep_checkpoint_max``;
* each round's final variables are bit-identical to an uninterrupted run's.

Usage::

    python scripts/crash_test.py --kills 200 [--seed 1] [--workdir DIR] [--json]

Exit status 0 when every check passed. ``tests/reliability/test_crash.py`` runs a short
version through :func:`run_crash_test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

EPOCHS = 5
ROWS, BATCH = 400, 20
STEPS_PER_EPOCH = ROWS // BATCH
SAVE_STEPS, KEEP_MAX = 5, 3
PAUSE_S = 0.01
_CKPT = re.compile(r"^model\.ckpt-(\d+)\.data$")


# ----------------------------------------------------------------------------- worker

def _worker(model_dir: str, journal: str) -> int:
    """Train EPOCHS epochs (one train() each) and export after each; resumable."""
    import numpy as np

    import estcore as ec
    from estcore.checkpoint.state import CheckpointReader
    from estcore.estimator import (
        Estimator,
        EstimatorSpec,
        ModeKeys,
        RunConfig,
        SessionRunHook,
    )
    from estcore.estimator.export import build_raw_serving_input_receiver_fn
    from estcore.inputs import numpy_input_fn

    def note(line: str) -> None:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    class Journal(SessionRunHook):
        def begin(self):
            self.gs = ec.train.get_global_step()

        def after_create_session(self, session, coord):
            note(f"start {int(session.run(self.gs))}")

    def model_fn(features, labels, mode):
        h = ec.layers.dense(features["x"], 64, activation=ec.nn.relu)
        h = ec.layers.dense(h, 64, activation=ec.nn.relu)
        logits = ec.layers.dense(h, 4)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"logits": logits})
        loss = ec.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        train_op = ec.train.AdamOptimizer(1e-2).minimize(
            loss, global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 16)).astype(np.float32)
    y = (x[:, :4].argmax(axis=1)).astype(np.int32)
    est = Estimator(model_fn, model_dir=model_dir, config=RunConfig(
        tf_random_seed=1, save_checkpoints_steps=SAVE_STEPS, keep_checkpoint_max=KEEP_MAX,
        log_step_count_steps=None, save_summary_steps=None))
    base = os.path.join(model_dir, "export")
    serving = build_raw_serving_input_receiver_fn(
        {"x": ec.placeholder(ec.float32, [None, 16], name="x")})

    def step() -> int:
        ckpt = est.latest_checkpoint()
        return 0 if ckpt is None else int(CheckpointReader(ckpt).get_tensor("global_step"))

    def exported() -> set:
        steps = set()
        for name in os.listdir(base) if os.path.isdir(base) else []:
            if name.isdigit():
                with open(os.path.join(base, name, "saved_model.json")) as f:
                    steps.add(json.load(f)["global_step"])
        return steps

    for epoch in range(EPOCHS):
        target = (epoch + 1) * STEPS_PER_EPOCH
        if step() < target:
            est.train(numpy_input_fn({"x": x}, y, batch_size=BATCH, num_epochs=1,
                                     shuffle=True), hooks=[Journal()])
        if target not in exported():
            est.export_saved_model(base, serving)
            note(f"exported {target}")
    note("done")
    return 0


# ----------------------------------------------------------------------------- driver

def _valid_steps(model_dir: str) -> set:
    """Steps of the checkpoint files in model_dir that pass the full CRC check."""
    from estcore.checkpoint.format import CheckpointCorruptError, read_header

    steps = set()
    for name in os.listdir(model_dir):
        m = _CKPT.match(name)
        if m:
            try:
                read_header(os.path.join(model_dir, name))
            except (CheckpointCorruptError, OSError):
                continue
            steps.add(int(m.group(1)))
    return steps


def _inspect(model_dir: str) -> dict:
    """What a kill left: the step a restart must restore, leftovers, checkpoint count."""
    from estcore.checkpoint.state import get_checkpoint_state

    if not os.path.isdir(model_dir):
        return {"expected": 0, "tmp": [], "temp_dirs": [], "ckpts": 0, "where": "start-up"}
    valid = _valid_steps(model_dir)
    state = get_checkpoint_state(model_dir)
    named = None
    if state is not None:
        m = _CKPT.match(os.path.basename(state.model_checkpoint_path) + ".data")
        named = int(m.group(1)) if m else None
    expected = named if named in valid else (max(valid) if valid else 0)
    tmp = sorted(n for n in os.listdir(model_dir) if n.startswith(".tmp-"))
    base = os.path.join(model_dir, "export")
    temp_dirs = sorted(n for n in os.listdir(base) if n.startswith("temp-")) \
        if os.path.isdir(base) else []
    ckpts = sum(1 for n in os.listdir(model_dir) if _CKPT.match(n))
    if any(".tmp-checkpoint" in n for n in tmp):
        where = "state-file write"
    elif tmp:
        where = "checkpoint write"
    elif temp_dirs:
        where = "export write"
    else:
        where = "elsewhere"
    return {"expected": expected, "tmp": tmp, "temp_dirs": temp_dirs, "ckpts": ckpts,
            "where": where}


def _journal(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().split("\n")[:-1]


def _final_variables(model_dir: str) -> dict:
    from estcore.checkpoint.format import read_checkpoint
    from estcore.checkpoint.state import latest_checkpoint

    values, _ = read_checkpoint(latest_checkpoint(model_dir))
    return values


def _identical(a: dict, b: dict) -> bool:
    import numpy as np

    return sorted(a) == sorted(b) and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k])
        for k in a)


def _spawn(model_dir: str, journal: str, pause: float) -> subprocess.Popen:
    env = dict(os.environ)
    env["ESTCORE_TEST_WRITE_PAUSE_S"] = repr(pause) if pause else ""
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", model_dir,
                             journal], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _run_to_end(model_dir: str, journal: str, pause: float) -> tuple[float, str]:
    start = time.monotonic()
    proc = _spawn(model_dir, journal, pause)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"uninterrupted worker failed:\n{err.decode()[-3000:]}")
    return time.monotonic() - start, err.decode()


def run_crash_test(kills: int = 20, seed: int = 0, workdir: str | None = None,
                   pause: float = PAUSE_S, log=None) -> dict:
    """Run the crash test; returns the report (see the module docstring)."""
    rng = random.Random(seed)
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="estcore-crash-")
    os.makedirs(workdir, exist_ok=True)
    say = log or (lambda *_: None)
    try:
        ref_dir = os.path.join(workdir, "reference")
        shutil.rmtree(ref_dir, ignore_errors=True)
        # the uninterrupted run (its duration, pauses included, is the range of the kill
        # delays; the pauses change no value)
        span, _ = _run_to_end(ref_dir, os.path.join(workdir, "reference.journal"), pause)
        reference = _final_variables(ref_dir)
        report = {"kills": 0, "rounds": 0, "rounds_bit_identical": 0, "restarts_checked": 0,
                  "restored_ok": 0, "data_lost": 0, "leftovers": 0, "worker_errors": 0,
                  "max_ckpts_at_kill": 0, "ckpts_over_limit_at_kill": 0,
                  "ckpts_over_limit_at_end": 0, "kills_by_place": {}, "failures": [],
                  "uninterrupted_run_s": round(span, 2)}
        while report["kills"] < kills:
            report["rounds"] += 1
            model_dir = os.path.join(workdir, f"round{report['rounds']}")
            journal = model_dir + ".journal"
            shutil.rmtree(model_dir, ignore_errors=True)
            pending = None  # what the last kill left, to check against the next worker
            while True:
                seen = len(_journal(journal))
                proc = _spawn(model_dir, journal, pause)
                killed = False
                if report["kills"] < kills:
                    try:
                        proc.wait(timeout=rng.uniform(0.0, span))
                    except subprocess.TimeoutExpired:
                        proc.send_signal(signal.SIGKILL)
                        killed = True
                _, err = proc.communicate()
                lines = _journal(journal)[seen:]
                _check_restart(report, pending, lines, model_dir)
                if killed:
                    report["kills"] += 1
                    pending = _inspect(model_dir)
                    where = pending["where"]
                    report["kills_by_place"][where] = report["kills_by_place"].get(where, 0) + 1
                    report["max_ckpts_at_kill"] = max(report["max_ckpts_at_kill"],
                                                      pending["ckpts"])
                    if pending["ckpts"] > KEEP_MAX + 1:
                        report["ckpts_over_limit_at_kill"] += 1
                        report["failures"].append(f"{model_dir}: {pending['ckpts']} checkpoint "
                                                  "files at a kill")
                    say(f"kill {report['kills']}: {where}, restore expected at step "
                        f"{pending['expected']}")
                    continue
                if proc.returncode != 0:
                    report["worker_errors"] += 1
                    report["failures"].append(f"{model_dir}: worker exited with "
                                              f"{proc.returncode}: {err.decode()[-2000:]}")
                    break
                if "done" not in lines:
                    report["failures"].append(f"{model_dir}: worker ended without 'done'")
                    break
                _finish_round(report, model_dir, reference)
                break
        report["passed"] = not report["failures"] and report["data_lost"] == 0
        return report
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def _check_restart(report: dict, pending: dict | None, lines: list[str],
                   model_dir: str) -> None:
    """Compare what the worker after a kill did with what the kill left."""
    if pending is None:
        return
    starts = [int(line.split()[1]) for line in lines if line.startswith("start ")]
    exports = [line for line in lines if line.startswith("exported ")]
    if starts:
        report["restarts_checked"] += 1
        if starts[0] == pending["expected"]:
            report["restored_ok"] += 1
        else:
            if starts[0] < pending["expected"]:
                report["data_lost"] += 1
            report["failures"].append(f"{model_dir}: restored step {starts[0]}, the last "
                                      f"completed save was step {pending['expected']}")
        for name in pending["tmp"]:
            if os.path.exists(os.path.join(model_dir, name)):
                report["leftovers"] += 1
                report["failures"].append(f"{model_dir}: {name} still there after a restart")
        pending["tmp"] = []
    if exports:
        for name in pending["temp_dirs"]:
            if os.path.exists(os.path.join(model_dir, "export", name)):
                report["leftovers"] += 1
                report["failures"].append(f"{model_dir}: export/{name} still there after "
                                          "the next export")
        pending["temp_dirs"] = []


def _finish_round(report: dict, model_dir: str, reference: dict) -> None:
    from estcore.checkpoint.state import get_checkpoint_state

    if _identical(_final_variables(model_dir), reference):
        report["rounds_bit_identical"] += 1
    else:
        report["failures"].append(f"{model_dir}: final variables differ from the "
                                  "uninterrupted run")
    files = sorted(n for n in os.listdir(model_dir) if _CKPT.match(n))
    state = get_checkpoint_state(model_dir)
    listed = {os.path.basename(p) + ".data" for p in state.all_model_checkpoint_paths}
    if len(files) > KEEP_MAX or set(files) - listed:
        report["ckpts_over_limit_at_end"] += 1
        report["failures"].append(f"{model_dir}: checkpoints at the end {files}, listed "
                                  f"{sorted(listed)}")
    base = os.path.join(model_dir, "export")
    for name in os.listdir(base):
        if not name.isdigit():
            report["leftovers"] += 1
            report["failures"].append(f"{model_dir}: export/{name} left at the end")


def _format(report: dict) -> str:
    k = report["kills"]
    lines = [
        f"kills: {k} in {report['rounds']} rounds (uninterrupted run "
        f"{report['uninterrupted_run_s']} s); where they landed: "
        + ", ".join(f"{v} {p}" for p, v in sorted(report["kills_by_place"].items())),
        f"restarts from the last completed save: {report['restored_ok']} of "
        f"{report['restarts_checked']} checked (the others were killed before training)",
        f"restarts that lost data beyond the last completed save: {report['data_lost']}",
        f"leftover files after the next start: {report['leftovers']}",
        f"checkpoint files at a kill: at most {report['max_ckpts_at_kill']} (limit "
        f"keep_checkpoint_max {KEEP_MAX} + 1 being rotated in); over it: "
        f"{report['ckpts_over_limit_at_kill']}; rounds ending over {KEEP_MAX}: "
        f"{report['ckpts_over_limit_at_end']}",
        f"final variables bit-identical to the uninterrupted run: "
        f"{report['rounds_bit_identical']} of {report['rounds']} rounds",
        f"worker errors: {report['worker_errors']}",
        "PASSED" if report["passed"] else "FAILED:\n  " + "\n  ".join(report["failures"]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--pause", type=float, default=PAUSE_S,
                        help="seconds every write pauses mid-file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL_DIR", "JOURNAL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(*args.worker)
    report = run_crash_test(args.kills, args.seed, args.workdir, args.pause,
                            log=None if args.json else print)
    print(json.dumps(report, indent=1) if args.json else _format(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
