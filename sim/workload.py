"""Workloads: explicit job lists and synthetic generators, turned into `Job`s.

Work is always FLOPs inside the engine, so the same job runs faster on faster
accelerators and slower when throttled:

- `flops` as given;
- a model with tokens: FLOPs = 6 N D (Kaplan et al. 2020, "Scaling Laws for
  Neural Language Models", eq. 2.1: ~6 FLOPs per parameter per token for a
  forward and backward pass);
- a model with samples: FLOPs = flops_per_sample x samples;
- a duration on a reference accelerator (trace replay): FLOPs = duration x
  accelerators x peak x MFU of the reference hardware.

The Poisson generator draws inter-arrival times from an exponential
distribution, sizes from a weighted list and durations from an exponential,
lognormal or log-uniform distribution, all from one seeded numpy Generator,
so a scenario and a seed give the same jobs every time.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.catalog import Accelerator, Catalog
from sim.schema import Duration, Fraction, Positive, PositiveDuration, StrictModel
from sim.training import Job, JobWork

# -- the scenario section `workload:` ----------------------------------------


class ModelSpec(StrictModel):
    """An explicit model instead of a catalog preset."""

    parameters: Positive
    tokens: Positive | None = Field(default=None, description="training tokens; FLOPs = 6 N D")
    flops_per_sample: Positive | None = None
    gradient_bytes: Positive | None = None


class JobSpec(StrictModel):
    """One training job. Give its work in exactly one way:

    - `flops`: total training FLOPs;
    - `model` (preset name or {parameters, tokens}) with `samples` or `tokens`;
    - `duration`: its runtime on `reference_accelerator` (trace replay), which
      becomes FLOPs = duration x accelerators x peak x MFU of that hardware.
    """

    name: str | None = None
    submit: Duration = 0.0
    accelerators: int = Field(ge=1)
    mode: Literal["sync", "async"] = "sync"
    model: str | ModelSpec | None = None
    samples: Positive | None = None
    tokens: Positive | None = None
    flops: Positive | None = None
    duration: PositiveDuration | None = None
    reference_accelerator: str | None = None
    achieved_flops_per_accelerator: Positive | None = None
    mfu: Fraction | None = Field(default=None, description="model-FLOPs utilisation; default per accelerator")
    batch_per_accelerator: int | None = Field(default=None, ge=1)
    checkpoint_interval: PositiveDuration | None = None
    checkpoint_time: Duration = 0.0
    power_cap_w: Positive | None = None
    user: str | None = None
    priority: int = 0
    runtime_estimate: PositiveDuration | None = Field(
        default=None, description="the user's runtime estimate (SJF, SRTF, backfill); default: exact")
    slack: Duration | None = Field(
        default=None, description="may finish this much later than if started at once (carbon-aware deferral)")
    deadline: Duration | None = Field(default=None, description="latest completion, since the scenario start")

    @model_validator(mode="after")
    def _one_kind_of_work(self) -> JobSpec:
        kinds = [
            self.flops is not None,
            self.duration is not None,
            self.model is not None
            and (self.samples is not None or self.tokens is not None
                 or (isinstance(self.model, ModelSpec) and self.model.tokens is not None)),
        ]
        if sum(kinds) != 1:
            raise ValueError(
                "give the job's work in exactly one way: flops, duration, or model with samples/tokens"
            )
        return self


class SizeChoice(StrictModel):
    accelerators: int = Field(ge=1)
    weight: Positive


class GeneratorConfig(StrictModel):
    """Synthetic arrivals: Poisson in time, sizes and durations from distributions."""

    kind: Literal["poisson"] = "poisson"
    rate_per_hour: Positive = 6.0
    count: int | None = Field(default=None, ge=0, description="stop after this many jobs")
    start: Duration = 0.0
    stop: Duration | None = Field(default=None, description="no arrivals after this time")
    mean_duration: PositiveDuration = 4 * 3600.0
    duration_distribution: Literal["exponential", "lognormal", "loguniform"] = "exponential"
    duration_sigma: Positive = 1.0
    min_duration: PositiveDuration = 60.0
    max_duration: PositiveDuration = 30 * 86400.0
    sizes: list[SizeChoice] = Field(
        default_factory=lambda: [
            SizeChoice(accelerators=1, weight=0.70),
            SizeChoice(accelerators=2, weight=0.10),
            SizeChoice(accelerators=4, weight=0.08),
            SizeChoice(accelerators=8, weight=0.09),
            SizeChoice(accelerators=16, weight=0.02),
            SizeChoice(accelerators=32, weight=0.01),
        ]
    )
    mode: Literal["sync", "async"] = "sync"
    checkpoint_interval: PositiveDuration | None = 3600.0


class WorkloadConfig(StrictModel):
    jobs: list[JobSpec] = Field(default_factory=list)
    generator: GeneratorConfig | None = None



# -- from specs to jobs ------------------------------------------------------

#: FLOPs per parameter per training token (Kaplan et al. 2020, eq. 2.1)
FLOPS_PER_PARAMETER_TOKEN = 6.0


def job_from_spec(job_id: int, spec: JobSpec, catalog: Catalog, reference: Accelerator) -> Job:
    """A `Job` from a scenario entry; `reference` is the cluster's first accelerator."""
    flops_per_sample = gradient_bytes = None
    batch = spec.batch_per_accelerator
    if isinstance(spec.model, str):
        preset = catalog.model(spec.model)
        flops_per_sample = preset.flops_per_sample
        gradient_bytes = preset.gradient_bytes
        batch = batch or preset.reference_batch_per_accelerator
    elif isinstance(spec.model, ModelSpec):
        m = spec.model
        flops_per_sample = m.flops_per_sample or FLOPS_PER_PARAMETER_TOKEN * m.parameters
        gradient_bytes = m.gradient_bytes or 2.0 * m.parameters  # 16-bit gradients
    if spec.flops is not None:
        work = spec.flops
    elif spec.duration is not None:
        ref = catalog.accelerator(spec.reference_accelerator) if spec.reference_accelerator else reference
        per_acc = spec.achieved_flops_per_accelerator or ref.peak_flops * (spec.mfu or ref.default_mfu)
        work = spec.duration * spec.accelerators * per_acc
    else:
        count = spec.tokens if spec.tokens is not None else spec.samples
        if count is None and isinstance(spec.model, ModelSpec):
            count = spec.model.tokens
        work = float(count) * float(flops_per_sample)
    return Job(
        id=job_id,
        name=spec.name or f"job-{job_id}",
        submit_s=float(spec.submit),
        accelerators=spec.accelerators,
        work=JobWork(
            work_flops=float(work),
            flops_per_sample=flops_per_sample,
            batch_per_accelerator=batch,
            gradient_bytes=gradient_bytes,
            mfu=spec.mfu,
            achieved_flops_per_accelerator=spec.achieved_flops_per_accelerator,
            checkpoint_interval_s=spec.checkpoint_interval,
            checkpoint_time_s=spec.checkpoint_time,
        ),
        mode=spec.mode,
        user=spec.user,
        priority=spec.priority,
        power_cap_w=spec.power_cap_w,
        runtime_estimate_s=spec.runtime_estimate,
        slack_s=spec.slack,
        deadline_s=spec.deadline,
    )


def generate_poisson(
    cfg: GeneratorConfig, horizon_s: float, rng: np.random.Generator, first_id: int,
    reference: Accelerator,
) -> list[Job]:
    """Jobs arriving as a Poisson process in [start, stop or horizon)."""
    stop = min(cfg.stop if cfg.stop is not None else horizon_s, horizon_s)
    mean_gap = 3600.0 / cfg.rate_per_hour
    sizes = np.array([s.accelerators for s in cfg.sizes])
    weights = np.array([s.weight for s in cfg.sizes], dtype=float)
    weights /= weights.sum()
    jobs: list[Job] = []
    t = cfg.start
    while True:
        t += rng.exponential(mean_gap)
        if t >= stop or (cfg.count is not None and len(jobs) >= cfg.count):
            break
        size = int(rng.choice(sizes, p=weights))
        duration = _draw_duration(cfg, rng)
        per_acc = reference.peak_flops * reference.default_mfu
        jid = first_id + len(jobs)
        jobs.append(
            Job(
                id=jid,
                name=f"gen-{jid}",
                submit_s=float(t),
                accelerators=size,
                work=JobWork(
                    work_flops=duration * size * per_acc,
                    checkpoint_interval_s=cfg.checkpoint_interval,
                ),
                mode=cfg.mode,
            )
        )
    return jobs


def _draw_duration(cfg: GeneratorConfig, rng: np.random.Generator) -> float:
    if cfg.duration_distribution == "exponential":
        d = rng.exponential(cfg.mean_duration)
    elif cfg.duration_distribution == "lognormal":
        # choose mu so that the mean is mean_duration: E = exp(mu + sigma^2 / 2)
        mu = np.log(cfg.mean_duration) - cfg.duration_sigma**2 / 2
        d = rng.lognormal(mu, cfg.duration_sigma)
    else:  # log-uniform between min and max (Gavel's synthetic traces use this shape)
        d = float(np.exp(rng.uniform(np.log(cfg.min_duration), np.log(cfg.max_duration))))
    return float(min(max(d, cfg.min_duration), cfg.max_duration))
