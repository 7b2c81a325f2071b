"""What the premade tests against TF's model_dirs share: TF's reference module of
tests/estimator/canned (loaded by path) and a hook recording each step's loss."""

from __future__ import annotations

import importlib.util
import pathlib

import estcore as ec
from estcore.estimator import SessionRunArgs, SessionRunHook

CANNED = pathlib.Path(__file__).parent.parent / "estimator" / "canned"


def load_reference(module_name: str):
    """tests/estimator/canned/tf_reference.py as a module named ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, CANNED / "tf_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Losses(SessionRunHook):
    """Records the loss (the graph's first LOSSES tensor) of every step."""

    def __init__(self):
        self.losses: list[float] = []

    def begin(self):
        self.loss = ec.get_collection(ec.GraphKeys.LOSSES)[0]

    def before_run(self, run_context):
        return SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        self.losses.append(float(run_values.results))
