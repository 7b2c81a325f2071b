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

Modules: ``strategy`` (MPIStrategy, its collectives), ``replication`` (the
Estimator's train path over MPI: :class:`~estcore.distribute.replication.MPIReplication`),
``membership`` (this process's place in the group), ``rendezvous`` (TF_CONFIG
launches), ``watchdog`` (liveness), ``ops`` (the fused allreduce op).

Layering: this package sits below ``estcore.estimator`` and never imports it. The
Estimator reaches it through one seam (``estcore.estimator.replication``), which
is how it picks MPI automatically under ``mpiexec`` or a multi-task TF_CONFIG;
``RunConfig`` reads the mpiexec cluster view from ``membership``. Importing the
package starts no MPI (mpi4py is imported when a multi-process setting needs it).
"""

from estcore.distribute.membership import mpi_cluster_view as mpi_cluster_view
from estcore.distribute.strategy import MPIStrategy as MPIStrategy
from estcore.distribute.strategy import resolve_strategy as resolve_strategy
from estcore.distribute.watchdog import PeerFailure as PeerFailure
from estcore.train.strategy_context import current_strategy as current_strategy
from estcore.train.strategy_context import strategy_scope as strategy_scope

__all__ = ["MPIStrategy", "resolve_strategy", "PeerFailure", "current_strategy",
           "strategy_scope", "mpi_cluster_view"]
