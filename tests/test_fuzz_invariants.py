"""Property test: random small scenarios that combine many features keep DESIGN.md's invariants.

Hypothesis draws scenario documents (1-6 nodes, one or two pools, 2-12 h or
until-done with max_duration 2 d, plant step 300 s, up to ~12 jobs) mixing
queues, placements, preemption, failures, power-down, controls, dependencies,
generators, the Philly trace, topologies and the flow network, cooling models
and supply. For every document:

- loading or building it may refuse it with a `ScenarioError` (an invalid
  combination, named by the loader: invariant 5); any other exception is a bug;
- the run satisfies `check_invariants` of tests/wattsim_testing.py
  (invariants 1-3 and the sanity checks);
- running it again gives identical results (invariant 4).

CI runs 40 derandomized examples; set WATTSIM_FUZZ_EXAMPLES=400 to hunt bugs
locally. Bugs found this way are pinned below as explicit regression tests.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wattsim_testing import check_invariants, tiny_scenario

from sim import ScenarioError, load_scenario
from sim.engine.world import World

FUZZ_EXAMPLES = int(os.environ.get("WATTSIM_FUZZ_EXAMPLES", "40"))
WALL_LIMIT_S = 30.0  # one small run takes well under a second
NODE_TYPES = ["dgx-h100", "dgx-a100"]
MODELS = ["resnet50", "bert-base", "bert-large"]
QUEUES = ["fifo", "sjf", "srtf", "easy-backfill", "las", "fair"]
PLACEMENTS = ["first-fit", "packed", "spread", "topology", "random", "thermal", "heterogeneity"]


# -- strategies -----------------------------------------------------------------------------

@st.composite
def clusters(draw) -> tuple[dict[str, Any], int]:
    """The cluster section and its number of nodes."""
    if draw(st.booleans()):
        a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        cluster: dict[str, Any] = {"pools": [{"node_type": "dgx-h100", "nodes": a},
                                             {"node_type": "dgx-a100", "nodes": b}]}
        n = a + b
    else:
        n = draw(st.integers(1, 6))
        cluster = {"nodes": n, "node_type": draw(st.sampled_from(NODE_TYPES))}
    topo = draw(st.sampled_from([None, "single-switch", "leaf-spine", "fat-tree", "torus"]))
    if topo == "single-switch":
        cluster["topology"] = {"kind": "single-switch"}
    elif topo == "leaf-spine":
        cluster["topology"] = {"kind": "leaf-spine", "hosts_per_leaf": draw(st.integers(1, 3)),
                               "spines": draw(st.integers(1, 2)),
                               "oversubscription": draw(st.sampled_from([1, 2, 4]))}
    elif topo == "fat-tree":
        cluster["topology"] = {"kind": "fat-tree"}
    elif topo == "torus":
        dims = draw(st.sampled_from([[n, 1], [1, n]] + ([[2, n // 2]] if n % 2 == 0 else [])))
        cluster["topology"] = {"kind": "torus", "dims": dims}
    if draw(st.integers(0, 5)) == 0:
        cluster["power_cap_w"] = draw(st.sampled_from([300.0, 500.0]))
    return cluster, n


@st.composite
def jobs_list(draw, horizon_s: float) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 8))
    jobs: list[dict[str, Any]] = []
    for i in range(count):
        job: dict[str, Any] = {
            "name": f"j{i}",
            "submit": draw(st.sampled_from([0.0, 60.0, 1800.0, 3600.0, 0.37 * horizon_s, horizon_s])),
            "accelerators": draw(st.sampled_from([1, 2, 4, 8, 8, 16])),
            "mode": draw(st.sampled_from(["sync", "sync", "async"])),
        }
        if draw(st.integers(0, 4)) == 0:
            job["duration"] = draw(st.sampled_from(["10min", "1h", "3h"]))
        else:
            job["model"] = draw(st.sampled_from(MODELS))
            job["samples"] = draw(st.sampled_from([1.0e6, 3.0e7, 1.0e8, 4.0e8]))
        if draw(st.booleans()):
            job["checkpoint_interval"] = draw(st.sampled_from(["15min", "1h"]))
            job["checkpoint_time"] = draw(st.sampled_from([0, 30, 120]))
        if draw(st.integers(0, 3)) == 0:
            job["power_cap_w"] = draw(st.sampled_from([50.0, 250.0, 500.0]))
        if draw(st.integers(0, 3)) == 0:
            job["slack"] = draw(st.sampled_from(["0s", "2h", "8h"]))
        if draw(st.integers(0, 5)) == 0:
            job["deadline"] = draw(st.sampled_from(["4h", "20h"]))
        if draw(st.integers(0, 3)) == 0:
            job["batch_per_accelerator"] = draw(st.sampled_from([8, 64]))
            if "model" in job:
                job["batch_scaling"] = draw(st.booleans())
        if draw(st.integers(0, 4)) == 0:
            job["runtime_estimate"] = draw(st.sampled_from(["5min", "2h"]))
        if draw(st.booleans()):
            job["user"] = draw(st.sampled_from(["alice", "bob"]))
            job["vc"] = draw(st.sampled_from(["vc1", "vc2"]))
        if draw(st.integers(0, 4)) == 0:
            job["priority"] = draw(st.integers(-1, 2))
        if i and draw(st.integers(0, 3)) == 0:
            job["after"] = sorted(set(draw(st.lists(st.sampled_from([f"j{k}" for k in range(i)]),
                                                    min_size=1, max_size=2))))
        jobs.append(job)
    return jobs


@st.composite
def workloads(draw, horizon_s: float) -> dict[str, Any]:
    workload: dict[str, Any] = {"jobs": draw(jobs_list(horizon_s))}
    gen = draw(st.sampled_from([None, None, "poisson", "diurnal", "philly", "resample", "llm-campaign"]))
    sizes = [{"accelerators": 1, "weight": 1}, {"accelerators": 8, "weight": 1}]
    if gen in ("poisson", "diurnal"):
        workload["generator"] = {"kind": gen, "rate_per_hour": 2.0, "count": draw(st.integers(1, 4)),
                                 "mean_duration": "1h", "sizes": sizes,
                                 "duration_distribution": draw(st.sampled_from(
                                     ["exponential", "lognormal", "loguniform", "philly"]))}
    elif gen == "philly":
        workload["generator"] = {"kind": "philly", "count": draw(st.integers(1, 4)), "max_duration": "3h",
                                 "sizes": sizes}
    elif gen == "resample":
        workload["generator"] = {"kind": "resample", "count": draw(st.integers(1, 4)), "rate_per_hour": 2.0,
                                 "trace": {"path": "philly", "filter": {"max_accelerators": 8,
                                                                        "max_duration": "3h"}}}
    elif gen == "llm-campaign":
        workload["generator"] = {"kind": "llm-campaign", "model": "llama-7b", "tokens": 2.0e9,
                                 "accelerators": 8, "eval_every": "2h", "eval_accelerators": 1,
                                 "eval_duration": "10min", "finetunes": draw(st.integers(0, 2)),
                                 "finetune_accelerators": 4, "finetune_tokens": 5.0e8}
    if draw(st.integers(0, 3)) == 0:
        workload["trace"] = {"path": "philly", "filter": {"max_jobs": draw(st.integers(1, 4)),
                                                          "max_accelerators": 8, "max_duration": "3h",
                                                          "min_duration": "60s"}}
    return workload


@st.composite
def schedulers(draw, n_nodes: int) -> dict[str, Any]:
    sched: dict[str, Any] = {"queue": draw(st.sampled_from(QUEUES)),
                             "placement": draw(st.sampled_from(PLACEMENTS))}
    if sched["queue"] == "las" and draw(st.booleans()):
        sched["queue_options"] = {"thresholds": [600, 7200]}
    if sched["queue"] == "fair" and draw(st.booleans()):
        sched["queue_options"] = {"by": draw(st.sampled_from(["user", "vc"])), "weights": {"alice": 2.0}}
    if draw(st.booleans()):
        sched["estimates"] = {"kind": "noisy", "sigma": 0.5}
    if draw(st.booleans()):
        sched["preemption"] = {"checkpoint_save": draw(st.sampled_from([0, 60])),
                               "checkpoint_restore": draw(st.sampled_from([0, 60])),
                               "min_run": draw(st.sampled_from([0, 600]))}
    fail = draw(st.sampled_from([None, None, "weibull", "exponential", "trace"]))
    if fail == "trace":
        sched["failures"] = {"distribution": "trace", "trace": [
            {"node": draw(st.integers(0, n_nodes - 1)), "at": draw(st.sampled_from(["0s", "30min", "2h"])),
             "repair": draw(st.sampled_from(["10min", "1h"]))}]}
    elif fail:
        sched["failures"] = {"distribution": fail, "mtbf": draw(st.sampled_from(["30min", "4h", "1d"])),
                             "shape": 0.7 if fail == "weibull" else 1.0,
                             "repair": draw(st.sampled_from(["10min", "1h"])),
                             "repair_distribution": draw(st.sampled_from(["fixed", "exponential"]))}
    if draw(st.integers(0, 2)) == 0:
        sched["power_down"] = {"idle_timeout": draw(st.sampled_from(["0s", "10min"])),
                               "boot_time": draw(st.sampled_from(["0s", "5min"])),
                               "spare_nodes": draw(st.integers(0, 2))}
    controls = []
    if draw(st.integers(0, 2)) == 0:
        controls.append({"kind": "carbon-defer", "default_slack": draw(st.sampled_from([None, "4h"]))})
    if draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            controls.append({"kind": "power-envelope", "limit_kw": draw(st.sampled_from([3, 8, 15, 40]))})
        else:  # a signal limit in W, re-checked every check_interval
            controls.append({"kind": "power-envelope", "check_interval": draw(st.sampled_from(["5min", "25min"])),
                             "limit": {"profile": "daily", "values": [6000.0] * 6 + [30000.0] * 12 + [6000.0] * 6}})
    if controls:
        sched["controls"] = controls
    if draw(st.integers(0, 3)) == 0:
        sched["tick"] = draw(st.sampled_from(["7min", "17min", "1h"]))
    return sched


@st.composite
def coolings(draw, n_nodes: int) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"model": "constant-pue", "pue": draw(st.sampled_from([1.0, 1.1, 1.5]))}
    plant: dict[str, Any] = {"model": "plant",
                             "practice": draw(st.sampled_from(["modern", "legacy"])),
                             "chiller": draw(st.sampled_from(["air-cooled", "water-cooled", "crac-moore"])),
                             "economizer": draw(st.sampled_from(["none", "air-side", "water-side"]))}
    if draw(st.booleans()):  # undersized: the plant throttles
        plant["capacity_w"] = draw(st.sampled_from([5000.0, 15000.0]))
        plant["hall_heat_capacity_j_per_k_per_w"] = 1.0
    if n_nodes > 1 and draw(st.booleans()):
        plant["zones"] = draw(st.integers(2, min(3, n_nodes)))
        plant["recirculation_k_per_zone"] = 1.0
    if draw(st.integers(0, 2)) == 0:
        plant["liquid"] = {"fraction": 0.75}
    return plant


@st.composite
def supplies(draw) -> dict[str, Any] | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    supply: dict[str, Any] = {"weather": "tmy3-greensboro-nc"}  # PV and wind need a site's weather
    ci = draw(st.sampled_from([None, "gb-2020", "fr-2020", "de-2020"]))
    if ci:
        supply["grid"] = {"carbon_intensity": {"trace": ci}}
    if draw(st.booleans()):
        supply.setdefault("grid", {})["export"] = True
    if draw(st.booleans()):
        supply["pv"] = {"capacity_kw": draw(st.sampled_from([10, 50, 200]))}
        if draw(st.integers(0, 2)) == 0:
            supply["pv"]["trace"] = "gb-solar-2020"
    if draw(st.integers(0, 3)) == 0:
        supply["wind"] = draw(st.sampled_from([{"turbines": 1}, {"trace": "gb-wind-2020", "capacity_kw": 30}]))
    if draw(st.integers(0, 4)) == 0:
        supply.setdefault("grid", {})["import_limit_kw"] = draw(st.sampled_from([5, 50]))
    if draw(st.booleans()):
        dispatch = draw(st.sampled_from(["self-consumption", "peak-shaving", "carbon-aware"]))
        battery: dict[str, Any] = {"capacity_kwh": draw(st.sampled_from([0, 20, 100])),
                                   "power_kw": draw(st.sampled_from([5, 30])),
                                   "dispatch": dispatch,
                                   "initial_soc_fraction": draw(st.sampled_from([0.1, 0.5, 1.0])),
                                   "round_trip_efficiency": draw(st.sampled_from([0.5, 0.9, 1.0])),
                                   "soc_min_fraction": draw(st.sampled_from([0.0, 0.1, 0.5]))}
        if dispatch == "peak-shaving":
            battery["peak_kw"] = draw(st.sampled_from([5, 20]))
        supply["battery"] = battery
    if draw(st.integers(0, 3)) == 0:
        supply["ppa"] = {"capacity_kw": 20, "profile": draw(st.sampled_from(["pv", "wind"]))}
    if draw(st.integers(0, 3)) == 0:
        supply["background_load"] = draw(st.sampled_from(
            [2000.0, {"profile": "daily", "values": [1000.0] * 8 + [3000.0] * 12 + [1000.0] * 4}]))
    return supply


@st.composite
def scenarios(draw) -> dict[str, Any]:
    cluster, n_nodes = draw(clusters())
    until_done = draw(st.integers(0, 3)) == 0
    hours = draw(st.integers(2, 12))
    horizon_s = 86400.0 if until_done else hours * 3600.0
    sections: dict[str, Any] = {
        "start": draw(st.sampled_from(["2020-06-01T00:00:00Z", "2020-01-15T06:00:00Z", "2020-07-15T12:00:00Z"])),
        "duration": "until-done" if until_done else f"{hours}h",
        "seed": draw(st.integers(0, 3)),
        "cluster": cluster,
        "workload": draw(workloads(horizon_s)),
        "scheduler": draw(schedulers(n_nodes)),
        "cooling": draw(coolings(n_nodes)),
        "plant": {"step": "300s"},
        "output": {"interval": f"{300 * draw(st.sampled_from([1, 2, 3, 4, 12]))}s"},
    }
    if until_done:
        sections["max_duration"] = "2d"
    if "topology" not in cluster:  # async needs a network (refused at load time otherwise)
        for job in sections["workload"].get("jobs", []):
            job["mode"] = "sync"
        for gen in [sections["workload"].get("generator")] + list(sections["workload"].get("generators", [])):
            if isinstance(gen, dict):
                gen["mode"] = "sync"
    if "topology" in cluster:
        sections["network"] = {"model": draw(st.sampled_from(["flow", "flow", "off"])),
                               "collective": draw(st.sampled_from(["ring", "hierarchical", "tree"])),
                               "overlap": draw(st.sampled_from([0.0, 0.5]))}
    supply = draw(supplies())
    if supply is not None:
        sections["supply"] = supply
    return tiny_scenario(**sections)


# -- the checks -----------------------------------------------------------------------------

def _build(doc: dict[str, Any]) -> World | None:
    """The world of a document, or None when the loader refuses it (a ScenarioError)."""
    try:
        return World(load_scenario(doc))
    except ScenarioError:
        return None


def _same_summary(a: dict[str, Any], b: dict[str, Any]) -> None:
    sa = {k: v for k, v in a.items() if k != "wall_s"}
    sb = {k: v for k, v in b.items() if k != "wall_s"}
    assert sa.keys() == sb.keys()
    for k, v in sa.items():
        if isinstance(v, float) and math.isnan(v):
            assert isinstance(sb[k], float) and math.isnan(sb[k]), k
        else:
            assert v == sb[k], (k, v, sb[k])


def check_document(doc: dict[str, Any]) -> bool:
    """Run a document twice and check invariants 1-4; False when it is refused as invalid."""
    world = _build(doc)
    if world is None:
        return False
    r = world.run(wall_limit_s=WALL_LIMIT_S).result()  # a hang fails with RunTimeout
    check_invariants(world, r)
    again = _build(doc)
    assert again is not None
    r2 = again.run(wall_limit_s=WALL_LIMIT_S).result()
    _same_summary(r.summary, r2.summary)
    pd.testing.assert_frame_equal(r.jobs, r2.jobs)
    pd.testing.assert_frame_equal(r.timeseries, r2.timeseries)
    return True


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_keep_the_invariants(doc):
    check_document(doc)


# -- regression tests: scenarios the property test found ------------------------------------

def _run_bounded(doc: dict[str, Any], wall_limit_s: float = 20.0):
    """Run a document with a wall-clock limit (a hang fails with RunTimeout, not forever)."""
    world = World(load_scenario(doc))
    world.run(wall_limit_s=wall_limit_s)
    r = world.result()
    check_invariants(world, r)
    return world, r


def test_power_down_with_zero_idle_timeout_and_a_spare_does_not_spin():
    # found by the fuzzer: a node kept as a spare re-checked itself after idle_timeout,
    # which with idle_timeout 0 re-scheduled the check at the same instant forever
    doc = tiny_scenario(duration="2h", cluster={"nodes": 1}, workload={"jobs": []},
                        scheduler={"power_down": {"idle_timeout": 0, "spare_nodes": 1}})
    world, r = _run_bounded(doc)
    assert world.scheduler.saver.power_offs == 0  # the one node is the spare
    assert r.summary["simulated_s"] == 7200.0
    doc["cluster"] = {"nodes": 3}
    world, _ = _run_bounded(doc)
    assert world.scheduler.saver.power_offs == 2  # all but the spare switched off at once


def test_power_down_does_not_flap_a_node_that_waiting_work_would_boot_back():
    # found by the fuzzer: a job waits (here: the power envelope refuses it, and at first
    # the node is off), so the saver boots a node, which is idle, so it is switched off,
    # so it is booted... With zero idle and boot times this spun at t = 0 forever; with a
    # boot time it flapped every boot_time. A node is kept on while waiting work needs it.
    job = {"name": "a", "accelerators": 8, "model": "resnet50", "samples": 1.0e7}
    for boot in (0, 300):
        doc = tiny_scenario(duration="2h", cluster={"nodes": 1}, workload={"jobs": [job]},
                            scheduler={"power_down": {"idle_timeout": 0, "boot_time": boot, "spare_nodes": 0},
                                       "controls": [{"kind": "power-envelope", "limit_kw": 3}]})
        world, r = _run_bounded(doc)
        assert world.scheduler.saver.boots == 0 and world.scheduler.saver.power_offs == 0
        assert r.jobs.state.tolist() == ["queued"] or r.jobs.state.tolist() == ["pending"]


def test_preemption_for_a_job_a_control_refuses_does_not_spin():
    # found by the fuzzer: SRTF preempts `long` (save time 0) to make room for `big`, the
    # power envelope refuses `big`, `long` restarts; its requeue had asked for another pass
    # at the same instant, which preempted it again, and again, forever (26,000+ preemptions
    # within one second of wall time). The pass that preempts now handles its own requeues.
    jobs = [{"name": "long", "accelerators": 1, "model": "resnet50", "samples": 1.0e8},
            {"name": "big", "submit": "10min", "accelerators": 16, "model": "resnet50", "samples": 1.0e6}]
    doc = tiny_scenario(duration="2h", cluster={"nodes": 2}, workload={"jobs": jobs},
                        scheduler={"queue": "srtf", "preemption": {"checkpoint_save": 0, "checkpoint_restore": 0},
                                   "controls": [{"kind": "power-envelope", "limit_kw": 6}]})
    _, r = _run_bounded(doc)
    jobs_by_name = r.jobs.set_index("name")
    assert jobs_by_name.loc["long", "state"] == "completed"
    assert jobs_by_name.loc["long", "preemptions"] <= 1
    assert jobs_by_name.loc["big", "state"] == "queued"
