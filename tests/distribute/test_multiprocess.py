"""Several training processes on loopback: mpiexec launch, TF_CONFIG launch, faults, resume.

Every subprocess runs with a timeout (conftest.run); a process that hangs fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .helpers import (
    GLOBAL_BATCH,
    STEPS,
    check_ok,
    clean_env,
    free_port,
    load,
    python_children,
    run,
    script_args,
    tf_config,
    wait_for,
)

pytestmark = pytest.mark.slow


def files_under(path: Path) -> list[str]:
    if not path.exists():
        return []
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def check_replicas(out: Path, n: int, reference: dict) -> None:
    values = [load(Path(f"{out}.rank{r}.npz")) for r in range(n)]
    assert set(values[0]) == set(reference)
    for r in range(1, n):  # replicas are identical, bit for bit
        for k in reference:
            np.testing.assert_array_equal(values[r][k], values[0][k], err_msg=f"rank {r} {k}")
    for k, ref in reference.items():  # and equal to one process with the global batch
        np.testing.assert_allclose(values[0][k], ref, rtol=1e-5, atol=1e-6, err_msg=k)


def check_only_chief_wrote(model_dir: Path, n: int) -> None:
    chief = files_under(model_dir / "rank0")
    assert "checkpoint" in chief and any(f.startswith("events.out.tfevents") for f in chief)
    assert f"model.ckpt-{STEPS}.data" in chief
    for r in range(1, n):
        assert files_under(model_dir / f"rank{r}") == [], f"rank {r} wrote files"


@pytest.mark.parametrize("n", [2, 3])
def test_mpiexec_matches_single_process(n, tmp_path, mpiexec, reference):
    res = run([mpiexec, "-n", str(n), *script_args(tmp_path / "m", tmp_path / "out",
                                                   GLOBAL_BATCH, STEPS,
                                                   "--model-dir-per-rank")], clean_env())
    check_ok(res)
    check_replicas(tmp_path / "out", n, reference)
    check_only_chief_wrote(tmp_path / "m", n)
    for r in range(n):
        task = "chief:0" if r == 0 else f"worker:{r - 1}"
        assert f"done rank={r} task={task} workers={n}" in res.stdout
        assert f"[{task}] estcore.distribute: MPIStrategy, task {task} = rank {r} of {n} " \
               "(mpiexec)" in res.stderr
    assert "using estcore.distribute.MPIStrategy()" in res.stderr


def start_tf_config_job(tmp_path: Path, mpiexec: str, n: int, steps: int, *extra: str):
    chief_port, worker_ports = free_port(), [free_port() for _ in range(n - 1)]
    procs = []
    for task, index in [("chief", 0)] + [("worker", i) for i in range(n - 1)]:
        env = clean_env(TF_CONFIG=tf_config(chief_port, worker_ports, task, index))
        cmd = [mpiexec, "-n", "1", *script_args(tmp_path / "m", tmp_path / "out",
                                                GLOBAL_BATCH, steps, "--model-dir-per-rank",
                                                *extra)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    return procs


def finish(procs, timeout: float) -> list[tuple[int, str, str]]:
    out = []
    end = time.monotonic() + timeout
    for p in procs:
        try:
            o, e = p.communicate(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                try:
                    os.killpg(q.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            pytest.fail(f"a TF_CONFIG process did not finish within {timeout} s")
        out.append((p.returncode, o, e))
    return out


def test_tf_config_two_processes_match_single_process(tmp_path, mpiexec, reference):
    results = finish(start_tf_config_job(tmp_path, mpiexec, 2, STEPS, "--explicit"), 120)
    for rc, _, err in results:
        assert rc == 0, err[-6000:]
    check_replicas(tmp_path / "out", 2, reference)
    check_only_chief_wrote(tmp_path / "m", 2)
    assert "(tf_config)" in results[0][2] and "worker rank 1 joined" in results[0][2]


@pytest.mark.parametrize("victim", ["worker", "chief"])
def test_tf_config_killed_process_stops_the_other(victim, tmp_path, mpiexec):
    procs = start_tf_config_job(tmp_path, mpiexec, 2, 10**6, "--explicit",
                                "--peer-timeout", "5", "--sleep-per-step", "0.02")
    try:
        wait_for(tmp_path / "m" / "rank0" / "model.ckpt-5.data", 90, procs)
        dead, alive = (procs[1], procs[0]) if victim == "worker" else (procs[0], procs[1])
        for pid in python_children(dead.pid):
            os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, err = alive.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        pytest.fail("the surviving process did not stop within 60 s of its peer's death")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.communicate()
    assert alive.returncode != 0
    assert elapsed < 60
    other = "worker:0 (rank 1)" if victim == "worker" else "chief:0 (rank 0)"
    assert "PeerFailure" in err and f"{other} sent no heartbeat" in err, err[-4000:]
    assert "Restart the job to resume from the chief's last checkpoint" in err


class _LoggedJob:
    """Processes of a 3-task TF_CONFIG job (chief + 2 workers) started one at a time, each
    under its own mpiexec with stderr in a file (readable while it runs)."""

    def __init__(self, tmp_path, mpiexec):
        self.tmp_path, self.mpiexec = tmp_path, mpiexec
        self.chief_port, self.worker_ports = free_port(), [free_port(), free_port()]
        self.procs, self.logs = [], []

    def start(self, task, index, rendezvous_timeout):
        env = clean_env(TF_CONFIG=tf_config(self.chief_port, self.worker_ports, task, index))
        log = self.tmp_path / f"{task}{index}.err"
        cmd = [self.mpiexec, "-n", "1",
               *script_args(self.tmp_path / "m", self.tmp_path / "out", GLOBAL_BATCH, STEPS,
                            "--model-dir-per-rank", "--explicit",
                            "--rendezvous-timeout", str(rendezvous_timeout))]
        with open(log, "w") as err:
            self.procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                               stderr=err, start_new_session=True))
        self.logs.append(log)

    def wait_for_log(self, i, text, timeout):
        end = time.monotonic() + timeout
        while text not in self.logs[i].read_text():
            if time.monotonic() > end or self.procs[i].poll() is not None:
                pytest.fail(f"{text!r} not logged: " + self.logs[i].read_text()[-3000:])
            time.sleep(0.05)

    def kill_all(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def test_tf_config_process_dying_during_rendezvous_does_not_hang(tmp_path, mpiexec):
    # worker:0 joins the chief's group, then dies; when worker:1 arrives, the chief and
    # worker:0 would have to accept it together, so the chief (and worker:1, connecting)
    # wait inside MPI, which cannot be interrupted: the rendezvous watchdog ends them.
    from estcore.distribute.rendezvous import RENDEZVOUS_GRACE_SECS

    timeout = 8.0
    job = _LoggedJob(tmp_path, mpiexec)
    try:
        job.start("chief", 0, timeout)
        job.start("worker", 0, timeout)
        job.wait_for_log(0, "worker rank 1 joined", 60)
        for pid in python_children(job.procs[1].pid):
            os.kill(pid, signal.SIGKILL)
        job.procs[1].wait(timeout=30)
        job.start("worker", 1, timeout)
        t0 = time.monotonic()
        for p in (job.procs[0], job.procs[2]):
            p.wait(timeout=timeout + RENDEZVOUS_GRACE_SECS + 60)
        elapsed = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        pytest.fail("a process blocked in the rendezvous did not end")
    finally:
        job.kill_all()
    assert elapsed < timeout + RENDEZVOUS_GRACE_SECS + 60
    for i, blocked_in in ((0, "MPI_Comm_accept"), (2, "MPI_Comm_")):
        text = job.logs[i].read_text()
        assert job.procs[i].returncode != 0, text[-3000:]
        assert "the training group did not form within rendezvous_timeout_secs=8" in text, \
            text[-3000:]
        assert f"is blocked in {blocked_in}" in text and "Restart all tasks" in text


def test_tf_config_worker_started_long_before_the_others_waits_for_them(tmp_path, mpiexec):
    # worker:0 (own rendezvous deadline 8 s) is admitted by a chief with a 60 s deadline
    # and must then wait, inside MPI, past its own deadline for worker:1: its watchdog
    # follows the chief's deadline instead of ending it.
    from estcore.distribute.rendezvous import RENDEZVOUS_GRACE_SECS

    job = _LoggedJob(tmp_path, mpiexec)
    try:
        t0 = time.monotonic()
        job.start("worker", 0, 8)
        job.start("chief", 0, 60)
        job.wait_for_log(1, "worker rank 1 joined", 50)
        time.sleep(max(0.0, t0 + 8 + RENDEZVOUS_GRACE_SECS + 2 - time.monotonic()))
        assert job.procs[0].poll() is None, job.logs[0].read_text()[-3000:]  # still waiting
        job.start("worker", 1, 60)
        for p in job.procs:
            p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the staggered TF_CONFIG job did not finish")
    finally:
        job.kill_all()
    for p, log in zip(job.procs, job.logs, strict=True):
        assert p.returncode == 0, log.read_text()[-3000:]


def test_mpiexec_killed_rank_ends_the_job(tmp_path, mpiexec):
    cmd = [mpiexec, "-n", "3", *script_args(tmp_path / "m", tmp_path / "out", GLOBAL_BATCH,
                                            10**6, "--model-dir-per-rank",
                                            "--sleep-per-step", "0.02")]
    proc = subprocess.Popen(cmd, env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(tmp_path / "m" / "rank0" / "model.ckpt-5.data", 90, [proc])
        ranks = python_children(proc.pid)
        assert len(ranks) == 3
        os.kill(ranks[1], signal.SIGKILL)
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("mpiexec did not end within 60 s of a rank's death")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode != 0
    assert not [p for p in ranks if os.path.exists(f"/proc/{p}")
                and open(f"/proc/{p}/stat").read().split()[2] != "Z"]


def test_restart_resumes_from_chief_checkpoint(tmp_path, mpiexec):
    """Two mpiexec jobs of STEPS steps each == one process training 2*STEPS in two calls."""
    ref_dir = tmp_path / "ref"
    env = clean_env()
    for steps in (STEPS, 2 * STEPS):
        check_ok(run(script_args(ref_dir, tmp_path / "ref_out", GLOBAL_BATCH, steps), env))
        check_ok(run([mpiexec, "-n", "2", *script_args(tmp_path / "m", tmp_path / "out",
                                                       GLOBAL_BATCH, steps,
                                                       "--model-dir-per-rank")], env))
    check_replicas(tmp_path / "out", 2, load(Path(f"{tmp_path / 'ref_out'}.rank0.npz")))
    assert f"model.ckpt-{2 * STEPS}.data" in files_under(tmp_path / "m" / "rank0")
    assert files_under(tmp_path / "m" / "rank1") == []


def test_train_and_evaluate_under_mpiexec(tmp_path, mpiexec, reference):
    """The chief trains and evaluates after checkpoints; the worker only trains."""
    res = run([mpiexec, "-n", "2", *script_args(tmp_path / "m", tmp_path / "out", GLOBAL_BATCH,
                                                STEPS, "--train-and-evaluate")], clean_env())
    check_ok(res)
    assert f"eval chief: global_step={STEPS} acc=" in res.stdout
    assert "eval worker: none" in res.stdout
    check_replicas(tmp_path / "out", 2, reference)
    assert any(f.startswith("eval/events") for f in files_under(tmp_path / "m"))


def test_tf_config_evaluator_task(tmp_path, mpiexec):
    """chief + worker train (mpiexec -n 1 each); an evaluator task evaluates new checkpoints
    until max_steps and exits (it is not part of the MPI group)."""
    chief_port, worker_port = free_port(), free_port()
    model_dir = tmp_path / "m"
    procs = []
    for task, launcher in [("evaluator", []), ("chief", [mpiexec, "-n", "1"]),
                           ("worker", [mpiexec, "-n", "1"])]:
        env = clean_env(TF_CONFIG=tf_config(chief_port, [worker_port], task, 0))
        cmd = [*launcher, *script_args(model_dir, tmp_path / "out", GLOBAL_BATCH, 20,
                                       "--train-and-evaluate", "--sleep-per-step", "0.01")]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    results = finish(procs, 120)
    for rc, _, err in results:
        assert rc == 0, err[-6000:]
    assert "eval evaluator: global_step=20 acc=" in results[0][1]
    assert "eval chief: none" in results[1][1] and "eval worker: none" in results[2][1]
    eval_files = [f for f in files_under(model_dir) if f.startswith("eval/")]
    assert eval_files, files_under(model_dir)


@pytest.mark.parametrize("rows,steps", [(100, 9), (98, 8)])
def test_finite_input_short_last_batch(rows, steps, tmp_path, mpiexec):
    """One epoch of ``rows`` examples, global batch 12 over 3 processes. 100 rows: the last
    global batch (4 rows) splits 1/1/2 and the example-count weighting reproduces one
    process exactly. 98 rows: one shard of the last batch (2 rows) is empty, so all three
    processes skip it and stop together after 8 steps (== one process stopped there)."""
    extra = ("--rows", str(rows), "--epochs", "1")
    ref_max_steps = 10**6 if rows == 100 else steps  # 98: stop where the processes stop
    check_ok(run(script_args(tmp_path / "ref", tmp_path / "ref_out", GLOBAL_BATCH,
                             ref_max_steps, *extra), clean_env()))
    res = run([mpiexec, "-n", "3", *script_args(tmp_path / "m", tmp_path / "out",
                                                GLOBAL_BATCH, 10**6, "--model-dir-per-rank",
                                                *extra)], clean_env())
    check_ok(res)
    reference = load(Path(f"{tmp_path / 'ref_out'}.rank0.npz"))
    assert int(reference["global_step"]) == steps
    check_replicas(tmp_path / "out", 3, reference)
    assert ("shard of the last global batch is empty" in res.stderr) == (rows == 98)
