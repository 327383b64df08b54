"""Costs, embodied carbon and water: every figure derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.results.footprint import (
    CapitalCosts,
    EmbodiedCarbon,
    WaterModel,
    demand_charge,
    embodied_per_busy_accelerator_hour,
    run_costs,
)
from sim.spec.costs import (
    EMBODIED_KG_PER_ACCELERATOR,
    EMBODIED_KG_PER_SERVER,
    EMBODIED_LIFETIME_S,
    LUCCIONI_UTILIZATION,
    YEAR_S,
)

HOUR = 3600.0


def test_capex_is_amortised_straight_line() -> None:
    # 512 GPUs x 30,000 = 15.36 M; 64 nodes x 100,000 = 6.4 M; network 10 % of 21.76 M = 2.176 M;
    # facility 10 M/MW x 0.8 MW = 8 M. One year of a 5-year life carries a fifth of the IT,
    # one twentieth of the facility.
    c = CapitalCosts(accelerators=512, nodes=64, it_capacity_w=0.8e6)
    p = c.purchase()
    assert p["accelerators"] == 15.36e6 and p["servers"] == 6.4e6
    assert p["network"] == pytest.approx(2.176e6) and p["facility"] == pytest.approx(8.0e6)
    a = c.amortised(YEAR_S)
    assert a["accelerators"] == pytest.approx(15.36e6 / 5)
    assert a["facility"] == pytest.approx(8.0e6 / 20)
    assert a["pv"] == 0.0 and a["battery"] == 0.0


def test_cost_per_accelerator_hour_and_per_job_add_up() -> None:
    # A week, 8 GPUs (one node) with no facility: capex 8 x 30,000 x 7/1825 + 100,000 x 7/1825
    # + network 10 %; plus 500 energy, 100 kWh of PPA at 0.06 and 40 of demand charges.
    week = 7 * 86400.0
    c = CapitalCosts(accelerators=8, nodes=1, it_capacity_w=0.0)
    t = run_costs(c, week, "USD", energy_cost=500.0, ppa_kwh=100.0, ppa_price_per_kwh=0.06,
                  demand_charge_cost=40.0, busy_accelerator_hours=8 * 84.0)
    capex = (8 * 30_000 + 100_000) * 1.10 * 7 / (5 * 365)
    assert t.total == pytest.approx(capex + 500 + 6 + 40)
    assert t.per_accelerator_hour() == pytest.approx(t.total / (8 * 168))
    # jobs that used all busy hours carry the whole cost (idle time included)
    assert t.job_share(8 * 42.0) + t.job_share(8 * 42.0) == pytest.approx(t.total)
    assert t.currency == "USD"


def test_bloom_embodied_carbon_reproduced() -> None:
    # Luccioni et al. 2023 (JMLR 24(253)) Table 2 / sec. 4.2: 11.2 tCO2e embodied for
    # 1,082,990 A100 GPU-hours, from 150 kg per GPU, 2,500 kg per 8-GPU server, 6 years, 85 %.
    per_h = embodied_per_busy_accelerator_hour(EMBODIED_KG_PER_ACCELERATOR, EMBODIED_KG_PER_SERVER, 8,
                                               EMBODIED_LIFETIME_S, LUCCIONI_UTILIZATION)
    assert per_h == pytest.approx((150 + 2500 / 8) / (6 * 8760 * 0.85))
    assert per_h * 1_082_990 / 1000 == pytest.approx(11.2, abs=0.05)


def test_embodied_amortised_over_wall_time() -> None:
    # 512 GPUs and 64 servers for 30 days of a 6-year life: (512 x 150 + 64 x 2500) x 30 / 2190 kg
    e = EmbodiedCarbon(accelerators=512, nodes=64)
    kg = e.amortised_kg(30 * 86400.0)
    assert kg["accelerators"] + kg["servers"] == pytest.approx((512 * 150 + 64 * 2500) * 30 / (6 * 365))


def test_demand_charge_takes_the_peak_15_min_mean_per_month() -> None:
    start = pd.Timestamp("2021-01-01T00:00Z")
    # 1,000 kW all January, with 2,000 kW for 5 minutes inside one 15-min window:
    # that window's mean is (10 x 1000 + 5 x 2000) / 15 = 1,333.3 kW.
    edges = np.array([0.0, 3600.0, 3600.0 + 300.0, 31 * 86400.0])
    power = np.array([1e6, 2e6, 1e6])
    charge, peak = demand_charge(edges, power, start, rate_per_kw_month=10.0)
    assert peak == pytest.approx(4000 / 3)
    assert charge == pytest.approx(10.0 * 4000 / 3)
    # half of January (15.5 of 31 days) at a flat 1,000 kW pays half the month's charge
    charge_half, _ = demand_charge(np.array([0.0, 15.5 * 86400]), np.array([1e6]), start, 10.0)
    assert charge_half == pytest.approx(10.0 * 1000 * 0.5)


def test_demand_charge_bills_each_month_its_own_peak() -> None:
    # 31 Jan at 500 kW then 1 Feb at 800 kW (a day each): 500 x 1/31 + 800 x 1/28
    start = pd.Timestamp("2021-01-31T00:00Z")
    charge, peak = demand_charge(np.array([0.0, 86400.0, 2 * 86400.0]), np.array([5e5, 8e5]), start, 1.0)
    assert charge == pytest.approx(500 / 31 + 800 / 28)
    assert peak == pytest.approx(800.0)


def test_tower_water_from_heat_rejected() -> None:
    # 1 MWh rejected: evaporation 0.90 x 3.6e9 J / 2.4305e6 J/kg = 1,333.06 kg;
    # blowdown at 5 cycles = 1/4 of it = 333.27 kg; litres at 0.99565 kg/L.
    w = WaterModel("tower").onsite_l(heat_rejected_j=3.6e9, it_energy_j=0.0)
    assert w["evaporation_l"] == pytest.approx(0.9 * 3.6e9 / 2.4305e6 / 0.99565)
    assert w["blowdown_l"] == pytest.approx(w["evaporation_l"] / 4)
    assert 1300 < w["evaporation_l"] < 1400  # the rule of thumb ~1.4-1.8 L/kWh incl. blowdown


def test_wue_plants_and_offsite_water() -> None:
    it_j = 1000 * 3.6e6  # 1,000 kWh of IT energy
    assert WaterModel("dry").onsite_l(1e12, it_j)["evaporation_l"] == 0.0
    assert WaterModel("adiabatic").onsite_l(1e12, it_j)["evaporation_l"] == pytest.approx(490.0)
    assert WaterModel("wue", wue_l_per_kwh=1.8).onsite_l(0.0, it_j)["evaporation_l"] == pytest.approx(1800.0)
    assert math.isnan(WaterModel("tower").offsite_l(it_j))  # off unless an EWIF is given
    assert WaterModel("tower", offsite_l_per_kwh=3.14).offsite_l(it_j) == pytest.approx(3140.0)


def test_bad_water_settings_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match=r"^costs.water.kind: 'fog' is not allowed"):
        WaterModel("fog")
    with pytest.raises(ValueError, match=r"^costs.water.cycles_of_concentration"):
        WaterModel("tower", cycles_of_concentration=1.0)


# -- a whole run ------------------------------------------------------------------------------

def test_a_days_run_carries_its_share_of_capital_embodied_carbon_and_water() -> None:
    from wattsim_testing import tiny_scenario

    from sim import load_scenario, simulate

    # 2 DGX H100 nodes (16 GPUs) for one day at a constant PUE; defaults everywhere.
    r = simulate(load_scenario(tiny_scenario(
        workload={"jobs": [{"name": "a", "accelerators": 16, "duration": "30h"}]})))
    s = r.summary
    day = 1 / 365
    assert s["currency"] == "USD"
    assert s["cost_capex_accelerators"] == pytest.approx(16 * 30_000 * day / 5)
    assert s["cost_capex_servers"] == pytest.approx(2 * 100_000 * day / 5)
    assert s["cost_capex_network"] == pytest.approx(0.10 * (16 * 30_000 + 2 * 100_000) * day / 5)
    parts = [k for k in s if k.startswith("cost_capex_")] + ["cost_energy", "cost_ppa", "cost_demand_charges"]
    assert s["cost_total"] == pytest.approx(sum(s[k] for k in parts))
    assert s["cost_energy"] == pytest.approx(s["facility_energy_kwh"] * 0.10)  # the default 0.10 USD/kWh
    assert s["cost_per_accelerator_hour"] == pytest.approx(s["cost_total"] / (16 * 24))
    # embodied: (16 x 150 + 2 x 2,500) kg over 6 years, one day of it
    assert s["embodied_carbon_kg"] == pytest.approx((16 * 150 + 2 * 2500) * day / 6)
    assert s["total_carbon_kg"] == pytest.approx(s["carbon_kg"] + s["embodied_carbon_kg"])
    # tower water from all the heat (constant PUE: every facility joule), 5 cycles
    heat_j = s["facility_energy_kwh"] * 3.6e6
    assert s["water_onsite_l"] == pytest.approx(0.9 * heat_j / 2.4305e6 / 0.99565 * 1.25)
    # the one job held every accelerator the whole day: it carries the whole cost
    assert r.jobs["cost_total"].sum() == pytest.approx(s["cost_total"])
    assert r.jobs["embodied_carbon_kg"].sum() == pytest.approx(s["embodied_carbon_kg"])


def test_another_currency_must_bring_its_own_prices() -> None:
    from wattsim_testing import tiny_scenario

    from sim import load_scenario
    from sim.spec.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"costs: accelerator_price, .* default to USD prices .* 'EUR'"):
        load_scenario(tiny_scenario(supply={"grid": {"currency": "EUR", "price": 0.2}}))
    prices = {"accelerator_price": 28_000, "server_price_per_node": 90_000, "facility_price_per_mw_it": 9e6,
              "pv_price_per_kwp": 900, "battery_price_per_kwh": 400, "ppa_price_per_kwh": 0.07}
    load_scenario(tiny_scenario(supply={"grid": {"currency": "EUR", "price": 0.2}}, costs=prices))
