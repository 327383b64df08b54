"""Thermal zones of the cooling plant: one lumped air volume per row of nodes.

Numbers by hand (docs/cooling.md, "Thermal zones"): DGX H100 nodes, H100 idle
70 W, busy 620 W, TDP 700 W (catalog); inlet limit 32 C, ramp 5 K, floor 0.3;
supply 22 C + recirculation 2 K.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.engine.meter import Meter
from sim.facility.cooling import PlantCooling, zone_of_nodes
from sim.facility.weather import load_weather
from sim.spec.cooling import PlantCoolingConfig

H = 3600.0


def run(cooling: dict, jobs: list[dict], nodes: int = 2, placement: str = "packed", **extra):
    doc = tiny_scenario(
        start="2020-07-01T00:00:00Z", duration="1d",
        cluster={"nodes": nodes, "node_type": "dgx-h100"},
        workload={"jobs": jobs} if jobs else extra.pop("workload"),
        scheduler={"placement": placement, "rack_nodes": 1},
        cooling={"model": "plant", "weather": "tmy3-greensboro-nc", **cooling}, **extra)
    return simulate(load_scenario(doc))


def job(name: str, submit_s: float, hours: float = 6) -> dict:
    return {"name": name, "accelerators": 8, "submit": submit_s, "duration": f"{hours:g}h",
            "reference_accelerator": "h100"}


TWO = [job("j0", 0), job("j1", 600)]


def test_zone_of_nodes_in_index_blocks():
    cfg = PlantCoolingConfig(zones=3)
    assert zone_of_nodes(cfg, 7) == [0, 0, 0, 1, 1, 2, 2]  # i * 3 // 7
    assert zone_of_nodes(PlantCoolingConfig(nodes_per_zone=3), 7) == [0, 0, 0, 1, 1, 1, 2]
    assert zone_of_nodes(PlantCoolingConfig(), 7) is None
    with pytest.raises(ValueError):
        zone_of_nodes(PlantCoolingConfig(zones=8), 7)
    with pytest.raises(ValueError):
        PlantCoolingConfig(zones=2, nodes_per_zone=3)


def test_one_zone_is_the_single_hall_bit_for_bit():
    before = run({}, TWO)
    one = run({"zones": 1}, TWO)
    strip = {"wall_s"}

    def same(v):  # an unknown figure (NaN, e.g. a share without the grid's mix) equals itself here
        return None if isinstance(v, float) and v != v else v

    assert {k: same(v) for k, v in before.summary.items() if k not in strip} == \
        {k: same(v) for k, v in one.summary.items() if k not in strip}
    pd.testing.assert_frame_equal(before.timeseries, one.timeseries)
    assert not any(c.startswith("z0_") for c in one.timeseries.columns)


def test_meter_zone_groups_are_exact_and_cheap_to_read():
    now = [0.0]
    m = Meter(lambda: now[0])
    a = m.channel("a", "accelerator", tags={"zone": 0})
    b = m.channel("b", "accelerator", tags={"zone": 1})
    h = m.channel("h", "host", tags={"zone": 1})
    m.set(a, 100.0)
    m.set(b, 50.0)
    now[0] = 10.0
    m.set(a, 0.0)
    m.set(h, 20.0, t=4.0)  # back-dated: exact, as the per-category integrals
    now[0] = 20.0
    groups = [m.group_index("accelerator", 0), m.group_index("accelerator", 1), m.group_index("host", 1)]
    assert m.group_integrals(groups) == [1000.0, 1000.0, 320.0]
    assert m.category_integral("accelerator") == 2000.0  # per-category totals unchanged


def _cooling(zones: int, **kw) -> PlantCooling:
    wx = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-07-01T00:00:00Z"), 2 * 86400.0, H)
    return PlantCooling(PlantCoolingConfig(zones=zones, **kw), wx, H, 1e6)


def test_total_heat_removed_is_the_sum_over_zones_and_heat_is_conserved():
    model = _cooling(4, capacity_margin=0.8)
    rng = np.random.default_rng(2)
    temp0 = list(model.zone_hall_temp_c)
    heat_in = removed = 0.0
    for k in range(40):
        zone_j = list(rng.uniform(0.05, 0.35, 4) * 1e6 * H)  # uneven rows; row 3 often overloaded
        it_j = sum(zone_j) + 2e4 * H  # + 20 kW of switches, not zoned
        out = model.step(k * H, (k + 1) * H, it_j, zone_j)
        zsum = sum(out.state[f"z{z}_heat_removed_w"] for z in range(4))
        assert zsum == pytest.approx(out.state["heat_removed_w"], rel=1e-12)
        assert out.accelerator_cap_fraction == min(out.zone_cap_fraction)
        assert out.state["inlet_temp_c"] == max(out.state[f"z{z}_inlet_temp_c"] for z in range(4))
        heat_in += out.state["heat_load_w"] * H
        removed += out.state["heat_removed_w"] * H
    # heat released = heat removed + heat stored in the four air volumes (C/4 each)
    c = model.config()["resolved"]["hall_heat_capacity_j_per_k"] / 4
    stored = sum(c * (t1 - t0) for t0, t1 in zip(temp0, model.zone_hall_temp_c))
    assert heat_in == pytest.approx(removed + stored, rel=1e-9)


def test_even_load_over_equal_zones_is_the_single_hall():
    """Each of Z equal zones is a 1/Z-scale copy of the hall: same temperatures, same plant."""
    one, four = _cooling(1), _cooling(4)
    for k, frac in enumerate([0.2, 0.9, 1.1, 1.3, 0.5, 0.1]):
        it_j = frac * 1e6 * H
        a = one.step(k * H, (k + 1) * H, it_j)
        b = four.step(k * H, (k + 1) * H, it_j, [it_j / 4] * 4)
        for part, w in a.power_w.items():
            assert b.power_w[part] == pytest.approx(w, rel=1e-9, abs=1e-9)
        assert b.state["hall_temp_c"] == pytest.approx(a.state["hall_temp_c"], rel=1e-12)
        assert b.accelerator_cap_fraction == pytest.approx(a.accelerator_cap_fraction, rel=1e-12)


def test_a_hot_zone_throttles_only_its_own_nodes():
    # zone 1 (n1) gets 10 K more recirculation: inlet 22 + 2 + 10 = 34 C from the first
    # plant step on, 2 K over the 32 C limit: cap 1 - 0.7 * 2 / 5 = 0.72 of 700 W = 504 W.
    r = run({"zones": 2, "recirculation_k_per_zone": 10.0}, TWO)
    jobs = r.jobs.set_index("name")
    assert list(jobs.loc["j0", "nodes"]) == ["n0"] and list(jobs.loc["j1", "nodes"]) == ["n1"]
    # zone 0 keeps full speed: 6 h exactly
    assert jobs.loc["j0", "jct_s"] == pytest.approx(6 * H, rel=1e-9)
    # zone 1: clock ((504 - 70) / (620 - 70))^(1/3) = 0.92407 (cube law), speed clock^0.3
    # (the default compute-boundedness, sim/compute/power.py)
    speed = ((504.0 - 70.0) / (620.0 - 70.0)) ** (1 / 3)
    speed = speed ** 0.3
    assert jobs.loc["j1", "jct_s"] == pytest.approx(6 * H / speed, rel=1e-6)  # 22,118 s
    ts = r.timeseries
    assert ts.z1_inlet_temp_c.iloc[0] == pytest.approx(34.0)
    assert ts.z0_inlet_temp_c.max() == pytest.approx(24.0)
    assert ts.accelerator_cap_fraction.min() == pytest.approx(0.72)
    # throttled accelerator-hours: only zone 1's 8 busy accelerators, for the job's run
    assert r.summary["throttled_accelerator_hours"] == pytest.approx(8 * 6 / speed, rel=1e-3)


def test_thermal_placement_picks_the_coolest_zone():
    # 4 nodes of 8 kW nameplate (8 x 700 W + 2.4 kW host), two zones {n0, n1}, {n2, n3};
    # the plant at 0.5 x nameplate gives a zone 8 kW. j0 on n0 makes zone 0 release
    # 7.36 kW busy + 1.86 kW idle node > 8 kW: its supply air warms, zone 1 stays at 24 C.
    jobs = [job("j0", 0, hours=12), job("j1", 2 * H)]
    zoned = run({"zones": 2, "capacity_margin": 0.5}, jobs, nodes=4, placement="thermal")
    ts = zoned.timeseries
    assert ts.z0_inlet_temp_c.iloc[1] > ts.z1_inlet_temp_c.iloc[1] + 1.0
    nodes = zoned.jobs.set_index("name").nodes
    assert list(nodes["j0"]) == ["n0"]
    assert list(nodes["j1"]) == ["n2"]  # the coolest zone
    # one hall: the stand-in ranks racks by busyness, lowest index first: n1 (zone 0)
    hall = run({"capacity_margin": 0.5}, jobs, nodes=4, placement="thermal")
    assert list(hall.jobs.set_index("name").nodes["j1"]) == ["n1"]


def test_energy_balance_per_bin_with_zones():
    r = run({"zones": 2, "recirculation_k_per_zone": 9.0}, [], nodes=4,
            workload={"generator": {"rate_per_hour": 4, "mean_duration": "2h"}})
    ts = r.timeseries
    cats = ["accelerator_power_w", "host_power_w", "network_power_w", "background_power_w",
            "cooling_power_w", "losses_power_w"]
    np.testing.assert_allclose(ts[cats].sum(axis=1), ts.facility_power_w, rtol=1e-12)
    np.testing.assert_allclose(ts.it_power_w + ts.cooling_power_w + ts.losses_power_w,
                               ts.facility_power_w, rtol=1e-12)
    np.testing.assert_allclose(ts.z0_heat_removed_w + ts.z1_heat_removed_w, ts.heat_removed_w, rtol=1e-9)
    assert ts.facility_energy_kwh.sum() == pytest.approx(r.summary["facility_energy_kwh"], rel=1e-9)
    assert math.isfinite(r.summary["max_inlet_temp_c"])
    # per-zone columns are documented by the `<zone>_...` patterns, with their unit
    from sim.results.result import COLUMNS
    for col in [c for c in ts.columns if c[:1] == "z" and c[1:2].isdigit()]:
        assert "<zone>" + col[col.index("_"):] in COLUMNS
