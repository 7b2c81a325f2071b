"""Helpers for the distribute tests: launching training processes with a timeout.

Multi-process tests need MPI (the ``mpi`` extra: mpi4py + MPICH wheels). When it
is missing they FAIL with the install command; they never skip silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("train_script.py")
GLOBAL_BATCH = 12  # of the multi-process tests' runs
STEPS = 10
HINT = "pip install 'estcore[mpi]' (mpi4py + mpich from PyPI)"


def mpiexec_path() -> str:
    """The mpiexec next to this Python (the mpich wheel's), else on PATH; fails loudly."""
    here = Path(sys.executable).with_name("mpiexec")
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail(f"mpiexec not found: the distribute tests need MPI. Install it with {HINT}")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.fail(f"mpi4py is not installed: the distribute tests need it. {HINT}")
    return found


def clean_env(**extra: str) -> dict:
    """This environment without TF_CONFIG or process-manager variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k != "TF_CONFIG" and not k.startswith(("PMI_", "PMIX_", "OMPI_", "HYDRA_"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tf_config(port_chief: int, ports_workers: list[int], task: str, index: int) -> str:
    import json

    return json.dumps({"cluster": {"chief": [f"127.0.0.1:{port_chief}"],
                                   "worker": [f"127.0.0.1:{p}" for p in ports_workers]},
                       "task": {"type": task, "index": index}})


def script_args(model_dir: Path, out: Path, global_batch: int, steps: int, *extra: str) -> list:
    return [sys.executable, str(SCRIPT), str(model_dir), str(out), str(global_batch),
            str(steps), *extra]


def run(cmd: list, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``cmd``; on timeout kill its process group and fail with its output."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd} did not finish within {timeout} s.\nstdout:\n{out}\n"
                    f"stderr:\n{err[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def check_ok(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 0, f"exit {res.returncode}\nstderr:\n{res.stderr[-6000:]}"


def load(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def wait_for(path: Path, timeout: float, procs: list) -> None:
    """Wait until ``path`` exists (training made progress); fail if a process ended first."""
    end = time.monotonic() + timeout
    while not path.exists():
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"a process ended early (exit {p.returncode}): "
                            f"{p.stderr.read()[-4000:] if p.stderr else ''}")
        if time.monotonic() > end:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def python_children(pid: int) -> list[int]:
    """Descendants of ``pid`` running the training script."""
    found = []
    for c in descendants(pid):
        try:
            with open(f"/proc/{c}/cmdline", "rb") as f:
                if SCRIPT.name.encode() in f.read():
                    found.append(c)
        except OSError:
            continue
    return found
