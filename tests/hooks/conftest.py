"""Fixtures of the hook tests: a tiny model in the test's graph, and the estcore log."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import estcore as ec
from estcore.summary import FileWriterCache


@pytest.fixture
def model(fresh_graph):
    """A global step, a loss and a train op in the test's default graph."""
    graph = fresh_graph
    gs = ec.train.get_or_create_global_step()
    loss = ec.placeholder(ec.float32, [], name="loss")
    train = ec.no_op(name="train")
    yield SimpleNamespace(graph=graph, gs=gs, loss=loss, train=train)
    FileWriterCache.clear()
