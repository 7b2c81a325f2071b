"""Fixtures of the estimator tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
