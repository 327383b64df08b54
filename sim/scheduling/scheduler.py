"""The scheduler: woken by arrivals and completions, it starts what fits.

Several wake-ups at the same instant are coalesced into one decision pass,
run after the other events of that instant (a zero-delay timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.scheduling.policies import ClusterView, PlacementPolicy, QueuePolicy
from sim.training import Job, JobState, TrainingRuntime

if TYPE_CHECKING:
    import simpy

    from sim.hardware import Node
    from sim.meter import Meter


class Scheduler:
    def __init__(
        self,
        env: simpy.Environment,
        nodes: Sequence[Node],
        runtime: TrainingRuntime,
        queue_policy: QueuePolicy,
        placement_policy: PlacementPolicy,
        meter: Meter,
    ) -> None:
        self.env = env
        self.nodes = nodes
        self.runtime = runtime
        self.queue_policy = queue_policy
        self.placement_policy = placement_policy
        self.view = ClusterView(nodes, lambda: env.now)
        self.queue: list[Job] = []
        self.jobs: list[Job] = []
        self.capacity = sum(n.slots for n in nodes)
        self._pass_pending = False
        self._queued_ch = meter.channel("jobs_queued", "jobs", quantity="level")
        self._running_ch = meter.channel("jobs_running", "jobs", quantity="level")
        self._busy_ch = meter.channel("busy_accelerators", "jobs", quantity="level")
        self._meter = meter
        self.decisions = 0
        self.on_idle: Callable[[], None] = lambda: None
        runtime.on_complete = self._completed

    # -- events ------------------------------------------------------------
    def submit(self, job: Job) -> None:
        self.jobs.append(job)
        if job.accelerators > self.capacity:
            job.state = JobState.FAILED
            job.reason = f"needs {job.accelerators} accelerators; the cluster has {self.capacity}"
            job.end_s = self.env.now
            self.on_idle()
            return
        job.state = JobState.QUEUED
        self.queue.append(job)
        self._meter.add(self._queued_ch, 1)
        self.wake()

    def _completed(self, job: Job) -> None:
        self._meter.add(self._running_ch, -1)
        self._meter.add(self._busy_ch, -job.accelerators)
        self.wake()
        self.on_idle()

    def wake(self) -> None:
        """Ask for a decision pass at the current instant (coalesced)."""
        if not self._pass_pending:
            self._pass_pending = True
            self.env.timeout(0).callbacks.append(self._pass)

    # -- decisions ---------------------------------------------------------
    def _pass(self, _event: object = None) -> None:
        self._pass_pending = False
        if not self.queue:
            return
        started: list[Job] = []
        for job in self.queue_policy.order(self.queue, self.view):
            self.decisions += 1
            placement = self.placement_policy.place(job, self.view)
            if placement is None:
                if self.queue_policy.blocking:
                    break
                continue
            self.runtime.start(job, [(self.nodes[i], c) for i, c in placement])
            started.append(job)
            self._meter.add(self._running_ch, 1)
            self._meter.add(self._busy_ch, job.accelerators)
        if started:
            ids = {j.id for j in started}
            self.queue = [j for j in self.queue if j.id not in ids]
            self._meter.add(self._queued_ch, -len(started))
