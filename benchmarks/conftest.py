"""Benchmarks are pytest-benchmark files named bench_*.py (collected by this hook).

Run: ``python -m pytest benchmarks/bench_x.py --benchmark-only`` (wrap in
``flock /tmp/estcore-heavy.lock`` on the shared machine). Every benchmark times
its baseline in the same run and reports ratios.
"""

from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    # Files named on the command line are collected by pytest itself already.
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
