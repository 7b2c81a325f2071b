"""``estcore.estimator``: the Estimator and everything around it (TF1 names)."""

from estcore.estimator import inputs as inputs
