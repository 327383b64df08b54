"""Training jobs with fluid progress.

A job does not yield once per training step. Between two events its rate
(useful FLOP/s) is constant, so the job schedules one completion event at
`remaining / rate` and, when anything changes its rate (placement, a power
cap, thermal throttling, network shares), books the progress made at the old
rate, recomputes the rate and reschedules. A superseded completion event fires
later and is ignored (it carries an old version number). Events scale with
the number of changes, not with the number of iterations.

Step model (per accelerator, synchronous data-parallel):

    t_compute = b * F_sample / (peak * MFU * speed(cap))
    t_step    = t_compute + max(0, t_comm - overlap * t_compute)

with b the per-accelerator batch, F_sample the training FLOPs per sample and
speed(cap) the DVFS slowdown of `sim.compute.node.PowerCurve`. The step waits for
the slowest worker. A job that gives only total FLOPs and an achieved FLOP/s
(as published runs do) has its communication inside that figure, so
t_comm = 0. Communication time comes from a `CommModel` (the network).

Checkpoints: every `checkpoint_interval` of training the job spends
`checkpoint_time` writing state at near-idle accelerator power (OLMo 2 drew
~15% of TDP while saving, Morrison et al. 2025). In the fluid model this is a
constant duty cycle: rate x I/(I+C) and power averaged over the cycle, exact
over whole cycles. Work since the last checkpoint is what a failure loses.
"""

from __future__ import annotations

import enum
import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any, Protocol

from simpy.events import NORMAL

from sim.compute.async_training import DEFAULT_STALENESS, async_rates
from sim.compute.node import WAIT_ACTIVITY, Node
from sim.compute.parallelism import Layout, model_parallel_comm_s, step_time_s
from sim.compute.power import DEFAULT_GAMMA

if TYPE_CHECKING:
    import simpy

#: the power cap (W, None: uncapped) of a job's accelerators on a node
CapOf = Callable[[Node, "Job"], float | None]

#: relative tolerance under which remaining work counts as done
_DONE_RTOL = 1e-9


class JobState(enum.StrEnum):
    PENDING = "pending"  # not yet submitted, or submitted and waiting for its predecessors (`after`)
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(slots=True)
class JobWork:
    """What a job must compute and how fast its kernels run.

    work_flops: useful training FLOPs to finish.
    flops_per_sample, batch_per_accelerator, gradient_bytes: the step model;
        None when only totals are known (then no communication is modelled).
    mfu: achieved fraction of peak while computing; None = per accelerator
        default from the catalog.
    achieved_flops_per_accelerator: overrides peak x MFU when published.
    gamma: compute-boundedness for the DVFS slowdown, speed = f^gamma
        (1 = compute-bound; None = `sim.compute.power.DEFAULT_GAMMA`).
    layout: tensor/pipeline/data parallelism and ZeRO stage
        (`sim.compute.parallelism`); None for jobs given as totals.
    roofline: apply the HBM roofline of the layout to the step (False when
        the scenario gives the job's MFU: a measured MFU already holds it).
    useful_flops: the work the job needs at a batch far below the critical
        batch, without staleness or rollback (the "useful" work of the
        efficiency columns); None = work_flops.
    """

    work_flops: float
    flops_per_sample: float | None = None
    batch_per_accelerator: int | None = None
    gradient_bytes: float | None = None
    mfu: float | None = None
    achieved_flops_per_accelerator: float | None = None
    gamma: float | None = None
    checkpoint_interval_s: float | None = None
    checkpoint_time_s: float = 0.0
    layout: Layout | None = None
    roofline: bool = True
    useful_flops: float | None = None

    @classmethod
    def many(cls, work_flops: Iterable[float], flops_per_sample: Iterable[float | None],
             batch_per_accelerator: Iterable[int | None], gradient_bytes: Iterable[float | None],
             mfu: Iterable[float | None], checkpoint_interval_s: Iterable[float | None]) -> list[JobWork]:
        """One `JobWork` per element of the columns (the other fields at their defaults), built in C by
        `map` over the positional fields: what trace replays and generators build by the million."""
        none = repeat(None)
        return list(map(cls, work_flops, flops_per_sample, batch_per_accelerator, gradient_bytes, mfu, none, none,
                        checkpoint_interval_s))


class CommModel(Protocol):
    """Communication of placed jobs (sim/network/fabric.py): step times and the job's flows.

    comm_time_s: communication time of one synchronous step (s);
    worker_comm_time_s: push + pull time of one asynchronous worker on a node (s);
    place / release: the job took / left its accelerators.
    """

    def comm_time_s(self, job: Job) -> float: ...

    def worker_comm_time_s(self, job: Job, node: Node) -> float: ...

    def place(self, job: Job) -> None: ...

    def release(self, job: Job) -> None: ...


@dataclass(slots=True)
class Job:
    """A training job and its live state (owned by the engine, read by policies)."""

    id: int
    name: str
    submit_s: float
    accelerators: int
    work: JobWork
    mode: str = "sync"
    user: str | None = None
    vc: str | None = None  # virtual cluster / group (a trace's cluster column), for fair share
    priority: int = 0
    power_cap_w: float | None = None
    # ids of jobs that must complete before this one queues (a shared empty tuple by default: a
    # million jobs need no million empty lists)
    after: Sequence[int] = ()
    ready_s: float | None = None  # when it entered the queue: submit time, or its last predecessor's end
    state: JobState = JobState.PENDING
    start_s: float | None = None
    end_s: float | None = None
    reason: str = ""
    done_flops: float = 0.0
    rate_flops_per_s: float = 0.0
    placement: Sequence[tuple[Node, int]] = ()  # (node, accelerators) while running; replaced, never changed
    compute_share: float = 1.0
    attained_service_s: float = 0.0  # accelerator-seconds held while placed, checkpoint pauses included
    compute_service_s: float = 0.0  # accelerator-seconds of compute, pauses excluded (LAS-like policies)
    comm_wait_s: float = 0.0  # running time weighted by (1 - compute share): waiting on communication
    # every node the job has run on, in order: a tuple, replaced when it grows (a million jobs need no
    # million lists: 40 bytes each saved)
    node_names: tuple[str, ...] = ()
    # scheduling (sim/scheduling): hints from the scenario and what preemption/failures cost
    runtime_estimate_s: float | None = None  # user's estimate of the runtime (SJF, backfill)
    deadline_s: float | None = None  # latest completion wanted (carbon-aware deferral)
    slack_s: float | None = None  # may finish this much later than if started at once
    paused: bool = False  # holds its accelerators without progress (checkpoint save/restore)
    preemptions: int = 0
    restarts: int = 0  # restarts after a node failure
    wasted_flops: float = 0.0  # work rolled back by failures
    wasted_energy_j: float = 0.0  # energy of rolled-back work and checkpoint save/restore
    power_w: float = 0.0  # IT power charged to the job now: its accelerators + its share of the hosts
    # IT energy charged to the job from its own power history (J): `power_w` over time. Its share of
    # switches is the ledger's (`Meter.attributed_j`); held here, a million jobs need no dict entry
    it_energy_j: float = 0.0
    _t_last: float = 0.0
    _version: int = 0

    @classmethod
    def many(cls, ids: Iterable[int], names: Iterable[str], submit_s: Iterable[float], accelerators: Iterable[int],
             works: Iterable[JobWork], mode: str = "sync", users: Iterable[str | None] | None = None,
             vcs: Iterable[str | None] | None = None) -> list[Job]:
        """One `Job` per element of the columns (the live state at its defaults), built in C by `map`
        over the positional fields: what trace replays and generators build by the million."""
        return list(map(cls, ids, names, submit_s, accelerators, works, repeat(mode),
                        repeat(None) if users is None else users, repeat(None) if vcs is None else vcs))

    @property
    def remaining_flops(self) -> float:
        return max(self.work.work_flops - self.done_flops, 0.0)

    @property
    def nodes(self) -> list[Node]:
        return [n for n, _ in self.placement]


#: entries kept in the per-accelerator FLOP/s memo (cleared when full: bounded memory)
_MEMO_MAX = 1 << 16


def call_at(env: simpy.Environment, t: float, callback: Callable[[Wakeup], None]) -> Wakeup:
    """Call `callback(event)` at exactly `t` (>= now), in the order a timeout made now would run:
    a bare entry in SimPy's queue (a Timeout computes now + (t - now), which can miss t by an ulp,
    and costs a class lookup and checks per call). Returns the entry (already triggered)."""
    ev = Wakeup(env, callback)
    queue: list[Any] = env._queue  # SimPy's, typed for its own Events
    heapq.heappush(queue, (t, NORMAL, next(env._eid), ev))
    return ev


class Wakeup:
    """What `call_at` puts in SimPy's queue: a triggered event holding one callback.

    It has what SimPy's loop (and `CountingEnvironment.run`) reads of an event, `callbacks`,
    `_ok` and `_value`, and nothing that can be waited on: nothing yields it. A compiled
    class (sim/compiled.py), so making one costs no dict as a `simpy.Event` does; three are
    made per job (its arrival, a scheduling pass, its completion clock)."""

    def __init__(self, env: simpy.Environment, callback: Callable[[Wakeup], None]) -> None:
        self.env = env
        self.callbacks: list[Callable[[Wakeup], None]] | None = [callback]
        self._ok = True
        self._value: object = None


class CompletionClock:
    """The running jobs' completion times in one heap, behind a single SimPy timeout.

    A job re-rated at every thermal-limit, cap or network change used to leave one
    superseded timeout per change in SimPy's queue (a storm when a limit touches every
    job). Here a re-rate pushes (time, seq, job, version) onto the heap; entries whose
    version is stale are dropped when they reach the top. Only the earliest entry has a
    SimPy timeout; a new earlier one replaces it (the old one fires and does nothing).
    Jobs due at the same instant finish in the order they were scheduled (`seq`), as
    their separate timeouts did.
    """

    def __init__(self, env: simpy.Environment, fire: Callable[[Job, int, object], None]) -> None:
        self.env = env
        self._fire = fire
        self._heap: list[tuple[float, int, Job, int]] = []
        self._seq = 0
        self._armed_at = math.inf  # time of the live timeout
        self._armed_event: Wakeup | None = None
        self._compact_at = 64

    def schedule(self, job: Job, eta_s: float) -> None:
        t = self.env.now + eta_s
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, job, job._version))
        if t < self._armed_at:
            self._arm(t)
        if len(self._heap) > self._compact_at:  # stale entries pile up: drop them (amortised O(1))
            self._heap = [e for e in self._heap if e[3] == e[2]._version]
            heapq.heapify(self._heap)
            self._compact_at = 2 * len(self._heap) + 64

    def _arm(self, t: float) -> None:
        """One event at exactly `t` (a Timeout computes now + (t - now), which can miss t by an ulp)."""
        self._armed_at = t
        self._armed_event = call_at(self.env, t, self._due)

    def _due(self, event: Wakeup) -> None:
        if event is not self._armed_event:
            return  # superseded by an earlier arm
        self._armed_at = math.inf
        heap = self._heap
        now = self.env.now
        while heap and heap[0][0] <= now:
            _, _, job, version = heapq.heappop(heap)
            if version == job._version:
                self._fire(job, version, None)
        while heap and heap[0][3] != heap[0][2]._version:
            heapq.heappop(heap)
        if heap and heap[0][0] < self._armed_at:
            self._arm(heap[0][0])


class TrainingRuntime:
    """Starts, advances and stops jobs on nodes; keeps their power booked.

    `cap_w(node, job)` gives the power cap in force for a job's accelerators on
    a node (scenario cap, job cap, thermal limit: the smallest wins).
    """

    def __init__(
        self,
        env: simpy.Environment,
        default_mfu: Callable[[Node], float],
        cap_w: CapOf,
        comm: CommModel | None = None,
        overlap: float = 0.0,
    ) -> None:
        self.env = env
        self._default_mfu = default_mfu
        self._cap_w = cap_w
        self.comm = comm
        self.overlap = overlap
        self.async_staleness = DEFAULT_STALENESS  # (kappa, max factor, SSP bound), set by the network
        self.running: dict[int, Job] = {}
        self._flops_memo: dict[tuple, float] = {}
        self._power_memo: dict[tuple, float] = {}
        self.on_complete: Callable[[Job], None] = lambda job: None
        self.completions = CompletionClock(env, self._maybe_done)

    # -- the step model ------------------------------------------------------
    def full_clock_flops(self, job: Job, node: Node) -> float:
        """Achieved FLOP/s of one accelerator of `job` on `node` while computing, uncapped.

        With a layout, the step's roofline (HBM traffic, the optimizer step,
        the pipeline bubble, recomputation; `sim.compute.parallelism`) sets it,
        so a memory-bound job runs faster on more HBM bandwidth.
        """
        w = job.work
        if w.achieved_flops_per_accelerator is not None:
            return w.achieved_flops_per_accelerator
        acc = node.accelerator
        mfu = w.mfu if w.mfu is not None else self._default_mfu(node)
        if w.layout is not None and w.roofline and w.flops_per_sample and w.batch_per_accelerator:
            flops = w.batch_per_accelerator * w.flops_per_sample
            t, _ = step_time_s(w.layout, flops, acc.peak_flops, mfu, acc.memory_bandwidth_bytes_per_s)
            return flops / t
        return acc.peak_flops * mfu

    def _power_kw(self, job: Job, node: Node) -> dict[str, float]:
        """`mfu=` for a power model that follows utilisation (sim.compute.node.PowerModel)."""
        if getattr(node.curve, "follows_utilisation", False):
            return {"mfu": self.full_clock_flops(job, node) / node.accelerator.peak_flops}
        return {}

    def per_accelerator_flops(self, job: Job, node: Node, cap_of: CapOf | None = None) -> float:
        """Achieved FLOP/s of one accelerator of `job` on `node` while computing, under its cap
        (`cap_of`, default the caps in force)."""
        return self._flops_at(job, node, (cap_of or self._cap_w)(node, job))

    def _flops_at(self, job: Job, node: Node, cap: float | None) -> float:
        """`per_accelerator_flops` under the cap `cap` (W; None: uncapped)."""
        w = job.work
        # memoised: every input of the answer is in the key (power models are pure functions)
        key = (id(node.curve), id(node.accelerator), cap, w.gamma, w.achieved_flops_per_accelerator, w.mfu,
               w.layout, w.roofline, w.flops_per_sample, w.batch_per_accelerator)
        memo = self._flops_memo
        v = memo.get(key)
        if v is None:
            gamma = w.gamma if w.gamma is not None else DEFAULT_GAMMA
            v = self.full_clock_flops(job, node) * node.curve.speed(cap, gamma, **self._power_kw(job, node))
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[key] = v
        return v

    def _model_parallel_comm_s(self, job: Job) -> float:
        """Tensor- and pipeline-parallel traffic of a step (intra-node fabric, scale-out NIC share)."""
        lay = job.work.layout
        if lay is None or (lay.tp == 1 and lay.pp == 1) or not job.placement:
            return 0.0
        nt = job.placement[0][0].node_type
        inter = nt.nic_bandwidth_bytes_per_s / nt.accelerators_per_node
        return model_parallel_comm_s(lay, nt.intra_node_bandwidth_bytes_per_s, inter)

    def _rates(self, job: Job, cap_of: CapOf | None = None,
               caps: list[float | None] | None = None) -> tuple[float, float]:
        """(useful FLOP/s of the whole job, compute share of a step); `caps`: the cap on each
        node of the placement, when the caller has them (else read from `cap_of`)."""
        placement = job.placement
        if not placement or job.paused:
            return 0.0, 0.0
        w = job.work
        if caps is None:
            cap_of = cap_of or self._cap_w
            caps = [cap_of(n, job) for n, _ in placement]
        flops_at = self._flops_at
        per = [flops_at(job, n, c) for (n, _), c in zip(placement, caps)]
        if job.mode == "sync":
            slowest = min(per)
            t_comm = (self.comm.comm_time_s(job) + self._model_parallel_comm_s(job)
                      if (self.comm and w.flops_per_sample) else 0.0)
            if t_comm > 0 and w.batch_per_accelerator:
                t_compute = w.batch_per_accelerator * w.flops_per_sample / slowest  # type: ignore[operator]
                t_step = t_compute + max(0.0, t_comm - self.overlap * t_compute)
                share = t_compute / t_step
            else:
                share = 1.0
            rate = slowest * job.accelerators * share
        else:  # async parameter servers, ASP or SSP, staleness cost: sim/compute/async_training.py
            comm = self.comm
            rate, share = async_rates(
                job, per, (lambda node: comm.worker_comm_time_s(job, node)) if comm else (lambda node: 0.0),
                self.overlap, *self.async_staleness)
        ckpt = self._checkpoint_duty(job)
        return rate * ckpt, share

    @staticmethod
    def _checkpoint_duty(job: Job) -> float:
        w = job.work
        if w.checkpoint_interval_s and w.checkpoint_time_s > 0:
            return w.checkpoint_interval_s / (w.checkpoint_interval_s + w.checkpoint_time_s)
        return 1.0

    def power_each_w(self, job: Job, node: Node, cap_of: CapOf, compute_share: float | None = None) -> float:
        """Mean power of one of the job's accelerators on `node` if the caps were `cap_of`; changes nothing.

        `compute_share`: the job's compute share under those caps, when the caller has it
        (`compute_share_under`); else it is computed here (answered without rating the job
        when no cap or placement can change it: `fixed_compute_share`).
        """
        if compute_share is None:
            compute_share = self.fixed_compute_share(job)
            if compute_share is None:
                compute_share = self._rates(job, cap_of)[1]
        return self._power_each_w(job, node, cap_of, compute_share)

    def fixed_compute_share(self, job: Job) -> float | None:
        """The job's compute share when no cap or placement can change it: 0 while paused, 1 for a
        synchronous job whose communication is not modelled; None otherwise."""
        if job.paused or not job.placement:
            return 0.0
        if job.mode == "sync" and (self.comm is None or not job.work.flops_per_sample):
            return 1.0
        return None

    def compute_share_under(self, job: Job, cap_of: CapOf) -> float:
        """The job's compute share of a step if the caps were `cap_of` (one per job, whatever its nodes)."""
        return self._rates(job, cap_of)[1]

    def _power_each_w(self, job: Job, node: Node, cap_of: CapOf | None = None,
                      compute_share: float | None = None) -> float:
        """Mean power of one of the job's accelerators on `node` (memoised: every input of the
        answer is in the key; power models are pure functions)."""
        return self._power_at(job, node, (cap_of or self._cap_w)(node, job),
                              job.compute_share if compute_share is None else compute_share)

    def _power_at(self, job: Job, node: Node, cap: float | None, share: float) -> float:
        """`_power_each_w` under the cap `cap` (W; None: uncapped) at the compute share `share`."""
        w = job.work
        key = (id(node.curve), id(node.accelerator), cap, share, w.achieved_flops_per_accelerator, w.mfu,
               w.layout, w.roofline, w.flops_per_sample, w.batch_per_accelerator, w.checkpoint_interval_s,
               w.checkpoint_time_s)
        memo = self._power_memo
        v = memo.get(key)
        if v is not None:
            return v
        kw = self._power_kw(job, node)
        p_run = node.curve.power_w(share, cap, **kw)
        duty = self._checkpoint_duty(job)
        if duty < 1.0:
            p_c = node.curve.compute_power_w(cap, **kw)
            p_ckpt = getattr(node.curve, "wait_w", node.curve.idle_w + (p_c - node.curve.idle_w) * WAIT_ACTIVITY)
            p_ckpt = min(p_ckpt, p_c)
            v = duty * p_run + (1.0 - duty) * p_ckpt
        else:
            v = p_run
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = v
        return v

    # -- lifecycle -------------------------------------------------------------
    def start(self, job: Job, placement: list[tuple[Node, int]]) -> None:
        now = self.env.now
        job.placement = placement
        job.state = JobState.RUNNING
        names = job.node_names
        for n, _ in placement:
            if n.name not in names:
                names = (*names, n.name)
        job.node_names = names
        if job.start_s is None:
            job.start_s = now
        job._t_last = now
        for node, count in placement:
            node.free -= count
        self.running[job.id] = job
        if self.comm is not None:
            self.comm.place(job)
        self.update(job)

    def stop(self, job: Job) -> None:
        """Take a job off its nodes (completion, failure or preemption)."""
        self._book(job)
        job.power_w = 0.0
        job._version += 1
        for node, count in job.placement:
            node.free += count
            node.remove_job(job.id)
        job.placement = ()
        job.rate_flops_per_s = 0.0
        self.running.pop(job.id, None)
        if self.comm is not None:
            self.comm.release(job)

    def update(self, job: Job, touched: dict[int, Node] | None = None) -> None:
        """Book progress at the old rate, recompute rate and power, reschedule.

        `touched`: collect the job's nodes there instead of refreshing their power now (the
        caller refreshes each once, after re-rating many jobs: `update_all`)."""
        self._book(job)
        placement = job.placement
        cap_w = self._cap_w
        caps = [cap_w(node, job) for node, _ in placement]  # read once for the rate and the power
        job_rate, share = self._rates(job, caps=caps)
        job.rate_flops_per_s = job_rate
        job.compute_share = share
        power_w = 0.0
        power_at = self._power_at
        for (node, count), cap in zip(placement, caps):
            w = power_at(job, node, cap, share)
            node.set_job(job.id, count, w, touched is None)
            if touched is not None:
                touched[node.index] = node
            power_w += node.job_power_w(count, w)
        job.power_w = power_w
        job._version += 1
        if job_rate > 0:
            self.completions.schedule(job, max(job.work.work_flops - job.done_flops, 0.0) / job_rate)

    def set_paused(self, job: Job, paused: bool) -> None:
        """Pause (checkpoint save or restore: accelerators held, no progress) or resume a job; the
        time before the change is booked in the old state."""
        self._book(job)
        job.paused = paused
        self.update(job)

    def update_all(self, jobs: Iterable[Job] | None = None) -> None:
        """Re-rate every running job (or `jobs`): a cap moved. Each node's power is booked once,
        after all its jobs are re-rated (the instant's final value; a node with many jobs used to
        book each job's step at the same instant)."""
        touched: dict[int, Node] = {}
        for job in list(self.running.values() if jobs is None else jobs):
            self.update(job, touched)
        for node in touched.values():
            node.refresh()

    def _book(self, job: Job) -> None:
        """Book the job's progress and energy (its own IT power, `Job.power_w`) up to now."""
        now = self.env.now
        dt = now - job._t_last
        if dt > 0:
            if job.power_w:
                job.it_energy_j += job.power_w * dt
            job.done_flops += job.rate_flops_per_s * dt
            svc = job.accelerators * dt
            held = job.attained_service_s
            job.attained_service_s = att = held + svc
            if not job.paused:  # service is compute: not a checkpoint save or restore
                comp = job.compute_service_s
                # equal so far (never paused): the same sum, so the same float object (a million
                # jobs hold one float less)
                job.compute_service_s = att if comp == held else comp + svc
            if job.rate_flops_per_s > 0 and job.compute_share < 1.0:  # += 0.0 would only cost a float
                job.comm_wait_s += (1.0 - job.compute_share) * dt
        job._t_last = now

    def _maybe_done(self, job: Job, version: int, _event: object) -> None:
        if version != job._version or job.state is not JobState.RUNNING:
            return
        self._book(job)
        left = max(job.work.work_flops - job.done_flops, 0.0)
        # done when the work left is a rounding sliver, or when the time it needs is below
        # float resolution at `now` (its timeout would fire at this same instant again)
        if left <= _DONE_RTOL * job.work.work_flops or self.env.now + left / job.rate_flops_per_s <= self.env.now:
            job.done_flops = job.work.work_flops
            self.stop(job)
            job.state = JobState.COMPLETED
            job.end_s = self.env.now
            self.on_complete(job)
        else:  # rounding left a sliver: finish it
            self.update(job)
