"""The progress bar as a user sees it: a training run under a pseudo-terminal.

A child process trains with ``logging.basicConfig(level=INFO)`` on a pty; its output
is replayed on a small terminal model (carriage return, newline, cursor up, erase to
end of line), and the final screen is checked: the bar shows its total, every log line
is whole and above the bar, an unsized terminal still gets a bar, and
``ESTCORE_PROGRESS=0`` turns it off.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time

import pytest

_CHILD = textwrap.dedent("""
    import logging, sys, time
    import numpy as np
    import estcore as ec
    from estcore.estimator import Estimator, EstimatorSpec, RunConfig
    from estcore.estimator.inputs import numpy_input_fn
    from estcore.hooks.session_run_hook import SessionRunHook

    if sys.argv[2] in ("basicConfig", "both"):
        logging.basicConfig(level=logging.INFO)
    if sys.argv[2] in ("set_verbosity", "both"):
        import estcore.logging
        estcore.logging.set_verbosity(estcore.logging.INFO)

    class Slow(SessionRunHook):  # a few ms per step, so the bar is redrawn between logs
        def after_run(self, run_context, run_values):
            time.sleep(0.004)

    def model_fn(features, labels, mode):
        logits = ec.layers.dense(features["x"], 2)
        loss = ec.losses.sparse_softmax_cross_entropy(labels, logits)
        opt = ec.train.GradientDescentOptimizer(0.1)
        return EstimatorSpec(mode, loss=loss,
                             train_op=opt.minimize(loss, ec.train.get_global_step()))

    x = np.zeros((120, 3), np.float32)
    y = np.zeros(120, np.int32)
    est = Estimator(model_fn, sys.argv[1], RunConfig(log_step_count_steps=20))
    est.train(numpy_input_fn({"x": x}, y, batch_size=2, num_epochs=1, shuffle=False),
              hooks=[Slow()])
""")

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def _screen(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw`` (enough of VT100 for tqdm)."""
    lines: list[list[str]] = [[]]
    row = col = 0
    i = 0
    while i < len(raw):
        ch = raw[i]
        m = _CSI.match(raw, i) if ch == "\x1b" else None
        if m:
            n = int(m.group(1) or 1) if m.group(1).isdigit() else 1
            if m.group(2) == "A":
                row = max(row - n, 0)
            elif m.group(2) == "K":
                del lines[row][col:]
            i = m.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            while len(lines) <= row:
                lines.append([])
        elif ch >= " ":
            line = lines[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        i += 1
    return ["".join(line).rstrip() for line in lines]


def _run_on_pty(tmp_path, columns: int | None, logs: str = "basicConfig",
                **env_extra: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "ESTCORE_PROGRESS")}
    env.update(env_extra)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "model"), logs],
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait(timeout=30)
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert rc == 0, raw[-3000:]
    return _screen(raw)


def _bar_lines(screen):
    return [i for i, line in enumerate(screen) if line.startswith("train:")]


@pytest.mark.slow
@pytest.mark.parametrize("columns", [100, None], ids=["sized", "unsized"])
def test_bar_shows_total_and_log_lines_go_above_it(tmp_path, columns):
    screen = _run_on_pty(tmp_path, columns)
    text = "\n".join(screen)
    bars = _bar_lines(screen)
    assert len(bars) == 1, text  # one bar, redrawn in place
    bar = screen[bars[0]]
    assert re.search(r"100%.*\b60/60\b", bar), bar  # 120 rows / batch 2: total 60 steps
    assert len(bar) <= (columns or 80)
    # every INFO record is a whole line of its own: none glued onto the bar
    assert not any("INFO" in line and not line.startswith("INFO:") for line in screen), text
    during = [i for i, line in enumerate(screen)
              if re.fullmatch(r"INFO:estcore:global_step/sec: [0-9.e+-]+", line)]
    assert len(during) >= 2, text  # logged while the bar was shown ...
    assert all(i < bars[0] for i in during)  # ... and printed above it
    final = next(i for i, line in enumerate(screen) if "Loss for final step" in line)
    assert final > bars[0]  # logged after the bar was closed: below it


@pytest.mark.slow
@pytest.mark.parametrize("logs", ["set_verbosity", "both"])
def test_estcore_logging_handler_prints_above_the_bar_once(tmp_path, logs):
    screen = _run_on_pty(tmp_path, 100, logs)
    bars = _bar_lines(screen)
    assert len(bars) == 1 and "60/60" in screen[bars[0]], "\n".join(screen)
    rates = [i for i, line in enumerate(screen)
             if line.startswith("INFO:estcore:global_step/sec:")]
    assert rates and all(i < bars[0] for i in rates)
    assert len(set(screen[i] for i in rates)) == len(rates)  # no line printed twice
    losses = [line for line in screen if line.startswith("INFO:estcore:loss = ")]
    assert len(losses) == 3, "\n".join(screen)  # steps 0, 20, 40


@pytest.mark.slow
def test_environment_variable_turns_the_bar_off(tmp_path):
    screen = _run_on_pty(tmp_path, 100, ESTCORE_PROGRESS="0")
    assert not _bar_lines(screen), "\n".join(screen)
    assert any(line.startswith("INFO:estcore:global_step/sec:") for line in screen)
