"""Adversarial integration tests: features that the unit tests exercise alone, together.

Every scenario is small (a few nodes, hours to a day, plant step 300 s) and
every run is checked against the invariants of DESIGN.md:

1. energy balance per bin (facility = IT + cooling + losses; categories sum;
   supply: grid_import + renewable_used + battery_discharge = demand + battery_charge),
2. attributed + unattributed = metered (jobs' IT energy <= IT energy; nodes
   sum to the accelerator + host totals),
3. no job lost (exactly one state each; completed jobs did all their work),
4. determinism (same seed -> identical summary, jobs and time series),
plus non-negative job energies and no NaN in the power columns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from wattsim_testing import check_invariants, tiny_scenario

from sim import ScenarioError, load_scenario, simulate
from sim.engine.world import World

STEP = "300s"
LEAF_SPINE = {"kind": "leaf-spine", "hosts_per_leaf": 2, "spines": 2, "oversubscription": 2}


def scenario(**sections):
    doc = tiny_scenario(**sections)
    doc.setdefault("plant", {"step": STEP})
    return doc


def run_world(doc):
    world = World(load_scenario(doc)).run()
    return world, world.result()


def check_deterministic(doc):
    a, b = simulate(load_scenario(doc)), simulate(load_scenario(doc))
    sa = {k: v for k, v in a.summary.items() if k != "wall_s"}
    sb = {k: v for k, v in b.summary.items() if k != "wall_s"}
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], float) and math.isnan(sa[k]):
            assert math.isnan(sb[k]), k
        else:
            assert sa[k] == sb[k], k
    pd.testing.assert_frame_equal(a.jobs, b.jobs)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.nodes, b.nodes)


# -- (1) failures + preemption + multi-node sync jobs on a leaf-spine flow network ---

def _failures_doc(queue="srtf", duration="1d"):
    jobs = [
        {"name": f"big{i}", "submit": f"{i * 20}min", "accelerators": 16, "mode": "sync",
         "model": "bert-large", "samples": 4.0e8 * (i + 1), "checkpoint_interval": "30min",
         "checkpoint_time": "60s"}
        for i in range(3)
    ] + [
        {"name": f"small{i}", "submit": f"{30 + i * 45}min", "accelerators": 8, "mode": "sync",
         "model": "resnet50", "samples": 2.0e8, "checkpoint_interval": "20min"}
        for i in range(4)
    ]
    return scenario(
        duration=duration,
        cluster={"nodes": 4, "node_type": "dgx-h100", "topology": LEAF_SPINE},
        network={"model": "flow"},
        workload={"jobs": jobs},
        scheduler={"queue": queue,
                   "failures": {"distribution": "weibull", "mtbf": "8h", "shape": 0.7, "repair": "30min"},
                   "preemption": {"checkpoint_save": "60s", "checkpoint_restore": "60s"}},
    )


@pytest.mark.parametrize("queue", ["srtf", "las"])
def test_failures_preemption_multinode_flow_network(queue):
    world, r = run_world(_failures_doc(queue))
    check_invariants(world, r)
    s = r.summary
    assert s["restarts"] > 0 and s["preemptions"] + s["restarts"] > 0
    assert s["network_energy_kwh"] > 0
    assert (r.jobs.wasted_energy_kwh >= 0).all()


def test_failures_preemption_until_done_and_deterministic():
    doc = _failures_doc("las", duration="until-done")
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_unfinished"] == 0
    assert r.summary["jobs_completed"] == len(r.jobs)
    check_deterministic(doc)


# -- (2) power-down + carbon-defer on gb-2020 + carbon-aware battery ---------------------

def _green_doc(duration="1d"):
    jobs = [
        {"name": f"flex{i}", "submit": f"{i}h", "accelerators": 8, "model": "resnet50",
         "samples": 1.0e8, "slack": "8h"}
        for i in range(5)
    ] + [{"name": "urgent", "submit": "3h", "accelerators": 16, "model": "resnet50", "samples": 2.0e8}]
    return scenario(
        duration=duration,
        cluster={"nodes": 4, "node_type": "dgx-h100"},
        workload={"jobs": jobs},
        scheduler={"power_down": {"idle_timeout": "10min", "boot_time": "5min", "spare_nodes": 1},
                   "controls": [{"kind": "carbon-defer"}]},
        supply={"grid": {"carbon_intensity": {"trace": "gb-2020"}}, "weather": "tmy3-greensboro-nc",
                "pv": {"capacity_kw": 50},
                "battery": {"capacity_kwh": 100, "power_kw": 30, "dispatch": "carbon-aware"}},
    )


def test_power_down_carbon_defer_carbon_aware_battery():
    world, r = run_world(_green_doc())
    check_invariants(world, r)
    assert world.scheduler.saver.power_offs > 0
    ts = r.timeseries
    assert (ts.battery_charge_w > 0).any() or (ts.battery_discharge_w > 0).any()


def test_power_down_carbon_defer_until_done_deterministic():
    doc = _green_doc("until-done")
    doc["max_duration"] = "7d"  # the gb-2020 trace ends in January 2021
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_unfinished"] == 0
    check_deterministic(doc)


# -- (3) undersized cooling plant + power envelope + job caps + two pools ----------------

def _hot_doc(duration="12h"):
    jobs = [
        {"name": f"h{i}", "submit": f"{i * 10}min", "accelerators": 8, "model": "bert-large",
         "samples": 3.0e8, "power_cap_w": 500 if i % 2 else None}
        for i in range(6)
    ]
    return scenario(
        duration=duration,
        start="2020-07-15T00:00:00Z",
        cluster={"pools": [{"node_type": "dgx-h100", "nodes": 2}, {"node_type": "dgx-a100", "nodes": 2}]},
        workload={"jobs": jobs},
        scheduler={"controls": [{"kind": "power-envelope", "limit_kw": 30}]},
        cooling={"model": "plant", "chiller": "air-cooled", "economizer": "none",
                 "capacity_w": 8000.0, "hall_heat_capacity_j_per_k_per_w": 1.0},
    )


def test_throttling_plant_power_envelope_caps_two_pools():
    world, r = run_world(_hot_doc())
    check_invariants(world, r)
    ts = r.timeseries
    assert ts.accelerator_cap_fraction.min() < 1.0  # the plant throttled
    assert r.summary["cooling_energy_kwh"] > 0


def test_throttling_until_done_deterministic():
    doc = _hot_doc("until-done")
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_unfinished"] == 0
    check_deterministic(doc)


# -- (4) explicit jobs + Poisson generator + Philly trace slice together ----------------

def _mixed_doc(duration="1d"):
    return scenario(
        duration=duration,
        cluster={"nodes": 4, "node_type": "dgx-h100"},
        workload={
            "jobs": [{"name": "explicit", "submit": "1h", "accelerators": 8, "model": "resnet50",
                      "samples": 1.0e8}],
            "generator": {"kind": "poisson", "rate_per_hour": 1.0, "mean_duration": "1h", "count": 6,
                          "sizes": [{"accelerators": 1, "weight": 1}, {"accelerators": 8, "weight": 1}]},
            "trace": {"path": "philly", "filter": {"max_jobs": 8, "max_accelerators": 8,
                                                   "max_duration": "3h", "min_duration": "60s"}},
        },
        scheduler={"queue": "easy-backfill"},
    )


def test_jobs_generator_and_trace_together():
    world, r = run_world(_mixed_doc())
    check_invariants(world, r)
    assert len(r.jobs) == 1 + 6 + 8
    assert r.jobs.job_id.tolist() == sorted(r.jobs.job_id) or r.jobs.job_id.is_unique
    assert r.summary["jobs_completed"] > 0


def test_jobs_generator_and_trace_until_done_deterministic():
    doc = _mixed_doc("until-done")
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_unfinished"] == 0
    check_deterministic(doc)


# -- (6) async parameter-server jobs with a straggler pool + preemption -----------------

def _async_doc(duration="1d"):
    jobs = [
        {"name": f"ps{i}", "submit": f"{i * 15}min", "accelerators": 16, "mode": "async",
         "model": "resnet50", "samples": 3.0e8 * (3 - i), "batch_per_accelerator": 64}
        for i in range(3)
    ]
    return scenario(
        duration=duration,
        cluster={"pools": [{"node_type": "dgx-h100", "nodes": 1}, {"node_type": "dgx-a100", "nodes": 2}],
                 "topology": {"kind": "single-switch"}},
        network={"model": "flow"},
        workload={"jobs": jobs},
        scheduler={"queue": "srtf", "preemption": {"checkpoint_save": "30s", "checkpoint_restore": "30s"}},
    )


def test_async_straggler_pool_preemption():
    world, r = run_world(_async_doc())
    check_invariants(world, r)
    assert r.summary["preemptions"] > 0


def test_async_straggler_pool_until_done_deterministic():
    doc = _async_doc("until-done")
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_unfinished"] == 0
    check_deterministic(doc)


# -- edge cases ---------------------------------------------------------------------------

def _job(name, submit, acc=8, samples=1.0e8, **kw):
    return {"name": name, "submit": submit, "accelerators": acc, "model": "resnet50", "samples": samples, **kw}


def test_job_submitted_exactly_at_the_horizon():
    doc = scenario(duration="6h", workload={"jobs": [_job("a", 0), _job("edge", "6h")]})
    world, r = run_world(doc)
    check_invariants(world, r)
    edge = r.jobs.set_index("name").loc["edge"]
    assert edge.state == "pending"


def test_zero_jobs():
    one = simulate(load_scenario(scenario(duration="1h", workload={"jobs": [_job("a", 0)]})))
    for duration in ("6h", "until-done"):
        world, r = run_world(scenario(duration=duration, workload={"jobs": []}))
        check_invariants(world, r)
        assert r.summary["jobs_submitted"] == 0
        assert list(r.jobs.columns) == list(one.jobs.columns)
        assert r.summary["it_energy_kwh"] >= 0


def test_one_node_cluster():
    doc = scenario(duration="until-done", cluster={"nodes": 1, "node_type": "dgx-h100"},
                   workload={"jobs": [_job("a", 0, 4), _job("b", 0, 8), _job("c", "10min", 2)]},
                   scheduler={"queue": "las"})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["jobs_completed"] == 3


def _misaligned_docs():
    return {
        "step-longer-than-run": scenario(duration="2h", plant={"step": "6h"}, output={"interval": "30min"},
                                         workload={"jobs": [_job("a", 0)]}),
        "interval-not-multiple": scenario(
            duration="5h", output={"interval": "7min"}, plant={"step": "300s"},
            workload={"jobs": [_job("a", 0), _job("b", "1h")]},
            supply={"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 20},
                           "battery": {"capacity_kwh": 20, "power_kw": 10}}),
    }


@pytest.mark.parametrize("case", ["step-longer-than-run", "interval-not-multiple"])
def test_output_bins_must_close_on_plant_steps(case):
    # supply flows, cooling and carbon are constant per plant step while IT power is exact
    # inside it: a bin ending inside a step would break the per-bin supply balance
    # (DESIGN invariant 1), so such scenarios are refused with the rule spelled out
    with pytest.raises(ScenarioError, match=r"output.interval \(.* s\) must be a whole multiple of plant.step"):
        load_scenario(_misaligned_docs()[case])


def test_supply_balance_per_bin_with_a_coarse_plant_step_and_aligned_bins():
    # the same features as the refused cases, with bins that close on plant steps
    doc = scenario(duration="5h", output={"interval": "20min"}, plant={"step": "600s"},
                   workload={"jobs": [_job("a", 0), _job("b", "1h")]},
                   supply={"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 20},
                           "battery": {"capacity_kwh": 20, "power_kw": 10}})
    world, r = run_world(doc)
    check_invariants(world, r, supply_per_bin=True)
    assert r.summary["cooling_energy_kwh"] > 0


def test_submit_equals_another_jobs_completion():
    # find when job a ends alone, then submit b exactly then on a full cluster
    base = scenario(duration="until-done", cluster={"nodes": 1}, workload={"jobs": [_job("a", 0)]})
    end = simulate(load_scenario(base)).jobs.end_s.iloc[0]
    doc = scenario(duration="until-done", cluster={"nodes": 1},
                   workload={"jobs": [_job("a", 0), _job("b", float(end))]})
    world, r = run_world(doc)
    check_invariants(world, r)
    b = r.jobs.set_index("name").loc["b"]
    assert b.start_s == pytest.approx(end)
    assert b.wait_s == pytest.approx(0.0, abs=1e-9)


def test_power_cap_below_the_minimum_cap():
    doc = scenario(duration="until-done", workload={"jobs": [_job("low", 0, power_cap_w=50.0)]})
    world, r = run_world(doc)
    check_invariants(world, r)
    acc = world.nodes[0].accelerator
    p = r.jobs.iloc[0]
    assert p.state == "completed"
    # the cap is clipped at the settable minimum: the job's accelerators draw at least min_cap
    assert p.power_per_accelerator_w >= acc.min_cap_w * 0.5


def _max_it_power_w(world):
    """Highest instantaneous IT power (accelerators + hosts + network) from the ledger's change log."""
    m = world.meter
    t, ch, d = m.log()
    it = np.array([c.category in ("accelerator", "host", "network") and c.quantity == "power_w"
                   for c in m.channels], bool)
    mask = it[ch]
    tt, dd = t[mask], d[mask]
    order = np.argsort(tt, kind="stable")
    tt, value = tt[order], np.cumsum(dd[order])
    settled = np.r_[tt[1:] != tt[:-1], True]  # the value once every change of an instant is in
    return float(value[settled].max())


def test_power_envelope_holds_when_the_thermal_limit_lifts():
    # the plant throttles, the envelope sees capped jobs (IT under the limit at full cap),
    # then the hall cools and the thermal limit lifts: the envelope must re-cap at once
    jobs = [{"name": f"h{i}", "submit": f"{i * 30}min", "accelerators": 8, "model": "bert-large",
             "samples": 2.0e8, "power_cap_w": 500 if i % 2 else None} for i in range(6)]
    doc = scenario(
        duration="12h", start="2020-07-15T00:00:00Z",
        cluster={"pools": [{"node_type": "dgx-h100", "nodes": 2}, {"node_type": "dgx-a100", "nodes": 2}]},
        workload={"jobs": jobs},
        scheduler={"controls": [{"kind": "power-envelope", "limit_kw": 20}]},
        cooling={"model": "plant", "chiller": "air-cooled", "economizer": "none", "capacity_w": 15000.0,
                 "hall_heat_capacity_j_per_k_per_w": 2.0})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.timeseries.accelerator_cap_fraction.min() < 1.0
    assert _max_it_power_w(world) <= 20000.0 * (1 + 1e-9)


def test_power_envelope_holds_with_network_bound_sync_jobs():
    # a lower cap lengthens compute, which hides more of the all-reduce: the compute share and
    # so the power at a cap are not those of the current cap; the envelope must use the former
    jobs = [{"name": "ddp", "submit": 0, "accelerators": 16, "mode": "sync", "model": "bert-large",
             "samples": 3.0e8, "batch_per_accelerator": 8},
            {"name": "one", "submit": 0, "accelerators": 8, "model": "resnet50", "samples": 1.0e8}]
    doc = scenario(duration="6h", cluster={"nodes": 3, "node_type": "dgx-h100", "topology": LEAF_SPINE},
                   network={"model": "flow"}, workload={"jobs": jobs},
                   scheduler={"controls": [{"kind": "power-envelope", "limit_kw": 20}]})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert world.scheduler.controls[0].fraction < 1.0 or r.summary["jobs_completed"] > 0
    assert _max_it_power_w(world) <= 20000.0 * (1 + 1e-9)


def test_power_envelope_holds_after_a_preempted_job_restores():
    # LAS preempts; a resumed job restores at checkpoint power, then computes: the envelope
    # must re-cap when the restore ends, not only at the next start or stop
    jobs = [{"name": f"j{i}", "submit": f"{i * 7}min", "accelerators": 8, "model": "resnet50",
             "samples": 1.5e8 * (4 - i)} for i in range(4)]
    doc = scenario(duration="8h", cluster={"nodes": 2, "node_type": "dgx-h100"}, workload={"jobs": jobs},
                   scheduler={"queue": "las", "queue_options": {"thresholds": [1800]},
                              "preemption": {"checkpoint_save": 0, "checkpoint_restore": "60s"},
                              "controls": [{"kind": "power-envelope", "limit_kw": 13}]})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert r.summary["preemptions"] > 0
    assert _max_it_power_w(world) <= 13000.0 * (1 + 1e-9)


def test_power_envelope_holds_with_async_and_sync_jobs_on_a_flow_network():
    # a lower cap lengthens compute, which hides more communication: the compute share (and
    # the power) of a job at a cap is not its share at the current cap; the envelope's
    # prediction of IT(f) must recompute it or the limit is overrun (by ~0.2 % here)
    jobs = [
        {"name": "a2", "submit": 0, "accelerators": 2, "mode": "async", "model": "bert-base",
         "samples": 1.1e8, "checkpoint_interval": "20min", "checkpoint_time": 30},
        {"name": "a16", "submit": 0, "accelerators": 16, "mode": "async", "model": "bert-large",
         "samples": 1.3e8, "power_cap_w": 100.0, "batch_per_accelerator": 16},
        {"name": "s16", "submit": 0, "accelerators": 16, "mode": "sync", "model": "bert-large",
         "samples": 3.6e7, "power_cap_w": 100.0},
        {"name": "s8", "submit": 0, "accelerators": 8, "mode": "sync", "model": "bert-large",
         "samples": 4.5e7, "batch_per_accelerator": 16},
        {"name": "s2", "submit": 0, "accelerators": 2, "mode": "sync", "model": "bert-base",
         "samples": 1.5e7, "checkpoint_interval": "20min", "checkpoint_time": 30, "power_cap_w": 500.0},
        {"name": "late", "submit": "3h45min", "accelerators": 8, "mode": "sync", "model": "bert-base",
         "samples": 1.2e8, "power_cap_w": 100.0, "batch_per_accelerator": 64},
    ]
    doc = scenario(
        duration="8h",
        cluster={"pools": [{"node_type": "dgx-h100", "nodes": 2}, {"node_type": "dgx-a100", "nodes": 2}],
                 "topology": LEAF_SPINE},
        network={"model": "flow"}, workload={"jobs": jobs},
        scheduler={"queue": "las", "placement": "topology",
                   "preemption": {"checkpoint_save": 0, "checkpoint_restore": 0},
                   "controls": [{"kind": "power-envelope", "limit_kw": 15}]})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert _max_it_power_w(world) <= 15000.0 * (1 + 1e-9)


def test_start_is_never_before_submit_with_float_submit_times():
    # submit times that are not exact sums of the previous ones (a generator, a trace)
    # (a + (b - a)) + (c - (a + (b - a))) < c in floating point
    times = [1200.7061067049408, 7189.000946025279, 26551.802111389832]
    jobs = [_job(f"j{i}", t, 1, samples=1.0e7) for i, t in enumerate(times)]
    doc = scenario(duration="12h", workload={"jobs": jobs}, scheduler={"tick": "17min"})
    world, r = run_world(doc)
    check_invariants(world, r)
    assert (r.jobs.wait_s >= 0).all()
