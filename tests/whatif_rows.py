"""The what-if rows of docs/what-if.md: each row's scenario, overrides and the figures it prints.

Shared by tests/test_what_if.py (which checks every number on the page) and by
whoever regenerates the page's tables (`python tests/whatif_rows.py`).
"""

from __future__ import annotations

from sim import load_scenario, simulate

HALL = "scenarios/cooling_plant.yaml"
POWER_DOWN = {"idle_timeout": "15min", "boot_time": "5min", "spare_nodes": 4}

#: label -> (scenario, overrides); the order of the page's first table
HALL_ROWS: dict[str, tuple[str, dict]] = {
    "the hall as it is": (HALL, {}),
    "512 more GPUs": (HALL, {"cluster.nodes": 96}),
    "512 more GPUs, idle nodes powered down": (HALL, {"cluster.nodes": 96, "scheduler.power_down": POWER_DOWN}),
    "a 500 W power cap on every GPU": (HALL, {"cluster.power_cap_w": 500}),
    "a hotter, humid climate and an older plant": (HALL, {"cooling.weather": "tmy2-miami-fl",
                                                          "cooling.chiller": "air-cooled",
                                                          "cooling.economizer": "none"}),
    "an undersized plant": (HALL, {"cooling.capacity_margin": 0.7}),
}

CARBON = "scenarios/carbon_aware.yaml"
#: the carbon-aware table: no deferral first (the reference of the savings), then each forecast
CARBON_ROWS: dict[str, tuple[str, dict]] = {
    "no deferral": (CARBON, {"scheduler.controls": []}),
    "persistence": (CARBON, {}),
    "perfect": (CARBON, {"supply.grid.carbon_intensity.forecast.kind": "perfect"}),
}

SOLAR = "scenarios/solar_battery.yaml"
SOLAR_ROWS: dict[str, tuple[str, dict]] = {
    "PV and battery": (SOLAR, {}),
    "no battery": (SOLAR, {"supply.battery.capacity_kwh": 0}),
    "grid only": (SOLAR, {"supply.pv.capacity_kw": 0, "supply.battery.capacity_kwh": 0}),
}

#: the same hall on the GB 2020 grid with the GB production file's own mix
GB = {"supply.grid.carbon_intensity": {"trace": "gb-2020"}, "supply.grid.renewable_fraction": None,
      "supply.grid.carbon_free_fraction": None}
GB_ROWS: dict[str, tuple[str, dict]] = {
    "self-consumption": (SOLAR, GB),
    "carbon-aware, persistence": (SOLAR, {**GB, "supply.battery.dispatch": "carbon-aware"}),
    "carbon-aware, perfect": (SOLAR, {**GB, "supply.battery.dispatch": "carbon-aware",
                                      "supply.grid.carbon_intensity": {"trace": "gb-2020",
                                                                       "forecast": {"kind": "perfect"}}}),
}


def _pct(x: float) -> str:
    return f"{x:.1%}".replace("%", " %")


def hall_figures(path: str, overrides: dict) -> list[str]:
    """energy MWh, PUE, t CO2e, work done EFLOP, kWh per EFLOP, mean JCT h, mean run h, mean wait h."""
    r = simulate(load_scenario(path, overrides=overrides))
    s, jobs = r.summary, r.jobs
    done_eflop = jobs.done_flops.sum() / 1e18
    completed = jobs[jobs.state == "completed"]
    run_h = ((completed.end_s - completed.start_s) / 3600).mean()
    return [f"{s['facility_energy_kwh'] / 1000:.1f}", f"{s['pue']:.3f}", f"{s['carbon_kg'] / 1000:.1f}",
            f"{done_eflop:,.0f}", f"{s['facility_energy_kwh'] / done_eflop:.3f}",
            f"{s['mean_jct_s'] / 3600:.1f}", f"{run_h:.2f}", f"{s['mean_wait_s'] / 3600:.2f}"]


def carbon_figures(path: str, overrides: dict) -> tuple[float, float]:
    """(kg CO2e, mean JCT h)."""
    s = simulate(load_scenario(path, overrides=overrides)).summary
    return s["carbon_kg"], s["mean_jct_s"] / 3600


def carbon_table() -> list[list[str]]:
    """The cells after the command and forecast: kg CO2e, saving against no deferral, mean JCT h."""
    figs = [carbon_figures(p, o) for p, o in CARBON_ROWS.values()]
    ref = figs[0][0]
    rows = []
    for i, (kg, jct) in enumerate(figs):
        saving = "–" if i == 0 else f"{ref - kg:.1f} kg ({(ref - kg) / ref:.1%})".replace("%", " %")
        rows.append([f"{kg:.1f}", saving, f"{jct:.2f}"])
    return rows


def solar_figures(path: str, overrides: dict) -> list[str]:
    """renewable share (location), on-site, annual matched, t CO2e, energy cost."""
    s = simulate(load_scenario(path, overrides=overrides)).summary
    return [_pct(s["renewable_share"]), _pct(s["renewable_share_onsite"]), _pct(s["annual_matched_share"]),
            f"{s['carbon_kg'] / 1000:.2f}", f"{s['cost_energy']:,.0f}"]


def gb_figures(path: str, overrides: dict) -> list[str]:
    """renewable share (location), on-site, t CO2e, energy cost."""
    f = solar_figures(path, overrides)
    return [f[0], f[1], f[3], f[4]]


if __name__ == "__main__":
    print("carbon", carbon_table())
    for rows, fig in ((HALL_ROWS, hall_figures), (SOLAR_ROWS, solar_figures), (GB_ROWS, gb_figures)):
        for label, (path, o) in rows.items():
            print(label, "|", " | ".join(fig(path, o)))
