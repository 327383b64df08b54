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

CARBON_ROWS: dict[str, tuple[str, dict]] = {
    "carbon-aware": ("scenarios/carbon_aware.yaml", {}),
    "no deferral": ("scenarios/carbon_aware.yaml", {"scheduler.controls": []}),
}

SOLAR_ROWS: dict[str, tuple[str, dict]] = {
    "PV and battery": ("scenarios/solar_battery.yaml", {}),
    "no battery": ("scenarios/solar_battery.yaml", {"supply.battery.capacity_kwh": 0}),
    "grid only": ("scenarios/solar_battery.yaml", {"supply.pv.capacity_kw": 0, "supply.battery.capacity_kwh": 0}),
}


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


def carbon_figures(path: str, overrides: dict) -> list[str]:
    s = simulate(load_scenario(path, overrides=overrides)).summary
    return [f"{s['carbon_kg'] / 1000:.2f}", f"{s['mean_jct_s'] / 3600:.1f}"]


def solar_figures(path: str, overrides: dict) -> list[str]:
    s = simulate(load_scenario(path, overrides=overrides)).summary
    return [f"{s['renewable_share']:.1%}".replace("%", " %"), f"{s['carbon_kg'] / 1000:.2f}", f"{s['cost']:,.0f}"]


if __name__ == "__main__":
    for rows, fig in ((HALL_ROWS, hall_figures), (CARBON_ROWS, carbon_figures), (SOLAR_ROWS, solar_figures)):
        for label, (path, o) in rows.items():
            print(label, "|", " | ".join(fig(path, o)))
