"""Scheduling operations and energy-aware controls: failures, power-down,
carbon-aware deferral, a site power envelope, placements; and on a real
heavy-tailed trace, SRTF and LAS against FIFO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_scheduling import H, job, run
from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.catalog import load_catalog
from sim.compute.training import JobState
from sim.engine.world import World

DGX = load_catalog().node_type("dgx-h100")
H100 = load_catalog().accelerator("h100")


# -- failures -----------------------------------------------------------------

def test_failure_rolls_back_to_the_last_checkpoint_and_restarts():
    # 1 h job with a checkpoint every 10 min fails at 35 min on node 0: 5 min of
    # work is lost; it restarts at once on node 1 and runs the remaining 35 min of
    # work from its 30-min checkpoint: ends at 35 + 30 = 65 min
    w, j = run([job("a", 0, 1, checkpoint_interval="10min")], nodes=2,
               failures={"distribution": "trace", "trace": [{"node": 0, "at": "35min", "repair": "1h"}]})
    a = j["a"]
    assert a.state is JobState.COMPLETED and a.restarts == 1
    assert a.end_s == pytest.approx(65 * 60)
    assert a.wasted_flops == pytest.approx(a.work.work_flops * 5 / 60)
    assert a.done_flops == pytest.approx(a.work.work_flops)
    # lost work's energy: 5 min of the node's busy accelerators and busy host power
    assert a.wasted_energy_j == pytest.approx(300 * (8 * H100.busy_w + DGX.host_busy_w), rel=1e-6)


def test_random_failures_and_preemption_lose_no_job_and_conserve_work():
    rng = np.random.default_rng(7)
    jobs = [job(f"j{i}", float(rng.uniform(0, 12 * H)), float(rng.choice([0.5, 1, 2, 4])),
                acc=int(rng.choice([8, 16])), checkpoint_interval="15min") for i in range(30)]
    w, j = run(jobs, nodes=4, queue="srtf",
               preemption={"checkpoint_save": 60, "checkpoint_restore": 60},
               failures={"distribution": "weibull", "mtbf": "12h", "shape": 0.8, "repair": "30min"})
    assert w.scheduler.failures.count > 0
    assert sum(x.restarts for x in j.values()) > 0
    assert sum(x.preemptions for x in j.values()) > 0
    for x in j.values():
        assert x.state is JobState.COMPLETED
        assert x.done_flops == pytest.approx(x.work.work_flops)


# -- power-down -----------------------------------------------------------------

def bursty():
    return [job(f"a{i}", 0, 1) for i in range(4)] + [job(f"b{i}", 12 * H, 1) for i in range(4)]


def test_power_down_saves_energy_and_costs_boot_delay():
    doc = dict(nodes=4, duration="1d")
    w0, j0 = run(bursty(), **doc)
    w1, j1 = run(bursty(), **doc, power_down={"idle_timeout": "15min", "boot_time": "5min", "spare_nodes": 0})
    e0 = w0.meter.category_integral("accelerator") + w0.meter.category_integral("host")
    e1 = w1.meter.category_integral("accelerator") + w1.meter.category_integral("host")
    # by hand: all 4 nodes off from 1 h 15 min (idle timeout after the first burst) to
    # 12 h, boot for 5 min at idle power, run 12:05-13:05, off again from 13:20 to 24 h
    idle_node_w = 8 * H100.idle_w + DGX.host_idle_w
    off_s = (12 * H - (H + 900)) + (24 * H - (13 * H + 1200))
    assert e0 - e1 == pytest.approx(4 * idle_node_w * off_s, rel=1e-9)
    assert w1.scheduler.saver.boots == 4
    assert all(j1[f"b{i}"].start_s == pytest.approx(12 * H + 300) for i in range(4))
    assert all(j0[f"b{i}"].start_s == pytest.approx(12 * H) for i in range(4))


# -- carbon-aware deferral ---------------------------------------------------------

def carbon_run(controls, forecast="persistence"):
    jobs = [job(f"c{i}", i * 3 * H, 2, slack="12h") for i in range(8)]
    doc = tiny_scenario(cluster={"nodes": 2, "node_type": "dgx-h100"}, workload={"jobs": jobs},
                        scheduler={"controls": controls},
                        supply={"grid": {"carbon_intensity": {"trace": "gb-2020", "forecast": {"kind": forecast}}}})
    doc["start"] = "2020-03-02T00:00:00Z"
    doc["duration"] = "3d"
    w = World(load_scenario(doc)).run()
    return w, w.result()


def test_carbon_deferral_lowers_carbon_and_meets_every_deadline():
    w0, r0 = carbon_run([])
    w1, r1 = carbon_run([{"kind": "carbon-defer"}], forecast="perfect")
    _, r2 = carbon_run([{"kind": "carbon-defer"}])  # the default: day-ahead persistence
    c0, c1, c2 = r0.jobs.carbon_kg.sum(), r1.jobs.carbon_kg.sum(), r2.jobs.carbon_kg.sum()
    # measured: 32.2 kg without deferral, 30.8 with the persistence forecast an operator has,
    # 26.0 with a perfect forecast (the upper bound; GB intensity swings by ~2x within a day)
    assert c1 < 0.9 * c0
    assert c1 < c2 < c0
    for x in w1.jobs:
        assert x.state is JobState.COMPLETED
        assert x.end_s <= x.submit_s + 12 * H + 2 * H + 1e-6  # deadline = submit + slack + runtime
    assert any(x.start_s > x.submit_s for x in w1.jobs)


# -- power envelope ---------------------------------------------------------------

def it_power_steps(w):
    """Exact IT power (accelerator + host + network) after each change instant."""
    t, ch, d = w.meter.log()
    cats = {c.index for c in w.meter.channels if c.category in ("accelerator", "host", "network")}
    mask = np.array([c in cats for c in ch])
    s = pd.Series(d[mask], index=t[mask]).groupby(level=0).sum().cumsum()
    return s


def test_power_envelope_is_never_exceeded_by_it_power():
    limit_kw = 11.0  # 2 busy DGX H100 draw 2 x 7.36 kW; the cap and admission must hold 11 kW
    jobs = [job(f"j{i}", i * 600, 1) for i in range(6)]
    w, j = run(jobs, nodes=2, duration="1d", controls=[{"kind": "power-envelope", "limit_kw": limit_kw}])
    p = it_power_steps(w)
    assert p.max() <= limit_kw * 1000 + 1e-6
    assert p.max() > 0.9 * limit_kw * 1000  # it is used, not just refused
    assert all(x.state is JobState.COMPLETED for x in j.values())
    _, free = run(jobs, nodes=2, duration="1d")
    assert max(x.end_s for x in j.values()) > max(x.end_s for x in free.values())  # capped clocks are slower


# -- placement ------------------------------------------------------------------------

def placed(placement, jobs, nodes=4, **kw):
    """Node indices of each job right after the first pass (all submitted at 0)."""
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"},
                        workload={"jobs": jobs}, scheduler={"placement": placement, **kw})
    w = World(load_scenario(doc))
    w.start_arrivals()
    w.env.run(until=1)
    return {x.name: sorted((n.index, c) for n, c in x.placement) for x in w.jobs}


def test_first_fit_packed_and_spread_placements():
    jobs = [job("a", 0, 1, acc=6), job("b", 0, 1, acc=4), job("c", 0, 1, acc=2)]
    assert placed("first-fit", jobs) == {"a": [(0, 6)], "b": [(1, 4)], "c": [(0, 2)]}
    # packed = best fit: c fills the node with exactly 2 free
    assert placed("packed", jobs) == {"a": [(0, 6)], "b": [(1, 4)], "c": [(0, 2)]}
    # spread: one accelerator per node, emptiest nodes first
    sp = placed("spread", [job("a", 0, 1, acc=4)])
    assert sp == {"a": [(0, 1), (1, 1), (2, 1), (3, 1)]}


def test_packed_keeps_a_multi_node_job_in_one_rack():
    # racks of 4 nodes; rack 0 has a busy node, so a 4-node job goes to rack 1
    jobs = [job("small", 0, 1, acc=8), job("big", 0, 1, acc=32)]
    p = placed("packed", jobs, nodes=8)
    assert p["small"] == [(0, 8)]
    assert p["big"] == [(4, 8), (5, 8), (6, 8), (7, 8)]


def test_thermal_places_in_the_least_loaded_rack_and_random_is_seeded():
    jobs = [job("a", 0, 1, acc=8), job("b", 0, 1, acc=8)]
    assert placed("thermal", jobs, nodes=8) == {"a": [(0, 8)], "b": [(4, 8)]}
    r1 = placed("random", [job(f"r{i}", 0, 1, acc=2) for i in range(5)], nodes=8)
    r2 = placed("random", [job(f"r{i}", 0, 1, acc=2) for i in range(5)], nodes=8)
    assert r1 == r2


def test_heterogeneity_aware_picks_the_fastest_accelerator():
    doc_jobs = [job("a", 0, 1, acc=8)]
    doc = tiny_scenario(cluster={"pools": [{"node_type": "dgx-a100", "nodes": 2},
                                           {"node_type": "dgx-h100", "nodes": 2}]},
                        workload={"jobs": doc_jobs}, scheduler={"placement": "heterogeneity"})
    w = World(load_scenario(doc))
    w.start_arrivals()
    w.env.run(until=1)
    assert [n.accelerator.key for n, _ in w.jobs[0].placement] == ["h100"]


# -- a real heavy-tailed workload ------------------------------------------------------

def philly_jobs():
    df = pd.read_csv(Path(__file__).parent / "data" / "philly_11cb48_slice.csv", parse_dates=["timestamp"])
    t0 = df.timestamp.min()
    return [job(f"p{i}", (r.timestamp - t0).total_seconds(), r.duration / H, acc=int(r.num_gpus))
            for i, r in enumerate(df.itertuples())]


def test_srtf_and_las_beat_fifo_on_mean_jct_on_the_philly_slice():
    jobs = philly_jobs()
    mean = {}
    for q in ("fifo", "srtf", "las"):
        w, j = run(jobs, nodes=2, queue=q, preemption={"checkpoint_save": 30, "checkpoint_restore": 30})
        assert all(x.state is JobState.COMPLETED for x in j.values())
        mean[q] = np.mean([x.end_s - x.submit_s for x in j.values()])
    assert mean["srtf"] < 0.5 * mean["fifo"]
    assert mean["las"] < 0.5 * mean["fifo"]
