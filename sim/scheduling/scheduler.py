"""The scheduler: a SimPy-driven decision loop over queue, placement and controls.

It is woken by arrivals, completions, failures, repairs, node boots, the end
of a checkpoint save, policy-requested times (LAS threshold crossings) and an
optional periodic tick. Several wake-ups at one instant are coalesced into one
decision pass, run after the other events of that instant (a zero-delay
timeout).

A pass: the queue policy orders the waiting jobs (a preemptive policy orders
waiting and running jobs together); each job in turn is placed by the
placement policy and admitted by the controls (power envelope), or skipped
(non-blocking) or stops the pass (blocking). A policy with `schedule()`
drives the pass itself (backfill).

Preemption (Tiresias-style suspend/resume): the job keeps its accelerators at
checkpoint power for `checkpoint_save` without progress, then releases them
and queues again with its work saved; when it starts again it spends
`checkpoint_restore` at checkpoint power before progressing. The energy of
both is the job's `wasted_energy_j`.

Failures: every job on a failed node stops, rolls back to its last
checkpoint (`checkpoint_interval` of useful training since it last
(re)started; a job without checkpoints loses everything since then) and
queues again. The energy of the lost work (the run's attributed energy x the
lost share of its work) is `wasted_energy_j`; the lost work `wasted_flops`.

Node states: up (in the free-capacity index), off (powered down), booting,
failed. Only up nodes take jobs.

Dependencies (`Job.after`): a job whose submit time has come waits, still
`pending` and outside the queue (`blocked`), until every predecessor has
completed; it enters the queue at that instant (`ready_s`). A predecessor
that fails (a final state) fails it with reason "predecessor X failed", at
the later of its submit time and that failure.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from sim.compute.training import Job, JobState, TrainingRuntime, call_at
from sim.scheduling.control_api import ControlContext, build_controls
from sim.scheduling.estimates import Estimator
from sim.scheduling.operations import EnergySaver, FailureProcess
from sim.scheduling.policies import (
    FAILED,
    UP,
    ClusterView,
    FreeIndex,
)
from sim.scheduling.policy_api import PlacementPolicy, QueuePolicy
from sim.spec.scheduling import SchedulerConfig

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import simpy

    from sim.compute.node import Node
    from sim.engine.caps import PowerCaps
    from sim.engine.meter import Meter
    from sim.facility.signals import Signal



def block_groups(n: int, size: int) -> list[int]:
    """Racks as consecutive blocks of `size` nodes: n0..n{size-1} in rack 0, ..."""
    return [i // size for i in range(n)]


def graph_groups(graph: nx.Graph, n: int, size: int) -> list[int]:
    """Racks from a topology graph: the switch each host hangs off (its leaf/ToR)."""
    leaf_of: dict[str, int] = {}
    out = []
    for i in range(n):
        h = f"h{i}"
        if h not in graph:
            return block_groups(n, size)
        sw = sorted(v for v in graph.neighbors(h) if graph.nodes[v].get("kind") == "switch")
        key = sw[0] if sw else h
        out.append(leaf_of.setdefault(key, len(leaf_of)))
    return out


class Scheduler:
    def __init__(
        self,
        env: simpy.Environment,
        nodes: Sequence[Node],
        runtime: TrainingRuntime,
        queue_policy: QueuePolicy,
        placement_policy: PlacementPolicy,
        meter: Meter,
        config: SchedulerConfig | None = None,
        seed: int = 0,
        graph: nx.Graph | None = None,
    ) -> None:
        self.env = env
        self.nodes = nodes
        self.runtime = runtime
        self.queue_policy = queue_policy
        self.placement_policy = placement_policy
        self.config = config or SchedulerConfig()
        self.seed = seed
        self.graph = graph
        self.zone_temp_c: Callable[[int], float | None] | None = None
        groups = graph_groups(graph, len(nodes), self.config.rack_nodes) if graph is not None else \
            block_groups(len(nodes), self.config.rack_nodes)
        self.index = FreeIndex(nodes, groups)
        # a preemptive pass lends accelerators in `index` (what-ifs); this one shows only those
        # free now (less those promised in the pass), for a placement that need not wait
        self._now_index = FreeIndex(nodes, groups) if getattr(queue_policy, "preemptive", False) else None
        self.view = ClusterView(self)
        self.estimator = Estimator(self.config.estimates, seed, runtime, nodes[0]) if nodes else None
        self.queue: list[Job] = []  # waiting jobs; kept in the policy's order when it has a static `key`
        key = getattr(queue_policy, "key", None)
        # a policy whose order is a fixed key per job (fifo, sjf, easy-backfill) gets its queue
        # kept sorted as jobs arrive (bisect), so a pass never re-sorts the whole queue
        self._queue_key: Callable[[Job], Any] | None = (
            (lambda j: key(j, self.view)) if callable(key) and not getattr(queue_policy, "preemptive", False)
            else None)
        self.jobs_by_id: dict[int, Job] = {}  # submitted jobs that have not completed (queued, running, failed)
        self.held: dict[int, Job] = {}
        self.blocked: dict[int, Job] = {}  # submitted, waiting for predecessors (Job.after)
        self._known: dict[int, Job] = {}  # every job of the run that has or is a predecessor
        self._dependents: dict[int, list[Job]] = {}
        self.capacity = sum(n.slots for n in nodes)
        self.node_state = [UP] * len(nodes)
        self.enqueued_s: dict[int, float] = {}
        self.last_run_s: dict[int, float] = {}
        self._placed: dict[int, list[int]] = {}
        self._seg: dict[int, tuple[float, float, float]] = {}  # id -> (done flops, attributed J, t) at run start
        self._epoch: dict[int, int] = {}
        self._needs_restore: set[int] = set()
        self._saving: set[int] = set()
        self._pass_pending = False
        self._requeue_wakes = True  # False while a preemptive pass preempts and restarts
        self._next_review: float | None = None
        self._meter = meter
        # counts booked in bulk by the ledger (`Meter.counter`): O(1) per job event
        self._queued_ch = meter.counter("jobs_queued", "jobs")
        self._running_ch = meter.counter("jobs_running", "jobs")
        self.controls: list[Any] = []
        self.saver: Any = None
        self.failures: Any = None
        self.decisions = 0
        self.passes = 0
        self.pass_wall_s = 0.0
        self.on_idle: Callable[[], None] = lambda: None
        runtime.on_complete = self._completed

    # -- wiring ------------------------------------------------------------
    def bind(self, *, caps: PowerCaps, start: pd.Timestamp, horizon_s: float,
             topology: nx.Graph | None = None, zone_temp_c: Callable[[int], float] | None = None,
             carbon: Signal | None = None, serving_it_w: Callable[[], float] | None = None) -> None:
        """Late wiring once the world is built: topology, thermal zones, controls, failures, power-down.

        ``caps``: where caps combine (controls set theirs through their context);
        ``carbon``: the grid carbon signal controls may forecast.
        """
        if topology is not None:
            self.graph = topology
            self.index.set_groups(graph_groups(topology, len(self.nodes), self.config.rack_nodes))
            if self._now_index is not None:
                self._now_index.set_groups(self.index.group_of)
        if zone_temp_c is not None:
            self.zone_temp_c = zone_temp_c
        self.control_context = ControlContext(self, caps, carbon, start, horizon_s, serving_it_w)
        self.controls = build_controls(self.config.controls, self.control_context)
        if self.config.power_down is not None:
            self.saver = EnergySaver(self, self.config.power_down)
        if self.config.failures is not None:
            self.failures = FailureProcess(self, self.config.failures, horizon_s)
        if self.config.tick is not None:
            env = self.env

            def tick():
                while True:
                    yield env.timeout(self.config.tick)
                    self.wake()

            env.process(tick())

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Learn the run's jobs before they arrive: a predecessor may be submitted after its dependent."""
        preds = {p for job in jobs for p in job.after}
        for job in jobs:
            if job.after or job.id in preds:
                self._known[job.id] = job
            for p in job.after:
                self._dependents.setdefault(p, []).append(job)

    def _attributed_j(self, job: Job) -> float:
        """IT energy charged to the job so far (J): its own power history and its share of switches."""
        return job.it_energy_j + self._meter.attributed_j.get(job.id, 0.0)

    def queue_length(self) -> int:
        """Jobs waiting: queued, or held back by a control."""
        return len(self.queue) + len(self.held)

    # -- events ------------------------------------------------------------
    def submit(self, job: Job) -> None:
        """The job's submit time has come: queue it once its predecessors have completed."""
        if job.after and not self._dependencies_met(job):
            return
        job.ready_s = self.env.now
        self.jobs_by_id[job.id] = job
        if job.accelerators > self.capacity:
            job.state = JobState.FAILED
            job.reason = f"needs {job.accelerators} accelerators; the cluster has {self.capacity}"
            job.end_s = self.env.now
            self._release_dependents(job)
            self.on_idle()
            return
        now = self.env.now
        job.state = JobState.QUEUED
        self._meter.bump(self._queued_ch, 1, now)
        self.enqueued_s[job.id] = now
        for c in self.controls:
            hold = getattr(c, "hold_until", None)
            t = hold(self.control_context.view(job)) if hold else None
            if t is not None and t > self.env.now:
                self.held[job.id] = job
                self.env.timeout(t - self.env.now).callbacks.append(partial(self._release_held, job))
                return
        self._enqueue(job)
        self.wake()

    def _enqueue(self, job: Job) -> None:
        """Put a job in the queue: in key order (O(log n) compares) or at the end."""
        q = self.queue
        key = self._queue_key
        if key is None or not q or key(q[-1]) <= key(job):  # jobs mostly arrive in key order (FIFO)
            q.append(job)
        else:
            bisect.insort_right(q, job, key=key)

    def _dequeue_started(self, started: list[Job]) -> None:
        """Take the jobs a keyed pass started out of the sorted queue (a prefix under a blocking policy)."""
        q = self.queue
        n = len(started)
        if n == 1 and q and q[0] is started[0]:  # the head started (FIFO's usual pass)
            del q[0]
            return
        if n <= len(q) and all(a is b for a, b in zip(started, q)):
            del q[:n]
            return
        key = self._queue_key
        for job in started:
            i = bisect.bisect_left(q, key(job), key=key)  # type: ignore[arg-type,misc]
            while q[i] is not job:
                i += 1
            del q[i]

    def _dependencies_met(self, job: Job) -> bool:
        """True when every predecessor has completed; else block the job, or fail it if one failed."""
        preds = [self._known[p] for p in job.after]
        failed = next((p for p in preds if p.state is JobState.FAILED), None)
        if failed is not None:
            self.blocked.pop(job.id, None)
            self.jobs_by_id[job.id] = job
            job.state = JobState.FAILED
            job.reason = f"predecessor {failed.name} failed"
            job.end_s = self.env.now
            self._release_dependents(job)
            self.on_idle()
            return False
        waiting = [p.name for p in preds if p.state is not JobState.COMPLETED]
        if waiting:
            self.blocked[job.id] = job
            job.reason = f"waiting for {', '.join(waiting)}"
            return False
        self.blocked.pop(job.id, None)
        job.reason = ""
        return True

    def _release_dependents(self, job: Job) -> None:
        """A job ended (completed or failed): its submitted dependents queue, wait on, or fail."""
        for dep in self._dependents.get(job.id, ()):
            if dep.id in self.blocked:
                self.submit(dep)

    def _release_held(self, job: Job, _event: object = None) -> None:
        if self.held.pop(job.id, None) is not None:
            self._enqueue(job)
            self.wake()

    def _completed(self, job: Job) -> None:
        now = self.env.now
        # a completed job's entries go (a year holds a million jobs); without an epoch, any
        # callback still pending for it (a restore) is stale
        jid = job.id
        self._epoch.pop(jid, None)
        self._seg.pop(jid, None)
        self.enqueued_s.pop(jid, None)
        self.last_run_s.pop(jid, None)
        self.jobs_by_id.pop(jid, None)
        self._meter.bump(self._running_ch, -1, now)
        self._release_nodes(job)
        self._release_dependents(job)
        self.wake()
        self.on_idle()

    def wake(self) -> None:
        """Ask for a decision pass at the current instant (coalesced); none while nothing waits."""
        if not self._pass_pending and self.queue:
            self._pass_pending = True
            call_at(self.env, self.env.now, self._pass)  # what env.timeout(0) does, leaner

    def _wake_at(self, t: float) -> None:
        if self._next_review is not None and self._next_review <= t and self._next_review > self.env.now:
            return
        self._next_review = t
        self.env.timeout(t - self.env.now).callbacks.append(lambda _e: self.wake())

    # -- nodes ---------------------------------------------------------------
    def node_changed(self, i: int) -> None:
        """Re-index node i and let the power-down manager see it."""
        self.index.update(i)
        if self._now_index is not None:
            self._now_index.update(i)
        if self.saver is not None:
            self.saver.node_changed(i)

    def _controls_changed(self) -> None:
        for c in self.controls:
            f = getattr(c, "after_change", None)
            if f:
                f()

    def _release_nodes(self, job: Job) -> None:
        nodes = self._placed.pop(job.id, [])
        for i in nodes:
            self.index.update(i)
            if self._now_index is not None:
                self._now_index.update(i)
            if self.saver is not None:
                self.saver.node_changed(i)
        self._controls_changed()

    def set_node_state(self, i: int, state: str) -> None:
        self.node_state[i] = state
        self.index.set_available(i, state == UP)
        if self._now_index is not None:
            self._now_index.set_available(i, state == UP)
        if self.saver is not None:
            self.saver.node_changed(i)
        self._controls_changed()
        if state == UP:
            self.wake()

    # -- decisions ---------------------------------------------------------
    def _try_start(self, job: Job, placement: list[tuple[int, int]] | None = None) -> bool:
        """Place (unless `placement` is given: the caller counted the decision), admit and start a
        queued job; False if it does not start."""
        if placement is None:
            self.decisions += 1
        if job.state is not JobState.QUEUED or job.id in self._placed:
            return False
        if placement is None:
            placement = self.placement_policy.place(job, self.view)
        if placement is None:
            return False
        for c in self.controls:
            admits = getattr(c, "admits", None)
            if admits is not None and not admits(self.control_context.view(job), placement):
                return False
        self._start(job, placement)
        return True

    def _start(self, job: Job, placement: list[tuple[int, int]]) -> None:
        now = self.env.now
        pre = self.config.preemption
        # a resumption restores its checkpoint; a first start pays `first_start_cost` if set
        load_s = (pre.checkpoint_restore if job.id in self._needs_restore
                  else pre.first_start_cost if job.start_s is None else 0.0)
        restore = load_s > 0
        self._needs_restore.discard(job.id)
        job.paused = restore
        self.runtime.start(job, [(self.nodes[i], c) for i, c in placement])
        self._placed[job.id] = [i for i, _ in placement]
        epoch = self._epoch.get(job.id, 0) + 1
        self._epoch[job.id] = epoch
        att = self._attributed_j(job)
        self._seg[job.id] = (job.done_flops, att, now)
        if restore:
            self.env.timeout(load_s).callbacks.append(partial(self._restored, job, epoch))
        self._meter.bump(self._running_ch, 1, now)
        self._meter.bump(self._queued_ch, -1, now)
        for i, _ in placement:
            self.node_changed(i)
        self._controls_changed()

    def _restored(self, job: Job, epoch: int, _event: object = None) -> None:
        if self._epoch.get(job.id) != epoch or job.state is not JobState.RUNNING or job.id in self._saving:
            return  # preempted while restoring: it saves (paused) instead of computing
        self.runtime.set_paused(job, False)
        att = self._attributed_j(job)
        _, att0, _ = self._seg[job.id]
        job.wasted_energy_j += att - att0
        self._seg[job.id] = (job.done_flops, att, self.env.now)
        self._controls_changed()  # the job now draws compute power: a power envelope re-caps

    def _pass(self, _event: object = None) -> None:
        self._pass_pending = False
        if not self.queue:
            return
        t0 = time.perf_counter()
        self.passes += 1
        q = self.queue_policy
        if getattr(q, "preemptive", False):
            self._preemptive_pass()
            self.queue = [j for j in self.queue if j.id not in self._placed]
        elif self._queue_key is not None and not hasattr(q, "schedule"):
            started = []
            for job in self.queue:  # already in the policy's order
                if self._try_start(job):
                    started.append(job)
                elif q.blocking:
                    break
            if started:
                self._dequeue_started(started)
        else:
            if hasattr(q, "schedule"):
                q.schedule(list(self.queue), self.view, self._try_start)
            else:
                for job in q.order(self.queue, self.view):
                    if not self._try_start(job) and q.blocking:
                        break
            self.queue = [j for j in self.queue if j.id not in self._placed]
        if self.saver is not None:
            self.saver.after_pass()
        nxt = getattr(q, "next_change_s", None)
        if nxt is not None and self.queue:
            t = nxt(self.queue, self.view)
            if t is not None:
                self._wake_at(t)
        self.pass_wall_s += time.perf_counter() - t0

    def _preemptive_pass(self) -> None:
        """Order queued and running jobs together; a waiting job preempts jobs ranked below it only
        when placement can then put it on the accelerators they free.

        In the policy's order, each waiting job is placed on the free accelerators, with those of
        jobs saving a checkpoint lent to it (they are free once the save ends; a placement on
        accelerators free now is preferred when placement finds one). If it does not fit,
        running jobs ranked below it are lent, lowest first, until placement finds it a place;
        those of them it does not need are given back, highest first, and the rest are preempted.
        A job whose place is free now starts; one that waits for a save keeps its place (taken
        out of the lent accelerators) so no job ranked below it takes it. A job that fits
        nowhere, even with every job below it preempted, preempts nothing.
        """
        now = self.env.now
        min_run = self.config.preemption.min_run
        running = [j for j in self.runtime.running.values() if j.id not in self._saving]
        order = self.queue_policy.order(self.queue + running, self.view)
        ix = self.index
        now_ix = self._now_index
        loans: dict[int, int] = {}  # node -> accelerators lent: held by jobs saving a checkpoint
        for jid in self._saving:
            for i, c in self._held(self.runtime.running[jid]):
                ix.lend(i, c)
                loans[i] = loans.get(i, 0) + c
        rank = {j.id: k for k, j in enumerate(order)}
        # accelerators of the running jobs that may be preempted, summed from the lowest rank up
        movable = [0] * (len(order) + 1)
        for k in range(len(order) - 1, -1, -1):
            j = order[k]
            ok = j.id in self._placed and now - self._seg.get(j.id, (0, 0, -math.inf))[2] >= min_run
            movable[k] = movable[k + 1] + (j.accelerators if ok else 0)
        gone: list[Job] = []  # jobs preempted by this pass
        place = self.placement_policy.place
        view = self.view
        # a job preempted here (save 0) is requeued and tried again by this very pass: it
        # must not ask for another pass at this instant, which would preempt it again, and
        # again, forever when the waiting jobs cannot start (a control refuses them)
        self._requeue_wakes = False
        # the smallest job for which no room could be made: until a preemption frees accelerators,
        # the state only tightens (starts, promises) and a later job has fewer jobs below it, so no
        # job at least as large fits either (placement: see `PlacementPolicy`)
        no_room = math.inf
        no_room_now = math.inf  # the same, among the accelerators free now
        save = self.config.preemption.checkpoint_save
        try:
            for k, job in enumerate(order):
                if job.id in self._placed or job.state is not JobState.QUEUED:
                    continue
                self.decisions += 1
                if job.accelerators >= no_room:
                    continue
                spare = movable[k + 1] - sum(g.accelerators for g in gone if rank[g.id] > k)
                if ix.total_free + spare < job.accelerators:
                    continue  # not even every job below it would make room
                placement = place(job, view)
                if placement is None:
                    placement = self._make_room(job, order[k + 1:], gone, min_run, loans)
                    if placement is None:
                        no_room = float(job.accelerators)
                        continue
                    no_room = math.inf
                    if save <= 0:  # the victims' accelerators are free now
                        no_room_now = math.inf
                elif (not self._free_now(placement) and now_ix is not None
                        and now_ix.total_free >= job.accelerators and job.accelerators < no_room_now):
                    # it would wait for a save: rather start now where accelerators are free already
                    # (not after making room: what did not fit with the loans does not fit without)
                    now_placement = self._place_on_free(job)
                    if now_placement is not None:
                        placement = now_placement
                    else:
                        no_room_now = float(job.accelerators)
                if self._free_now(placement):
                    self._try_start(job, placement)
                else:  # waits for a save to end: keep its place
                    for i, c in placement:
                        ix.lend(i, -c)
                        # what it takes beyond the node's loan is free now: not free for others now
                        from_loan = min(c, loans.get(i, 0))
                        if from_loan:
                            loans[i] -= from_loan
                        if c > from_loan and now_ix is not None:
                            now_ix.lend(i, -(c - from_loan))
        finally:
            self._requeue_wakes = True
            ix.clear_loans()
            if now_ix is not None:
                now_ix.clear_loans()

    def _free_now(self, placement: list[tuple[int, int]]) -> bool:
        """True when every accelerator of `placement` is free now (none of them still saving)."""
        return all(c <= self.nodes[i].free for i, c in placement)

    def _held(self, job: Job) -> list[tuple[int, int]]:
        """(node index, accelerators) a running job holds."""
        return [(i, c) for i, (_, c) in zip(self._placed[job.id], job.placement)]

    def _place_on_free(self, job: Job) -> list[tuple[int, int]] | None:
        """Where placement would put `job` on the accelerators free now (none lent, those promised
        in this pass taken out), or None."""
        if self._now_index is None:
            return None
        self.index, self._now_index = self._now_index, self.index
        try:
            return self.placement_policy.place(job, self.view)
        finally:
            self.index, self._now_index = self._now_index, self.index

    def _make_room(self, job: Job, below: Sequence[Job], gone: list[Job],
                   min_run: float, loans: dict[int, int]) -> list[tuple[int, int]] | None:
        """Preempt the fewest jobs ranked below `job` (lowest first) after which placement puts it
        on the accelerators they free; its placement, or None (and nothing preempted)."""
        now = self.env.now
        ix = self.index
        place = self.placement_policy.place
        lent: list[tuple[Job, list[tuple[int, int]]]] = []
        placement = None
        for r in reversed(below):
            if (r.id not in self._placed or r.id in self._saving
                    or now - self._seg.get(r.id, (0, 0, -math.inf))[2] < min_run):
                continue
            held = self._held(r)
            for i, c in held:
                ix.lend(i, c)
            lent.append((r, held))
            if ix.total_free >= job.accelerators:
                placement = place(job, self.view)
                if placement is not None:
                    break
        if placement is None:
            for _, held in lent:
                for i, c in held:
                    ix.lend(i, -c)
            return None
        for n in range(len(lent) - 2, -1, -1):  # give back, highest-ranked first, the victims not needed
            r, held = lent[n]
            for i, c in held:
                ix.lend(i, -c)
            again = place(job, self.view) if ix.total_free >= job.accelerators else None
            if again is None:
                for i, c in held:
                    ix.lend(i, c)
            else:
                placement = again
                del lent[n]
        for r, held in lent:
            gone.append(r)
            if self.config.preemption.checkpoint_save <= 0:  # freed at once: no longer a loan
                for i, c in held:
                    ix.lend(i, -c)
            else:  # lent until its save ends
                for i, c in held:
                    loans[i] = loans.get(i, 0) + c
            self.preempt(r)
        return placement

    # -- preemption and failures ------------------------------------------
    def preempt(self, job: Job) -> None:
        """Suspend a running job: save its state, then give its accelerators back."""
        job.preemptions += 1
        save = self.config.preemption.checkpoint_save
        epoch = self._epoch.get(job.id, 0)
        # preempted while restoring: the restore so far is wasted too
        restore_att0 = self._seg[job.id][1] if job.paused and job.id in self._seg else None
        self._saving.add(job.id)
        if save > 0:
            self.runtime.set_paused(job, True)  # books progress and closes the job's energy segments
            att0 = self._attributed_j(job)
            self.env.timeout(save).callbacks.append(partial(self._saved, job, epoch, att0))
        else:
            self._saving.discard(job.id)
            self._requeue(job)
        if restore_att0 is not None:
            job.wasted_energy_j += self._attributed_j(job) - restore_att0

    def _saved(self, job: Job, epoch: int, att0: float, _event: object = None) -> None:
        if self._epoch.get(job.id) != epoch or job.state is not JobState.RUNNING:
            self._saving.discard(job.id)
            return
        self._saving.discard(job.id)
        self._requeue(job)
        job.wasted_energy_j += self._attributed_j(job) - att0

    def _requeue(self, job: Job) -> None:
        """Take a running job off its nodes and put it back in the queue."""
        self.runtime.stop(job)
        job.paused = False
        self._epoch[job.id] = self._epoch.get(job.id, 0) + 1
        seg = self._seg.pop(job.id, None)
        now = self.env.now
        self.last_run_s[job.id] = now - seg[2] if seg else 0.0
        job.state = JobState.QUEUED
        self._needs_restore.add(job.id)
        self.enqueued_s[job.id] = now
        self._enqueue(job)
        self._meter.bump(self._running_ch, -1, now)
        self._meter.bump(self._queued_ch, 1, now)
        self._release_nodes(job)
        if self._requeue_wakes:
            self.wake()

    def checkpoint_flops(self, job: Job, rate_flops_per_s: float, flops0: float) -> float:
        """Work saved by the last periodic checkpoint since the run began at `flops0`."""
        w = job.work
        if not w.checkpoint_interval_s or rate_flops_per_s <= 0:
            return flops0
        duty = self.runtime._checkpoint_duty(job)
        per = rate_flops_per_s / duty * w.checkpoint_interval_s
        return flops0 + math.floor((job.done_flops - flops0) / per + 1e-9) * per

    def fail_job(self, job: Job) -> None:
        """A node under the job failed: roll back to the last checkpoint and queue again."""
        rate = job.rate_flops_per_s
        flops0, att0, _ = self._seg.get(job.id, (job.done_flops, 0.0, self.env.now))
        saving = job.id in self._saving
        self._saving.discard(job.id)
        job.restarts += 1
        # a save that did not finish voids the preemption: the work since flops0 is lost like any
        # other, through the checkpoint rollback below
        del saving
        self.runtime._book(job)
        done = job.done_flops
        ckpt = min(self.checkpoint_flops(job, rate, flops0), done)
        self._requeue(job)
        att = self._attributed_j(job)
        seg_j = att - att0
        seg_flops = done - flops0
        lost = done - ckpt
        job.done_flops = ckpt
        job.wasted_flops += lost
        if seg_flops > 0:
            job.wasted_energy_j += seg_j * lost / seg_flops
        elif seg_j > 0:  # failed while restoring: the restore energy is lost
            job.wasted_energy_j += seg_j

    def fail_node(self, i: int) -> None:
        node = self.nodes[i]
        for jid in list(node.jobs):
            job = self.jobs_by_id.get(jid)  # type: ignore[arg-type,call-overload]
            if job is not None and job.state is JobState.RUNNING:
                self.fail_job(job)
        self.set_node_state(i, FAILED)
        node.power_off()

    def repair_node(self, i: int) -> None:
        self.nodes[i].power_on()
        self.set_node_state(i, UP)
