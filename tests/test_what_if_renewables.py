"""The renewables numbers documented in docs/what-if.md and docs/supply.md, each produced here
from its scenario (the simulator is deterministic: a change that moves one fails this test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, simulate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
GB_CARBON_AWARE = {"supply.grid.carbon_intensity": {"trace": "gb-2020"}, "supply.grid.renewable_fraction": None,
                   "supply.grid.carbon_free_fraction": None, "supply.battery.dispatch": "carbon-aware"}


def _summary(name: str, **overrides: object) -> dict:
    return simulate(load_scenario(SCENARIOS / name, overrides=overrides)).summary


def test_carbon_aware_scheduling_saving_under_both_forecasts() -> None:
    # docs/what-if.md, "A carbon-aware scheduler": the default forecast is day-ahead persistence
    # (what an operator has); the perfect forecast is an upper bound asked for explicitly.
    persistence = _summary("carbon_aware.yaml")
    perfect = _summary("carbon_aware.yaml", **{"supply.grid.carbon_intensity.forecast.kind": "perfect"})
    none = _summary("carbon_aware.yaml", **{"scheduler.controls": []})
    assert none["carbon_kg"] == pytest.approx(272.3, abs=0.05)
    assert persistence["carbon_kg"] == pytest.approx(271.1, abs=0.05)
    assert perfect["carbon_kg"] == pytest.approx(264.4, abs=0.05)
    assert persistence["mean_jct_s"] / 3600 == pytest.approx(7.58, abs=0.005)
    assert perfect["mean_jct_s"] / 3600 == pytest.approx(6.00, abs=0.005)
    assert none["mean_jct_s"] / 3600 == pytest.approx(2.67, abs=0.005)
    for s in (persistence, perfect, none):
        assert s["jobs_completed"] == 6


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # (location-based renewable %, on-site %, annual matched %, t CO2e, energy cost USD)
        ({}, (62.9, 53.0, 55.9, 5.86, 1365)),
        ({"supply.battery.capacity_kwh": 0}, (53.3, 40.6, 40.6, 7.50, 1748)),
        ({"supply.pv.capacity_kw": 0, "supply.battery.capacity_kwh": 0}, (21.4, 0.0, 0.0, 12.64, 2945)),
        ({**GB_CARBON_AWARE, "supply.battery.dispatch": "self-consumption"}, (71.9, 53.0, 55.9, 2.56, 1365)),
        (GB_CARBON_AWARE, (68.7, 45.8, 47.0, 2.88, 1603)),
        ({**GB_CARBON_AWARE, "supply.grid.carbon_intensity": {"trace": "gb-2020", "forecast": {"kind": "perfect"}}},
         (67.0, 42.5, 43.4, 3.08, 1719)),
    ],
    ids=["pv+battery", "no-battery", "grid-only", "gb-self-consumption", "gb-carbon-aware-persistence",
         "gb-carbon-aware-perfect"],
)
def test_solar_and_battery_answers(overrides: dict, expected: tuple[float, ...]) -> None:
    # docs/what-if.md, "A solar farm and a battery"
    s = _summary("solar_battery.yaml", **overrides)
    got = (100 * s["renewable_share"], 100 * s["renewable_share_onsite"], 100 * s["annual_matched_share"],
           s["carbon_kg"] / 1000, s["cost_energy"])
    assert got[:4] == pytest.approx(expected[:4], abs=0.051)  # as printed: one decimal, t to 0.01
    assert abs(got[4] - expected[4]) < 0.5  # USD to the unit


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (renewable %, carbon-free %, on-site %, annual matched %, 24/7 CFE %, hours >= 99 % on-site,
        #  EUR per GPU-hour)
        ("amsterdam_512_h100.yaml", (67.3, 65.4, 38.3, 40.2, 65.4, 30.1, 1.19)),
        ("piedmont_512_h100.yaml", (73.6, 70.8, 52.9, 56.3, 70.8, 46.3, 1.16)),
    ],
)
def test_512_h100_ready_scenarios(name: str, expected: tuple[float, ...]) -> None:
    # docs/supply.md, "Ready scenario": a year of 512 H100s with 2 MWp PV and a 4-hour battery
    r = simulate(load_scenario(SCENARIOS / name))
    s = r.summary
    hours_onsite = 100 * float((r.timeseries["renewable_share_onsite"] >= 0.99).mean())
    got = (100 * s["renewable_share"], 100 * s["carbon_free_share"], 100 * s["renewable_share_onsite"],
           100 * s["annual_matched_share"], 100 * s["cfe_score"], hours_onsite, s["cost_per_accelerator_hour"])
    assert got == pytest.approx(expected, abs=0.051)
    assert s["currency"] == "EUR"
