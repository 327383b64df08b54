"""The queue and placement protocols: what a plug-in scheduling policy provides (docs/scheduling.md).

Kept out of the compiled hot path (sim/compiled.py) so that they stay runtime-checkable
protocols: ``isinstance(policy, QueuePolicy)`` checks a user's class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sim.compute.training import Job
    from sim.scheduling.policies import ClusterView


@runtime_checkable
class QueuePolicy(Protocol):
    """Orders the waiting jobs.

    blocking: a job that does not fit holds back every job behind it.
    Optional: `preemptive = True` (the order is over queued and running jobs,
    and running jobs below the line are preempted), `schedule(queue, view,
    start)` to drive the pass itself (backfill), `next_change_s(queue, view)`
    to ask for a decision pass at a future time.
    """

    blocking: bool

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]: ...


@runtime_checkable
class PlacementPolicy(Protocol):
    """Picks accelerators: [(node index, count), ...] summing to job.accelerators, or None.

    A preemptive pass relies on two properties to skip hopeless placements: whether
    a job can be placed at all depends on its accelerator count (not on which job
    it is), and more free accelerators never make a job unplaceable, nor does a
    smaller job fail where a larger one fits. Every built-in placement has them.
    """

    def place(self, job: Job, view: ClusterView) -> list[tuple[int, int]] | None: ...
