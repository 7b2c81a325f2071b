"""Hooks: the ``SessionRunHook`` protocol (``session_run_hook``), its declared schedule
(``schedule``: ``Due``), the standard hooks (``basic_hooks``, ``checkpoint_hooks``),
early stopping (``early_stopping``) and the progress bar (``progress``).

The package ``__init__`` holds no code: import each name from its defining module
(``estcore.estimator`` re-exports TF's names). Must not: import the estimator (the
hooked session in ``estcore.estimator.monitored_session`` calls the hooks, never the
reverse); run the step loop.
"""
