"""The crash test, short: a training process SIGKILLed at random moments (inside
checkpoint, state-file and export writes too), restarted each time. The long run is
``python scripts/crash_test.py --kills 200``; both use scripts/crash_test.py."""

from __future__ import annotations

import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "crash_test.py"


def _crash_test():
    spec = importlib.util.spec_from_file_location("estcore_crash_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_twenty_kills_lose_nothing(tmp_path):
    crash = _crash_test()
    report = crash.run_crash_test(kills=20, seed=1, workdir=str(tmp_path))
    assert report["failures"] == [], crash._format(report)
    assert report["kills"] == 20
    assert report["restored_ok"] == report["restarts_checked"] > 0
    assert report["data_lost"] == 0 and report["leftovers"] == 0
    assert report["worker_errors"] == 0
    assert report["max_ckpts_at_kill"] <= crash.KEEP_MAX + 1
    assert report["rounds_bit_identical"] == report["rounds"] >= 1
    assert report["passed"]
