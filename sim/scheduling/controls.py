"""Energy-aware controls: carbon-aware deferral and a site power envelope.

A control (`Control`) is an object with any of these methods; the scheduler
calls the ones it has, and nothing else:

- `hold_until(job) -> float | None`: at submission, keep the job out of the
  queue until that time;
- `admits(job, placement) -> bool`: may this job start on these accelerators now;
- `after_change()`: something started, stopped, booted or switched off.

A scenario names one with `scheduler.controls: [{kind: NAME, ...}]`: a name
registered with `@register_control(NAME)` or a user's "package.module:Class".
The class is built as `Class(scheduler, options, world)`: `options` is the
entry's validated config (the built-ins) or a dict of its keys other than
`kind` (a user's control). A control may read `scheduler.env.now`,
`scheduler.estimator`, `world.supply` and the like; to change caps it sets
`world.site_cap_fraction` and calls `scheduler.runtime.update_all()`, as the
power envelope does.

Carbon-aware deferral (as in "Let's wait awhile", Wiesner et al.,
Middleware'21): a job with slack (or a deadline) is planned at submission.
Its runtime estimate T (x `safety`) gives the latest start
`L = deadline - safety x T`, deadline = the job's `deadline`, else
ready + slack + T (ready: submit, or when its predecessors completed). Among the starts now, now + r, ..., <= L it picks the one
with the lowest mean forecast grid carbon intensity over [s, s + T]
(forecast from the supply's carbon signal, `Signal.forecast`), and holds the
job until then. It never plans past L, so on a cluster with room every
deadline is met.

Power envelope: cluster IT power (accelerators + hosts + network) must stay
at or below a limit (a fixed `limit_kw` or a signal in W). After each change
it sets the highest common accelerator cap (a fraction f of TDP, applied
through the engine's power-cap path with the other caps) such that
IT(f) <= limit, by bisection on f (IT is monotone in f); a job is admitted
only if IT stays under the limit at the lowest settable caps with it; if the
limit falls below what the lowest caps allow (a signal), the most recently
started jobs are preempted until it holds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from sim.registry import Registry
from sim.spec.scheduling import CarbonDeferConfig, PowerEnvelopeConfig, UserControlConfig
from sim.units import W_PER_KW

if TYPE_CHECKING:
    from sim.compute.node import Node
    from sim.compute.training import Job
    from sim.scheduling.scheduler import Scheduler


@runtime_checkable
class Control(Protocol):
    """Holds jobs at submission and/or vetoes starts. Either method may be left out
    (return None / True to stay neutral); `after_change()` is a third, optional hook."""

    def hold_until(self, job: Job) -> float | None: ...

    def admits(self, job: Job, placement: list[tuple[int, int]]) -> bool: ...


CONTROL_HOOKS = ("hold_until", "admits", "after_change")
CONTROLS = Registry(
    "control",
    lambda cls: None if any(callable(getattr(cls, h, None)) for h in CONTROL_HOOKS)
    else f"has none of the control hooks {', '.join(CONTROL_HOOKS)} (sim.scheduling.Control)",
)
register_control = CONTROLS.register
resolve_control = CONTROLS.resolve


def build_controls(configs: list[Any], sched: Scheduler, world: Any) -> list[Any]:
    out: list[Any] = []
    for c in configs:
        options = c.options if isinstance(c, UserControlConfig) else c
        out.append(resolve_control(c.kind)(sched, options, world))
    return out


@register_control("carbon-defer")
class CarbonDefer:
    """Hold jobs with slack until the forecast carbon intensity of their run is lowest."""

    def __init__(self, sched: Scheduler, config: CarbonDeferConfig, world: Any) -> None:
        self.s = sched
        self.cfg = config
        supply = getattr(world, "supply", None)
        self.signal = getattr(supply, "carbon", None)
        self.planned: dict[int, tuple[float, float]] = {}  # job id -> (planned start, latest start)

    def deadline_s(self, job: Job) -> float | None:
        est = self.s.estimator.total(job)
        if job.deadline_s is not None:
            return job.deadline_s
        slack = job.slack_s if job.slack_s is not None else self.cfg.default_slack
        # slack runs from when the job could first start: its submit time, or later when it
        # waited for predecessors (Job.after)
        ready = job.ready_s if job.ready_s is not None else job.submit_s
        return None if slack is None else ready + slack + est

    def hold_until(self, job: Job) -> float | None:
        if self.signal is None:
            return None
        deadline = self.deadline_s(job)
        if deadline is None:
            return None
        now = float(self.s.env.now)
        est = self.s.estimator.total(job) * self.cfg.safety
        latest = deadline - est
        if latest <= now:
            return None
        r = self.cfg.resolution
        n_starts = int(math.floor((latest - now) / r)) + 1
        fc = self.signal.forecast(now, (latest - now) + est + r, r)
        vals = np.asarray(fc.values, dtype=float)
        span = max(int(math.ceil(est / r)), 1)
        cum = np.concatenate([[0.0], np.cumsum(vals)])
        best_k, best = 0, math.inf
        for k in range(n_starts):
            hi = min(k + span, len(vals))
            if hi <= k:
                break
            m = (cum[hi] - cum[k]) / (hi - k)
            if m < best - 1e-9:
                best_k, best = k, m
        start = now + best_k * r
        self.planned[job.id] = (start, latest)
        return start if start > now else None


@register_control("power-envelope")
class PowerEnvelope:
    """Keep cluster IT power under a site limit with a common cap and admission."""

    def __init__(self, sched: Scheduler, config: PowerEnvelopeConfig, world: Any) -> None:
        self.s = sched
        self.world = world
        self.cfg = config
        self.signal = None
        if config.limit is not None:
            from sim.facility.signals import build_signal

            s = world.scenario
            self.signal = build_signal(config.limit, s.start_ts, s.horizon_s, "power",
                                       "scheduler.controls.power-envelope.limit")
        elif config.limit_kw is None:
            raise ValueError("power-envelope needs limit_kw or limit")
        self.fraction = 1.0
        self.rejected = 0
        if self.signal is not None:
            sched.env.process(self._watch())

    def limit_w(self) -> float:
        if self.signal is not None:
            return float(self.signal.at(float(self.s.env.now)))
        return float(self.cfg.limit_kw) * W_PER_KW

    def _watch(self) -> Any:
        while True:
            yield self.s.env.timeout(self.cfg.check_interval)
            self.after_change()
            self.s.wake()

    # -- IT power as a function of the common cap fraction ------------------------
    def _node_power_w(self, node: Node, fraction: float, extra: tuple[int, float] | None = None) -> float:
        if not node.on:
            return 0.0
        nt = node.node_type
        rt = self.s.runtime
        old = getattr(self.world, "site_cap_fraction", 1.0)
        self.world.site_cap_fraction = fraction
        try:
            used = 0
            acc = 0.0
            for jid, (count, _w) in node.jobs.items():
                job = self.s.jobs_by_id.get(jid)  # type: ignore[arg-type]
                if job is None:
                    w = _w
                else:  # a lower cap lengthens compute, so the compute share (and power) at f differs
                    share = job.compute_share
                    job.compute_share = rt._rates(job)[1]
                    try:
                        w = rt._power_each_w(job, node)
                    finally:
                        job.compute_share = share
                used += count
                acc += count * w
            if extra is not None:
                count, w = extra
                used += count
                acc += count * w
        finally:
            self.world.site_cap_fraction = old
        acc += (node.slots - used) * node.curve.idle_w
        host = nt.host_idle_w + (nt.host_busy_w - nt.host_idle_w) * used / node.slots
        return acc + host

    def it_power_w(self, fraction: float, add: dict[int, tuple[int, float]] | None = None) -> float:
        other = self.s._meter.category_value("network")
        return other + sum(self._node_power_w(n, fraction, (add or {}).get(n.index)) for n in self.s.nodes)

    def admits(self, job: Job, placement: list[tuple[int, int]]) -> bool:
        add = {}
        for i, c in placement:
            n = self.s.nodes[i]
            add[i] = (c, n.curve.power_w(1.0, 0.0))  # at the lowest settable cap
        ok = self.it_power_w(0.0, add) <= self.limit_w() + 1e-6
        if not ok:
            self.rejected += 1
        return ok

    def after_change(self) -> None:
        limit = self.limit_w()
        lo, hi = 0.0, 1.0
        if self.it_power_w(1.0) <= limit:
            f = 1.0
        else:
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if self.it_power_w(mid) <= limit:
                    lo = mid
                else:
                    hi = mid
            f = lo
        if f != self.fraction:
            self.fraction = f
            self.world.site_cap_fraction = f
            self.s.runtime.update_all()
        if self.it_power_w(0.0) > limit + 1e-6:
            running = sorted(self.s.runtime.running.values(), key=lambda j: -(j.start_s or 0.0))
            for j in running:
                if j.id in self.s._saving:
                    continue
                self.s.preempt(j)
                if self.it_power_w(0.0) <= limit:
                    break
