"""Supply: balance, battery, renewable shares, PV yield, wind, carbon of real traces."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.engine.contracts import SupplyStep
from sim.facility.signals import data_path
from sim.facility.supply import build_supply, pv_power_w, summarize, wind_power_w
from sim.facility.weather import load_weather
from sim.spec.supply import SupplyConfig

START = pd.Timestamp("2020-06-01T00:00Z")
DAY_S = 86400.0
J_PER_KWH = 3.6e6


def _run(cfg: dict, demand_w, duration_s: float = 3 * DAY_S, step_s: float = 900.0, start=START):
    model = build_supply(SupplyConfig.model_validate(cfg), start, duration_s, step_s, None)
    edges = np.arange(0.0, duration_s + 1e-9, step_s)
    steps: list[SupplyStep] = []
    for t0, t1 in zip(edges[:-1], edges[1:], strict=True):
        d = demand_w(t0) if callable(demand_w) else demand_w
        steps.append(model.step(t0, t1, d))
    return model, steps, edges


def _flows(steps: list[SupplyStep], key: str) -> np.ndarray:
    return np.array([s.flows_w.get(key, 0.0) for s in steps])


def _daily_load(t: float) -> float:
    return 1.5e6 if (t % DAY_S) < 12 * 3600 else 0.5e6


MIXED = {
    "weather": "tmy3-greensboro-nc",
    "grid": {"carbon_intensity": {"trace": "gb-2020"}},
    "pv": {"capacity_kw": 3000},
    "wind": {"turbines": 1},
    "battery": {"capacity_kwh": 4000, "power_kw": 1000},
}


def test_default_is_the_grid_alone_at_us_average() -> None:
    model, steps, edges = _run({}, 1e6, duration_s=DAY_S)
    s = model.summary()
    assert s["grid_import_kwh"] == pytest.approx(24_000.0)
    # Patterson et al. 2021: 429 gCO2e/kWh US average -> 24 MWh x 0.429 = 10,296 kg.
    assert s["carbon_kg"] == pytest.approx(24_000 * 0.429)
    assert s["cost"] == pytest.approx(24_000 * 0.10)
    assert s["renewable_share_onsite"] == 0.0 and s["annual_matched_share"] == 0.0
    # the US-average grid's own mix is not given: the location-based share is unknown, not 0
    assert math.isnan(s["renewable_share"]) and math.isnan(s["carbon_free_share"])
    assert summarize(steps, edges) == pytest.approx(s, nan_ok=True)


@pytest.mark.parametrize("dispatch", ["self-consumption", "peak-shaving", "carbon-aware"])
@pytest.mark.parametrize("export", [False, True])
def test_supply_balances_every_step(dispatch: str, export: bool) -> None:
    cfg = {**MIXED, "grid": {**MIXED["grid"], "export": export, "import_limit_kw": 1400},
           "battery": {**MIXED["battery"], "dispatch": dispatch}}
    _, steps, _ = _run(cfg, _daily_load)
    for s in steps:
        f = s.flows_w
        demand = s.state["demand_w"]
        lhs = f["grid_import_w"] + f["renewable_used_w"] + f["battery_discharge_w"]
        assert lhs == pytest.approx(demand + f["battery_charge_w"], rel=1e-9, abs=1e-6)
        gen = f["pv_w"] + f["wind_w"]
        assert gen == pytest.approx(f["renewable_used_w"] + f["grid_export_w"] + f["curtailed_w"], abs=1e-6)
        assert min(f.values()) >= -1e-9
        assert export or f["grid_export_w"] == 0.0


@pytest.mark.parametrize("dispatch", ["self-consumption", "peak-shaving", "carbon-aware"])
def test_battery_stays_in_bounds_and_books_its_losses(dispatch: str) -> None:
    cfg = {**MIXED, "grid": {**MIXED["grid"], "import_limit_kw": 1400},
           "battery": {"capacity_kwh": 2000, "power_kw": 800, "soc_min_fraction": 0.2,
                       "soc_max_fraction": 0.9, "round_trip_efficiency": 0.81, "dispatch": dispatch}}
    model, steps, edges = _run(cfg, _daily_load)
    soc = np.array([s.state["battery_soc_kwh"] for s in steps])
    assert soc.min() >= 0.2 * 2000 - 1e-9 and soc.max() <= 0.9 * 2000 + 1e-9
    dt = np.diff(edges)
    charge_kwh = float(np.sum(_flows(steps, "battery_charge_w") * dt)) / J_PER_KWH
    discharge_kwh = float(np.sum(_flows(steps, "battery_discharge_w") * dt)) / J_PER_KWH
    assert charge_kwh > 100 and discharge_kwh > 100
    # Stored energy: eta = sqrt(0.81) = 0.9 each way; the change of SoC closes the books.
    delta_kwh = soc[-1] - 0.5 * 2000
    assert delta_kwh == pytest.approx(0.9 * charge_kwh - discharge_kwh / 0.9, abs=1e-6)
    s = model.summary()
    assert s["battery_loss_kwh"] == pytest.approx(charge_kwh - discharge_kwh - delta_kwh, abs=1e-6)


def test_zero_capacity_battery_changes_nothing() -> None:
    without = {k: v for k, v in MIXED.items() if k != "battery"}
    zero = {**MIXED, "battery": {"capacity_kwh": 0, "power_kw": 1000}}
    _, a, _ = _run(without, _daily_load)
    _, b, _ = _run(zero, _daily_load)
    for x, y in zip(a, b, strict=True):
        assert x.flows_w == pytest.approx(y.flows_w)
        assert x.carbon_g_per_s == pytest.approx(y.carbon_g_per_s)


def test_renewable_share_is_one_when_huge_pv_covers_a_daytime_load() -> None:
    def noon_load(t: float) -> float:  # 12:00-15:00 EST (17:00-20:00 UTC) in June, Greensboro
        return 1e6 if 17 * 3600 <= t % DAY_S < 20 * 3600 else 0.0

    model, _, _ = _run({"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 500_000}}, noon_load)
    s = model.summary()
    assert s["renewable_share"] == pytest.approx(1.0)
    assert s["grid_import_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert s["curtailed_kwh"] > 0  # export is off by default: the surplus is curtailed


def test_pv_annual_yield_at_greensboro() -> None:
    # Published range for fixed-tilt PV at Greensboro NC: about 1,300-1,450 kWh/kWp/yr
    # (PVWatts-type estimates for the US Southeast; issue 4).
    w = load_weather("tmy3-greensboro-nc", pd.Timestamp("2021-01-01T05:00Z"), 365 * DAY_S, 3600)
    yield_kwh_per_kwp = float(np.sum(pv_power_w(w, 1000.0, tilt_deg=36.1, azimuth_deg=180.0))) / 1000.0
    assert 1300 <= yield_kwh_per_kwp <= 1450


def test_wind_capacity_factors_are_plausible() -> None:
    # EIA: US wind fleet capacity factor 35.3 % in 2020 (Electric Power Monthly Table 6.07.B).
    # Windy coastal Sand Point AK should be near or above it, inland Greensboro NC well below.
    cf = {}
    for site in ("tmy3-sand-point-ak", "tmy3-greensboro-nc"):
        w = load_weather(site, pd.Timestamp("2021-01-01T00:00Z"), 365 * DAY_S, 3600)
        cf[site] = float(np.mean(wind_power_w(w, "E-126/4200", 135.0, 1))) / 4.2e6
    assert 0.30 < cf["tmy3-sand-point-ak"] < 0.55
    assert 0.05 < cf["tmy3-greensboro-nc"] < cf["tmy3-sand-point-ak"]


@pytest.mark.parametrize("step_s", [900.0, 3600.0])
def test_carbon_of_a_constant_load_uses_the_real_trace(step_s: float) -> None:
    model, _, _ = _run({"grid": {"carbon_intensity": {"trace": "gb-2020"}}}, 1e6, 7 * DAY_S, step_s)
    df = pd.read_csv(data_path("grid", "gb_ci.csv"))
    ci = pd.Series(df["Carbon Intensity"].to_numpy(), index=pd.to_datetime(df["Time"], utc=True))
    week = ci[(ci.index >= START) & (ci.index < START + pd.Timedelta(days=7))]
    # 1 MW for 168 h = 168,000 kWh times the mean of the half-hourly intensities.
    assert model.summary()["carbon_kg"] == pytest.approx(168_000 * week.mean() / 1000, rel=1e-9)


def test_peak_shaving_holds_the_import_limit_while_the_battery_lasts() -> None:
    cfg = {"grid": {"import_limit_kw": 1200},
           "battery": {"capacity_kwh": 5000, "power_kw": 500, "dispatch": "peak-shaving",
                       "initial_soc_fraction": 1.0}}
    _, steps, _ = _run(cfg, _daily_load)
    imports = _flows(steps, "grid_import_w")
    assert imports.max() <= 1.2e6 + 1e-6
    assert np.all([s.state["import_limit_excess_w"] == 0.0 for s in steps])


def test_carbon_aware_charges_clean_and_discharges_dirty() -> None:
    cfg = {"grid": {"carbon_intensity": {"trace": "gb-2020"}},
           "battery": {"capacity_kwh": 2000, "power_kw": 500, "dispatch": "carbon-aware"}}
    _, steps, _ = _run(cfg, 1e6, 7 * DAY_S)
    ci = np.array([s.state["carbon_intensity_g_per_kwh"] for s in steps])
    ch, dis = _flows(steps, "battery_charge_w"), _flows(steps, "battery_discharge_w")
    assert ch.sum() > 0 and dis.sum() > 0
    assert np.average(ci, weights=ch) < np.average(ci, weights=dis)


def test_ppa_hourly_matching_never_exceeds_annual_matching() -> None:
    # 3 MW of PPA solar against a 1 MW load: around noon it exceeds the load, and an hour's
    # surplus matches nothing (hourly), while annual matching counts every kWh.
    cfg = {"ppa": {"capacity_kw": 3000, "profile": "gb-solar-2020"}}
    model, steps, edges = _run(cfg, 1e6, 7 * DAY_S, 1800.0)
    s = model.summary()
    assert s["ppa_kwh"] > 0
    assert 0 < s["renewable_share_hourly_matched"] < s["annual_matched_share"] <= 1.0
    ppa_kwh_h = model.share_inputs().ppa_j / 3.6e6
    assert s["renewable_share_hourly_matched"] == pytest.approx(np.minimum(ppa_kwh_h, 1000.0).sum() / 168_000)
    assert s["annual_matched_share"] == pytest.approx(min(1.0, s["ppa_kwh"] / 168_000))
    assert summarize(steps, edges) == pytest.approx(s, nan_ok=True)
    # Physically the PPA changes nothing on site.
    assert s["grid_import_kwh"] == pytest.approx(168_000.0)


def test_generation_trace_is_scaled_to_the_capacity() -> None:
    model, steps, _ = _run({"pv": {"trace": "gb-solar-2020", "capacity_kw": 1000}}, 0.0, 7 * DAY_S, 1800.0)
    pv = _flows(steps, "pv_w")
    # sim/facility/supply.py: trace / its maximum over the whole file x capacity_kw; half-hourly steps on a
    # half-hourly trace take the samples as they are (data/grid/gb_production.csv, column Solar)
    solar = pd.read_csv(data_path("grid", "gb_production.csv"), index_col=0, parse_dates=True)["Solar"]
    solar.index = solar.index.tz_localize("UTC")
    week = solar[(solar.index >= START) & (solar.index < START + pd.Timedelta(days=7))]
    np.testing.assert_allclose(pv, week.to_numpy() / solar.max() * 1e6, rtol=1e-9)
    assert 0 < pv.max() <= 1e6 + 1e-6


def test_background_load_energy(tmp_path) -> None:
    path = tmp_path / "site.csv"
    times = pd.date_range("2020-06-01", periods=3, freq="h", tz="UTC")
    pd.DataFrame({"time": times, "power_kw": [100.0, 200.0, 300.0]}).to_csv(path, index=False)
    cfg = SupplyConfig.model_validate({"background_load": {"csv": str(path), "unit": "kW"}})
    model = build_supply(cfg, START, 3 * 3600, 60, None)
    assert model.background_energy_j(0, 3 * 3600) == pytest.approx((100 + 200 + 300) * 1e3 * 3600)
    assert model.background_energy_j(1800, 5400) == pytest.approx((100 + 200) * 1e3 * 1800)


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="needs weather"):
        build_supply(SupplyConfig.model_validate({"pv": {"capacity_kw": 10}}), START, DAY_S, 60, None)
    with pytest.raises(ValueError, match="turbine library"):
        _run({"weather": "tmy3-greensboro-nc", "wind": {"turbines": 1, "turbine_type": "X-1/1"}}, 0.0, 3600)
    with pytest.raises(ValueError, match="power_kw"):
        build_supply(SupplyConfig.model_validate({"battery": {"capacity_kwh": 10}}), START, DAY_S, 60, None)


def test_solar_position_interpolated_between_spa_samples_stays_close_to_spa_everywhere(monkeypatch):
    """SPA on every 5th minute, interpolated between: azimuth within 0.05 deg and apparent zenith
    within 0.5 deg (refraction at the horizon) of SPA at every step; PV energy within 5e-5."""
    import pandas as pd

    import sim.facility.supply as supply_mod
    from sim.facility.weather import load_weather

    w = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-06-01", tz="UTC"), 7 * 86400, 60)
    p = np.nan_to_num(w.pressure_pa, nan=101325.0)
    t = np.nan_to_num(w.temp_air_c, nan=25.0)
    zen, az = supply_mod._solar_position(w, p, t)
    pv = pv_power_w(w, 1e6, 30, 180)
    monkeypatch.setattr(supply_mod, "SOLAR_POSITION_STEP_S", 0.0)  # SPA at every step
    zen_spa, az_spa = supply_mod._solar_position(w, p, t)
    pv_spa = pv_power_w(w, 1e6, 30, 180)
    up = zen_spa < 90
    assert up.any() and (~up).any()
    assert np.abs(zen - zen_spa)[up].max() < 0.5
    assert np.abs((az - az_spa + 180) % 360 - 180)[up].max() < 0.05  # 0.03 deg at a June noon
    assert abs(pv.sum() - pv_spa.sum()) < 5e-5 * pv_spa.sum()  # 1.8e-5 in this June week
    assert not np.array_equal(zen, zen_spa)  # the interpolated path was taken


@pytest.mark.parametrize("battery", [
    {"dispatch": "self-consumption"},
    {"dispatch": "peak-shaving", "peak_kw": 300},
    {"dispatch": "self-consumption", "soc_max_fraction": 0.9, "initial_soc_fraction": 0.1},
])
def test_battery_series_is_the_step_core_bit_for_bit(battery: dict) -> None:
    """The deferred plant's battery loop (`_battery_series`, which jumps over the runs the battery
    sits out) gives the same bits as `_battery`, the core of `step`, called step after step.

    Hand-made days: a surplus that fills the battery and then runs on at its ceiling, an
    evening load that empties it and then runs on at its floor, zero net demand at both ends,
    +0.0 and -0.0 surpluses, a load above the import limit, a partial step."""
    cfg = {"grid": {"import_limit_kw": 900},
           "battery": {"capacity_kwh": 100, "power_kw": 200, "round_trip_efficiency": 0.9, **battery}}
    n = 6000
    model = build_supply(SupplyConfig.model_validate(cfg), START, n * 60.0, 60.0, None)
    reference = build_supply(SupplyConfig.model_validate(cfg), START, n * 60.0, 60.0, None)
    rng = np.random.default_rng(11)
    minute = np.arange(n) % 1440
    day = (minute >= 480) & (minute < 960)
    surplus = np.where(day, rng.uniform(0.0, 4e5, n), 0.0)
    surplus[day & (rng.random(n) < 0.05)] = 0.0
    surplus[~day & (rng.random(n) < 0.02)] = -0.0
    net = np.where(day, 0.0, rng.uniform(1e5, 1.2e6, n))
    net[~day & (rng.random(n) < 0.01)] = 0.0
    net[day & (rng.random(n) < 0.05)] = rng.uniform(0.0, 5e5)
    net[day & (rng.random(n) < 0.01)] = -0.0
    dt = np.full(n, 60.0)
    dt[-1] = 17.0
    t0 = np.concatenate(([0.0], np.cumsum(dt)[:-1]))
    ci = rng.uniform(50.0, 300.0, n)

    got = model._battery_series(t0, dt, net, surplus, ci)
    e, green = reference.energy_j, reference.green_j
    rows = []
    for k in range(n):
        cr, cg, dis, sp, gf, e, green = reference._battery(
            reference._dispatch_kind, float(t0[k]), float(dt[k]), float(net[k]), float(surplus[k]),
            float(ci[k]), e, green)
        rows.append((cr, cg, dis, sp, gf, e))
    want = np.array(rows).T
    for name, a, b in zip(("charge_ren", "charge_grid", "discharge", "surplus", "green_fraction", "energy"),
                          got, want, strict=True):
        assert np.array_equal(np.asarray(a).view(np.int64), b.view(np.int64)), name
    assert (model.energy_j, model.green_j) == (e, green)
    soc = got[5]
    # the case exercises both runs the loop jumps over, and the battery working in between
    assert np.sum(soc == model.e_min_j) > 500 and np.sum(soc == model.e_max_j) > 500
    assert np.sum(got[0] > 0) > 100 and np.sum(got[2] > 0) > 100
