"""The energy-supply loop against Vessim 0.16 on one site, side by side in one process (issue 14).

The site (Vessim's own kind of study): a 400 kW load, 600 kWp of PV, a 500 kWh
battery (500 kW, lossless, empty at the start, 0-100 % usable), grid import and
export, a carbon-intensity signal, 30 days at 60 s steps (43,200 steps). Both
simulators read the same 1-min series:

- load: 400 kW x (1 + 0.1 sin(2 pi t / 1 d)), a synthetic stand-in for a
  measured site load (no measured load ships with the repo);
- PV: the GB 2020 solar outturn (data/grid/gb_production.csv, ENTSO-E via
  Vessim's own GB dataset), June 2020, scaled so its June peak is 600 kW,
  held per 30-min settlement period;
- carbon: the GB 2020 carbon intensity (data/grid/gb_ci.csv), held per period.

wattsim runs its real plant loop (`sim.engine.plant_loop.Plant` over a SimPy
environment, the ledger, `build_supply`) with a constant-PUE 1.0 cooling model and
the load as the supply's measured background load. A constant PUE can never limit
anything, so the plant is evaluated in vectorised chunks after the fact (deferred);
the same run stepped live (one `step` per plant step, `defer=False`) is timed too,
for comparison. Vessim runs its native
backend with a Recorder (metrics only, no time series kept). Printed: grid
import/export and carbon of both, and CPU seconds of each run (the build
included). Vessim is optional (`pip install -e '.[bench]'`); without it the
figure of the issue (Vessim 1.96 s CPU on this box) is printed instead.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from sim.engine.meter import Meter
from sim.engine.plant_loop import Plant
from sim.facility.cooling import build_cooling
from sim.facility.supply import build_supply
from sim.paths import data_path
from sim.spec.cooling import ConstantPueConfig
from sim.spec.supply import SupplyConfig

START = pd.Timestamp("2020-06-01T00:00:00Z")
DAYS = 30
STEP_S = 60
N = DAYS * 86400 // STEP_S
LOAD_KW, PV_KWP, BATTERY_KWH = 400.0, 600.0, 500.0
VESSIM_ISSUE_CPU_S = 1.96  # issue 14, measured on this 2-core box with Vessim 0.16


def series() -> pd.DataFrame:
    """The site's 1-min inputs (kW, kW, g/kWh), indexed by UTC time."""
    idx = pd.date_range(START, periods=N + 1, freq=f"{STEP_S}s")
    t = np.arange(N + 1) * STEP_S
    load = LOAD_KW * (1 + 0.1 * np.sin(2 * np.pi * t / 86400))
    prod = pd.read_csv(data_path("grid", "gb_production.csv"), index_col=0, parse_dates=True)["Solar"]
    prod.index = prod.index.tz_localize("UTC")
    month = prod[START:START + pd.Timedelta(days=DAYS)]
    pv = (month / month.max() * PV_KWP).reindex(idx, method="ffill").to_numpy()
    ci = pd.read_csv(data_path("grid", "gb_ci.csv"), index_col=0, parse_dates=True)["Carbon Intensity"]
    ci.index = ci.index.tz_localize("UTC")
    ci = ci.reindex(idx, method="ffill").to_numpy()
    return pd.DataFrame({"load_kw": load, "pv_mw": pv / 1000.0, "ci": ci}, index=idx)


def run_wattsim(folder: Path, defer: bool = True) -> dict[str, float]:
    config = SupplyConfig.model_validate({
        "grid": {"carbon_intensity": {"csv": str(folder / "site.csv"), "column": "ci"}, "export": True},
        "pv": {"trace": str(folder / "site.csv"), "trace_column": "pv_mw", "trace_unit": "MW",
               "capacity_kw": PV_KWP, "trace_capacity_mw": PV_KWP / 1000.0},
        "battery": {"capacity_kwh": BATTERY_KWH, "power_kw": BATTERY_KWH, "round_trip_efficiency": 1.0,
                    "soc_min_fraction": 0.0, "initial_soc_fraction": 0.0, "dispatch": "self-consumption"},
        "background_load": {"csv": str(folder / "site.csv"), "column": "load_kw", "unit": "kW"},
    })
    horizon = float(DAYS * 86400)
    env = simpy.Environment()
    meter = Meter(lambda: env.now)
    cooling = build_cooling(ConstantPueConfig(pue=1.0), START, horizon, STEP_S, 0.0, lambda: None, None)
    supply = build_supply(config, START, horizon, STEP_S, None)
    plant = Plant(env, meter, cooling, supply, STEP_S, lambda *a: None, it_nameplate_w=0.0, horizon_s=horizon,
                  defer=defer)
    env.process(plant.run())
    env.run(until=horizon)
    plant.close_step(horizon)
    plant.flush()
    s = supply.summary()
    return {"grid_import_kwh": s["grid_import_kwh"], "grid_export_kwh": s["grid_export_kwh"],
            "carbon_kg": s["carbon_kg"]}


def run_vessim(df: pd.DataFrame) -> dict[str, float]:
    import vessim as vs

    offsets = pd.to_timedelta(np.arange(len(df)) * STEP_S, unit="s")
    load = vs.Trace(pd.Series(df["load_kw"].to_numpy() * 1e3, index=offsets))
    pv = vs.Trace(pd.Series(df["pv_mw"].to_numpy() * 1e6, index=offsets))
    ci = vs.Trace(pd.Series(df["ci"].to_numpy(), index=offsets))
    env = vs.Environment(sim_start=START.tz_localize(None), step_size=STEP_S)
    env.add_microgrid(
        actors=[vs.Consumer("load", load), vs.Producer("pv", pv)],
        dispatchables=[vs.SimpleBattery("battery", capacity=BATTERY_KWH * 1e3, initial_soc=0.0, c_rate=1.0),
                       vs.GridConnection()],
        grid_signals={"carbon": ci}, name="site")
    emissions = vs.GridImportEmissions("site", "carbon")
    rec = env.add_controller(vs.Recorder(timeseries=False, custom_metrics={"carbon_g": emissions}))
    env.run(until=DAYS * 86400)
    m = rec.metrics
    site = m["microgrids"]["site"]
    return {"grid_import_kwh": site["grid_import"] / 1e3, "grid_export_kwh": site["grid_export"] / 1e3,
            "carbon_kg": emissions.value / 1e3}  # g/kWh x kWh = g


def main() -> None:
    df = series()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = df.copy()
        out.index.name = "time"
        out.to_csv(folder / "site.csv")
        c0 = time.process_time()
        ours = run_wattsim(folder)
        ours_cpu = time.process_time() - c0
        c0 = time.process_time()
        live = run_wattsim(folder, defer=False)
        live_cpu = time.process_time() - c0
    print(f"vessim site: {DAYS} d at {STEP_S} s ({N:,} steps), {LOAD_KW:.0f} kW load, {PV_KWP:.0f} kWp PV, "
          f"{BATTERY_KWH:.0f} kWh battery, 1-min carbon")
    print(f"  wattsim: {ours_cpu:.2f} s CPU ({ours_cpu / N * 1e6:.0f} us per step); "
          f"import {ours['grid_import_kwh']:,.1f} kWh, export {ours['grid_export_kwh']:,.1f} kWh, "
          f"carbon {ours['carbon_kg']:,.1f} kg")
    same = max(abs(ours[k] - live[k]) / max(abs(live[k]), 1e-9) for k in ours)
    print(f"  wattsim, plant stepped live: {live_cpu:.2f} s CPU ({live_cpu / N * 1e6:.0f} us per step); "
          f"largest relative difference to the deferred plant {same:.1e}")
    try:
        import vessim  # noqa: F401
    except ImportError:
        print(f"  vessim not installed (pip install -e '.[bench]'): issue 14's figure {VESSIM_ISSUE_CPU_S} s CPU "
              f"-> ratio vessim/wattsim {VESSIM_ISSUE_CPU_S / ours_cpu:.1f}x")
        return
    c0 = time.process_time()
    theirs = run_vessim(df)
    theirs_cpu = time.process_time() - c0
    print(f"  vessim 0.16: {theirs_cpu:.2f} s CPU ({theirs_cpu / N * 1e6:.0f} us per step); "
          f"import {theirs['grid_import_kwh']:,.1f} kWh, export {theirs['grid_export_kwh']:,.1f} kWh, "
          f"carbon {theirs['carbon_kg']:,.1f} kg")
    diff = max(abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-9) for k in ours)
    print(f"  largest relative difference of the flows: {diff:.2e}; speed-up vessim/wattsim "
          f"{theirs_cpu / ours_cpu:.1f}x")


if __name__ == "__main__":
    main()
