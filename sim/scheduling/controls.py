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
caps) such that IT(f) <= limit: the answer of 40 bisections on f (IT is
monotone in f, `ControlContext.it_power_curve` computes it without changing
anything), found in a few evaluations (`highest_on_grid`); a job is
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
#: the grid the answer lies on: the points k / 2^40 that 40 bisections of [0, 1] can return
_GRID_POINTS = 1 << _BISECTIONS


def _secant(p: tuple[int, float], q: tuple[int, float]) -> tuple[float, float] | None:
    """Where the line through two probes (grid index, IT - limit) crosses 0, and its rise per grid
    step (None: a flat line)."""
    if p[1] == q[1]:
        return None
    slope = (q[1] - p[1]) / (q[0] - p[0])
    return p[0] - p[1] / slope, slope


def highest_on_grid(it: Callable[[float], float], limit: float, hint: float | None = None) -> float:
    """The highest f in [0, 1] with it(f) <= limit, to within 2^-40: exactly what 40 bisections of
    [0, 1] return for a non-decreasing `it`, found with a handful of calls to `it`.

    40 bisections ask it(1) first (1 if under the limit) and then only at midpoints, which are the
    grid points k / 2^40, 0 < k < 2^40; for a non-decreasing `it` they return the largest such point
    with it <= limit (0 if none). So does this search, whatever it probes. It keeps a bracket
    lo < hi of grid points (it(lo) <= limit or lo = 0; it(hi) > limit or hi = 2^40) and probes
    inside it: first at `hint` (the last answer: the state changed by one job, so the answer is
    near, and IT there is in the power memos), then where a line through two probes crosses the
    limit. IT is piecewise linear in f between the kinks of the power curves (flat below the lowest
    settable cap and above the jobs' demand, a kink where a cap meets a job's demand), so the line
    through two probes on the answer's piece lands on the answer; a probe that lands within one
    grid step of its line's crossing is followed by its neighbour, which closes the bracket. The
    lines: through the two lowest probes over the limit (exact when the answer's piece reaches
    them; also when IT sits flat at the limit below a kink, as when admission filled the site to
    the limit at the lowest caps), else through the two highest under it (a line that placed a
    probe is not asked again until one of its points is replaced), else the chord lo-hi once both
    are probes inside (0, 1) (the ends 0 and 1 often sit on the flats). Without a usable line, or
    when two probes running did not halve the bracket, the probe bisects it, so any three probes
    running at least halve the bracket; typically 4 probes besides it(0) and it(1)
    (`benchmarks/bench_envelope.py`: 5.9 calls a solve, 41 for the bisections). it(0) over the
    limit: no f > 0 is under it (0).
    """
    y1 = it(1.0)
    if y1 <= limit:
        return 1.0
    y0 = it(0.0)
    if y0 > limit:
        return 0.0
    scale = 1.0 / _GRID_POINTS
    lo, hi = 0, _GRID_POINTS
    over = [(hi, y1 - limit)]  # the last two probes over the limit, (grid index, it - limit), lowest last
    under = [(lo, y0 - limit)]  # the last two under it, highest last
    widths = [2 * hi, 2 * hi]  # the bracket two probes ago, one probe ago (none yet)
    # the neighbour to probe next, when the last probe landed on its line's crossing; first, the hint
    nxt = int(hint * _GRID_POINTS) if hint is not None else -1
    if not lo < nxt < hi:
        nxt = -1
    used: list[tuple[int, float]] | None = None  # the pair whose line placed the last probe
    while hi - lo > 1:
        k = nxt
        slope = 0.0
        if k < 0 and 2 * (hi - lo) <= widths[0]:  # else two probes did not halve the bracket: bisect
            lines: list[tuple[list[tuple[int, float]] | None, tuple[float, float] | None]] = [
                (pair, _secant(pair[0], pair[1])) for pair in (over, under) if len(pair) > 1 and pair is not used]
            if 0 < lo and hi < _GRID_POINTS:  # the chord lo-hi, both ends probed inside (0, 1)
                lines.append((None, _secant(under[-1], over[-1])))
            for pair, line in lines:
                if line is not None and lo < line[0] < hi:
                    k = min(max(int(line[0]), lo + 1), hi - 1)
                    slope = line[1]
                    used = pair
                    break
        if k < 0:
            k = (lo + hi) // 2
        widths = [widths[1], hi - lo]
        fk = it(k * scale) - limit
        nxt = -1
        if fk <= 0.0:
            lo = k
            under = [under[-1], (k, fk)]
            if -fk < slope and k + 1 < hi:  # less than a step below its line's crossing
                nxt = k + 1
        else:
            hi = k
            over = [over[-1], (k, fk)]
            if fk < slope and k - 1 > lo:
                nxt = k - 1
    return lo * scale


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
        self._fixed_limit_w = float(config.limit_kw) * W_PER_KW if config.limit_kw is not None else 0.0
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
        return self._fixed_limit_w

    def admits(self, job: JobView, placement: list[tuple[int, int]]) -> bool:
        extra: dict[int, int] = {}
        for i, c in placement:
            extra[i] = extra.get(i, 0) + c
        ok = self.ctx.it_power_w(0.0, extra) <= self.limit_w() + 1e-6  # at the lowest settable caps
        if not ok:
            self.rejected += 1
        return ok

    def highest_fraction(self, limit: float, it: Callable[[float], float] | None = None) -> float:
        """The highest common cap fraction f in [0, 1] with IT(f) <= limit, to within 2^-40: the
        answer of 40 bisections of [0, 1] (IT(f) is continuous and non-decreasing in f), found by
        `highest_on_grid` in a few evaluations, the last answer probed first. `it`: IT(f) for the
        state now (`ControlContext.it_power_curve`), if the caller has it."""
        if it is None:
            it = self.ctx.it_power_curve()  # the state read once for the whole solve
        return highest_on_grid(it, limit, self.fraction)

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
