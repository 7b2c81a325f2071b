"""Shared fixtures for the whole test suite."""

import pytest

import estcore


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds into its own fresh default graph."""
    g = estcore.Graph()
    with g.as_default():
        yield g
