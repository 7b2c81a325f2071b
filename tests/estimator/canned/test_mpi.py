"""Premade estimators under mpiexec: W processes train as one process on the global batch.

The premade heads reduce the loss with ``SUM``; estcore's data-parallel optimizer
averages gradients, so the head scales a summed loss by the number of processes
(head._replica_scaled). Without that factor two processes took half-size steps. The
script (mpi_premade.py) trains with ``BATCH`` rows per process; the single process run
gets ``2 * BATCH``. Needs MPI (the ``mpi`` extra); fails with the install command without.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SCRIPT = pathlib.Path(__file__).with_name("mpi_premade.py")
HINT = "pip install 'estcore[mpi]' (mpi4py + mpich from PyPI)"


def _mpiexec() -> str:
    here = pathlib.Path(sys.executable).with_name("mpiexec")
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail(f"mpiexec not found: this test needs MPI. Install it with {HINT}")
    return found


def _run(cmd: list, cwd: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k != "TF_CONFIG" and not k.startswith(("PMI_", "PMIX_", "OMPI_", "HYDRA_"))}
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-4000:]


@pytest.mark.parametrize("model", ["dnn", "wide_deep"])
def test_two_processes_train_as_one_on_the_global_batch(model, tmp_path):
    _run([sys.executable, str(SCRIPT), "one", "one.npz", "16", "6", model], tmp_path)
    _run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPT), "two", "two.npz", "8", "6",
          model], tmp_path)
    with np.load(tmp_path / "one.npz") as one, np.load(tmp_path / "two.npz") as two:
        assert sorted(one.files) == sorted(two.files)
        for name in one.files:
            np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-5,
                                       err_msg=name)
