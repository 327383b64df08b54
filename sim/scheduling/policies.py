"""Policy protocols, the registry, the read-only cluster view and its free-capacity index.

Speed: a decision must not scan the cluster for every queued job. `FreeIndex`
keeps the available nodes in buckets by their free accelerators (sorted lists
of node indices, one per free count, overall and per pool), the nodes that are
wholly free, the total free count and per-group (rack/leaf) counts, all
updated in O(log n) when a node changes. A placement that cannot succeed is
rejected in O(slots); one that succeeds touches only the nodes it considers.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sim.registry import REGISTRIES

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np

    from sim.compute.node import Node
    from sim.compute.training import Job


#: node states in the cluster view
UP, OFF, BOOTING, FAILED = "up", "off", "booting", "failed"


class FreeIndex:
    """Available nodes bucketed by free accelerators; group and pool counts."""

    def __init__(self, nodes: Sequence[Node], groups: Sequence[int]) -> None:
        self.nodes = nodes
        self.slots = [n.slots for n in nodes]
        self.max_slots = max(self.slots, default=0)
        self.pool_of = [n.pool for n in nodes]
        self.pools = sorted(set(self.pool_of))
        self.available = [True] * len(nodes)
        self._free = [-1] * len(nodes)  # -1: not in any bucket
        self.buckets: list[list[int]] = [[] for _ in range(self.max_slots + 1)]
        self.whole: list[int] = []
        self.pool_buckets: dict[int, list[list[int]]] = {p: [[] for _ in range(self.max_slots + 1)] for p in self.pools}
        self.pool_whole: dict[int, list[int]] = {p: [] for p in self.pools}
        self.total_free = 0
        self.capacity = 0  # accelerators on available nodes
        self._extra: dict[int, int] = {}  # node -> accelerators counted free beyond its own (a what-if)
        self.set_groups(groups)

    def set_groups(self, groups: Sequence[int]) -> None:
        self.group_of = list(groups)
        n_groups = max(self.group_of, default=-1) + 1
        self.group_members: list[list[int]] = [[] for _ in range(n_groups)]
        for i, g in enumerate(self.group_of):
            self.group_members[g].append(i)
        self.group_free = [0] * n_groups
        self.group_whole = [0] * n_groups
        self.group_busy = [0] * n_groups
        self._free = [-1] * len(self.nodes)
        self.buckets = [[] for _ in range(self.max_slots + 1)]
        self.whole = []
        # one pool: its buckets are the overall ones (the same lists, kept once)
        self._one_pool = len(self.pools) == 1
        if self._one_pool:
            self.pool_buckets = {self.pools[0]: self.buckets}
            self.pool_whole = {self.pools[0]: self.whole}
        else:
            self.pool_buckets = {p: [[] for _ in range(self.max_slots + 1)] for p in self.pools}
            self.pool_whole = {p: [] for p in self.pools}
        self.total_free = self.capacity = 0
        self._busy = [0] * len(self.nodes)
        for i in range(len(self.nodes)):
            self.update(i)

    def _remove(self, i: int, f: int) -> None:
        lst = self.buckets[f]
        del lst[bisect.bisect_left(lst, i)]
        if not self._one_pool:
            lst = self.pool_buckets[self.pool_of[i]][f]
            del lst[bisect.bisect_left(lst, i)]
        if f == self.slots[i]:
            lst = self.whole
            del lst[bisect.bisect_left(lst, i)]
            if not self._one_pool:
                lst = self.pool_whole[self.pool_of[i]]
                del lst[bisect.bisect_left(lst, i)]
            self.group_whole[self.group_of[i]] -= 1
        self.total_free -= f
        self.capacity -= self.slots[i]
        self.group_free[self.group_of[i]] -= f

    def _add(self, i: int, f: int) -> None:
        bisect.insort(self.buckets[f], i)
        if not self._one_pool:
            bisect.insort(self.pool_buckets[self.pool_of[i]][f], i)
        if f == self.slots[i]:
            bisect.insort(self.whole, i)
            if not self._one_pool:
                bisect.insort(self.pool_whole[self.pool_of[i]], i)
            self.group_whole[self.group_of[i]] += 1
        self.total_free += f
        self.capacity += self.slots[i]
        self.group_free[self.group_of[i]] += f

    def update(self, i: int) -> None:
        """Re-read node i (call after its free count or availability changed)."""
        node = self.nodes[i]
        g = self.group_of[i]
        free = node.free
        busy = self.slots[i] - free
        self.group_busy[g] += busy - self._busy[i]
        self._busy[i] = busy
        if not (self.available[i] and node.on):
            new = -1
        elif self._extra:  # a preemptive pass's what-if is in force
            new = min(max(free + self._extra.get(i, 0), 0), self.slots[i])
        else:
            new = free
        old = self._free[i]
        if new == old:
            return
        if old >= 0 and new >= 0 and self._one_pool and old != self.slots[i] and new != self.slots[i]:
            # a partly used node stays partly used (the usual change): move it between two buckets
            buckets = self.buckets
            lst = buckets[old]
            del lst[bisect.bisect_left(lst, i)]
            bisect.insort(buckets[new], i)
            self.total_free += new - old
            self.group_free[g] += new - old
            self._free[i] = new
            return
        if old >= 0:
            self._remove(i, old)
        if new >= 0:
            self._add(i, new)
        self._free[i] = new

    def lend(self, i: int, count: int) -> None:
        """Count `count` more (negative: fewer) accelerators of node i as free than it has.

        A preemptive pass's what-if: the accelerators a preemption would free, or
        that a checkpoint save will free, are lent, so that placement can say
        whether a waiting job would fit on them; accelerators promised to a job
        that waits for a save are taken back. `clear_loans` ends it.
        """
        extra = self._extra.get(i, 0) + count
        if extra:
            self._extra[i] = extra
        else:
            self._extra.pop(i, None)
        self.update(i)

    def clear_loans(self) -> None:
        for i in list(self._extra):
            del self._extra[i]
            self.update(i)

    def set_available(self, i: int, available: bool) -> None:
        self.available[i] = available
        self.update(i)

    def free(self, i: int) -> int:
        return max(self._free[i], 0)

    def max_free(self, pool: int | None = None) -> int:
        b = self.buckets if pool is None else self.pool_buckets[pool]
        for k in range(self.max_slots, 0, -1):
            if b[k]:
                return k
        return 0


class ClusterView:
    """What a policy may look at; policies never change state, they return decisions.

    Lists returned (buckets, whole nodes, running jobs) are the engine's own:
    read them, never modify them.
    """

    def __init__(self, sched: Any) -> None:
        self._s = sched

    # -- time and cluster --------------------------------------------------
    @property
    def now(self) -> float:
        return float(self._s.env.now)

    @property
    def seed(self) -> int:
        return self._s.seed

    @property
    def node_count(self) -> int:
        return len(self._s.nodes)

    @property
    def index(self) -> FreeIndex:
        return self._s.index

    def slots(self, i: int) -> int:
        return self._s.index.slots[i]

    def free(self, i: int) -> int:
        """Free accelerators on node i (0 if it is off, booting or failed)."""
        return self._s.index.free(i)

    def free_total(self) -> int:
        return self._s.index.total_free

    def capacity(self) -> int:
        """Accelerators on available nodes."""
        return self._s.index.capacity

    def accelerator(self, i: int) -> str:
        return self._s.nodes[i].accelerator.key

    def pool(self, i: int) -> int:
        return self._s.index.pool_of[i]

    def group(self, i: int) -> int:
        """Rack/leaf of node i (from the topology graph, else blocks of `rack_nodes`)."""
        return self._s.index.group_of[i]

    @property
    def graph(self) -> nx.Graph | None:
        return self._s.graph

    def host(self, i: int) -> str:
        """Name of node i in the topology graph."""
        return f"h{i}"

    def zone_temp_c(self, i: int) -> float | None:
        """Inlet temperature of node i's thermal zone (last plant step); None with one hall."""
        fn = self._s.zone_temp_c
        zone = getattr(self._s.nodes[i], "zone", None)
        return fn(zone) if fn is not None and zone is not None else None

    def rng(self, stream: str) -> np.random.Generator:
        """A generator seeded from the scenario seed and a stream name (reproducible)."""
        import zlib

        import numpy as np

        return np.random.default_rng([self._s.seed, zlib.crc32(stream.encode())])

    # -- jobs ----------------------------------------------------------------
    def running(self) -> list[Job]:
        return list(self._s.runtime.running.values())

    def estimate(self, job: Job) -> float:
        """Estimated runtime of the whole job (s), as the scheduler believes it."""
        return self._s.estimator.total(job)

    def remaining_estimate(self, job: Job) -> float:
        """Estimated time left (s): exact progress, estimated speed."""
        return self._s.estimator.remaining(job)

    def attained_service(self, job: Job) -> float:
        """Accelerator-seconds of compute the job has received, up to now (not the time it held its
        accelerators paused for a checkpoint save or restore)."""
        extra = job.accelerators * (self.now - job._t_last) if job.placement and not job.paused else 0.0
        return job.compute_service_s + max(extra, 0.0)

    def waiting_since(self, job: Job) -> float:
        """When the job last joined the queue (submit, preemption or failure)."""
        return self._s.enqueued_s.get(job.id, job.submit_s)

    def last_run_s(self, job: Job) -> float:
        """Length of the job's last run before it was queued again (0 if none)."""
        return self._s.last_run_s.get(job.id, 0.0)

    def flops_per_accelerator(self, job: Job, i: int) -> float:
        """FLOP/s one accelerator of node i would give this job, uncapped."""
        return self._s.runtime.per_accelerator_flops(job, self._s.nodes[i])


QUEUES = REGISTRIES["queue"]
PLACEMENTS = REGISTRIES["placement"]
register_queue = QUEUES.register
register_placement = PLACEMENTS.register


def make_policy(kind: str, name: str, options: dict[str, Any] | None = None) -> Any:
    """An instance of the named queue or placement policy, built with `options` as keyword arguments."""
    return REGISTRIES[kind].resolve(name)(**(options or {}))


# -- the first policies -------------------------------------------------------


class Fifo:
    """First come, first served, strictly: the head blocks the queue."""

    blocking = True

    @staticmethod
    def key(job: Job, view: ClusterView) -> tuple[float, int]:
        """The job's fixed place in line (the scheduler keeps its queue sorted by it)."""
        return (job.submit_s, job.id)

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        return sorted(queue, key=lambda j: (j.submit_s, j.id))


class FirstFit:
    """The first nodes (in index order) with room.

    A job that fits in one node goes to the lowest-numbered node with enough
    free accelerators. A larger job takes whole free nodes in index order, then
    the rest on the first other node with room; None when it does not fit now.
    """

    def place(self, job: Job, view: ClusterView) -> list[tuple[int, int]] | None:
        ix = view.index
        need = job.accelerators
        if need > ix.total_free:
            return None
        best = None
        for k in range(need, ix.max_slots + 1):
            b = ix.buckets[k]
            if b and (best is None or b[0] < best):
                best = b[0]
        if best is not None:
            return [(best, need)]
        out: list[tuple[int, int]] = []
        for i in ix.whole:
            s = ix.slots[i]
            if s <= need:
                out.append((i, s))
                need -= s
                if need == 0:
                    return out
        if need == 0:
            return out
        taken = {i for i, _ in out}
        cands = [b[j] for k in range(need, ix.max_slots + 1) for b in (ix.buckets[k],)
                 for j in range(min(len(b), len(taken) + 1)) if b[j] not in taken]
        if not cands:
            return None
        out.append((min(cands), need))
        return out
