"""``InMemoryEvaluatorHook``: evaluate during ``train`` from the training session's
variables, without a checkpoint (TF's ``tf.estimator.experimental.InMemoryEvaluatorHook``).

Once before the first training step, every ``every_n_iter`` training steps, and once more
when training ends, the hook reads
the training session's global variables and runs ``Estimator.evaluate``'s evaluation in a
graph of its own whose global variables of the same names take those values (the others
keep their initial values, as TF's). Results go where ``evaluate(name=...)`` writes them
(``model_dir/eval`` or ``eval_<name>``) at the training step. Each evaluation calls
``input_fn`` and ``model_fn`` again (TF builds its evaluation graph once, in ``begin``).

Owns the hook only; the evaluation is the Estimator's. Must not: write checkpoints or
change the training session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from estcore.estimator.call_hooks import check_hooks_type
from estcore.estimator.estimator import Estimator
from estcore.graph.ir import GraphKeys, get_collection
from estcore.hooks.session_run_hook import SessionRunHook

__all__ = ["InMemoryEvaluatorHook"]

logger = logging.getLogger("estcore")


class InMemoryEvaluatorHook(SessionRunHook):
    """Run evaluation in training without a checkpoint.

    Args:
        estimator: the :class:`Estimator` being trained (its ``model_fn`` builds the
            evaluation graph).
        input_fn: as ``Estimator.evaluate``'s.
        steps: as ``Estimator.evaluate``'s (None: until the input ends).
        hooks: hooks for each evaluation run.
        name: as ``Estimator.evaluate``'s (the results go to ``eval_<name>``).
        every_n_iter: training steps between evaluations (counted by this hook).

    Raises:
        TypeError: ``estimator`` is not an Estimator.
        ValueError: ``every_n_iter`` is not positive, or the estimator is set up for
            more than one process (the values are this process's only).
    """

    def __init__(self, estimator: Estimator, input_fn: Callable, steps: int | None = None,
                 hooks: Any = None, name: str | None = None, every_n_iter: int = 100):
        if not isinstance(estimator, Estimator):
            raise TypeError("`estimator` must be a tf.estimator.Estimator. Received: "
                            f"estimator={estimator!r} ({type(estimator).__name__})")
        if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool)
                                  or steps <= 0):
            raise ValueError(f"`steps` must be a positive int or None. Received: "
                             f"steps={steps!r}")
        if not isinstance(every_n_iter, int) or isinstance(every_n_iter, bool) \
                or every_n_iter <= 0:
            raise ValueError("`every_n_iter` must be a positive int. Received: "
                             f"every_n_iter={every_n_iter!r}")
        if not callable(input_fn):
            raise TypeError(f"`input_fn` must be callable. Received: {input_fn!r}")
        config = estimator.config
        if config.num_ps_replicas > 0 or config.num_worker_replicas > 1:
            raise ValueError("InMemoryEvaluator does not support distributed mode (its "
                             "values are one process's; this config has "
                             f"num_ps_replicas={config.num_ps_replicas}, "
                             f"num_worker_replicas={config.num_worker_replicas}); use "
                             "train_and_evaluate instead.")
        self._estimator = estimator
        self._input_fn = input_fn
        self._steps = steps
        self._hooks = check_hooks_type(hooks)
        self._name = name
        self._every_n_iter = every_n_iter
        self._iter_count = 0
        self._variables: list = []

    def begin(self) -> None:
        self._iter_count = 0
        self._variables = list(get_collection(GraphKeys.GLOBAL_VARIABLES))

    def after_create_session(self, session: Any, coord: Any) -> None:
        """The first evaluation, before training (TF's: the metrics training starts from)."""
        self._evaluate(session)

    def after_run(self, run_context: Any, run_values: Any) -> None:
        self._iter_count += 1
        if self._iter_count % self._every_n_iter == 0:
            self._evaluate(run_context.session)

    def end(self, session: Any) -> None:
        self._evaluate(session)

    def _evaluate(self, session: Any) -> dict:
        values = session.get_variable_values(self._variables)
        logger.info("Evaluating in memory after %d training steps of this call.",
                    self._iter_count)
        return self._estimator._evaluate_model(self._input_fn, list(self._hooks), self._steps,
                                               None, self._name, variable_values=values)
