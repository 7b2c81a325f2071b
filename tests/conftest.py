"""Shared fixtures for the whole test suite."""

import logging
import os

# The kernels split over estcore's thread pool as configured, whatever else this machine
# runs: without this the pool's load sensing and contention guard (est_threadpool.h) run
# kernels inline while other jobs keep the CPUs busy, and the tests of the split paths
# would test the one-thread path instead. Read once, before the first split run.
os.environ.setdefault("ESTCORE_CONTENTION_GUARD", "0")

import numpy as np
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


@pytest.fixture
def numeric_gradient():
    """``grad(f, x, eps=1e-6)``: the central-difference gradient of a scalar function f
    at the array x (float64, x's shape; element j is (f(x + eps e_j) - f(x - eps e_j)) /
    (2 eps), x perturbed in its own dtype), for comparing analytic gradients with."""
    def grad(f, x, eps=1e-6):
        x = np.asarray(x)
        g = np.zeros(x.shape, np.float64)
        for j in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[j] += eps
            xm[j] -= eps
            g[j] = (f(xp) - f(xm)) / (2 * eps)
        return g

    return grad
