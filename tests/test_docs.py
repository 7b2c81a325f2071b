"""Every fenced ```python block of README.md and docs/*.md runs, so drift fails CI.

Each document's blocks run in order in one fresh Python process (one namespace, a
temporary working directory, progress bar off), so a later block may use what an
earlier one defined. Blocks written as an interactive session (``>>>`` lines) are
run by doctest: the outputs they show are compared (``...`` matches anything).
A document that continues another's example names it in ``_CONTINUES`` (the other
document's blocks run first). A block may be skipped only where running is impossible,
with the reason in its fence: ```` ```python no-run: needs mpiexec and 4 hosts ````.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_DOCS = ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                              for p in (ROOT / "docs").glob("*.md"))]
# document -> the document whose example it continues (its blocks run first)
_CONTINUES = {"docs/export.md": "README.md"}
_FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```\s*$", re.M | re.S)

_RUNNER = textwrap.dedent('''
    import doctest, json, sys
    blocks = json.load(open(sys.argv[1]))
    globs = {"__name__": "__main__"}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for where, code in blocks:
        if any(line.lstrip().startswith(">>>") for line in code.splitlines()):
            test = doctest.DocTestParser().get_doctest(code, globs, where, where, 0)
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test, clear_globs=False)
            globs.update(test.globs)  # DocTest ran on a copy; later blocks see its names
            if runner.failures:
                sys.exit(f"{where}: {runner.failures} doctest example(s) failed")
        else:
            exec(compile(code, where, "exec"), globs)
''')


def _blocks(doc: str) -> list[tuple[str, str, str]]:
    """``(where, info, code)`` of each fenced python block of ``doc``."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((f"{doc}:{line}", m.group("info").strip(), m.group("code")))
    return out


def _runnable(doc: str) -> list[tuple[str, str]]:
    out = []
    for where, info, code in _blocks(doc):
        if info.startswith("no-run"):
            reason = info[len("no-run"):].lstrip(":").strip()
            assert reason, f"{where}: a no-run block must say why it cannot run"
            continue
        assert not info, f"{where}: unknown fence info {info!r} (only 'no-run: <reason>')"
        out.append((where, code))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in _DOCS if _blocks(d)])
def test_python_blocks_run(doc, tmp_path):
    blocks = (_runnable(_CONTINUES[doc]) if doc in _CONTINUES else []) + _runnable(doc)
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    (tmp_path / "runner.py").write_text(_RUNNER)
    env = dict(os.environ, ESTCORE_PROGRESS="0", MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"),
                           str(tmp_path / "blocks.json")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{doc}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


@pytest.mark.smoke
def test_every_document_with_code_is_collected():
    assert "README.md" in _DOCS and "docs/export.md" in _DOCS
    assert len(_blocks("README.md")) >= 2
    for doc in _DOCS:
        _runnable(doc)  # fence info is either empty or a no-run with its reason
