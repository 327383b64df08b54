"""The one picture `wattsim run` draws: facility power by component over time, and,
when the run has any supply besides the grid, what served the demand (grid, PV, wind,
battery) with the renewable share.

Richer figures and reports live in the `analysis` package; this module exists
so that a run folder always carries a look at its power without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from sim.results.result import Result

_STACK = (
    ("accelerator_power_w", "accelerators"),
    ("host_power_w", "hosts"),
    ("network_power_w", "network"),
    ("background_power_w", "background load"),
    ("cooling_power_w", "cooling"),
    ("losses_power_w", "losses"),
)


_SUPPLY = (
    ("grid_import_w", "grid import"),
    ("pv_w", "PV"),
    ("wind_w", "wind"),
    ("battery_discharge_w", "battery discharge"),
)
MAX_POINTS = 1500
"""More bins than this (e.g. a year of 15-min bins) are drawn as daily means."""


def has_supply(ts: pd.DataFrame) -> bool:
    """Whether the run had anything besides the grid (PV, wind, battery, PPA)."""
    cols = ("pv_w", "wind_w", "battery_discharge_w", "battery_charge_w", "ppa_w")
    return any(c in ts and float(ts[c].abs().sum()) > 0 for c in cols)


def _coarse(ts: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Daily means of the numeric columns when there are too many bins (equal bins: plain means)."""
    if len(ts) <= MAX_POINTS:
        return ts, ""
    daily = ts.set_index("time").select_dtypes("number").resample("D").mean()
    return daily.reset_index(), " (daily means)"


def plot_power(result: Result, path: str | Path) -> Path:
    """Stacked mean power per bin (kW) with PUE on a second axis, and the supply when there
    is any; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts, note = _coarse(result.timeseries)
    supply = has_supply(result.timeseries)
    if supply:
        fig, (ax, ax_s) = plt.subplots(2, 1, figsize=(10, 7.5), dpi=110, sharex=True)
    else:
        fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    cols = [(c, label) for c, label in _STACK if c in ts and ts[c].abs().sum() > 0]
    ax.stackplot(ts["time"], *[ts[c] / 1e3 for c, _ in cols], labels=[lbl for _, lbl in cols],
                 step="post", alpha=0.85)
    ax.set_ylabel("power (kW)")
    ax.set_xlabel("time (UTC)")
    ax.set_title(f"{result.summary.get('name', 'run')}: facility power by component{note}")
    ax.legend(loc="upper left", fontsize=8)
    if "pue" in ts:
        ax2 = ax.twinx()
        ax2.plot(ts["time"], ts["pue"], color="black", lw=0.8, label="PUE")
        ax2.set_ylabel("PUE (1)")
        top = float(ts["pue"].max()) if ts["pue"].notna().any() else 1.2
        ax2.set_ylim(1.0, max(top * 1.05, 1.2))  # PUE >= 1; a flat PUE should look flat
        ax2.ticklabel_format(axis="y", useOffset=False)
        ax2.legend(loc="upper right", fontsize=8)
    if supply:
        _supply_panel(ax_s, ts, result.summary)
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def _supply_panel(ax: Any, ts: pd.DataFrame, summary: dict[str, Any]) -> None:
    """What served the demand (stacked, kW), the demand, battery charging below zero, and the
    renewable share (location-based) on a second axis from 0 to 1."""
    cols = [(c, label) for c, label in _SUPPLY if c in ts and ts[c].abs().sum() > 0]
    # PV and wind drawn as what reached the load or the battery, not what was curtailed/exported
    values = []
    for c, _ in cols:
        v = ts[c] / 1e3
        if c in ("pv_w", "wind_w") and "renewable_used_w" in ts:
            gen = (ts.get("pv_w", 0.0) + ts.get("wind_w", 0.0)).replace(0, 1.0)
            v = v * (ts["renewable_used_w"] / gen).clip(0, 1)
        values.append(v)
    ax.stackplot(ts["time"], *values, labels=[lbl for _, lbl in cols], step="post", alpha=0.8)
    if "battery_charge_w" in ts and ts["battery_charge_w"].abs().sum() > 0:
        ax.fill_between(ts["time"], -ts["battery_charge_w"] / 1e3, 0, step="post", alpha=0.5,
                        label="battery charge")
    if "ppa_w" in ts and ts["ppa_w"].abs().sum() > 0:
        ax.step(ts["time"], ts["ppa_w"] / 1e3, where="post", ls="--", lw=0.9, label="PPA (contracted)")
    if "demand_w" in ts:
        ax.step(ts["time"], ts["demand_w"] / 1e3, where="post", color="black", lw=0.9, label="demand")
    ax.set_ylabel("power (kW)")
    ax.set_xlabel("time (UTC)")
    share = summary.get("renewable_share")
    onsite = summary.get("renewable_share_onsite")
    text = f"renewable share {share:.1%}" if isinstance(share, float) and share == share else "renewable share unknown"
    if isinstance(onsite, float):
        text += f", on-site {onsite:.1%}"
    ax.set_title(f"supply against demand ({text})")
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    if "renewable_share" in ts and ts["renewable_share"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(ts["time"], ts["renewable_share"], color="green", lw=0.8, label="renewable share")
        ax2.set_ylim(0.0, 1.0)
        ax2.set_ylabel("renewable share (1)")
        ax2.legend(loc="upper right", fontsize=8)
