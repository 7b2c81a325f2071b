"""Timestamped export directory names: a taken second moves on at once (no sleep)."""

from __future__ import annotations

import logging
import os

import pytest

import estcore.saved_model as sm
from estcore.estimator import BestExporter, LatestExporter
from estcore.export import writer


@pytest.fixture
def frozen_clock(monkeypatch):
    """time.time() frozen at one second; time.sleep fails the test if called."""
    monkeypatch.setattr(writer.time, "time", lambda: 1700000000.25)

    def no_sleep(secs):
        raise AssertionError(f"time.sleep({secs}) called while naming an export")

    monkeypatch.setattr(writer.time, "sleep", no_sleep)


@pytest.mark.smoke
def test_taken_second_moves_to_the_next_free_one(tmp_path, frozen_clock):
    base = tmp_path / "exports"
    assert writer.get_timestamped_export_dir(str(base)) == os.fsencode(base / "1700000000")
    base.mkdir()
    (base / "1700000000").mkdir()
    (base / "temp-1700000001").mkdir()  # an export being written counts as taken
    (base / "1700000003").mkdir()       # a later export: the new one goes after it
    (base / "notes").mkdir()
    assert writer.get_timestamped_export_dir(str(base)) == os.fsencode(base / "1700000004")


@pytest.mark.smoke
def test_free_second_is_used_even_with_older_exports(tmp_path, frozen_clock):
    (tmp_path / "1690000000").mkdir()
    got = writer.get_timestamped_export_dir(str(tmp_path))
    assert got == os.fsencode(tmp_path / "1700000000")


def test_two_exporters_in_one_second_no_retry(trained, models, tmp_path, frozen_clock, caplog):
    est = trained("mlp")
    ckpt = est.latest_checkpoint()
    base = str(tmp_path / "export" / "shared")
    latest = LatestExporter("shared", models.serving_fn())
    best = BestExporter("shared", models.serving_fn())
    with caplog.at_level(logging.INFO, logger="estcore"):
        first = latest.export(est, base, ckpt, {"loss": 1.0}, False)
        second = best.export(est, base, ckpt, {"loss": 1.0}, False)
    assert first == os.fsencode(os.path.join(base, "1700000000"))
    assert second == os.fsencode(os.path.join(base, "1700000001"))
    assert not [r for r in caplog.records if "already exists" in r.getMessage()]
    assert sorted(os.listdir(base)) == ["1700000000", "1700000001"]


def test_load_of_a_base_directory_names_its_exports(trained, models, tmp_path, frozen_clock):
    est = trained("mlp")
    base = str(tmp_path / "exports")
    exporter = LatestExporter("x", models.serving_fn(), exports_to_keep=None)
    for _ in range(7):
        exporter.export(est, base, est.latest_checkpoint(), {}, False)
    with pytest.raises(ValueError, match="is an export base directory") as info:
        sm.load(base)
    msg = str(info.value)
    # the newest five are listed, the newest suggested
    assert "['...', '1700000002', '1700000003', '1700000004', '1700000005', '1700000006']" in msg
    assert os.path.join(base, "1700000006") + " (the newest)" in msg
    assert "1700000001'" not in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="does not exist: not an estcore export directory"):
        sm.load(str(empty))
