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
import contextlib
import functools
import gc
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
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


class _ModelPicker:
    """The catalog model of a job, row by row: the first matching rule; a mix is drawn by weight.

    A mix draws one uniform and picks as `rng.choice(n, p=w / w.sum())` does
    (Generator.choice: cdf = p.cumsum() / its last element, index =
    cdf.searchsorted(uniform, side="right")), with each mix's cdf computed once,
    so the stream and the picks are those of `choice`.
    """

    def __init__(self, rules: Sequence[ModelRule]) -> None:
        self.rules = tuple(rules)
        #: per rule: its model's name, or the names of its mix and their cdf
        self.picks: list[str | tuple[list[str], list[float]]] = []
        for rule in self.rules:
            if isinstance(rule.model, str):
                self.picks.append(rule.model)
            else:
                names = list(rule.model)
                self.picks.append((names, _mix_cdf(rule.model, names).tolist()))

    def __call__(self, accelerators: int, duration_s: float, rand: Callable[[], float]) -> str | None:
        for rule, pick in zip(self.rules, self.picks):
            if rule.matches(accelerators, duration_s):
                if isinstance(pick, str):
                    return pick
                names, cdf = pick
                return names[bisect.bisect_right(cdf, rand())]
        return None


def _mix_cdf(weights: dict[str, float], names: list[str]) -> np.ndarray:
    """Cumulative weights of a model mix, computed as `Generator.choice` computes them."""
    w = np.array([weights[n] for n in names], dtype=float)
    cdf = (w / w.sum()).cumsum()
    cdf /= cdf[-1]
    return cdf


def _pick_models(rules: list[ModelRule] | tuple[ModelRule, ...], accelerators: np.ndarray,
                 duration_s: np.ndarray, rng: np.random.Generator) -> list[str | None]:
    """`_ModelPicker` for every row at once, drawing exactly what the row-by-row calls draw.

    Each row takes the first rule it matches; the rows whose rule is a weighted mix
    draw one uniform each, in row order, so the stream and the picks are the same.
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
    for r, rule in enumerate(rules):
        rows = np.flatnonzero(rule_of == r)
        if isinstance(rule.model, str):
            for i in rows.tolist():
                out[i] = rule.model
            continue
        names = list(rule.model)
        sel = rule_of[drawn] == r
        picks = _mix_cdf(rule.model, names).searchsorted(u[sel], side="right")
        for i, k in zip(drawn[sel].tolist(), picks.tolist()):
            out[i] = names[k]
    return out


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection paused while a workload's jobs are built, then one full pass.

    Each `Job` holds three lists, so building jobs by the hundred thousand sets off
    full collections that walk every job built so far, again and again, and free
    nothing (every job is alive): building a job took 5x longer with the collector
    on (7.2 against 1.4 us, 300,000 jobs). Left young, the new jobs would then be
    walked by a young, a middle and a full collection in turn; the one full pass
    at the end (of the outermost pause only) moves them to the oldest generation
    at once: 1.2 s of CPU after the million jobs of benchmarks/bench_year.py,
    against 2.2 s of collections later in the build.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect()


_Preset = tuple[float | None, float | None, int | None]


def _presets(models: Sequence[str | None], catalog: Catalog | None) -> dict[str | None, _Preset]:
    """(flops_per_sample, gradient_bytes, reference batch) of each model named (None: no model)."""
    out: dict[str | None, _Preset] = {None: (None, None, None)}
    for model in set(models):
        if model is not None:
            if catalog is None:
                out[model] = (None, None, None)
            else:
                p = catalog.model(model)
                out[model] = (p.flops_per_sample, p.gradient_bytes, p.reference_batch_per_accelerator)
    return out


def _works(work_flops: list[float], mfu: Iterable[float | None], models: Sequence[str | None],
           catalog: Catalog | None, checkpoint_interval_s: float | None,
           share: dict[tuple[float, float | None, str | None], JobWork] | None) -> list[JobWork]:
    """The `JobWork` of each job; with `share` (by work, MFU and model), one object for jobs whose work is equal.

    A trace repeats (duration, size) pairs: 82,247 Philly rows have 17,327 distinct
    ones, so sharing saves most of the objects. JobWork is never changed in place
    (the runtime reads it, `Job.done_flops` holds the progress), so sharing is safe.
    """
    presets = _presets(models, catalog)
    if share is None:
        fps: Iterable[Any]
        batch: Iterable[Any]
        grad: Iterable[Any]
        if len(presets) == 1:  # no job has a model
            fps = batch = grad = repeat(None)
        else:
            fps, grad, batch = zip(*map(presets.__getitem__, models))
        return JobWork.many(work_flops, fps, batch, grad, mfu, repeat(checkpoint_interval_s))
    out = []
    for key in zip(work_flops, mfu, models):
        w = share.get(key)
        if w is None:
            f, g, b = presets[key[2]]
            w = share[key] = JobWork(key[0], f, b, g, key[1], checkpoint_interval_s=checkpoint_interval_s)
        out.append(w)
    return out


def _job_for_duration(
    jid: int, name: str, submit_s: float, accelerators: int, duration_s: float, ref: Accelerator,
    model: str | None, catalog: Catalog | None, *, gpu_fraction: float = 1.0, mode: str = "sync",
    checkpoint_interval_s: float | None = None, user: str | None = None, vc: str | None = None,
) -> Job:
    """A job whose work is what `accelerators` x `ref` do in `duration_s`.

    work = duration x accelerators x peak(ref) x MFU(ref) x gpu_fraction. A
    fractional job (Alibaba `gpu_milli` < 1000) holds a whole accelerator and
    runs at MFU(ref) x fraction, so it lasts `duration_s` on the reference.
    The generators and the trace replay compute the same, column by column.
    """
    flops_per_sample = gradient_bytes = None
    batch = None
    if model is not None and catalog is not None:
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
                   start_hour_utc: float, draw: Callable[[], None] | None = None,
                   pairs: array[float] | None = None) -> list[float]:
    """Arrival times in [start, stop or horizon) (thinned when diurnal), at most `cfg.count`.

    Right after each arrival kept come the job's own draws: `draw()`, or, with
    `pairs`, two uniforms appended to it: one seeded stream, drawn in the order
    the jobs arrive. The gaps are `mean_gap x standard_exponential()`, which is
    what `exponential(mean_gap)` computes (numpy: scale x the standard draw),
    without its argument handling.
    """
    stop = min(cfg.stop if cfg.stop is not None else horizon_s, horizon_s)
    amp = cfg.diurnal_amplitude
    mean_gap = 3600.0 / (rate_per_hour * (1.0 + amp))
    count = cfg.count if cfg.count is not None else math.inf
    gap = rng.standard_exponential
    rand = rng.random
    push = pairs.append if pairs is not None else None
    times: list[float] = []
    t = cfg.start
    if push is not None and amp == 0 and count == math.inf:  # the common case, its loop kept tight
        arrive = times.append
        while True:
            t += mean_gap * gap()
            if t >= stop:
                return times
            arrive(t)
            push(rand())
            push(rand())
    while True:
        t += mean_gap * gap()
        if t >= stop:
            break
        if amp > 0:
            hour = (start_hour_utc + t / 3600.0) % 24.0
            keep = (1.0 + amp * math.cos(2 * math.pi * (hour - cfg.peak_hour) / 24.0)) / (1.0 + amp)
            if rand() >= keep:  # the draw rng.uniform() makes, without its argument handling
                continue
        if len(times) >= count:
            break
        times.append(t)
        if push is not None:
            push(rand())
            push(rand())
        elif draw is not None:
            draw()
    return times


def generate_poisson(
    cfg: GeneratorConfig, horizon_s: float, rng: np.random.Generator, first_id: int,
    reference: Accelerator, catalog: Catalog | None = None, start_hour_utc: float = 0.0,
) -> list[Job]:
    """Jobs arriving as a (possibly diurnal) Poisson process in [start, stop or horizon).

    Per arrival, in stream order: its size (one uniform on the weights' cdf, what
    `rng.choice(sizes, p=weights)` draws), its duration, its model if `models`;
    the draws are scalar, everything computed from them is done by column.
    """
    sizes = [int(s.accelerators) for s in cfg.sizes]
    weights = np.array([s.weight for s in cfg.sizes], dtype=float)
    weights /= weights.sum()
    # what rng.choice(sizes, p=weights) does, without its per-call checks: the same one draw
    # from the stream and the same cumulative weights, so the same jobs for the same seed
    cdf = weights.cumsum()
    cdf /= cdf[-1]
    cdf_list = cdf.tolist()
    ref = _reference(cfg.reference_accelerator, catalog, reference)
    philly = cfg.duration_distribution == "philly"
    picker = _ModelPicker(cfg.models) if cfg.models else None
    rand = rng.random
    draws = array("d")  # per job: the uniform of its size, then its duration (philly: the uniform it comes from)
    models: list[str | None] = []

    def draw() -> None:
        u = rand()
        draws.append(u)
        d = rand() if philly else _draw_duration(cfg, rng)
        draws.append(d)
        if picker is not None:
            if philly:
                d = min(max(_loguniform_mixture_at(PHILLY_DURATION_QUANTILES, d), cfg.min_duration),
                        cfg.max_duration)
            models.append(picker(sizes[bisect.bisect_right(cdf_list, u)], d, rand))

    fast = philly and picker is None  # two uniforms per job, drawn inline
    times = _arrival_times(cfg, float(cfg.rate_per_hour), horizon_s, rng, start_hour_utc,
                           draw=None if fast else draw, pairs=draws if fast else None)
    if not times:
        return []
    both = np.frombuffer(draws, dtype=float)
    size_of = np.array(sizes)
    per_acc = ref.peak_flops * ref.default_mfu
    jobs: list[Job] = []
    with paused_gc():
        for a, b in _chunks(len(times)):  # columns a chunk at a time: a million jobs need no big temporaries
            acc = size_of[cdf.searchsorted(both[2 * a:2 * b:2], side="right")]
            if philly:
                dur = loguniform_mixture_at(PHILLY_DURATION_QUANTILES, both[2 * a + 1:2 * b:2])
                dur = np.minimum(np.maximum(dur, cfg.min_duration), cfg.max_duration)
            else:
                dur = both[2 * a + 1:2 * b:2]
            works = _works((dur * acc * per_acc).tolist(), repeat(None), models[a:b] or [None] * (b - a), catalog,
                           cfg.checkpoint_interval, share=None)
            ids = range(first_id + a, first_id + b)
            jobs += Job.many(ids, [f"gen-{jid}" for jid in ids], times[a:b], acc.tolist(), works, cfg.mode)
    return jobs


def _chunks(n: int, size: int = 1 << 16) -> Iterator[tuple[int, int]]:
    """[a, b) bounds of consecutive chunks of `size` covering range(n)."""
    for a in range(0, n, size):
        yield a, min(a + size, n)


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
    picker = _ModelPicker(rules) if rules else None
    acc = df["accelerators"].to_numpy()
    dur = df["duration_s"].to_numpy(dtype=float)
    frac = df["gpu_fraction"].to_numpy(dtype=float)
    acc_l, dur_l = acc.tolist(), dur.tolist()
    rows: list[int] = []
    models: list[str | None] = []
    integers, rand, n_rows = rng.integers, rng.random, len(df)

    def draw() -> None:
        i = int(integers(n_rows))
        rows.append(i)
        if picker is not None:
            models.append(picker(acc_l[i], dur_l[i], rand))

    times = _arrival_times(cfg, rate, horizon_s, rng, start_hour_utc, draw)
    if not times:
        return []
    idx = np.array(rows, dtype=np.int64)
    per_acc = ref.peak_flops * ref.default_mfu
    shared: dict[tuple[float, float | None, str | None], JobWork] = {}
    jobs: list[Job] = []
    with paused_gc():
        for lo, hi in _chunks(len(times)):
            a, f = acc[idx[lo:hi]], frac[idx[lo:hi]]
            work = (dur[idx[lo:hi]] * a * per_acc * f).tolist()
            mfu = [ref.default_mfu * x if x < 1.0 else None for x in f.tolist()]
            works = _works(work, mfu, models[lo:hi] or [None] * (hi - lo), catalog, cfg.checkpoint_interval,
                           share=shared)
            ids = range(first_id + lo, first_id + hi)
            jobs += Job.many(ids, [f"resample-{jid}" for jid in ids], times[lo:hi], a.tolist(), works, cfg.mode)
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
    rules = cfg.models if cfg.models is not None else DEFAULT_MODEL_RULES
    df = df[df["accelerators"].to_numpy() >= 1]
    if df.empty:
        return []
    acc = df["accelerators"].to_numpy()
    dur = df["duration_s"].to_numpy(dtype=float)
    models = _pick_models(rules, acc, dur, rng)
    # each row's reference: its gpu_type when the catalog knows the spelling, else the default
    refs = [default_ref]
    ref_of_type: dict[object, int] = {}
    if cfg.reference_accelerator is None:
        for gpu_type in df["gpu_type"].unique().tolist():
            key = GPU_TYPE_ALIASES.get(gpu_type) if gpu_type else None
            if key is not None:
                ref_of_type[gpu_type] = len(refs)
                refs.append(catalog.accelerator(key))
    if ref_of_type:
        ref_idx = np.array([ref_of_type.get(g, 0) for g in df["gpu_type"].tolist()], dtype=np.int64)
    else:
        ref_idx = np.zeros(len(df), dtype=np.int64)
    per_acc = np.array([r.peak_flops * r.default_mfu for r in refs])[ref_idx]
    default_mfu = np.array([r.default_mfu for r in refs])[ref_idx]
    frac = df["gpu_fraction"].to_numpy(dtype=float)
    frac = np.where(frac > 0, frac, 1.0)  # no share given: the whole accelerator
    work = (dur * acc * per_acc * frac).tolist()
    mfu = [m * f if f < 1.0 else None for m, f in zip(default_mfu.tolist(), frac.tolist())]
    # plain Python columns: iterating rows of an Arrow-backed frame costs a conversion per cell;
    # one string object per distinct cluster and user, not one per row
    strings: dict[Any, Any] = {}  # str, or NaN where a reader left a cell empty
    clusters = [strings.setdefault(c, c) for c in df["cluster"].tolist()]
    users = [strings.setdefault(u, u) or None for u in df["user"].tolist()]
    names = [f"{c}-{j}" if c else f"{j}" for c, j in zip(clusters, df["job_id"].tolist())]
    with paused_gc():
        works = _works(work, mfu, models, catalog, cfg.checkpoint_interval, share={})
        return Job.many(range(first_id, first_id + len(names)), names, df["submit_s"].to_numpy(dtype=float).tolist(),
                        acc.tolist(), works, cfg.mode, users, [c or None for c in clusters])


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


def _loguniform_mixture_at(knots: tuple[tuple[float, float], ...], u: float) -> float:
    """The mixture's quantile function at `u` in [0, 1): a segment by its weight, then log-uniform in it."""
    for q0, q1, l0, l1 in _mixture_segments(knots):
        if u < q1 or q1 >= 1.0:
            f = (u - q0) / (q1 - q0) if q1 > q0 else 0.0
            return float(math.exp(l0 + f * (l1 - l0)))
    return float(knots[-1][1])


def loguniform_mixture_at(knots: tuple[tuple[float, float], ...], u: np.ndarray) -> np.ndarray:
    """`_loguniform_mixture_at` of every element of `u`, the same floats.

    The arithmetic is numpy's (IEEE, so identical); the exponential is `math.exp`
    per element, as numpy's vectorised exp may differ from it in the last bit.
    """
    u = np.asarray(u, dtype=float)
    segs = _mixture_segments(knots)
    if not segs:
        return np.full(len(u), float(knots[-1][1]))
    seg = np.full(len(u), -1, dtype=np.int64)
    for k in range(len(segs) - 1, -1, -1):  # the first segment that takes u wins
        top = segs[k][1]
        seg[(u < top) | (top >= 1.0)] = k
    q0, q1, l0, l1 = (np.array([s[i] for s in segs])[np.maximum(seg, 0)] for i in range(4))
    wide = q1 > q0
    f = np.where(wide, (u - q0) / np.where(wide, q1 - q0, 1.0), 0.0)
    out = np.fromiter(map(math.exp, (l0 + f * (l1 - l0)).tolist()), dtype=float, count=len(u))
    out[seg < 0] = float(knots[-1][1])
    return out


def sample_loguniform_mixture(knots: tuple[tuple[float, float], ...], rng: np.random.Generator) -> float:
    """Draw from the piecewise log-uniform mixture: a segment by its weight, then log-uniform in it."""
    return _loguniform_mixture_at(knots, rng.random())  # the draw rng.uniform() makes (0 + 1 x u)


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
