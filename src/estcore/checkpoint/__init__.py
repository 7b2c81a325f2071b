"""Checkpoints: the file format (``format``), TF's tensor bundle read and written
(``tf_bundle`` on the sorted string table of ``tf_sstable``), the corrupt-file error
(``errors``), the ``checkpoint`` state file and reading (``state``), ``Saver`` with
rotation (``saver``), warm start (``warm_starting``), conversion between the formats
(``convert``) and atomic file writes (``fileio``).

The package ``__init__`` holds no code: import each name from its defining module
(``estcore.estimator`` re-exports TF's names). Must not: import the hooks or the
estimator (``estcore.hooks.checkpoint_hooks`` and the Estimator use this package, never
the reverse); run a training step.
"""
