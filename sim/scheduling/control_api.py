"""The documented API of scheduling controls: what a control sees and what it may do.

A control is a class with any of three hooks, found by name through the
registry (`sim.registry.REGISTRIES["control"]`) and built as
``Class(options, context)``:

- ``hold_until(job: JobView) -> float | None``: at submission, keep the job
  out of the queue until that time (s since the scenario start);
- ``admits(job: JobView, placement: list[tuple[int, int]]) -> bool``: may this
  job start now on these (node index, accelerators);
- ``after_change()``: a job started or stopped, a node booted or switched off,
  a cap or a thermal limit changed.

``options`` is the entry's validated config (a built-in) or a dict of the
entry's keys other than ``kind`` (a user's control). ``context`` is a
`ControlContext`: read-only views with units in their names, plus explicit
actions. A control written against this page keeps working through any
internal change of the scheduler, the runtime or the World; nothing else
(no private attribute, no World) is part of the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

from sim.registry import REGISTRIES
from sim.scheduling.control_protocol import Control, JobView
from sim.spec.scheduling import UserControlConfig

__all__ = ["CONTROLS", "Control", "ControlContext", "JobView", "build_controls", "register_control"]

if TYPE_CHECKING:
    import pandas as pd

    from sim.compute.node import Node
    from sim.compute.training import Job
    from sim.engine.caps import PowerCaps
    from sim.facility.signals import Forecast, Signal
    from sim.scheduling.scheduler import Scheduler


#: a job's terms on one node: (accelerators, W each, group or -1, job or None)
_Terms = list[tuple[int, float, int, "Job | None"]]


class _StateRead:
    """The state read once for `ControlContext.it_power_curve` (see there).

    groups: (a job, a node, its compute share) per group of jobs whose power depends only on the
    cap; states: the nodes' distinct states, (node, terms, accelerators used, W of the idle ones, W
    of the host idle, W of the host's busy part), terms (accelerators, W each, group or -1, job
    or None); nodes whose jobs are all in groups, with the same counts, are one state (same power);
    nodes, order: the nodes that are on, in node order, and the state of each. key: the state it
    was read from (`ControlContext._state_key`). The W each of a job in its terms is that of the
    caps in force when its node was read: IT at a given fraction does not use it (its group's W,
    or its own); IT at the caps in force reads the state afresh. alone: some job's power depends
    on more than the cap (it is computed job by job).

    Incremental: given the previous read (`prev`) and no job paused or resumed since, a node
    whose jobs and accelerators are unchanged keeps its terms, and the groups carry over
    (group_of: the groups by every input of their power; they only grow, so a kept term's group
    is still right; a group whose jobs have all left is dropped at the next full read, which
    comes once fewer than half the groups are in use). A job's inputs to its group (its work,
    cap, mode) and a node's (its power curve, accelerator, zone) do not change while it runs.
    A node read afresh and one kept give the same terms, so IT is the same float either way.
    """

    __slots__ = ("groups", "group_of", "states", "nodes", "order", "key", "alone", "node_reads",
                 "groups_used")
    groups: list[tuple[Job, Node, float]]
    group_of: dict[tuple[object, ...], int]
    groups_used: int
    node_reads: dict[int, tuple[_Terms, tuple[object, ...], bool, tuple[int, ...]]]

    def __init__(self, s: Scheduler, key: tuple[list[object], list[int]],
                 prev: _StateRead | None = None) -> None:
        self.key = key
        self.alone = False  # a job whose power depends on more than its cap (its placement, the network)
        fixed_share = s.runtime.fixed_compute_share
        jobs_by_id = s.jobs_by_id
        node_keys = key[0]
        group_of: dict[tuple[object, ...], int] = {}
        groups: list[tuple[Job, Node, float]] = []
        prev_keys: list[object] = []
        prev_reads: dict[int, tuple[_Terms, tuple[object, ...], bool, tuple[int, ...]]] = {}
        if (prev is not None and prev.key[1] == key[1] and len(prev.key[0]) == len(node_keys)
                and len(prev.groups) <= 2 * prev.groups_used + 8):
            group_of = prev.group_of
            groups = prev.groups
            prev_keys = prev.key[0]
            prev_reads = prev.node_reads
        node_reads: dict[int, tuple[_Terms, tuple[object, ...], bool, tuple[int, ...]]] = {}
        used_groups: set[int] = set()
        states: list[tuple[Node, _Terms, int, float, float, float]] = []
        state_of: dict[tuple[object, ...], int] = {}
        nodes: list[Node] = []
        order: list[int] = []
        for p, node in enumerate(s.nodes):
            if not node.on:
                continue
            nread = prev_reads.get(p) if prev_reads and prev_keys[p] == node_keys[p] else None
            if nread is None:
                terms: _Terms = []
                sig: list[object] = []
                gs: list[int] = []
                alone = False  # a job whose power depends on its placement: this node is its own state
                for jid, (count, w) in node.jobs.items():
                    job = jobs_by_id.get(jid) if isinstance(jid, int) else None
                    g = -1
                    if job is not None:
                        share = fixed_share(job)
                        if share is not None:
                            wk = job.work
                            gkey = (id(node.curve), id(node.accelerator), node.zone, job.power_cap_w, share,
                                    wk.achieved_flops_per_accelerator, wk.mfu, wk.layout, wk.roofline,
                                    wk.flops_per_sample, wk.batch_per_accelerator, wk.checkpoint_interval_s,
                                    wk.checkpoint_time_s)
                            g = group_of.get(gkey, -1)
                            if g < 0:
                                g = group_of[gkey] = len(groups)
                                groups.append((job, node, share))
                            gs.append(g)
                        else:
                            alone = True
                    terms.append((count, w, g, job))
                    sig += (count, g, w)
                nread = (terms, tuple(sig), alone, tuple(gs))
            node_reads[p] = nread
            terms, sig_t, alone, gs_t = nread
            used_groups.update(gs_t)
            if alone:
                self.alone = True
            skey: tuple[object, ...] = (node.index,) if alone else (
                id(node.curve), id(node.node_type), node.slots, sig_t)
            k = state_of.get(skey)
            if k is None:
                k = state_of[skey] = len(states)
                used = sum(t[0] for t in terms)
                nt = node.node_type
                # the parts of the node's power that no cap moves, each as `it` computes it
                states.append((node, terms, used, (node.slots - used) * node.curve.idle_w, nt.host_idle_w,
                               (nt.host_busy_w - nt.host_idle_w) * used / node.slots))
            nodes.append(node)
            order.append(k)
        self.groups = groups
        self.group_of = group_of
        self.groups_used = len(used_groups)
        self.node_reads = node_reads
        self.states = states
        self.nodes = nodes
        self.order = order


class ControlContext:
    """What a control may read and do. Built by the scheduler; the only door to the engine."""

    def __init__(self, scheduler: Scheduler, caps: PowerCaps, carbon: Signal | None,
                 start: pd.Timestamp, horizon_s: float,
                 serving_it_w: Callable[[], float] | None = None) -> None:
        self._s = scheduler
        self._serving_it_w = serving_it_w
        self._caps = caps
        self._carbon = carbon
        self._start = start
        self._horizon_s = horizon_s
        self._site_fraction: dict[int, float] = {}
        self._last_read: _StateRead | None = None

    # -- reading ---------------------------------------------------------------
    @property
    def now_s(self) -> float:
        """Simulated time, s since the scenario start."""
        return float(self._s.env.now)

    @property
    def start(self) -> pd.Timestamp:
        """The scenario's start (timezone-aware)."""
        return self._start

    @property
    def horizon_s(self) -> float:
        return self._horizon_s

    @property
    def serves(self) -> bool:
        """True when the site also serves LLM requests (`serving:`), whose power counts in `it_power_w`."""
        return self._serving_it_w is not None

    def view(self, job: Job) -> JobView:
        """The read-only view of an engine job (the scheduler hands controls views already)."""
        return JobView(
            id=job.id, name=job.name, accelerators=job.accelerators, submit_s=job.submit_s,
            ready_s=job.ready_s, start_s=job.start_s, runtime_estimate_s=job.runtime_estimate_s,
            deadline_s=job.deadline_s, slack_s=job.slack_s, running=job.id in self._s.runtime.running,
            preemptible=job.id in self._s.runtime.running and job.id not in self._s._saving,
        )

    def runtime_estimate_s(self, job: JobView) -> float:
        """The scheduler's estimate of the job's whole run time (s), as its queue policies use it."""
        est = self._s.estimator
        engine_job = self._s.jobs_by_id.get(job.id) or self._s._known[job.id]
        if est is None:
            return float(engine_job.runtime_estimate_s or 0.0)
        return float(est.total(engine_job))

    def running_jobs(self) -> list[JobView]:
        """The running jobs, newest start first."""
        jobs = sorted(self._s.runtime.running.values(), key=lambda j: -(j.start_s or 0.0))
        return [self.view(j) for j in jobs]

    def carbon_forecast(self, horizon_s: float, resolution_s: float) -> Forecast | None:
        """The grid carbon-intensity forecast issued now (g/kWh; None without a carbon signal)."""
        if self._carbon is None:
            return None
        return self._carbon.forecast(self.now_s, horizon_s, resolution_s)

    def it_power_w(self, cap_fraction: float | None = None,
                   extra: Mapping[int, int] | None = None) -> float:
        """Site IT power now (training accelerators + hosts + network + a serving deployment, W).

        ``cap_fraction``: as if this control's common cap were that fraction of
        TDP (None: the caps in force); ``extra``: as if that many more
        accelerators per node index ran at the lowest settable cap. Nothing
        is changed: the answer is computed, not tried.
        """
        return self.it_power_curve(extra)(cap_fraction)

    def it_power_curve(self, extra: Mapping[int, int] | None = None) -> Callable[[float | None], float]:
        """`it_power_w` as a function of the cap fraction, for the state now (a solver asks it
        many times; nothing may change between the calls).

        The state is read once: the jobs on each node, and the jobs whose power depends on
        nothing but the cap (`fixed_compute_share`) grouped by every other input of their
        power, so a call computes each group's power once and sums the nodes in the same
        order and with the same operations as one `it_power_w` call: the same floats. The
        read is kept while the state it was taken from holds (which jobs are on which nodes
        with how many accelerators, which are paused; `_state_key`): a later call in an
        unchanged state, such as an admission check after a change and its re-cap, reuses it.
        """
        start = self._s._meter.category_value("network")
        if self._serving_it_w is not None:  # serving is never capped by a control: training yields to it
            start += self._serving_it_w()
        read = self._read()
        caps = self._caps
        rt = self._s.runtime
        add = extra or {}

        def it(cap_fraction: float | None) -> float:
            def cap_of(node: Node, job: Job) -> float | None:
                return caps.cap_w(node, job, site_fraction=cap_fraction)

            r = read
            if cap_fraction is None:  # the caps in force: each job at its W now, read now
                r = _StateRead(self._s, read.key)
                group_w: list[float] = []
            else:
                power_each_w = rt._power_each_w
                group_w = [power_each_w(job, node, cap_of, share) for job, node, share in r.groups]
            shares: dict[int, float] = {}  # a job's compute share under the caps asked: once per job

            def acc_w(node: Node, terms: list[tuple[int, float, int, Job | None]]) -> float:
                """The node's jobs' accelerators (W), summed in the node's order."""
                acc = 0.0
                for count, w, g, job in terms:
                    if cap_fraction is not None:
                        if g >= 0:
                            w = group_w[g]
                        elif job is not None:
                            share = shares.get(job.id)
                            if share is None:
                                share = shares[job.id] = rt.compute_share_under(job, cap_of)
                            w = rt.power_each_w(job, node, cap_of, share)
                    acc += count * w
                return acc

            # each node: its jobs' accelerators, then its idle ones, its host's idle and busy parts
            power = []
            for node, terms, _, idle_w, host_idle_w, host_busy_w in r.states:
                if r.alone or cap_fraction is None:
                    acc = acc_w(node, terms)
                else:  # every job in a group
                    acc = 0.0
                    for count, w, g, _ in terms:
                        acc += count * (group_w[g] if g >= 0 else w)
                power.append(acc + idle_w + host_idle_w + host_busy_w)
            total = start
            if add:
                states = r.states
                for node, k in zip(r.nodes, r.order, strict=True):
                    more = add.get(node.index, 0)
                    if more:  # as many more accelerators at the lowest settable cap
                        _, terms, used, _, host_idle_w, _ = states[k]
                        used += more
                        acc = acc_w(node, terms) + more * node.curve.power_w(1.0, 0.0)
                        nt = node.node_type
                        total += (acc + (node.slots - used) * node.curve.idle_w + host_idle_w
                                  + (nt.host_busy_w - nt.host_idle_w) * used / node.slots)
                    else:
                        total += power[k]
            else:
                for k in r.order:
                    total += power[k]
            return total

        return it

    def _state_key(self) -> tuple[list[object], list[int]]:
        """What a read of the state depends on, for IT at a given cap fraction: each node's jobs and
        their accelerators (and the W of anything on it that is not a job: it is taken as is), None
        for a node that is off, and the ids of the running jobs that are paused (a paused job
        computes nothing). A job's W at the caps in force is not in it: re-rating moves it, not the
        job's W at f."""
        s = self._s
        jobs = s.jobs_by_id
        return ([tuple([(jid, c) if jid in jobs else (jid, c, w) for jid, (c, w) in n.jobs.items()])
                 if n.on else None for n in s.nodes],
                [jid for jid, j in s.runtime.running.items() if j.paused])

    def _read(self) -> _StateRead:
        key = self._state_key()
        read = self._last_read
        if read is not None and read.key == key:
            return read
        read = self._last_read = _StateRead(self._s, key, read)
        return read

    # -- acting ------------------------------------------------------------------
    def set_cap_fraction(self, owner: object, fraction: float) -> None:
        """Cap every accelerator at `fraction` of its TDP on behalf of `owner` (a control).

        The engine combines all sources (scenario, job, thermal limit, every
        control) in `sim.engine.caps.PowerCaps`: the lowest wins. 1 lifts it.
        """
        self._site_fraction[id(owner)] = min(max(float(fraction), 0.0), 1.0)
        combined = min(self._site_fraction.values(), default=1.0)
        if combined != self._caps.site_fraction:
            self._caps.site_fraction = combined
            self._s.runtime.update_all()  # moves each job's W at the caps in force, not its W at a given fraction

    def preempt(self, job: JobView) -> None:
        """Stop a running job now (it checkpoints and requeues as the scenario's preemption says)."""
        self._s.preempt(self._s.runtime.running[job.id])

    def wake(self) -> None:
        """Ask for a scheduling pass now (e.g. after a limit rose)."""
        self._s.wake()

    def every(self, interval_s: float, callback: Callable[[], None]) -> None:
        """Call `callback()` every `interval_s` seconds of simulated time, from now on."""
        env = self._s.env

        def loop() -> Generator[Any, Any, None]:
            while True:
                yield env.timeout(interval_s)
                callback()

        env.process(loop())


CONTROLS = REGISTRIES["control"]
register_control = CONTROLS.register


def build_controls(configs: list[Any], context: ControlContext) -> list[Any]:
    """The scenario's controls, each built as ``Class(options, context)``."""
    out: list[Any] = []
    for c in configs:
        options = c.options if isinstance(c, UserControlConfig) else c
        out.append(CONTROLS.resolve(c.kind)(options, context))
    return out
