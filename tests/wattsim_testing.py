"""Shared test helpers: tiny scenarios (2 DGX H100 nodes, one day) and the invariant checker.

`check_invariants` is also the `invariants` fixture (tests/conftest.py).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from sim.results.result import POWER_CATEGORIES
from sim.units import J_PER_KWH

STATES = {"pending", "queued", "running", "completed", "failed"}


def tiny_scenario(**sections: Any) -> dict[str, Any]:
    """A small scenario document: 2 DGX H100 nodes, 1 day, PUE 1.1, grid only."""
    doc: dict[str, Any] = {
        "name": "tiny",
        "start": "2020-06-01T00:00:00Z",
        "duration": "1d",
        "seed": 1,
        "cluster": {"nodes": 2, "node_type": "dgx-h100"},
        "workload": {"jobs": []},
        "cooling": {"model": "constant-pue", "pue": 1.1},
        "plant": {"step": "300s"},
        "output": {"interval": "1h"},
    }
    for key, value in sections.items():
        doc[key] = copy.deepcopy(value)
    return doc


def check_invariants(world, r, rtol=1e-6, supply_per_bin=True):
    """DESIGN.md invariants 1-3 and the sanity checks, on one finished run."""
    ts, jobs, nodes, s = r.timeseries, r.jobs, r.nodes, r.summary
    # no NaN / negative power in the time series
    power_cols = [c for c in ts.columns if c.endswith("_power_w")]
    assert power_cols
    assert not ts[power_cols].isna().any().any(), ts[power_cols].isna().sum()
    assert (ts[power_cols] >= -1e-6).all().all()
    # 1. energy balance per bin: facility = IT + cooling + losses, IT = its categories
    it = ts.accelerator_power_w + ts.host_power_w + ts.network_power_w + ts.background_power_w
    np.testing.assert_allclose(ts.it_power_w, it, rtol=rtol, atol=1e-6)
    fac = ts.it_power_w + ts.cooling_power_w + ts.losses_power_w
    np.testing.assert_allclose(ts.facility_power_w, fac, rtol=rtol, atol=1e-6)
    # summary totals = sums of bins = sums of categories
    widths = np.diff(np.append((ts.time - ts.time.iloc[0]).dt.total_seconds().to_numpy(), s["simulated_s"]))
    assert ts.facility_energy_kwh.sum() == pytest.approx(s["facility_energy_kwh"], rel=rtol, abs=1e-9)
    assert ts.it_energy_kwh.sum() == pytest.approx(s["it_energy_kwh"], rel=rtol, abs=1e-9)
    assert float((ts.facility_power_w * widths).sum()) / J_PER_KWH == pytest.approx(
        s["facility_energy_kwh"], rel=1e-6, abs=1e-9)
    cats = sum(s[f"{c}_energy_kwh"] for c in POWER_CATEGORIES)
    assert cats == pytest.approx(s["facility_energy_kwh"], rel=rtol, abs=1e-9)
    it_cats = sum(s[f"{c}_energy_kwh"] for c in ("accelerator", "host", "network", "background"))
    assert it_cats == pytest.approx(s["it_energy_kwh"], rel=rtol, abs=1e-9)
    # supply side, per bin: grid_import + renewable_used + battery_discharge = demand + battery_charge
    if "grid_import_w" in ts and supply_per_bin:
        supplied = ts.grid_import_w + ts.get("renewable_used_w", 0.0) + ts.get("battery_discharge_w", 0.0)
        needed = ts.facility_power_w + ts.get("battery_charge_w", 0.0)
        np.testing.assert_allclose(supplied, needed, rtol=1e-6, atol=1e-3)
    # 2. attribution
    assert (jobs.it_energy_kwh >= -1e-12).all() if len(jobs) else True
    assert (jobs.energy_kwh >= -1e-12).all() if len(jobs) else True
    assert (jobs.carbon_kg >= -1e-12).all() if len(jobs) else True
    if len(jobs):
        assert jobs.it_energy_kwh.sum() <= s["it_energy_kwh"] * (1 + 1e-9) + 1e-12
    assert nodes.accelerator_energy_kwh.sum() == pytest.approx(s["accelerator_energy_kwh"], rel=1e-9, abs=1e-12)
    assert nodes.host_energy_kwh.sum() == pytest.approx(s["host_energy_kwh"], rel=1e-9, abs=1e-12)
    # 3. no job lost
    assert len(jobs) == len(world.jobs)
    assert jobs.job_id.is_unique
    assert set(jobs.state) <= STATES
    assert s["jobs_completed"] + s["jobs_failed"] + s["jobs_unfinished"] == s["jobs_submitted"]
    done = jobs[jobs.state == "completed"]
    np.testing.assert_array_equal(done.done_flops.to_numpy(), done.work_flops.to_numpy())
    assert (jobs.done_flops <= jobs.work_flops * (1 + 1e-9)).all() if len(jobs) else True
    assert (jobs.done_flops >= 0).all() if len(jobs) else True
    assert done.end_s.notna().all() and (done.end_s <= s["simulated_s"] + 1e-9).all()
    assert (done.end_s >= done.start_s).all() and (done.start_s >= done.submit_s).all()
    failed = jobs[jobs.state == "failed"]
    assert (failed.reason.str.len() > 0).all()
    running = jobs[jobs.state == "running"]
    assert running.start_s.notna().all()
    # the runtime agrees with the jobs table
    for job in world.jobs:
        if job.state.value == "running":
            assert job.id in world.runtime.running
        else:
            assert job.id not in world.runtime.running
    # every node is back to its slots or holds exactly the running jobs' accelerators
    held = {n.index: 0 for n in world.nodes}
    for job in world.runtime.running.values():
        for n, c in job.placement:
            held[n.index] += c
    for n in world.nodes:
        assert n.free == n.slots - held[n.index], (n.name, n.free, held[n.index])
    for key in ("facility_energy_kwh", "it_energy_kwh", "pue", "carbon_kg", "cost"):
        v = s[key]
        assert v is None or not (isinstance(v, float) and math.isnan(v) and s["it_energy_kwh"] > 0), key
