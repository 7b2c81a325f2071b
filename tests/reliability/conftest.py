"""Fixtures of the reliability tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def estcore_log(caplog):
    """caplog at INFO on the 'estcore' logger; returns a function -> list of messages."""
    caplog.set_level(logging.INFO, logger="estcore")

    def messages():
        return [r.getMessage() for r in caplog.records if r.name.startswith("estcore")]

    return messages


@pytest.fixture(autouse=True)
def _clean_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
