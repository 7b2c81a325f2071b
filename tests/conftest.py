"""Shared fixtures for the whole test suite."""

import logging

import pytest

import estcore


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds into its own fresh default graph."""
    g = estcore.Graph()
    with g.as_default():
        yield g


@pytest.fixture
def estcore_log(caplog):
    """caplog at INFO on the 'estcore' logger; returns a function -> list of messages."""
    caplog.set_level(logging.INFO, logger="estcore")

    def messages():
        return [r.getMessage() for r in caplog.records if r.name.startswith("estcore")]

    return messages
