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

Generators (`workload.generator` or `workload.generators`, chosen by `kind`):

- `poisson`: exponential gaps at `rate_per_hour`; `diurnal_amplitude` > 0
  modulates the rate as rate x (1 + A cos(2 pi (h - peak_hour) / 24)) by
  thinning (Lewis and Shedler 1979), so the daily mean rate is unchanged;
- `diurnal`: the same with A = 0.5 by default;
- `philly`: sizes and durations fitted to the Philly trace (Jeon et al., ATC
  2019; data/traces/philly.csv): the size distribution of its 82,247 jobs and
  a piecewise log-uniform mixture between its duration quantiles (the shape
  Gavel's synthetic traces use, Narayanan et al., OSDI 2020, with the knots
  fitted here instead of chosen), work on a P100 as the trace ran;
- `resample`: sizes and durations drawn jointly (whole rows) from any trace;
- `llm-campaign`: one large pretraining run with evaluation jobs during it and
  fine-tuning jobs that depend on it (`Job.after`): planned at its expected
  end, they enter the queue only once it has actually completed.

Dependencies: a job in `workload.jobs` with `after: [names]` enters the queue
when its submit time has passed and every named job has completed (see
`sim.scheduling.scheduler.Scheduler.submit`); unknown names, ambiguous names
and cycles are refused at load with the dotted path `workload.jobs.N.after`.

Trace replay (`workload.trace`, readers in `sim.workload.traces`) maps each row to a
catalog model by `ModelRule`s and to work on the trace's reference hardware;
see docs/workloads.md.
"""

from __future__ import annotations

import bisect
import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.catalog import Accelerator, Catalog, NodeType
from sim.compute.parallelism import (
    DEFAULT_TOKENS_PER_ACCELERATOR,
    job_layout,
)
from sim.compute.training import Job, JobWork
from sim.spec.traces import DEFAULT_MODEL_RULES, ModelRule, TraceConfig
from sim.spec.workload import (
    GeneratorConfig,
    JobSpec,
    LLMCampaignConfig,
    ModelSpec,
    ResampleGeneratorConfig,
    job_name,
)
from sim.workload.traces import load_trace

# -- the scenario section `workload:` ----------------------------------------


#: Philly duration quantiles (quantile, seconds) of data/traces/philly.csv; a
#: piecewise log-uniform mixture between them reproduces the median (1,144 s)
#: exactly and the mean (13,136 s) closely.
PHILLY_DURATION_QUANTILES: tuple[tuple[float, float], ...] = (
    (0.0, 1.0), (0.05, 48.0), (0.1, 61.0), (0.2, 75.0), (0.3, 209.0), (0.4, 599.0), (0.5, 1144.0),
    (0.6, 1821.0), (0.7, 2549.0), (0.8, 4243.8), (0.9, 11264.8), (0.95, 43646.2), (0.99, 254758.4),
    (0.999, 1186277.5), (1.0, 4628226.0),
)


def dependency_ids(specs: list[JobSpec]) -> list[list[int]]:
    """`Job.after` of each of `workload.jobs` (ids = positions in the list), names resolved."""
    index = {job_name(i, spec): i for i, spec in enumerate(specs)}
    return [[index[name] for name in spec.after] for spec in specs]


# -- from specs to jobs ------------------------------------------------------

#: FLOPs per parameter per training token (Kaplan et al. 2020, eq. 2.1)
FLOPS_PER_PARAMETER_TOKEN = 6.0

def job_from_spec(job_id: int, spec: JobSpec, catalog: Catalog, reference: Accelerator,
                  node_type: NodeType | None = None) -> Job:
    """A `Job` from a scenario entry; `reference` is the cluster's first accelerator, `node_type` its node.

    With `node_type`, a job with a model gets its parallel layout
    (`job_layout`): memory, pipeline bubble and model-parallel traffic.
    """
    flops_per_sample = gradient_bytes = None
    batch = spec.batch_per_accelerator
    gamma = spec.gamma
    if isinstance(spec.model, str):
        preset = catalog.model(spec.model)
        flops_per_sample = preset.flops_per_sample
        gradient_bytes = preset.gradient_bytes
        batch = batch or preset.reference_batch_per_accelerator
        gamma = gamma if gamma is not None else preset.gamma
    elif isinstance(spec.model, ModelSpec):
        m = spec.model
        flops_per_sample = m.flops_per_sample or FLOPS_PER_PARAMETER_TOKEN * m.parameters
        gradient_bytes = m.gradient_bytes or 2.0 * m.parameters  # 16-bit gradients
        batch = batch or DEFAULT_TOKENS_PER_ACCELERATOR
    layout = job_layout(spec, catalog, node_type, job_name(job_id, spec)) if node_type is not None else None
    if layout is not None and gradient_bytes:
        # each rank all-reduces the gradients of its tensor/pipeline share; ZeRO-1/2 move the same
        # volume as an all-reduce, ZeRO-3 half as much again (ZeRO paper Sec. 7)
        gradient_bytes *= (1.5 if layout.zero_stage == 3 else 1.0) / (layout.tp * layout.pp)
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
    mfu = spec.mfu
    useful = work
    if spec.batch_scaling and isinstance(spec.model, str):  # sim/compute/batch_size.py
        from sim.compute.batch_size import mfu_at_batch, samples_to_converge

        mfu = mfu_at_batch(spec.mfu or preset.typical_mfu, batch, preset.reference_batch_per_accelerator)
        work = samples_to_converge(work, spec.accelerators * batch, preset.critical_batch)
    return Job(
        id=job_id,
        name=job_name(job_id, spec),
        submit_s=float(spec.submit),
        accelerators=spec.accelerators,
        work=JobWork(
            work_flops=float(work),
            flops_per_sample=flops_per_sample,
            batch_per_accelerator=batch,
            gradient_bytes=gradient_bytes,
            mfu=mfu,
            achieved_flops_per_accelerator=spec.achieved_flops_per_accelerator,
            checkpoint_interval_s=spec.checkpoint_interval,
            checkpoint_time_s=spec.checkpoint_time,
            gamma=gamma,
            layout=layout,
            roofline=spec.mfu is None,
            useful_flops=float(useful),
        ),
        mode=spec.mode,
        user=spec.user,
        vc=spec.vc,
        priority=spec.priority,
        power_cap_w=spec.power_cap_w,
        runtime_estimate_s=spec.runtime_estimate,
        slack_s=spec.slack,
        deadline_s=spec.deadline,
    )


def _reference(name: str | None, catalog: Catalog | None, fallback: Accelerator) -> Accelerator:
    return catalog.accelerator(name) if (name and catalog is not None) else fallback


def _pick_model(rules: list[ModelRule] | tuple[ModelRule, ...], accelerators: int, duration_s: float,
                rng: np.random.Generator) -> str | None:
    """The catalog model of a job: the first matching rule; a mix is drawn by weight."""
    for rule in rules:
        if rule.matches(accelerators, duration_s):
            if isinstance(rule.model, str):
                return rule.model
            names = list(rule.model)
            w = np.array([rule.model[n] for n in names], dtype=float)
            return names[int(rng.choice(len(names), p=w / w.sum()))]
    return None


def _pick_models(rules: list[ModelRule] | tuple[ModelRule, ...], accelerators: np.ndarray,
                 duration_s: np.ndarray, rng: np.random.Generator) -> list[str | None]:
    """`_pick_model` for every row at once, drawing exactly what the row-by-row calls draw.

    Each row takes the first rule it matches; the rows whose rule is a weighted mix
    draw one uniform each, in row order, as `rng.choice(n, p=w / w.sum())` does
    (Generator.choice: cdf = p.cumsum() / its last element, index =
    cdf.searchsorted(uniform, side="right")), so the stream and the picks are the same.
    """
    acc = np.asarray(accelerators)
    dur = np.asarray(duration_s, dtype=float)
    n = len(acc)
    rule_of = np.full(n, -1, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    for r, rule in enumerate(rules):
        m = free & (acc >= rule.min_accelerators) & (dur >= rule.min_duration)
        if rule.max_accelerators is not None:
            m &= acc <= rule.max_accelerators
        if rule.max_duration is not None:
            m &= dur <= rule.max_duration
        rule_of[m] = r
        free &= ~m
    out: list[str | None] = [None] * n
    is_mix = np.array([not isinstance(rule.model, str) for rule in rules] + [False])
    drawn = np.flatnonzero(is_mix[rule_of])  # rule_of = -1 reads the trailing False
    u = rng.random(len(drawn))
    names_of = [list(rule.model) if not isinstance(rule.model, str) else None for rule in rules]
    for r, rule in enumerate(rules):
        rows = np.flatnonzero(rule_of == r)
        if isinstance(rule.model, str):
            for i in rows.tolist():
                out[i] = rule.model
            continue
        names = names_of[r]
        w = np.array([rule.model[k] for k in names], dtype=float)
        p_ = w / w.sum()
        cdf = p_.cumsum()
        cdf /= cdf[-1]
        sel = rule_of[drawn] == r
        picks = cdf.searchsorted(u[sel], side="right")
        for i, k in zip(drawn[sel].tolist(), picks.tolist()):
            out[i] = names[k]
    return out


def _job_for_duration(
    jid: int, name: str, submit_s: float, accelerators: int, duration_s: float, ref: Accelerator,
    model: str | None, catalog: Catalog | None, *, gpu_fraction: float = 1.0, mode: str = "sync",
    checkpoint_interval_s: float | None = None, user: str | None = None, vc: str | None = None,
    preset: tuple[float | None, float | None, int | None] | None = None,
) -> Job:
    """A job whose work is what `accelerators` x `ref` do in `duration_s`.

    work = duration x accelerators x peak(ref) x MFU(ref) x gpu_fraction. A
    fractional job (Alibaba `gpu_milli` < 1000) holds a whole accelerator and
    runs at MFU(ref) x fraction, so it lasts `duration_s` on the reference.
    `preset`: the model's (flops_per_sample, gradient_bytes, batch), when the caller has it already.
    """
    flops_per_sample = gradient_bytes = None
    batch = None
    if preset is not None:
        flops_per_sample, gradient_bytes, batch = preset
    elif model is not None and catalog is not None:
        preset = catalog.model(model)
        flops_per_sample, gradient_bytes = preset.flops_per_sample, preset.gradient_bytes
        batch = preset.reference_batch_per_accelerator
    per_acc = ref.peak_flops * ref.default_mfu
    return Job(
        id=jid,
        name=name,
        submit_s=float(submit_s),
        accelerators=int(accelerators),
        work=JobWork(
            work_flops=float(duration_s) * accelerators * per_acc * gpu_fraction,
            flops_per_sample=flops_per_sample,
            batch_per_accelerator=batch,
            gradient_bytes=gradient_bytes,
            mfu=ref.default_mfu * gpu_fraction if gpu_fraction < 1.0 else None,
            checkpoint_interval_s=checkpoint_interval_s,
        ),
        mode=mode,
        user=user or None,
        vc=vc or None,
    )


def _arrival_times(cfg: GeneratorConfig, rate_per_hour: float, horizon_s: float, rng: np.random.Generator,
                   start_hour_utc: float) -> Any:
    """Yield arrival times in [start, stop or horizon); thinning when diurnal."""
    stop = min(cfg.stop if cfg.stop is not None else horizon_s, horizon_s)
    amp = cfg.diurnal_amplitude
    mean_gap = 3600.0 / (rate_per_hour * (1.0 + amp))
    t = cfg.start
    while True:
        t += rng.exponential(mean_gap)
        if t >= stop:
            return
        if amp > 0:
            hour = (start_hour_utc + t / 3600.0) % 24.0
            keep = (1.0 + amp * math.cos(2 * math.pi * (hour - cfg.peak_hour) / 24.0)) / (1.0 + amp)
            if rng.random() >= keep:  # the draw rng.uniform() makes, without its argument handling
                continue
        yield t


def generate_poisson(
    cfg: GeneratorConfig, horizon_s: float, rng: np.random.Generator, first_id: int,
    reference: Accelerator, catalog: Catalog | None = None, start_hour_utc: float = 0.0,
) -> list[Job]:
    """Jobs arriving as a (possibly diurnal) Poisson process in [start, stop or horizon)."""
    sizes = [int(s.accelerators) for s in cfg.sizes]
    weights = np.array([s.weight for s in cfg.sizes], dtype=float)
    weights /= weights.sum()
    # what rng.choice(sizes, p=weights) does, without its per-call checks: the same one draw
    # from the stream and the same cumulative weights, so the same jobs for the same seed
    cdf = weights.cumsum()
    cdf /= cdf[-1]
    cdf_list = cdf.tolist()
    ref = _reference(cfg.reference_accelerator, catalog, reference)
    jobs: list[Job] = []
    for t in _arrival_times(cfg, float(cfg.rate_per_hour), horizon_s, rng, start_hour_utc):
        if cfg.count is not None and len(jobs) >= cfg.count:
            break
        size = sizes[bisect.bisect_right(cdf_list, rng.random())]
        duration = _draw_duration(cfg, rng)
        model = _pick_model(cfg.models, size, duration, rng) if cfg.models else None
        jid = first_id + len(jobs)
        jobs.append(_job_for_duration(jid, f"gen-{jid}", t, size, duration, ref, model, catalog,
                                      mode=cfg.mode, checkpoint_interval_s=cfg.checkpoint_interval))
    return jobs


def generate_resample(
    cfg: ResampleGeneratorConfig, horizon_s: float, rng: np.random.Generator, first_id: int,
    reference: Accelerator, catalog: Catalog | None = None, start_hour_utc: float = 0.0,
) -> list[Job]:
    """Poisson arrivals; each job copies (size, duration, gpu share) of a random trace row."""
    df = load_trace(cfg.trace)
    if df.empty:
        return []
    span_s = float(df["submit_s"].max() - df["submit_s"].min())
    rate = cfg.rate_per_hour or (len(df) / span_s * 3600.0 if span_s > 0 else 1.0)
    ref = _reference(cfg.reference_accelerator or cfg.trace.reference_accelerator, catalog, reference)
    rules = cfg.models or cfg.trace.models
    acc = df["accelerators"].to_numpy()
    dur = df["duration_s"].to_numpy()
    frac = df["gpu_fraction"].to_numpy()
    jobs: list[Job] = []
    for t in _arrival_times(cfg, rate, horizon_s, rng, start_hour_utc):
        if cfg.count is not None and len(jobs) >= cfg.count:
            break
        i = int(rng.integers(len(df)))
        model = _pick_model(rules, int(acc[i]), float(dur[i]), rng) if rules else None
        jid = first_id + len(jobs)
        jobs.append(_job_for_duration(jid, f"resample-{jid}", t, int(acc[i]), float(dur[i]), ref, model, catalog,
                                      gpu_fraction=float(frac[i]), mode=cfg.mode,
                                      checkpoint_interval_s=cfg.checkpoint_interval))
    return jobs


def generate_llm_campaign(
    cfg: LLMCampaignConfig, rng: np.random.Generator, first_id: int, reference: Accelerator, catalog: Catalog,
) -> list[Job]:
    """Pretraining + evaluations every `eval_every` during it + fine-tunes depending on it."""
    del rng  # deterministic by construction
    pre = job_from_spec(first_id, JobSpec(
        name=f"{cfg.name}-pretrain", submit=cfg.submit, accelerators=cfg.accelerators, model=cfg.model,
        tokens=cfg.tokens, mfu=cfg.mfu, checkpoint_interval=cfg.checkpoint_interval,
        checkpoint_time=cfg.checkpoint_time), catalog, reference)
    mfu = cfg.mfu if cfg.mfu is not None else reference.default_mfu
    expected_s = pre.work.work_flops / (cfg.accelerators * reference.peak_flops * mfu)
    jobs = [pre]
    k = 1
    while k * cfg.eval_every < expected_s:
        jid = first_id + len(jobs)
        jobs.append(_job_for_duration(jid, f"{cfg.name}-eval-{k}", cfg.submit + k * cfg.eval_every,
                                      cfg.eval_accelerators, cfg.eval_duration, reference, None, catalog))
        k += 1
    for i in range(cfg.finetunes):
        jid = first_id + len(jobs)
        jobs.append(job_from_spec(jid, JobSpec(
            name=f"{cfg.name}-finetune-{i + 1}", submit=cfg.submit + expected_s + i * cfg.finetune_gap,
            accelerators=cfg.finetune_accelerators, model=cfg.model, tokens=cfg.finetune_tokens, mfu=cfg.mfu,
        ), catalog, reference))
        jobs[-1].after = [pre.id]  # queues once pretraining has actually completed
    return jobs


def generate(
    cfg: Any, horizon_s: float, rng: np.random.Generator, first_id: int, reference: Accelerator,
    catalog: Catalog, start_hour_utc: float = 0.0,
) -> list[Job]:
    """Jobs of any generator kind."""
    if isinstance(cfg, LLMCampaignConfig):
        return generate_llm_campaign(cfg, rng, first_id, reference, catalog)
    if isinstance(cfg, ResampleGeneratorConfig):
        return generate_resample(cfg, horizon_s, rng, first_id, reference, catalog, start_hour_utc)
    return generate_poisson(cfg, horizon_s, rng, first_id, reference, catalog, start_hour_utc)


#: the hardware each trace ran on, when the trace does not say (docs/workloads.md)
TRACE_REFERENCE: dict[str, str] = {
    "philly": "p100",          # Jeon et al. 2019: Philly's GPUs were P100/M40-era; P100 chosen (M40 not in catalog)
    "philly-json": "p100",
    "helios": "v100",          # Hu et al. SC'21: Helios clusters are mostly V100 (Volta) nodes
    "alibaba-gpu-2023": "v100",  # openb nodes: G2 (4,392 of 6,212, unnamed), T4, P100, V100; V100 assumed
    "alibaba-pai-2020": "v100",  # PAI 2020 gpu_type: V100, P100, T4, MISC; V100 when unnamed
}
#: trace gpu_type spellings -> catalog keys
GPU_TYPE_ALIASES: dict[str, str] = {
    "V100": "v100", "V100M16": "v100", "V100M32": "v100", "P100": "p100", "A100": "a100-40gb",
    "H100": "h100",
}


def jobs_from_trace(
    cfg: TraceConfig, catalog: Catalog, rng: np.random.Generator, first_id: int, cluster_reference: Accelerator,
    df: pd.DataFrame | None = None,
) -> list[Job]:
    """Training jobs from a trace: one per row that survives the filter.

    Each row's work is its duration x accelerators x achieved FLOP/s of its
    reference hardware (the row's `gpu_type` when the catalog knows it, else
    `reference_accelerator`, else the format's default, else the cluster's);
    its model comes from `cfg.models` (default `DEFAULT_MODEL_RULES`).
    """
    if df is None:
        df = load_trace(cfg)
    default_name = cfg.reference_accelerator or TRACE_REFERENCE.get(cfg.format or "")
    default_ref = catalog.accelerator(default_name) if default_name else cluster_reference
    refs: dict[str, Accelerator] = {}
    rules = cfg.models if cfg.models is not None else DEFAULT_MODEL_RULES
    jobs: list[Job] = []
    df = df[df["accelerators"].to_numpy() >= 1]
    models = _pick_models(rules, df["accelerators"].to_numpy(), df["duration_s"].to_numpy(), rng)
    # plain Python columns: iterating rows of an Arrow-backed frame costs a conversion per cell
    cols = {c: df[c].tolist() for c in ("job_id", "submit_s", "accelerators", "duration_s", "gpu_type",
                                           "gpu_fraction", "cluster", "user")}
    presets: dict[str, tuple[float | None, float | None, int | None]] = {}
    for k, model in enumerate(models):
        ref = default_ref
        gpu_type = cols["gpu_type"][k]
        if gpu_type and cfg.reference_accelerator is None:
            key = GPU_TYPE_ALIASES.get(gpu_type)
            if key is not None:
                ref = refs.setdefault(key, catalog.accelerator(key))
        if model is not None and model not in presets:
            preset = catalog.model(model)
            presets[model] = (preset.flops_per_sample, preset.gradient_bytes,
                              preset.reference_batch_per_accelerator)
        jid = first_id + len(jobs)
        cluster = cols["cluster"][k]
        frac = cols["gpu_fraction"][k]
        jobs.append(_job_for_duration(
            jid, f"{cluster}-{cols['job_id'][k]}" if cluster else f"{cols['job_id'][k]}", cols["submit_s"][k],
            cols["accelerators"][k], cols["duration_s"][k], ref, model, catalog,
            gpu_fraction=float(frac) if frac > 0 else 1.0, mode=cfg.mode,
            checkpoint_interval_s=cfg.checkpoint_interval, user=cols["user"][k], vc=cluster,
            preset=presets.get(model) if model is not None else None,
        ))
    return jobs


def fit_loguniform_mixture(durations_s: np.ndarray, quantiles: tuple[float, ...] = (
    0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0,
)) -> tuple[tuple[float, float], ...]:
    """Knots (quantile, duration) of a piecewise log-uniform fit to any trace's durations."""
    d = np.asarray(durations_s, dtype=float)
    d = d[d > 0]
    return tuple((float(q), float(np.quantile(d, q))) for q in quantiles)


@functools.lru_cache(maxsize=32)
def _mixture_segments(knots: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float, float, float], ...]:
    """(q0, q1, log d0, log d1) of each segment of a log-uniform mixture (computed once per knots)."""
    return tuple((q0, q1, math.log(d0), math.log(d1)) for (q0, d0), (q1, d1) in zip(knots, knots[1:]))


def sample_loguniform_mixture(knots: tuple[tuple[float, float], ...], rng: np.random.Generator) -> float:
    """Draw from the piecewise log-uniform mixture: a segment by its weight, then log-uniform in it."""
    u = rng.random()  # the draw rng.uniform() makes (0 + 1 x u), without its argument handling
    for q0, q1, l0, l1 in _mixture_segments(knots):
        if u < q1 or q1 >= 1.0:
            f = (u - q0) / (q1 - q0) if q1 > q0 else 0.0
            return float(math.exp(l0 + f * (l1 - l0)))
    return float(knots[-1][1])


def _draw_duration(cfg: GeneratorConfig, rng: np.random.Generator) -> float:
    if cfg.duration_distribution == "exponential":
        d = rng.exponential(cfg.mean_duration)
    elif cfg.duration_distribution == "lognormal":
        # choose mu so that the mean is mean_duration: E = exp(mu + sigma^2 / 2)
        mu = np.log(cfg.mean_duration) - cfg.duration_sigma**2 / 2
        d = rng.lognormal(mu, cfg.duration_sigma)
    elif cfg.duration_distribution == "philly":
        d = sample_loguniform_mixture(PHILLY_DURATION_QUANTILES, rng)
    else:  # log-uniform between min and max (Gavel's synthetic traces use this shape)
        d = float(np.exp(rng.uniform(np.log(cfg.min_duration), np.log(cfg.max_duration))))
    return float(min(max(d, cfg.min_duration), cfg.max_duration))
