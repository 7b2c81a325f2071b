"""Two "hosts" on one machine: network namespaces joined by a veth pair (needs root).

The chief runs in namespace A (10.77.<n>.1), the worker in B (10.77.<n>.2), each under
its own ``mpiexec -n 1`` with TF_CONFIG; they can reach each other only over the veth
link, as two machines would. MPI is told which interface to use (``UCX_NET_DEVICES``:
MPICH's default netmod is UCX), as docs/distributed.md recommends for multi-homed hosts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .helpers import GLOBAL_BATCH, STEPS, clean_env, load, script_args
from .test_multiprocess import finish

pytestmark = pytest.mark.slow


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20)


@pytest.fixture
def two_hosts():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.fail("`ip` (iproute2) is missing: cannot create network namespaces")
    tag = f"{os.getpid() % 100000}"
    sub = os.getpid() % 250 + 1
    names = (f"estA{tag}", f"estB{tag}")
    links = (f"eA{tag}", f"eB{tag}")
    addrs = (f"10.77.{sub}.1", f"10.77.{sub}.2")
    try:
        for ns in names:
            _ip("netns", "add", ns)
        _ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
        for ns, link, addr in zip(names, links, addrs, strict=True):
            _ip("link", "set", link, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", link)
            _ip("-n", ns, "link", "set", link, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        pytest.fail(f"could not create network namespaces as root: {exc.stderr}")
    try:
        yield list(zip(names, links, addrs, strict=True))
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def test_two_namespaces_train_like_one_process(two_hosts, tmp_path, mpiexec, reference):
    port = 23000 + os.getpid() % 1000
    cluster = {"chief": [f"{two_hosts[0][2]}:{port}"], "worker": [f"{two_hosts[1][2]}:{port}"]}
    procs = []
    for rank, ((ns, link, _), task) in enumerate(zip(two_hosts, ["chief", "worker"],
                                                     strict=True)):
        conf = json.dumps({"cluster": cluster, "task": {"type": task, "index": 0}})
        env = clean_env(TF_CONFIG=conf, UCX_NET_DEVICES=link, UCX_TLS="tcp,self")
        cmd = ["ip", "netns", "exec", ns, mpiexec, "-n", "1",
               *script_args(tmp_path / f"host{rank}", tmp_path / "out", GLOBAL_BATCH, STEPS,
                            "--explicit")]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    results = finish(procs, 120)
    for rc, _, err in results:
        assert rc == 0, err[-6000:]
    a, b = (load(Path(f"{tmp_path / 'out'}.rank{r}.npz")) for r in (0, 1))
    for k, ref in reference.items():
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_allclose(a[k], ref, rtol=1e-5, atol=1e-6, err_msg=k)
    assert (tmp_path / "host0" / "checkpoint").exists()
    assert not (tmp_path / "host1").exists() or not any((tmp_path / "host1").rglob("*.data"))
