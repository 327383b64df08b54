"""Runtime estimates for SJF, SRTF, backfill and carbon-aware deferral.

The true runtime of a queued job is its work over the speed it would get on
the reference node (the first node) at full clock, with its checkpoint duty
cycle: `T = W / (n x F_acc x I / (I + C))`. A job that gives
`runtime_estimate` is believed instead. A running job's remaining time uses
its current rate (the scheduler knows how fast it goes now). With
`kind: noisy` every figure is multiplied by a per-job lognormal error
exp(N(0, sigma)) drawn from the scenario seed and the job id, so the same
scenario and seed give the same estimates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.spec.scheduling import EstimateConfig

if TYPE_CHECKING:
    from sim.compute.node import Node
    from sim.compute.training import Job, TrainingRuntime


class Estimator:
    def __init__(self, config: EstimateConfig, seed: int, runtime: TrainingRuntime, reference: Node) -> None:
        self.config = config
        self.seed = seed
        self.runtime = runtime
        self.reference = reference
        self._true: dict[int, float] = {}
        self._factor: dict[int, float] = {}

    def factor(self, job: Job) -> float:
        f = self._factor.get(job.id)
        if f is None:
            if self.config.kind == "noisy" and self.config.sigma > 0:
                rng = np.random.default_rng([self.seed, job.id, 0x5EED])
                f = float(np.exp(rng.normal(0.0, self.config.sigma)))
            else:
                f = 1.0
            self._factor[job.id] = f
        return f

    def true_total(self, job: Job) -> float:
        """Runtime at full speed on the reference node (s)."""
        t = self._true.get(job.id)
        if t is None:
            per, duty = self._speed(job)
            t = job.work.work_flops / max(job.accelerators * per * duty, 1e-300)
            self._true[job.id] = t
        return t

    def _speed(self, job: Job) -> tuple[float, float]:
        """(FLOP/s of one accelerator on the reference node under the caps in force, checkpoint duty cycle)."""
        per = self.runtime.per_accelerator_flops(job, self.reference)
        w = job.work
        duty = 1.0
        if w.checkpoint_interval_s and w.checkpoint_time_s > 0:
            duty = w.checkpoint_interval_s / (w.checkpoint_interval_s + w.checkpoint_time_s)
        return per, duty

    def true_totals(self, jobs: Sequence[Job]) -> np.ndarray:
        """`true_total` of every job, as one array: the same figures, cheap for a million jobs.

        A job asked before keeps its memoised figure. For the others the speed and the
        duty cycle depend on the job only through its `power_cap_w` (the cap in force on the
        reference node) and its work's step model: every field of its `JobWork` but
        `work_flops` (the answer is linear in it) and `useful_flops` (read by no speed).
        They are worked out once per distinct key; `W / max(n x F x duty, 1e-300)` is then
        done on whole columns, the same IEEE operations as `true_total`. Unlike
        `true_total`, it memoises nothing (a million-entry memo for one read).
        """
        memo: dict[tuple, int] = {}  # key -> row of `speeds`
        speeds: list[tuple[float, float]] = []
        getters: dict[type, Callable[[Any], tuple]] = {}
        rows: list[int] = []
        accs: list[int] = []
        works: list[float] = []
        for job in jobs:
            w = job.work
            kind = type(w)
            get = getters.get(kind)
            if get is None:
                get = getters[kind] = attrgetter(*(f.name for f in fields(w)
                                                   if f.name not in ("work_flops", "useful_flops")))
            key = (kind, job.power_cap_w, get(w))
            row = memo.get(key)
            if row is None:
                row = memo[key] = len(speeds)
                speeds.append(self._speed(job))
            rows.append(row)
            accs.append(job.accelerators)
            works.append(w.work_flops)
        table = np.array(speeds, dtype=float).reshape(-1, 2)
        at = np.array(rows, dtype=np.intp)
        acc = np.array(accs, dtype=np.int64)
        out = np.array(works, dtype=float) / np.maximum(acc * table[at, 0] * table[at, 1], 1e-300)
        if self._true:  # asked during the run (SJF, backfill): its memoised figure stands
            true = self._true
            for i, job in enumerate(jobs):
                t = true.get(job.id)
                if t is not None:
                    out[i] = t
        return out

    def total(self, job: Job) -> float:
        base = job.runtime_estimate_s if job.runtime_estimate_s is not None else self.true_total(job)
        return base * self.factor(job)

    def remaining(self, job: Job) -> float:
        if job.runtime_estimate_s is None and job.placement and job.rate_flops_per_s > 0:
            left = job.remaining_flops - job.rate_flops_per_s * (self.runtime.env.now - job._t_last)
            return max(left, 0.0) / job.rate_flops_per_s * self.factor(job)
        w = job.work.work_flops
        return self.total(job) * (job.remaining_flops / w if w > 0 else 0.0)
