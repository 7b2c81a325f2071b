"""Checkpoints: the file format (``format``), the ``checkpoint`` state file and reading
(``state``), ``Saver`` with rotation (``saver``), warm start (``warm_starting``) and
atomic file writes (``fileio``).

The package ``__init__`` holds no code: import each name from its defining module
(``estcore.estimator`` re-exports TF's names). Must not: import the hooks or the
estimator (``estcore.hooks.checkpoint_hooks`` and the Estimator use this package, never
the reverse); run a training step.
"""
