"""The table `wattsim run` prints: one unit per magnitude, parts that add up.

Energy rows share one unit (chosen by the facility total), so the IT parts
(accelerators, hosts, network, background load) add up to the IT line and IT
plus cooling and losses to the facility line as printed. Money carries its
currency; carbon is in kg below a tonne and in t above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: (unit, kWh per unit), largest first; the facility total picks one for every energy row
_ENERGY_UNITS = (("GWh", 1e6), ("MWh", 1e3), ("kWh", 1.0), ("Wh", 1e-3))


def energy_unit(kwh: float) -> tuple[str, float]:
    """The unit for energies of this magnitude: the largest with a value of at least 1."""
    for unit, size in _ENERGY_UNITS:
        if abs(kwh) >= size:
            return unit, size
    return "kWh", 1.0


def fmt_energy(kwh: float, unit: tuple[str, float]) -> str:
    name, size = unit
    return f"{kwh / size:,.2f} {name}"


def fmt_carbon(kg: float) -> str:
    """13.7 kg CO2e, 2.35 t CO2e: kg below a tonne, t from a tonne up."""
    if kg != kg:
        return "-"
    return f"{kg / 1000:,.2f} t CO2e" if abs(kg) >= 1000 else f"{kg:,.1f} kg CO2e"


def fmt_money(amount: float, currency: str | None) -> str:
    return f"{amount:,.2f} {currency or '(currency of the supply prices)'}"


def fmt_duration(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds >= 86400:
        return f"{seconds / 86400:.2f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def _pct(value: float | None) -> str:
    return "unknown" if value is None or value != value else f"{value:.1%}"


def _share_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each renewable / carbon-free share with its definition (``SHARE_DEFINITIONS``)."""
    from sim.results.shares import SHARE_DEFINITIONS  # the CLI loads what a command uses

    labels = {"renewable_share": "renewable share", "carbon_free_share": "carbon-free share",
              "renewable_share_onsite": "  on-site renewables",
              "renewable_share_hourly_matched": "  hourly matched (market)",
              "cfe_score": "  24/7 CFE score", "annual_matched_share": "  annual matched (market)"}
    rows = []
    for key, label in labels.items():
        if key not in summary:
            continue
        value = summary[key]
        hint = " (set supply.grid.renewable_fraction)" if value != value else ""
        rows.append((label, f"{_pct(value)}{hint}  [{SHARE_DEFINITIONS[key]}]"))
    return rows


def _cost_rows(summary: Mapping[str, Any], currency: str | None) -> list[tuple[str, str]]:
    cur = summary.get("currency") or currency or "(currency of the supply prices)"
    if "cost_total" not in summary:
        return [("energy cost", fmt_money(summary["cost"], cur))]
    capex = sum(v for k, v in summary.items() if k.startswith("cost_capex_"))
    water = summary.get("water_onsite_l", float("nan"))
    return [
        ("cost (capital / energy / PPA+demand)", f"{summary['cost_total']:,.0f} {cur} ({capex:,.0f} / "
         f"{summary['cost_energy']:,.0f} / {summary['cost_ppa'] + summary['cost_demand_charges']:,.0f})"),
        ("cost per accelerator-hour", f"{summary['cost_per_accelerator_hour']:,.2f} {cur}"),
        ("water on site", f"{water / 1000:,.1f} m3"),
    ]


def summary_table(summary: Mapping[str, Any], currency: str | None = None) -> str:
    """The short table `wattsim run` prints (`currency`: of the supply prices, e.g. USD)."""
    s = summary
    unit = energy_unit(s["facility_energy_kwh"])
    e = lambda key: fmt_energy(s.get(key, 0.0), unit)  # noqa: E731
    parts = ("accelerator", "host", "network", "background")
    it_parts = " + ".join(f"{e(f'{p}_energy_kwh')}" for p in parts)
    overhead = s["cooling_energy_kwh"] + s["losses_energy_kwh"]
    rows = [
        ("facility energy", e("facility_energy_kwh")),
        ("  IT", e("it_energy_kwh")),
        ("    accelerators + hosts + network + background", it_parts),
        ("  cooling + losses", fmt_energy(overhead, unit)),
        ("PUE", f"{s['pue']:.3f}" if s["pue"] == s["pue"] else "-"),
        ("peak power", f"{s['peak_power_kw']:,.1f} kW"),
        *(_share_rows(s) or [("renewable share", f"{s['renewable_share']:.1%}")]),
        ("carbon (operational)", fmt_carbon(s["carbon_kg"])),
        *([("carbon (embodied, amortised)", fmt_carbon(s["embodied_carbon_kg"]))]
          if "embodied_carbon_kg" in s else []),
        *_cost_rows(s, currency),
        ("jobs completed / submitted", f"{s['jobs_completed']} / {s['jobs_submitted']}"
         f" (failed {s['jobs_failed']}, unfinished {s['jobs_unfinished']})"),
        ("mean JCT", fmt_duration(s["mean_jct_s"])),
        ("wait mean / p95 (all jobs)", f"{fmt_duration(s['mean_wait_s'])} / {fmt_duration(s.get('p95_wait_s', math.nan))}"),
    ]
    waiting = int(s.get("jobs_waiting_at_end", 0) or 0)
    if waiting:
        rows.append(("  still waiting at the end", f"{waiting} (oldest {fmt_duration(s.get('oldest_wait_s', 0.0))};"
                     " their waits count up to the end)"))
    rows += [
        ("accelerator utilization", f"{s['gpu_utilization']:.1%}"),
        ("simulated / wall time", f"{fmt_duration(s['simulated_s'])} / {s['wall_s']:.2f} s"
         f" ({s['events']:,} events)"),
    ]
    if s.get("stopped"):
        why = {"timeout": "stopped at its --timeout", "interrupted": "interrupted (Ctrl-C)"}.get(s["stopped"],
                                                                                            str(s["stopped"]))
        rows.append(("PARTIAL", f"the run was {why} after {fmt_duration(s['simulated_s'])} simulated: "
                     "every figure covers only that time"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


__all__ = ["energy_unit", "fmt_carbon", "fmt_duration", "fmt_energy", "fmt_money", "summary_table"]
