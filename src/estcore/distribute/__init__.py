"""Distributed training on MPI: the same script on one machine or many.

* :class:`MPIStrategy` -- synchronous data-parallel training (gradients averaged
  with one fused MPI allreduce per step); pass it as
  ``RunConfig(train_distribute=MPIStrategy())``. Under ``mpiexec -n W`` or a
  TF_CONFIG with several training tasks the Estimator uses one automatically.
* :func:`resolve_strategy` -- what the Estimator uses for a RunConfig.
* :class:`PeerFailure` -- raised on every surviving process when another one
  dies or stops responding (an :class:`estcore.errors.UnavailableError`).

MPI comes from the optional extra: ``pip install estcore[mpi]`` (mpi4py + MPICH
wheels). See docs/distributed.md for the two launch modes.
"""

from estcore.distribute._context import current_strategy as current_strategy
from estcore.distribute._context import strategy_scope as strategy_scope
from estcore.distribute.cluster import mpi_cluster_view as mpi_cluster_view
from estcore.distribute.strategy import MPIStrategy as MPIStrategy
from estcore.distribute.strategy import resolve_strategy as resolve_strategy
from estcore.distribute.watchdog import PeerFailure as PeerFailure

__all__ = ["MPIStrategy", "resolve_strategy", "PeerFailure", "current_strategy",
           "strategy_scope", "mpi_cluster_view"]
