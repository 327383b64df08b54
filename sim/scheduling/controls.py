"""The built-in energy-aware controls: carbon-aware deferral and a site power envelope.

Both are written against the documented control API only
(`sim.scheduling.control_api`: ``Class(options, context)``, read-only
`JobView`s, `ControlContext` reads and actions), exactly as a user's control is.

Carbon-aware deferral (as in "Let's wait awhile", Wiesner et al.,
Middleware'21): a job with slack (or a deadline) is planned at submission.
Its runtime estimate T (x `safety`) gives the latest start
`L = deadline - safety x T`, deadline = the job's `deadline`, else
ready + slack + T (ready: submit, or when its predecessors completed). Among
the starts now, now + r, ..., <= L it picks the one with the lowest mean
forecast grid carbon intensity over [s, s + T] (`ControlContext.carbon_forecast`,
the supply's carbon signal with its `forecast` settings), and holds the job
until then. It never plans past L, so on a cluster with room every deadline
is met.

Power envelope: cluster IT power (accelerators + hosts + network) must stay
at or below a limit (a fixed `limit_kw` or a signal in W). After each change
it sets the highest common accelerator cap (a fraction f of TDP, through
`ControlContext.set_cap_fraction`; the engine combines it with the other
caps) such that IT(f) <= limit, by bisection on f (IT is monotone in f,
`ControlContext.it_power_w` computes it without changing anything); a job is
admitted only if IT stays under the limit at the lowest settable caps with
it; if the limit falls below what the lowest caps allow (a signal), the most
recently started jobs are preempted until it holds.
"""


from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.facility.signals import Signal, build_signal
from sim.scheduling.control_api import ControlContext, JobView
from sim.spec.scheduling import CarbonDeferConfig, PowerEnvelopeConfig
from sim.units import W_PER_KW


class CarbonDefer:
    """Hold jobs with slack until the forecast carbon intensity of their run is lowest."""

    def __init__(self, config: CarbonDeferConfig, context: ControlContext) -> None:
        self.ctx = context
        self.cfg = config
        self.planned: dict[int, tuple[float, float]] = {}  # job id -> (planned start, latest start)

    def deadline_s(self, job: JobView) -> float | None:
        est = self.ctx.runtime_estimate_s(job)
        if job.deadline_s is not None:
            return job.deadline_s
        slack = job.slack_s if job.slack_s is not None else self.cfg.default_slack
        # slack runs from when the job could first start: its submit time, or later when it
        # waited for predecessors (Job.after)
        ready = job.ready_s if job.ready_s is not None else job.submit_s
        return None if slack is None else ready + slack + est

    def hold_until(self, job: JobView) -> float | None:
        deadline = self.deadline_s(job)
        if deadline is None:
            return None
        now = self.ctx.now_s
        est = self.ctx.runtime_estimate_s(job) * self.cfg.safety
        latest = deadline - est
        if latest <= now:
            return None
        r = self.cfg.resolution
        n_starts = int(math.floor((latest - now) / r)) + 1
        fc = self.ctx.carbon_forecast((latest - now) + est + r, r)
        if fc is None:
            return None
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


#: bisections of [0, 1] for the envelope's common cap fraction (precision 2^-40)
_BISECTIONS = 40


class PowerEnvelope:
    """Keep cluster IT power under a site limit with a common cap and admission."""

    def __init__(self, config: PowerEnvelopeConfig, context: ControlContext) -> None:
        self.ctx = context
        self.cfg = config
        self.signal: Signal | None = None
        if config.limit is not None:
            self.signal = build_signal(config.limit, context.start, context.horizon_s, "power",
                                       "scheduler.controls.power-envelope.limit")
        elif config.limit_kw is None:
            raise ValueError("power-envelope needs limit_kw or limit")
        self.fraction = 1.0
        self.rejected = 0
        if self.signal is not None or context.serves:  # a limit or a serving load that moves by itself
            context.every(config.check_interval, self._check)

    def _check(self) -> None:
        self.after_change()
        self.ctx.wake()

    def limit_w(self) -> float:
        if self.signal is not None:
            return float(self.signal.at(self.ctx.now_s))
        return float(self.cfg.limit_kw) * W_PER_KW

    def admits(self, job: JobView, placement: list[tuple[int, int]]) -> bool:
        extra: dict[int, int] = {}
        for i, c in placement:
            extra[i] = extra.get(i, 0) + c
        ok = self.ctx.it_power_w(0.0, extra) <= self.limit_w() + 1e-6  # at the lowest settable caps
        if not ok:
            self.rejected += 1
        return ok

    def highest_fraction(self, limit: float, it: Callable[[float | None], float] | None = None) -> float:
        """The highest common cap fraction f in [0, 1] with IT(f) <= limit, to within 2^-40:
        40 bisections of [0, 1] (IT(f) is continuous and non-decreasing in f; it can be flat,
        with the answer at a kink, where faster root finders degrade to bisection anyway).
        `it`: IT(f) for the state now (`ControlContext.it_power_curve`), if the caller has it."""
        if it is None:
            it = self.ctx.it_power_curve()  # the state read once for the whole solve
        if it(1.0) <= limit:
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if it(mid) <= limit:
                lo = mid
            else:
                hi = mid
        return lo

    def after_change(self) -> None:
        limit = self.limit_w()
        it = self.ctx.it_power_curve()
        f = self.highest_fraction(limit, it)
        if f != self.fraction:
            self.fraction = f
            self.ctx.set_cap_fraction(self, f)  # re-rates the jobs; IT at a given fraction is unchanged
        if it(0.0) > limit + 1e-6:
            for j in self.ctx.running_jobs():
                if not j.preemptible:
                    continue
                self.ctx.preempt(j)
                if self.ctx.it_power_w(0.0) <= limit:
                    break
