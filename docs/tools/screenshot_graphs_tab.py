"""Screenshot TensorBoard's Graphs tab for a model trained by estcore (docs/tensorboard.md).

Trains a small CNN (the TF tutorial's layers, in name scopes) for a few steps into a
temporary model_dir, serves it with ``tensorboard --logdir`` on 127.0.0.1 and has
headless Chromium (Debian: ``apt-get install chromium``) save the Graphs tab as a PNG.

    python docs/tools/screenshot_graphs_tab.py [OUTPUT.png]

Needs tensorboard (the test extras) and a ``chromium`` on PATH; uses no network beyond
the loopback interface.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

import estcore as ec
from estcore.estimator import Estimator, EstimatorSpec, RunConfig
from estcore.estimator.inputs import numpy_input_fn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "img",
                   "tensorboard_graphs.png")


def model_fn(features, labels, mode):
    images = ec.reshape(features["x"], [-1, 28, 28, 1], name="images")
    ec.summary.image("inputs", images, max_outputs=4)
    with ec.variable_scope("conv1"):
        h = ec.layers.conv2d(images, 8, [5, 5], padding="same", activation=ec.nn.relu)
        h = ec.layers.max_pooling2d(h, [2, 2], 2)
    with ec.variable_scope("conv2"):
        h = ec.layers.conv2d(h, 16, [5, 5], padding="same", activation=ec.nn.relu)
        h = ec.layers.max_pooling2d(h, [2, 2], 2)
    with ec.variable_scope("classifier"):
        h = ec.layers.dense(ec.reshape(h, [-1, 7 * 7 * 16]), 64, activation=ec.nn.relu)
        logits = ec.layers.dense(h, 10)
    loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = ec.train.AdamOptimizer(1e-3).minimize(loss, ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(out: str = OUT) -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    logdir = tempfile.mkdtemp(prefix="estcore-tb-")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(256, 784)).astype(np.float32)
    y = rng.integers(0, 10, 256).astype(np.int32)
    Estimator(model_fn, logdir, RunConfig(tf_random_seed=1, save_summary_steps=4)).train(
        numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=1, shuffle=True))
    port = _free_port()
    tb = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", logdir,
                           "--host", "127.0.0.1", "--port", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "data/runs", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or tb.poll() is not None:
                    print("tensorboard did not start", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                            f"--user-data-dir={profile}", "--hide-scrollbars",
                            "--window-size=1400,900", "--virtual-time-budget=20000",
                            f"--screenshot={os.path.abspath(out)}", url + "#graphs"],
                           check=True, timeout=180, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    finally:
        tb.terminate()
        tb.wait(timeout=30)
        shutil.rmtree(logdir, ignore_errors=True)
    print(f"wrote {os.path.normpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
