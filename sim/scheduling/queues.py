"""Queue policies: which waiting job next.

- fifo: first come, first served; the head blocks (in `policies.py`).
- sjf: shortest (estimated) job first; work-conserving: a job that does not
  fit is skipped (`blocking: true` makes it strict).
- srtf: shortest (estimated) remaining time first, preemptive: a running job
  whose remaining time is longer than a waiting job's is preempted when the
  waiting one needs its accelerators.
- easy-backfill: FIFO with EASY backfilling (Lifka 1995, "The ANL/IBM SP
  scheduling system"; Mu'alem & Feitelson 2001, IEEE TPDS 12(6)): the head
  job that does not fit gets a reservation at the earliest time enough
  accelerators are free (the *shadow time*, from running jobs' estimated
  ends); a later job may start now if it fits and either ends before the
  shadow time or uses only the accelerators the head will not need then
  (the *extra* accelerators). It never delays the head's reservation when
  estimates are exact (accelerators are counted cluster-wide; a placement
  that needs whole nodes can still be fragmented: use node-sized jobs).
- las: Tiresias' discretised two-dimensional least-attained-service (Gu et
  al., NSDI'19): a job's attained service is accelerators x time received;
  thresholds split jobs into priority queues (fewer accelerator-seconds =
  higher queue); FIFO inside a queue; preemptive. Starvation guard: a job
  that has waited `starvation_limit` since it last ran is promoted to the
  highest queue (Tiresias' STARVELIMIT), its service counted afresh from there.
- fair: fair share across users: each pass hands out jobs to the user with
  the lowest weighted usage (accelerators running), progressive filling.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.scheduling.policies import ClusterView, Fifo
from sim.units import parse_duration

if TYPE_CHECKING:
    from sim.compute.training import Job

__all__ = ["EasyBackfill", "FairShare", "Fifo", "Las", "Sjf", "Srtf"]


def _fifo_key(j: Job) -> tuple[float, int]:
    return (j.submit_s, j.id)


class Sjf:
    """Shortest estimated job first (total runtime estimate)."""

    def __init__(self, blocking: bool = False) -> None:
        self.blocking = blocking

    @staticmethod
    def key(job: Job, view: ClusterView) -> tuple[float, float, int]:
        """Fixed per job (the estimate is drawn once): the scheduler keeps its queue sorted by it."""
        return (view.estimate(job), job.submit_s, job.id)

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        return sorted(queue, key=lambda j: (view.estimate(j), j.submit_s, j.id))


class Srtf:
    """Shortest estimated remaining time first; preemptive."""

    blocking = False
    preemptive = True

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        return sorted(queue, key=lambda j: (view.remaining_estimate(j), j.submit_s, j.id))


class EasyBackfill:
    """FIFO with EASY backfilling; `reservations` keeps each head job's first reserved start."""

    blocking = True

    def __init__(self) -> None:
        self.reservations: dict[int, float] = {}

    @staticmethod
    def key(job: Job, view: ClusterView) -> tuple[float, int]:
        return _fifo_key(job)

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        return sorted(queue, key=_fifo_key)

    @staticmethod
    def reservation(job: Job, view: ClusterView) -> tuple[float, int]:
        """(shadow time, extra accelerators) for `job` from running jobs' estimated ends."""
        free = view.free_total()
        if free >= job.accelerators:
            return view.now, free - job.accelerators
        ends = sorted((view.now + view.remaining_estimate(r), r.accelerators) for r in view.running())
        for t, a in ends:
            free += a
            if free >= job.accelerators:
                return t, free - job.accelerators
        return math.inf, 0

    def schedule(self, queue: Sequence[Job], view: ClusterView, start: Callable[[Job], bool]) -> None:
        order = self.order(queue, view)
        for pos, job in enumerate(order):
            if start(job):
                continue
            shadow, extra = self.reservation(job, view)
            self.reservations.setdefault(job.id, shadow)
            for later in order[pos + 1:]:
                if later.accelerators > view.free_total():
                    continue
                end = view.now + view.estimate(later)
                ends_first = end <= shadow
                if (ends_first or later.accelerators <= extra) and start(later) and not ends_first:
                    extra -= later.accelerators
            return


class Las:
    """Tiresias discretised 2D-LAS with a starvation guard; preemptive.

    thresholds: accelerator-seconds between queues (ascending). Default one
        threshold of 1 accelerator-hour (M: Tiresias found two queues capture
        most of the benefit; the threshold is a tunable of the paper).
    starvation_limit: a queued job waiting this long since it last ran is
        promoted to the top queue (None: no guard).
    """

    blocking = False
    preemptive = True

    def __init__(self, thresholds: Sequence[float | str] = (3600.0,),
                 starvation_limit: float | str | None = 8 * 3600.0) -> None:
        self.thresholds = sorted(parse_duration(t) if isinstance(t, str) else float(t) for t in thresholds)
        self.starvation_limit = (parse_duration(starvation_limit) if isinstance(starvation_limit, str)
                                 else starvation_limit)
        self._base: dict[int, float] = {}  # attained service at promotion

    def service(self, job: Job, view: ClusterView) -> float:
        return view.attained_service(job) - self._base.get(job.id, 0.0)

    def level(self, job: Job, view: ClusterView) -> int:
        s = self.service(job, view)
        return sum(1 for t in self.thresholds if s >= t)

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        now = view.now
        if self.starvation_limit is not None:
            for j in queue:
                if not j.placement and now - view.waiting_since(j) >= self.starvation_limit:
                    self._base[j.id] = view.attained_service(j)
        return sorted(queue, key=lambda j: (self.level(j, view), j.submit_s, j.id))

    def next_change_s(self, queue: Sequence[Job], view: ClusterView) -> float | None:
        """When a running job crosses a threshold or a queued one starves."""
        if not queue:
            return None
        now = view.now
        best = math.inf
        for j in view.running():
            s = self.service(j, view)
            for t in self.thresholds:
                if s < t:
                    best = min(best, now + (t - s) / j.accelerators)
                    break
        if self.starvation_limit is not None:
            for j in queue:
                best = min(best, view.waiting_since(j) + self.starvation_limit)
        return best if math.isfinite(best) and best > now else None


class FairShare:
    """Fair share across users or virtual clusters: the least weighted usage goes next.

    by: "user" (default) or "vc" (virtual cluster, e.g. a Philly trace's
    cluster column). weights: {user or vc: weight}, default 1 each; jobs
    without one count as "default". Usage is accelerators held by running
    jobs; each job handed out in a pass adds to its group's usage
    (progressive filling). Equal usage is broken by history: the group that
    has received fewer accelerator-seconds so far goes first (a simple,
    undecayed form of the historical usage that Slurm's fair-share factor
    weighs).
    """

    blocking = False

    def __init__(self, weights: dict[str, float] | None = None, by: str = "user") -> None:
        if by not in ("user", "vc"):
            raise ValueError(f"fair share by {by!r}: allowed are 'user' and 'vc'")
        self.weights = dict(weights or {})
        self.by = by
        self._served: dict[int, tuple[str, float]] = {}  # job id -> (group, accelerator-seconds)

    def _group(self, job: Job) -> str:
        return (job.vc if self.by == "vc" else job.user) or "default"

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        usage: dict[str, float] = {}
        for r in view.running():
            u = self._group(r)
            usage[u] = usage.get(u, 0.0) + r.accelerators
        per_user: dict[str, list[Job]] = {}
        for j in sorted(queue, key=_fifo_key):
            per_user.setdefault(self._group(j), []).append(j)
        # history breaks ties: accelerator-seconds each group has received so far,
        # finished jobs included (the last value seen while they ran)
        for r in view.running():
            self._served[r.id] = (self._group(r), view.attained_service(r))
        history: dict[str, float] = {}
        for g, served in self._served.values():
            history[g] = history.get(g, 0.0) + served
        heap = [(usage.get(u, 0.0) / self.weights.get(u, 1.0), history.get(u, 0.0) / self.weights.get(u, 1.0),
                 u, 0) for u in per_user]
        heapq.heapify(heap)
        out: list[Job] = []
        while heap:
            share, hist, u, k = heapq.heappop(heap)
            job = per_user[u][k]
            out.append(job)
            if k + 1 < len(per_user[u]):
                heapq.heappush(heap, (share + job.accelerators / self.weights.get(u, 1.0), hist, u, k + 1))
        return out
