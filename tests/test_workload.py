"""Workloads (sim.workload.jobs): generators, trace rows -> jobs, a Philly replay.

Philly facts (data/README.md, counted on data/traces/philly.csv): 93% of
jobs use 1 GPU, median duration 1,144 s. Peak and MFU figures are the
catalog's (P100 19 TFLOP/s x 0.30, V100 125 TFLOP/s x 0.197).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.catalog import load_catalog
from sim.engine.world import World
from sim.spec.scenario import load_scenario
from sim.spec.traces import TraceConfig
from sim.spec.workload import (
    DiurnalGeneratorConfig,
    LLMCampaignConfig,
    PhillyGeneratorConfig,
    ResampleGeneratorConfig,
    WorkloadConfig,
)
from sim.workload.jobs import generate, jobs_from_trace

CAT = load_catalog()
P100 = CAT.accelerator("p100")
V100 = CAT.accelerator("v100")
DAY = 86400.0


def _signature(jobs):
    return [(j.submit_s, j.accelerators, j.work.work_flops, j.work.flops_per_sample) for j in jobs]


@pytest.mark.parametrize("cfg", [
    PhillyGeneratorConfig(count=300),
    DiurnalGeneratorConfig(rate_per_hour=10, models=[{"model": {"resnet50": 1, "bert-base": 1}}]),
    ResampleGeneratorConfig(trace=TraceConfig(path="philly", filter={"cluster": "0e4a51"}), count=200),
])
def test_generators_are_deterministic_for_a_seed(cfg):
    a = generate(cfg, 7 * DAY, np.random.default_rng(3), 0, V100, CAT)
    b = generate(cfg, 7 * DAY, np.random.default_rng(3), 0, V100, CAT)
    c = generate(cfg, 7 * DAY, np.random.default_rng(4), 0, V100, CAT)
    assert a and _signature(a) == _signature(b) and _signature(a) != _signature(c)


def _row_by_row(cfg, horizon_s, rng, ref):
    """The generator as first written, one job at a time with numpy's own calls: (submit, size, work, model)."""
    from sim.workload.jobs import PHILLY_DURATION_QUANTILES, _loguniform_mixture_at

    sizes = [s.accelerators for s in cfg.sizes]
    p = np.array([s.weight for s in cfg.sizes]) / sum(s.weight for s in cfg.sizes)
    out, t, amp = [], 0.0, cfg.diurnal_amplitude
    while True:
        t += rng.exponential(3600.0 / (cfg.rate_per_hour * (1.0 + amp)))
        if t >= horizon_s:
            return out
        hour = t / 3600.0 % 24.0
        if amp > 0 and rng.uniform() >= (1 + amp * math.cos(2 * math.pi * (hour - cfg.peak_hour) / 24)) / (1 + amp):
            continue
        if cfg.count is not None and len(out) >= cfg.count:
            return out
        size = sizes[int(rng.choice(len(sizes), p=p))]
        d = min(max(_loguniform_mixture_at(PHILLY_DURATION_QUANTILES, rng.uniform()), cfg.min_duration),
                cfg.max_duration)
        model = None
        for rule in cfg.models or ():
            if rule.matches(size, d):
                names = list(rule.model) if not isinstance(rule.model, str) else [rule.model]
                w = np.array([rule.model[n] for n in names]) if len(names) > 1 else np.ones(1)
                model = names[int(rng.choice(len(names), p=w / w.sum()))] if len(names) > 1 else names[0]
                break
        out.append((t, size, d * size * (ref.peak_flops * ref.default_mfu), model))


@pytest.mark.parametrize("cfg", [
    PhillyGeneratorConfig(rate_per_hour=200),
    PhillyGeneratorConfig(count=400, diurnal_amplitude=0.7,
                          models=[{"max_duration": 600, "model": {"resnet50": 3, "bert-base": 1}},
                                  {"min_accelerators": 8, "model": "bert-large"}]),
])
def test_generator_draws_what_row_by_row_numpy_calls_draw(cfg):
    """Columns computed from scalar draws: the same jobs, in the same stream, as numpy's own
    exponential/choice/uniform one job at a time (the same seed gives the same workload)."""
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    jobs = generate(cfg, 3 * DAY, rng_a, 0, V100, CAT)
    want = _row_by_row(cfg, 3 * DAY, rng_b, P100)
    names = {CAT.model(m).flops_per_sample: m for m in ("resnet50", "bert-base", "bert-large")}
    got = [(j.submit_s, j.accelerators, j.work.work_flops, names.get(j.work.flops_per_sample)) for j in jobs]
    assert len(got) > 300 and got == want  # exact floats
    assert rng_a.random() == rng_b.random()  # and the stream left where the row-by-row calls leave it


def test_loguniform_mixture_by_column_is_the_scalar_one_bit_for_bit():
    from sim.workload.jobs import PHILLY_DURATION_QUANTILES, _loguniform_mixture_at, loguniform_mixture_at

    q = [k[0] for k in PHILLY_DURATION_QUANTILES]
    u = np.concatenate([np.random.default_rng(0).random(20000), q[:-1], np.nextafter(q[1:], 0)])
    got = loguniform_mixture_at(PHILLY_DURATION_QUANTILES, u)
    assert got.tolist() == [_loguniform_mixture_at(PHILLY_DURATION_QUANTILES, x) for x in u.tolist()]
    assert got.min() == 1.0 and got.max() <= 4628226.0  # the knots' ends (Philly: 1 s to 53.6 d)


def test_philly_generator_matches_the_trace_facts():
    jobs = generate(PhillyGeneratorConfig(count=20000), 365 * DAY, np.random.default_rng(1), 0, V100, CAT)
    assert len(jobs) == 20000
    one = np.mean([j.accelerators == 1 for j in jobs])
    assert one == pytest.approx(0.93, abs=0.01)  # trace: 93.2%
    # durations are on a P100 (the generator's reference): duration = work / (n x 19e12 x 0.30)
    d = np.array([j.work.work_flops / (j.accelerators * P100.peak_flops * P100.default_mfu) for j in jobs])
    assert np.median(d) == pytest.approx(1144.0, rel=0.10)  # trace median 1,144 s
    assert d.mean() == pytest.approx(13136.0, rel=0.25)  # trace mean 13,136 s (heavy tail: loose)
    rate = len(jobs) / (jobs[-1].submit_s / 3600.0)
    assert rate == pytest.approx(31.5, rel=0.05)  # 82,247 jobs in 108.9 days


def test_diurnal_arrivals_peak_at_peak_hour_and_keep_the_daily_rate():
    cfg = DiurnalGeneratorConfig(rate_per_hour=20, diurnal_amplitude=0.8, peak_hour=14)
    jobs = generate(cfg, 20 * DAY, np.random.default_rng(5), 0, V100, CAT)
    hours = np.array([(j.submit_s / 3600.0) % 24 for j in jobs])
    near_peak = np.sum(np.abs(hours - 14) < 2)
    near_trough = np.sum(np.abs(hours - 2) < 2)
    assert near_peak > 4 * near_trough  # (1 + 0.8) / (1 - 0.8) = 9 at the extremes
    assert len(jobs) / (20 * 24) == pytest.approx(20, rel=0.05)


def test_llm_campaign_pretrain_evals_and_finetunes():
    cfg = LLMCampaignConfig(model="llama-7b", tokens=1e11, accelerators=64, eval_every=3600, finetunes=2)
    jobs = generate(cfg, 30 * DAY, np.random.default_rng(1), 10, CAT.accelerator("h100"), CAT)
    pre = jobs[0]
    assert pre.work.work_flops == pytest.approx(6 * 6.7e9 * 1e11)  # 6 N D
    expected = pre.work.work_flops / (64 * 989e12 * 0.40)  # H100 peak x default MFU
    evals = [j for j in jobs if "-eval-" in j.name]
    fts = [j for j in jobs if "-finetune-" in j.name]
    assert len(evals) == int(expected // 3600) and len(fts) == 2
    assert fts[0].submit_s == pytest.approx(expected) and [j.id for j in jobs] == list(range(10, 10 + len(jobs)))


def test_trace_rows_become_work_on_the_reference_hardware():
    cfg = TraceConfig(path="philly", filter={"cluster": "0e4a51", "max_jobs": 50})
    jobs = jobs_from_trace(cfg, CAT, np.random.default_rng(1), 0, V100)
    from sim.workload.traces import load_trace

    df = load_trace(cfg)
    j, row = jobs[0], df.iloc[0]
    assert j.work.work_flops == pytest.approx(row.duration_s * row.accelerators * 19e12 * 0.30)
    # on a V100 the same work takes 19 x 0.30 / (125 x 0.197) = 0.23 of the time
    assert j.work.work_flops / (j.accelerators * V100.peak_flops * V100.default_mfu) == pytest.approx(
        row.duration_s * 5.7 / 24.625)
    assert all(x.work.flops_per_sample for x in jobs)  # every row got a catalog model


def test_fractional_pods_last_their_duration_on_the_reference():
    cfg = TraceConfig(path="openb", filter={"max_jobs": 200})
    jobs = jobs_from_trace(cfg, CAT, np.random.default_rng(1), 0, V100)
    frac = [j for j in jobs if j.work.mfu is not None]
    assert frac
    from sim.workload.traces import load_trace

    rows = load_trace(cfg).set_index("submit_s")
    for j in frac[:20]:
        row = rows.loc[j.submit_s]
        # a pod holding gpu_milli / 1000 of a GPU runs at that share of the GPU's default MFU ...
        assert 0 < row.gpu_fraction < 1
        assert j.work.mfu / V100.default_mfu == pytest.approx(row.gpu_fraction, rel=1e-12)
        # ... and lasts exactly its trace duration on the reference accelerator
        duration = j.work.work_flops / (j.accelerators * V100.peak_flops * j.work.mfu)
        assert duration == pytest.approx(row.duration_s, rel=1e-9)


def test_workload_config_defaults_generator_kind_to_poisson():
    w = WorkloadConfig.model_validate({"generator": {"rate_per_hour": 2}})
    assert w.generator.kind == "poisson"


def test_philly_virtual_cluster_replay_is_plausible():
    """One month of VC 0e4a51 (826 jobs, mean demand 88 GPUs) on 128 P100s under FIFO.

    Expected order: utilisation between 20% and 80% (capacity 1.45x the mean
    demand, averaged over a makespan stretched by the long-job tail); mean
    wait from minutes to a few days (strict FIFO lets a 4-GPU head block the
    queue, Philly itself reported long queueing for multi-GPU jobs, Jeon et
    al. 2019 Sec. 3); median wait short (most jobs are single-GPU); every job
    lasts exactly its trace duration once started (P100 = reference).
    """
    s = load_scenario("scenarios/philly_replay.yaml")
    world = World(s).run()
    r = world.result()
    sm = r.summary
    assert sm["jobs_submitted"] == 826 and sm["jobs_completed"] == 826
    assert 0.2 < sm["gpu_utilization"] < 0.8
    assert 60 < sm["mean_wait_s"] < 3 * DAY
    assert r.jobs["wait_s"].median() < 3600
    from sim.workload.traces import load_trace

    durations = load_trace(s.workload.trace)["duration_s"].sort_values().to_numpy()
    ran = (r.jobs["end_s"] - r.jobs["start_s"]).sort_values().to_numpy()
    assert ran == pytest.approx(durations, rel=1e-6)
    assert sm["wall_s"] < 10
