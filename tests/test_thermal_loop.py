"""The thermal loop closed through the engine: plant -> cap -> slower jobs -> less heat."""

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate


def run(cooling, jobs_h=6):
    doc = tiny_scenario(
        start="2020-07-01T00:00:00Z", duration="1d",
        workload={"jobs": [{"name": f"j{i}", "accelerators": 8, "submit": i * 600,
                            "duration": f"{jobs_h}h", "reference_accelerator": "h100"} for i in range(2)]},
        cooling={"model": "plant", "weather": "tmy3-greensboro-nc", **cooling})
    return simulate(load_scenario(doc))


def test_an_undersized_plant_throttles_and_stretches_jobs():
    ok = run({})
    short = run({"capacity_margin": 0.6})
    # the right-sized plant never limits the GPUs
    assert ok.summary["throttled_accelerator_hours"] == 0.0
    assert ok.jobs.jct_s.max() == pytest.approx(6 * 3600, rel=1e-6)
    # 60 % of nameplate cannot carry both nodes at full power: the hall heats past the
    # 32 C inlet limit (ASHRAE A1 allowable), the cap falls below 1 and the jobs slow down
    assert short.timeseries.accelerator_cap_fraction.min() < 1.0
    assert short.timeseries.inlet_temp_c.max() > 32.0
    assert short.summary["throttled_accelerator_hours"] > 0
    assert short.jobs.jct_s.min() > 6 * 3600 * 1.01
    # throttled accelerator-hours never exceed the busy accelerator-hours
    busy_h = short.summary["gpu_utilization"] * 16 * short.summary["simulated_s"] / 3600
    assert short.summary["throttled_accelerator_hours"] <= busy_h + 1e-6


def test_free_cooling_hours_follow_the_climate():
    # water-side economizer (default plant) in July: Sand Point AK (TMY3 mean July
    # dry-bulb ~12 C) free-cools for hours; Miami (TMY2, ~28 C, humid) never does
    cold = run({"weather": "tmy3-sand-point-ak"}).summary
    hot = run({"weather": "tmy2-miami-fl"}).summary
    assert cold["free_cooling_hours"] > 1.0
    assert hot["free_cooling_hours"] == pytest.approx(0.0, abs=1e-9)
    assert cold["pue"] < hot["pue"]
