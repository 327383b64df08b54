"""The standard figures of a run and of a sweep, each a function returning a Figure.

Every function takes a `Run` (or a run folder path, or an in-memory
`sim.Result`) and returns a `matplotlib.figure.Figure` built without pyplot,
so nothing global is touched and figures need no closing. Every axis is
labelled with its unit in parentheses.

A run may lack a part: a grid-only run has no PV, wind or battery; a
constant-PUE run has no temperatures; a jobs table may have no node
placement. Then the figure draws what exists and writes a note saying what
is missing; `missing(run, name)` tells in advance (the report uses it to skip
a figure that would hold only the note). Nothing raises on a missing column.

Run figures (`RUN_FIGURES`): `renewables_and_carbon`, `supply_vs_demand`,
`power_by_component`, `carbon_vs_consumption`, `temperatures`, `job_timeline`,
`utilization_heatmap`. Sweep figures: `sweep_response`, `pareto_front`; a run
that finished nothing (`finished_nothing`: 0 jobs completed) has no completion
time, and the sweep figures mark it × and count it rather than leave it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

import analysis
from analysis import Run

RunLike = Run | str | Path | Any

#: stacked power components: column, legend label
POWER_STACK: tuple[tuple[str, str], ...] = (
    ("accelerator_power_w", "accelerators"),
    ("host_power_w", "hosts"),
    ("network_power_w", "network"),
    ("background_power_w", "background load"),
    ("cooling_power_w", "cooling"),
    ("losses_power_w", "distribution losses"),
)
#: temperature readings drawn by `temperatures`
TEMPERATURES: tuple[tuple[str, str], ...] = (
    ("outdoor_temp_c", "outdoor dry-bulb"),
    ("wet_bulb_c", "outdoor wet-bulb"),
    ("supply_temp_c", "supply air"),
    ("hall_temp_c", "hall"),
    ("inlet_temp_c", "accelerator inlet"),
)
#: the shares drawn over time: column, legend label (definitions: sim.results.shares.SHARE_DEFINITIONS)
SHARES: tuple[tuple[str, str], ...] = (
    ("renewable_share", "renewable (location-based)"),
    ("carbon_free_share", "carbon-free (location-based)"),
    ("renewable_share_onsite", "on-site renewables"),
    ("cfe_score", "24/7 CFE score"),
)
#: units of column-name suffixes, for axis labels
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_g_per_kwh", "g CO2e/kWh"), ("_per_kwh", "currency/kWh"), ("_kwh", "kWh"), ("_mwh", "MWh"),
    ("_kw", "kW"), ("_w", "W"), ("_wh", "Wh"), ("_j", "J"), ("_kg", "kg CO2e"), ("_s", "s"), ("_h", "h"), ("_c", "°C"),
    ("_fraction", "1"), ("_share", "1"), ("_pct", "%"), ("_deg", "°"), ("_m", "m"),
)
_COUNT_WORDS = ("nodes", "accelerators", "turbines", "count", "chiller_count", "jobs", "seed")

DEFAULT_SIZE = (10.0, 5.0)


# -- helpers --------------------------------------------------------------------


def as_run(run: RunLike) -> Run:
    """A `Run` from a Run, a run folder path or a `sim.Result`."""
    if isinstance(run, Run):
        return run
    if isinstance(run, (str, Path)):
        return analysis.load(run)
    if hasattr(run, "timeseries") and hasattr(run, "summary"):
        return analysis.from_result(run)
    raise TypeError(f"expected a Run, a run folder or a sim.Result, not {type(run).__name__}")


def _nonzero(ts: pd.DataFrame, col: str) -> bool:
    """True when the column exists and holds a finite non-zero value."""
    if col not in ts:
        return False
    values = pd.to_numeric(ts[col], errors="coerce").to_numpy(dtype=float)
    return bool(np.any(np.isfinite(values) & (np.abs(values) > 1e-9)))


def _finite(ts: pd.DataFrame, col: str) -> bool:
    """True when the column exists and holds a finite value."""
    return col in ts and bool(np.isfinite(pd.to_numeric(ts[col], errors="coerce").to_numpy(float)).any())


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="0.35", wrap=True, bbox={"boxstyle": "round", "fc": "0.96", "ec": "0.8"})


def _figure(nrows: int = 1, height_ratios: Sequence[float] | None = None,
            size: tuple[float, float] = DEFAULT_SIZE, sharex: bool = True) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": list(height_ratios)} if height_ratios else None)
    return fig, list(axes[:, 0])


def _time(run: Run) -> pd.Series:
    return run.timeseries["time"] if "time" in run.timeseries else run.timeseries.index.to_series()


def _steps(ax: Axes, x: pd.Series, y: Any, **kw: Any) -> None:
    ax.step(x, y, where="post", **kw)


def _time_axis(ax: Axes) -> None:
    ax.set_xlabel("time (UTC)")
    for label in ax.get_xticklabels():
        label.set_rotation(20)
        label.set_horizontalalignment("right")


def unit_label(column: str) -> str:
    """An axis label for a column: its name and unit, e.g. `mean_jct_s (s)`."""
    from sim.results.result import SUMMARY_KEYS

    if column in SUMMARY_KEYS:
        return f"{column} ({SUMMARY_KEYS[column][0]})"
    leaf = column.rsplit(".", 1)[-1]
    for suffix, unit in _SUFFIX_UNITS:
        if leaf.endswith(suffix):
            return f"{column} ({unit})"
    if leaf in ("pue", "cop") or leaf.endswith("utilization"):
        return f"{column} (1)"
    if any(leaf == w or leaf.endswith(w) for w in _COUNT_WORDS):
        return f"{column} (count)"
    return f"{column} (as in the scenario)"


def _title(fig: Figure, run: Run, what: str) -> None:
    fig.suptitle(f"{run.name}: {what}", fontsize=11)


# -- what is missing --------------------------------------------------------------


def missing(run: RunLike, name: str) -> str | None:
    """Why figure `name` would be only a note for this run, or None if it has data."""
    run = as_run(run)
    ts = run.timeseries
    if name == "power_by_component":
        return None if any(_nonzero(ts, c) for c, _ in POWER_STACK) else "no power columns"
    if name == "renewables_and_carbon":
        if any(_finite(ts, c) for c, _ in SHARES) or _nonzero(ts, "carbon_kg"):
            return None
        return "no renewable share or carbon columns"
    if name == "supply_vs_demand":
        return None if (_finite(ts, "facility_power_w") or _finite(ts, "demand_w")) else "no demand column"
    if name == "carbon_vs_consumption":
        if not _finite(ts, "facility_power_w"):
            return "no facility power column"
        if _finite(ts, "carbon_intensity_g_per_kwh") or (_nonzero(ts, "carbon_kg") and
                                                         _nonzero(ts, "grid_import_w")):
            return None
        return "no carbon intensity (no carbon_intensity_g_per_kwh, no carbon_kg with grid_import_w)"
    if name == "temperatures":
        if any(_finite(ts, c) for c, _ in TEMPERATURES):
            return None
        return "no temperature readings (a constant-PUE run has no thermal model)"
    if name == "job_timeline":
        jobs = run.jobs
        if "start_s" in jobs and jobs["start_s"].notna().any():
            return None
        return "no job started"
    if name == "utilization_heatmap":
        return None if (len(run.nodes) or _finite(ts, "busy_accelerators")) else "no node table"
    raise KeyError(f"unknown figure {name!r}; known: {', '.join(RUN_FIGURES)}")


# -- run figures --------------------------------------------------------------------


def power_by_component(run: RunLike) -> Figure:
    """Facility power by component over time, stacked (kW), with PUE on a second axis.

    Components: accelerators, hosts, network, background load, cooling and
    distribution losses (the `*_power_w` columns, per-bin means). The PUE
    line is the per-bin facility / IT energy.
    """
    run = as_run(run)
    ts = run.timeseries
    fig, (ax,) = _figure()
    cols = [(c, lbl) for c, lbl in POWER_STACK if _nonzero(ts, c)]
    if cols:
        ax.stackplot(_time(run), *[ts[c].fillna(0.0) / 1e3 for c, _ in cols],
                     labels=[lbl for _, lbl in cols], step="post", alpha=0.85)
        ax.legend(loc="upper left", fontsize=8, ncol=min(3, len(cols)))
    else:
        _note(ax, "no power columns in this run")
    ax.set_ylabel("power (kW)")
    ax.set_ylim(bottom=0)
    _time_axis(ax)
    if _finite(ts, "pue"):
        ax2 = ax.twinx()
        _steps(ax2, _time(run), ts["pue"], color="black", lw=1.0, label="PUE")
        ax2.set_ylabel("PUE (1)")
        lo, hi = np.nanmin(ts["pue"]), np.nanmax(ts["pue"])
        pad = max(0.02, 0.1 * (hi - lo))
        ax2.set_ylim(max(1.0, lo - pad) - 0.01, hi + pad)
        ax2.legend(loc="upper right", fontsize=8)
    _title(fig, run, "facility power by component")
    return fig


def supply_vs_demand(run: RunLike) -> Figure:
    """Where the power came from (stacked, kW) against the demand, and the renewable share.

    Above zero, the sources: renewables used on site (PV + wind, to the load
    or into the battery), battery discharge, grid import; their sum equals
    demand + battery charge (the supply balance). Below zero, what left:
    grid export and curtailment. Lines: demand, and PV and wind generation.
    Lower panel: renewable share of demand per bin (%) and, with a battery,
    its state of charge (kWh). A grid-only run is drawn as grid import =
    demand, with a note.
    """
    run = as_run(run)
    ts = run.timeseries
    t = _time(run)
    fig, (ax, ax_share) = _figure(2, height_ratios=(3, 1.3), size=(10.0, 6.5))
    demand_col = "demand_w" if _finite(ts, "demand_w") else "facility_power_w"
    if not _finite(ts, demand_col):
        _note(ax, "no demand column in this run")
        _note(ax_share, "no demand column in this run")
        ax.set_ylabel("power (kW)")
        ax_share.set_ylabel("renewable share (%)")
        _time_axis(ax_share)
        _title(fig, run, "supply and demand")
        return fig
    demand = ts[demand_col].fillna(0.0) / 1e3
    sources = [(c, lbl) for c, lbl in (("renewable_used_w", "renewables used (PV + wind)"),
                                        ("battery_discharge_w", "battery discharge"),
                                        ("grid_import_w", "grid import")) if _nonzero(ts, c)]
    grid_only = not any(_nonzero(ts, c) for c in ("pv_w", "wind_w", "battery_discharge_w",
                                                  "battery_charge_w", "renewable_used_w", "ppa_w"))
    colors = {"renewables used (PV + wind)": "tab:green", "battery discharge": "tab:purple",
              "grid import": "tab:gray"}
    if sources:
        ax.stackplot(t, *[ts[c].fillna(0.0) / 1e3 for c, _ in sources], labels=[lbl for _, lbl in sources],
                     colors=[colors[lbl] for _, lbl in sources], step="post", alpha=0.6)
    else:  # no supply flows: everything came from the grid
        ax.stackplot(t, demand, labels=["grid import (= demand)"], colors=["tab:gray"], step="post",
                     alpha=0.6)
    sinks = [(c, lbl, col) for c, lbl, col in (("grid_export_w", "grid export", "tab:cyan"),
                                              ("curtailed_w", "curtailed", "tab:red")) if _nonzero(ts, c)]
    if sinks:
        ax.stackplot(t, *[-ts[c].fillna(0.0) / 1e3 for c, _, _ in sinks],
                     labels=[lbl for _, lbl, _ in sinks], colors=[col for _, _, col in sinks],
                     step="post", alpha=0.5)
        ax.axhline(0.0, color="black", lw=0.6)
    _steps(ax, t, demand, color="black", lw=1.2, label="demand")
    if _nonzero(ts, "battery_charge_w"):
        _steps(ax, t, demand + ts["battery_charge_w"].fillna(0.0) / 1e3, color="black", lw=0.8, ls="--",
               label="demand + battery charge")
    for col, lbl, color in (("pv_w", "PV generation", "orange"), ("wind_w", "wind generation", "tab:blue")):
        if _nonzero(ts, col):
            _steps(ax, t, ts[col] / 1e3, color=color, lw=1.0, label=lbl)
    ax.set_ylabel("power (kW)")
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    if grid_only:
        _note(ax, "grid only: no PV, wind, battery or PPA in this run")
    # renewable shares per bin: on-site, and location-based (with the grid's mix) when known
    share = None
    d = ts[demand_col].to_numpy(float)
    if _finite(ts, "renewable_share_onsite"):
        share = ts["renewable_share_onsite"].to_numpy(float)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if _finite(ts, "renewable_to_load_w"):
                share = np.where(d > 0, ts["renewable_to_load_w"].to_numpy(float) / d, np.nan)
            elif _finite(ts, "renewable_used_w"):
                share = np.where(d > 0, ts["renewable_used_w"].to_numpy(float) / d, np.nan)
    if share is None:
        share = np.zeros(len(ts))
    _steps(ax_share, t, 100.0 * np.clip(share, 0.0, None), color="tab:green", lw=1.2,
           label="on-site renewables")
    if _finite(ts, "renewable_share"):
        _steps(ax_share, t, 100.0 * ts["renewable_share"], color="tab:olive", lw=1.0,
               label="renewable, location-based (incl. the grid's mix)")
    overall = run.summary.get("renewable_share_onsite", run.summary.get("renewable_share"))
    if overall is not None and np.isfinite(overall):
        ax_share.axhline(100.0 * overall, color="tab:green", ls=":", lw=1.0,
                         label=f"on-site, whole run {100.0 * overall:.1f} %")
    ax_share.set_ylabel("renewable share (%)")
    ax_share.set_ylim(0, 100)
    ax_share.legend(loc="upper left", fontsize=8)
    if _nonzero(ts, "battery_soc_kwh"):
        ax_soc = ax_share.twinx()
        _steps(ax_soc, t, ts["battery_soc_kwh"], color="tab:purple", lw=1.0, label="battery charge")
        ax_soc.set_ylabel("battery state of charge (kWh)")
        ax_soc.set_ylim(bottom=0)
        ax_soc.legend(loc="upper right", fontsize=8)
    _time_axis(ax_share)
    _title(fig, run, "supply and demand")
    return fig


def _intensity(run: Run) -> tuple[np.ndarray | None, str]:
    """Grid carbon intensity per bin (g CO2e/kWh) and where it came from."""
    ts = run.timeseries
    if _finite(ts, "carbon_intensity_g_per_kwh"):
        return ts["carbon_intensity_g_per_kwh"].to_numpy(float), "grid carbon intensity"
    if _nonzero(ts, "carbon_kg") and _nonzero(ts, "grid_import_w") and "time" in ts and len(ts) > 1:
        widths = ts["time"].diff().dt.total_seconds().bfill().to_numpy(float)
        import_kwh = ts["grid_import_w"].to_numpy(float) * widths / 3.6e6
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = np.where(import_kwh > 0, ts["carbon_kg"].to_numpy(float) * 1e3 / import_kwh, np.nan)
        return ci, "carbon per grid kWh (from carbon_kg / import)"
    return None, ""


def carbon_vs_consumption(run: RunLike) -> Figure:
    """When did the load run? Facility power against the grid's carbon intensity.

    Left: facility power (kW) and carbon intensity (g CO2e/kWh) over time.
    Right: each bin's facility energy (kWh) against its intensity, with the
    consumption-weighted mean intensity (what the load saw) beside the plain
    time mean (what a flat load would have seen): a carbon-aware schedule
    moves the first below the second.
    """
    run = as_run(run)
    ts = run.timeseries
    fig = Figure(figsize=(11.0, 4.8), dpi=100, layout="constrained")
    ax, ax_sc = fig.subplots(1, 2, gridspec_kw={"width_ratios": (2.2, 1)})
    ci, source = _intensity(run)
    t = _time(run)
    power_kw = ts["facility_power_w"].fillna(0.0) / 1e3 if "facility_power_w" in ts else None
    if power_kw is not None:
        _steps(ax, t, power_kw, color="tab:blue", lw=1.2, label="facility power")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8)
    else:
        _note(ax, "no facility power column")
    ax.set_ylabel("facility power (kW)")
    _time_axis(ax)
    if ci is not None:
        ax2 = ax.twinx()
        _steps(ax2, t, ci, color="tab:brown", lw=1.0, label=source)
        ax2.set_ylabel("carbon intensity (g CO2e/kWh)")
        ax2.legend(loc="upper right", fontsize=8)
    if ci is not None and "facility_energy_kwh" in ts:
        e = ts["facility_energy_kwh"].to_numpy(float)
        ok = np.isfinite(ci) & np.isfinite(e)
        ax_sc.scatter(ci[ok], e[ok], s=12, alpha=0.6, color="tab:blue")
        if ok.any() and e[ok].sum() > 0:
            weighted = float(np.sum(ci[ok] * e[ok]) / np.sum(e[ok]))
            plain = float(np.mean(ci[ok]))
            ax_sc.axvline(weighted, color="tab:red", lw=1.2, label=f"load-weighted {weighted:.0f}")
            ax_sc.axvline(plain, color="0.4", ls="--", lw=1.0, label=f"time mean {plain:.0f}")
            ax_sc.legend(fontsize=8, loc="upper right")
    else:
        _note(ax_sc, "no carbon intensity in this run")
    ax_sc.set_xlabel("carbon intensity (g CO2e/kWh)")
    ax_sc.set_ylabel("facility energy per bin (kWh)")
    _title(fig, run, "carbon intensity and consumption")
    return fig


def temperatures(run: RunLike) -> Figure:
    """Temperatures (°C) and throttling over time.

    Upper: outdoor dry- and wet-bulb, supply air, hall and accelerator inlet
    temperatures, with the inlet limit of the cooling section when there is
    one. Lower: the thermal accelerator power cap (% of full power; 100 % =
    no throttling) and the economizer's free-cooling fraction (%).
    """
    run = as_run(run)
    ts = run.timeseries
    t = _time(run)
    fig, (ax, ax_cap) = _figure(2, height_ratios=(2.2, 1), size=(10.0, 6.0))
    drawn = [(c, lbl) for c, lbl in TEMPERATURES if _finite(ts, c)]
    for c, lbl in drawn:
        _steps(ax, t, ts[c], lw=1.1, label=lbl)
    cooling = run.scenario.get("cooling") or {}
    limit = cooling.get("inlet_limit_c")
    if drawn and limit is not None:
        ax.axhline(float(limit), color="tab:red", ls="--", lw=1.0, label=f"inlet limit {float(limit):g} °C")
    if drawn:
        ax.legend(loc="upper left", fontsize=8, ncol=3)
    else:
        model = cooling.get("model", "unknown")
        _note(ax, f"no temperature readings: cooling model {model!r} has no thermal state")
    ax.set_ylabel("temperature (°C)")
    fractions = [(c, lbl, col) for c, lbl, col in (
        ("accelerator_cap_fraction", "accelerator power cap (100 % = not throttled)", "tab:red"),
        ("free_cooling_fraction", "free cooling (economizer)", "tab:cyan")) if _finite(ts, c)]
    for c, lbl, col in fractions:
        _steps(ax_cap, t, 100.0 * ts[c], color=col, lw=1.1, label=lbl)
    if fractions:
        ax_cap.set_ylim(-5, 105)
        ax_cap.legend(loc="lower left", fontsize=8)
        if "accelerator_cap_fraction" in ts:
            throttled = (ts["accelerator_cap_fraction"] < 0.999).mean()
            ax_cap.set_title(f"throttled in {100.0 * throttled:.1f} % of the bins", fontsize=9)
    else:
        _note(ax_cap, "no throttling or free-cooling readings")
    ax_cap.set_ylabel("fraction (%)")
    _time_axis(ax_cap)
    _title(fig, run, "temperatures and throttling")
    return fig


_STATE_COLORS = {"completed": "tab:green", "running": "tab:blue", "queued": "tab:orange",
                 "failed": "tab:red", "pending": "0.7"}


def job_timeline(run: RunLike, max_rows: int = 400) -> Figure:
    """Job timeline (Gantt) and queue length.

    With node placement in the jobs table (a `nodes` column of node names)
    the rows are nodes and each job draws a bar on each of its nodes. Without
    it the rows are jobs (ordered by start): a light bar from submit to
    start (waiting), a solid one from start to end (running; open-ended jobs
    run to the horizon), coloured by final state. At most `max_rows` rows
    (the earliest) are drawn. Lower panel: jobs queued and running per bin.
    Time is hours since the scenario start.
    """
    run = as_run(run)
    jobs = run.jobs
    horizon_h = run.simulated_s / 3600.0
    fig, (ax, ax_q) = _figure(2, height_ratios=(3, 1), size=(10.0, 7.0))
    started = jobs[jobs["start_h"].notna()] if "start_h" in jobs else jobs.iloc[0:0]
    by_node = "nodes" in jobs and any(len(v) for v in jobs["nodes"])
    if started.empty:
        _note(ax, "no job started in this run")
        ax.set_ylabel("job (id)")
    elif by_node:
        order = list(run.nodes["node"]) if "node" in run.nodes else []
        for names in started["nodes"]:
            order += [n for n in names if n not in order]
        order = order[:max_rows]
        row = {n: i for i, n in enumerate(order)}
        cmap = _cycle_colors()
        for k, (_, job) in enumerate(started.iterrows()):
            end = job["end_h"] if np.isfinite(job["end_h"]) else horizon_h
            for n in job["nodes"]:
                if n in row:
                    ax.barh(row[n], end - job["start_h"], left=job["start_h"], height=0.8,
                            color=cmap[k % len(cmap)], alpha=0.8, edgecolor="white", lw=0.3)
        ax.set_yticks(range(len(order)))
        ax.set_yticklabels(order if len(order) <= 40 else [""] * len(order), fontsize=7)
        ax.set_ylabel("node (name)")
        ax.invert_yaxis()
    else:
        started = started.sort_values(["start_h", "submit_h"]).head(max_rows)
        y = np.arange(len(started))
        end = started["end_h"].fillna(horizon_h).to_numpy(float)
        start = started["start_h"].to_numpy(float)
        submit = started["submit_h"].to_numpy(float)
        colors = [_STATE_COLORS.get(str(s), "tab:gray") for s in started.get("state", ["completed"] * len(y))]
        ax.barh(y, start - submit, left=submit, height=0.8, color="0.85")
        ax.barh(y, np.maximum(end - start, horizon_h * 1e-3), left=start, height=0.8, color=colors)
        handles = [Patch(color="0.85", label="waiting")]
        handles += [Patch(color=color, label=state) for state, color in _STATE_COLORS.items()
                    if "state" in started and (started["state"] == state).any()]
        if len(y) <= 40:
            names = started["name"] if "name" in started else started.index
            ax.set_yticks(y)
            ax.set_yticklabels([str(n) for n in names], fontsize=7)
        ax.set_ylabel("job (in start order)")
        ax.invert_yaxis()
        ax.legend(handles=handles, loc="lower right", fontsize=8)
        ax.set_title("no node placement in the jobs table: one row per job", fontsize=9)
    ts = run.timeseries
    drawn = False
    for col, lbl, color in (("jobs_queued", "queued", "tab:orange"), ("jobs_running", "running", "tab:blue")):
        if col in ts and "elapsed_h" in ts:
            _steps(ax_q, ts["elapsed_h"], ts[col], color=color, lw=1.1, label=lbl)
            drawn = True
    if drawn:
        ax_q.legend(loc="upper right", fontsize=8)
        ax_q.set_ylim(bottom=0)
    else:
        _note(ax_q, "no queue columns in the time series")
    ax_q.set_ylabel("jobs (count)")
    ax_q.set_xlabel("time since start (h)")
    ax_q.set_xlim(0, max(horizon_h, 1e-6))
    _title(fig, run, "job timeline and queue")
    return fig


def _cycle_colors() -> list[str]:
    return [f"C{i}" for i in range(10)]


_NODE_COLUMN = re.compile(r"^(?:node[:/.])?(?P<node>.+?)[:/.](?P<what>busy_accelerators|utilization)$")


def node_utilization(run: RunLike) -> tuple[pd.DataFrame | None, str]:
    """Per-node accelerator utilisation over time (rows nodes, columns bin start hours).

    Sources, first that exists: per-node time-series columns named
    `<node>:busy_accelerators` or `<node>:utilization` (also with `/` or `.`
    as separator, or a `node:` prefix); else the jobs table's node placement
    (a job's accelerators split evenly over its nodes, integrated exactly per
    bin). Returns (None, reason) when neither exists.
    """
    run = as_run(run)
    ts = run.timeseries
    nodes = run.nodes
    slots = dict(zip(nodes["node"], nodes["accelerators"])) if {"node", "accelerators"} <= set(nodes) else {}
    hours = ts["elapsed_h"].to_numpy(float) if "elapsed_h" in ts else np.array([])
    found: dict[str, np.ndarray] = {}
    for col in ts.columns:
        m = _NODE_COLUMN.match(str(col))
        if m and (not slots or m["node"] in slots):
            values = ts[col].to_numpy(float)
            if m["what"] == "busy_accelerators":
                values = values / max(float(slots.get(m["node"], 1)), 1.0)
            found[m["node"]] = values
    if found and len(hours):
        return pd.DataFrame(found, index=hours).T, "per-node time-series columns"
    jobs = run.jobs
    if "nodes" in jobs and any(len(v) for v in jobs["nodes"]) and len(hours) and slots:
        edges = np.append(hours, run.simulated_s / 3600.0)
        busy = {n: np.zeros(len(hours)) for n in slots}
        for _, job in jobs[jobs["start_h"].notna()].iterrows():
            names = [n for n in job["nodes"] if n in busy]
            if not names:
                continue
            a, b = job["start_h"], job["end_h"] if np.isfinite(job["end_h"]) else edges[-1]
            overlap = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)
            width = np.maximum(np.diff(edges), 1e-12)
            per_node = float(job.get("accelerators", len(names))) / len(names)
            for n in names:
                busy[n] += per_node * overlap / width
        frame = pd.DataFrame({n: busy[n] / max(float(slots[n]), 1.0) for n in busy}, index=hours).T
        return frame, "node placement in the jobs table"
    return None, "no per-node time series and no node placement in the jobs table"


def utilization_heatmap(run: RunLike) -> Figure:
    """Accelerator utilisation, node x time (%), as a heatmap.

    Uses `node_utilization` (per-node time series, else job placement). When
    neither exists, the figure falls back to the cluster-wide utilisation
    over time (busy_accelerators / all accelerators, one heatmap row) above
    a bar per node of its whole-run utilisation from nodes.parquet, and says
    so.
    """
    run = as_run(run)
    frame, source = node_utilization(run)
    hours_end = run.simulated_s / 3600.0
    if frame is not None:
        fig, (ax,) = _figure(size=(10.0, max(3.0, min(9.0, 1.5 + 0.25 * len(frame)))))
        edges = np.append(frame.columns.to_numpy(float), hours_end)
        mesh = ax.pcolormesh(edges, np.arange(len(frame) + 1), 100.0 * frame.to_numpy(float),
                             vmin=0, vmax=100, cmap="viridis", shading="flat")
        ax.set_yticks(np.arange(len(frame)) + 0.5)
        ax.set_yticklabels(frame.index if len(frame) <= 40 else [""] * len(frame), fontsize=7)
        ax.invert_yaxis()
        ax.set_ylabel("node (name)")
        ax.set_xlabel("time since start (h)")
        cbar = fig.colorbar(mesh, ax=ax)
        cbar.set_label("accelerator utilisation (%)")
        ax.set_title(f"from {source}", fontsize=9)
        _title(fig, run, "accelerator utilisation by node")
        return fig
    ts = run.timeseries
    nodes = run.nodes
    fig, (ax_t, ax_n) = _figure(2, height_ratios=(1, 2.5), size=(10.0, 6.0), sharex=False)
    capacity = float(nodes["accelerators"].sum()) if "accelerators" in nodes else 0.0
    if _finite(ts, "busy_accelerators") and capacity > 0 and "elapsed_h" in ts:
        edges = np.append(ts["elapsed_h"].to_numpy(float), hours_end)
        row = 100.0 * ts["busy_accelerators"].to_numpy(float)[None, :] / capacity
        mesh = ax_t.pcolormesh(edges, [0, 1], row, vmin=0, vmax=100, cmap="viridis", shading="flat")
        cbar = fig.colorbar(mesh, ax=ax_t)
        cbar.set_label("utilisation (%)")
        ax_t.set_yticks([0.5])
        ax_t.set_yticklabels(["cluster"])
    else:
        _note(ax_t, "no busy_accelerators column")
    ax_t.set_xlabel("time since start (h)")
    ax_t.set_ylabel("all nodes (cluster)")
    ax_t.set_title(f"{source}: cluster-wide over time, per node over the whole run", fontsize=9)
    if {"node", "utilization"} <= set(nodes) and len(nodes):
        shown = nodes.head(60)
        ax_n.bar(shown["node"].astype(str), 100.0 * shown["utilization"].astype(float), color="tab:green")
        ax_n.set_ylim(0, 100)
        for label in ax_n.get_xticklabels():
            label.set_rotation(60 if len(shown) > 8 else 0)
            label.set_fontsize(7)
    else:
        _note(ax_n, "no per-node utilisation in nodes.parquet")
    ax_n.set_xlabel("node (name)")
    ax_n.set_ylabel("utilisation over the run (%)")
    _title(fig, run, "accelerator utilisation")
    return fig


def _honest_limits(ax: Axes, values: np.ndarray, floor: float | None = 0.0) -> None:
    """Axis limits that show a constant series as constant: pad around its value instead of
    letting matplotlib blow up a 1e-12 wiggle into the full height."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return
    lo, hi = float(v.min()), float(v.max())
    pad = max(0.1 * (hi - lo), 0.05 * max(abs(hi), abs(lo)), 1e-9)
    bottom = lo - pad if floor is None else max(floor, lo - pad)
    if hi - lo <= 1e-9 * max(1.0, abs(hi)) and floor is not None:
        bottom = floor  # a flat line is drawn against zero, where it belongs
    ax.set_ylim(bottom, hi + pad)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def renewables_and_carbon(run: RunLike) -> Figure:
    """Renewable and carbon-free shares and carbon over time, aggregated for long runs.

    Upper: each share of the run per period (%): location-based renewable and
    carbon-free shares (the grid's mix applied to the import, plus on-site
    renewables), on-site renewables alone and the 24/7 CFE score; each period's
    share is that of its energy (``analysis.resample``). Lower: operational
    carbon per period (kg CO2e) and the grid's carbon intensity. A run of more
    than a few hundred bins is drawn hourly, daily, weekly or monthly, so a year
    is a line, not a solid block; the title says which.
    """
    from analysis.resample import choose_frequency, resample

    run = as_run(run)
    ts = run.timeseries
    fig, (ax, ax_c) = _figure(2, height_ratios=(1.6, 1.2), size=(10.0, 6.5))
    if len(ts) > 1:
        interval = float(pd.to_datetime(ts["time"]).diff().dt.total_seconds().median())
    else:
        interval = 3600.0
    freq, word = choose_frequency(interval * len(ts), interval)
    view = resample(ts, freq) if freq else ts
    t = pd.to_datetime(view["time"])
    drawn = False
    for col, label in SHARES:
        if _finite(view, col):
            _steps(ax, t, 100.0 * view[col], lw=1.2, label=label)
            drawn = True
    if drawn:
        ax.set_ylim(0.0, 100.0)
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    else:
        _note(ax, "no share columns in this run")
    if "renewable_share" in ts and not _finite(ts, "renewable_share"):
        _note(ax, "location-based shares unknown: the grid's mix was not given (supply.grid.renewable_fraction)")
    ax.set_ylabel("share of demand (%)")
    if _nonzero(view, "carbon_kg"):
        _steps(ax_c, t, view["carbon_kg"], color="tab:brown", lw=1.2, label=f"carbon per period ({word})")
        _honest_limits(ax_c, view["carbon_kg"].to_numpy(float))
        ax_c.legend(loc="upper left", fontsize=8)
    else:
        _note(ax_c, "no operational carbon in this run")
    ax_c.set_ylabel("carbon (kg CO2e)")
    if _finite(view, "carbon_intensity_g_per_kwh"):
        ax2 = ax_c.twinx()
        _steps(ax2, t, view["carbon_intensity_g_per_kwh"], color="0.4", lw=0.9, ls="--",
               label="grid carbon intensity")
        _honest_limits(ax2, view["carbon_intensity_g_per_kwh"].to_numpy(float))
        ax2.set_ylabel("carbon intensity (g CO2e/kWh)")
        ax2.legend(loc="upper right", fontsize=8)
    _time_axis(ax_c)
    _title(fig, run, f"renewable share and carbon, {word}")
    return fig


#: the run figures, by name, in report order (the supply and renewables first)
RUN_FIGURES: dict[str, Callable[[RunLike], Figure]] = {
    "renewables_and_carbon": renewables_and_carbon,
    "supply_vs_demand": supply_vs_demand,
    "power_by_component": power_by_component,
    "carbon_vs_consumption": carbon_vs_consumption,
    "temperatures": temperatures,
    "job_timeline": job_timeline,
    "utilization_heatmap": utilization_heatmap,
}


def run_figures(run: RunLike, skip_missing: bool = True) -> dict[str, Figure | str]:
    """Every run figure by name; a figure with no data is replaced by the reason (str)."""
    run = as_run(run)
    out: dict[str, Figure | str] = {}
    for name, fn in RUN_FIGURES.items():
        reason = missing(run, name) if skip_missing else None
        out[name] = reason if reason else fn(run)
    return out


# -- sweep figures --------------------------------------------------------------------


def policy_column(sweep: pd.DataFrame, exclude: Sequence[str] = ()) -> str | None:
    """The column that names a policy: `scheduler.queue` if swept, else the first
    swept non-numeric parameter (other than those in `exclude`), else None."""
    params = [p for p in analysis.sweep_parameters(sweep) if p not in exclude and p != "seed"]
    for preferred in ("scheduler.queue", "scheduler.placement", "scheduler.policy"):
        if preferred in params and sweep[preferred].nunique(dropna=False) > 1:
            return preferred
    for p in params:
        if not pd.api.types.is_numeric_dtype(sweep[p]) and sweep[p].nunique(dropna=False) > 1:
            return p
    return None


def _ok(sweep: pd.DataFrame) -> pd.DataFrame:
    if "status" in sweep:
        return sweep[sweep["status"].astype(str).str.lower().isin(("ok", "done", "completed", "success"))]
    return sweep


def finished_nothing(sweep: pd.DataFrame) -> pd.DataFrame:
    """The successful runs of a sweep that completed no job (`jobs_completed` 0 of at least one
    submitted): their completion-time metrics (`mean_jct_s`, `makespan_s`, ...) have no value, so a
    figure cannot place them on its metric axis. The sweep figures mark them (×) and say how many;
    the sweep report lists them. A run with no job at all (a serving sweep) is not among them."""
    df = _ok(sweep)
    if "jobs_completed" not in df:
        return df.iloc[0:0]
    none = pd.to_numeric(df["jobs_completed"], errors="coerce") == 0
    if "jobs_submitted" in df:
        none &= pd.to_numeric(df["jobs_submitted"], errors="coerce").fillna(1) > 0
    return df[none]


def _without_value(df: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Rows of `df` missing a finite value in one of `columns`, and how many of them finished nothing."""
    bad = np.zeros(len(df), dtype=bool)
    for c in columns:
        bad |= ~np.isfinite(pd.to_numeric(df[c], errors="coerce").to_numpy(float))
    rows = df[bad]
    return rows, int(rows.index.isin(finished_nothing(df).index).sum())


def _missing_note(n: int, nothing: int, what: str) -> str:
    """'2 runs without a value (1 finished nothing: 0 jobs completed), marked ×'."""
    why = f" ({nothing} finished nothing: 0 jobs completed)" if nothing else ""
    return f"{n} run{'s' if n != 1 else ''} without {what}{why}, marked ×"


def sweep_response(sweep: pd.DataFrame | str | Path, metric: str, parameter: str,
                   policy: str | None = "auto", band: str = "minmax") -> Figure:
    """A metric against a swept parameter: a line per policy, a band over seeds.

    Rows with the same parameter and policy value (replicates: other seeds)
    are averaged for the line; the band spans their min..max (`band="minmax"`)
    or mean +- one standard deviation (`band="std"`). `policy="auto"` picks
    `policy_column`; None draws one line. Failed runs are left out (the title
    counts them). A run without a value of the metric (one that finished
    nothing has no completion time) is not averaged: it is marked × on the
    x axis at its parameter value, and the title counts it.
    """
    df = analysis.load_sweep(sweep) if isinstance(sweep, (str, Path)) else sweep
    failed = len(df) - len(_ok(df))
    df = _ok(df)
    fig, (ax,) = _figure(size=(8.0, 4.8))
    if policy == "auto":
        policy = policy_column(df, exclude=(parameter,))
    for col in (metric, parameter):
        if col not in df:
            _note(ax, f"no column {col!r} in the sweep table")
    if metric in df and parameter in df and len(df):
        groups = df.groupby(policy, dropna=False) if policy else [(None, df)]
        numeric_x = pd.api.types.is_numeric_dtype(df[parameter])
        categories = sorted(df[parameter].astype(str).unique()) if not numeric_x else []
        for key, g in groups:
            stats = g.groupby(parameter)[metric].agg(["mean", "min", "max", "std", "count"]).sort_index()
            x = stats.index.to_numpy(float) if numeric_x else [categories.index(str(v)) for v in stats.index]
            label = f"{policy}={key}" if policy else metric
            line = ax.plot(x, stats["mean"], marker="o", lw=1.5, label=label)[0]
            if band == "std":
                lo, hi = stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0)
            else:
                lo, hi = stats["min"], stats["max"]
            if (stats["count"] > 1).any():
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
            lost, _ = _without_value(g, [metric])
            if len(lost):
                xs = (lost[parameter].to_numpy(float) if numeric_x
                      else [categories.index(str(v)) for v in lost[parameter]])
                ax.scatter(xs, [0.03] * len(lost), marker="x", s=60, color=line.get_color(), zorder=5,
                           transform=ax.get_xaxis_transform(), clip_on=False,
                           label=f"{label}: no value ({len(lost)})")
        if not numeric_x:
            ax.set_xticks(range(len(categories)))
            ax.set_xticklabels(categories)
        n_seeds = df["seed"].nunique() if "seed" in df else 1
        title = f"mean of {n_seeds} seed(s), band {'min-max' if band != 'std' else '±1 sd'}"
        lost, nothing = _without_value(df, [metric])
        if len(lost):
            title += "; " + _missing_note(len(lost), nothing, "a value")
        if failed:
            title += f"; {failed} failed run{'s' if failed != 1 else ''} left out"
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    ax.set_xlabel(unit_label(parameter))
    ax.set_ylabel(unit_label(metric))
    fig.suptitle(f"{metric} against {parameter}", fontsize=11)
    return fig


def pareto_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True for the points no other point beats in both x and y (both minimised)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    mask = np.zeros(len(x), dtype=bool)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((y[idx], x[idx]))]
    best = np.inf
    for i in order:
        if y[i] < best:
            mask[i] = True
            best = y[i]
    return mask


def pareto_front(sweep: pd.DataFrame | str | Path, energy: str = "facility_energy_kwh",
                 time: str = "auto", policy: str | None = "auto") -> Figure:
    """The energy-time trade-off of a sweep: every run, and its Pareto front.

    x: energy (default facility_energy_kwh), y: time (default makespan_s, or
    mean_jct_s when the makespan is missing); both are minimised. Points are
    coloured by policy; the front (runs no other run beats on both) is
    joined by a line and its runs ringed. A run without a time (one that
    finished nothing has none) cannot be on the front: it is marked × along
    the top at its energy, and the title counts it.
    """
    df = analysis.load_sweep(sweep) if isinstance(sweep, (str, Path)) else sweep
    failed = len(df) - len(_ok(df))
    df = _ok(df)
    if time == "auto":
        time = next((c for c in ("makespan_s", "mean_jct_s", "simulated_s") if c in df and
                     df[c].notna().any()), "makespan_s")
    fig, (ax,) = _figure(size=(8.0, 5.0))
    if policy == "auto":
        policy = policy_column(df)
    lost, nothing = _without_value(df, [energy, time]) if energy in df and time in df else (df.iloc[0:0], 0)
    if energy in df and time in df and df[[energy, time]].notna().all(axis=1).any():
        drawn = df.drop(index=lost.index)
        groups = drawn.groupby(policy, dropna=False) if policy else [(None, drawn)]
        for key, g in groups:
            ax.scatter(g[energy], g[time], s=30, alpha=0.75, label=f"{policy}={key}" if policy else "runs")
        mask = pareto_mask(drawn[energy].to_numpy(float), drawn[time].to_numpy(float))
        front = drawn[mask].sort_values(energy)
        ax.plot(front[energy], front[time], color="black", lw=1.2, drawstyle="steps-post",
                label="Pareto front")
        ax.scatter(front[energy], front[time], s=90, facecolors="none", edgecolors="black")
        title = f"{int(mask.sum())} of {len(drawn)} runs on the front"
        x_lost = pd.to_numeric(lost[energy], errors="coerce")
        if len(lost):
            title += "; " + _missing_note(len(lost), nothing, f"a value of {energy} or {time}")
            on_axis = x_lost[np.isfinite(x_lost.to_numpy(float))]
            if len(on_axis):
                ax.scatter(on_axis, [0.97] * len(on_axis), marker="x", s=60, color="tab:red", zorder=5,
                           transform=ax.get_xaxis_transform(), clip_on=False,
                           label=f"no {time} ({len(lost)})")
        if failed:
            title += f"; {failed} failed run{'s' if failed != 1 else ''} left out"
        ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
    elif len(lost) and len(lost) == len(df):
        _note(ax, f"no run has both {energy!r} and {time!r}: "
                  + _missing_note(len(lost), nothing, "them").removesuffix(", marked ×"))
    else:
        _note(ax, f"need finite {energy!r} and {time!r} columns")
    ax.set_xlabel(unit_label(energy))
    ax.set_ylabel(unit_label(time))
    fig.suptitle("energy against time", fontsize=11)
    return fig


#: a serving sweep's trade-off: energy per output token (comprehensive boundary) against tail latency
SERVING_ENERGY = "serving_energy_per_output_token_comprehensive_j"
SERVING_LATENCIES = ("serving_ttft_p99_s", "serving_tbt_p99_s")


def latency_vs_energy(sweep: pd.DataFrame | str | Path, energy: str = SERVING_ENERGY,
                      latency: str = "serving_tbt_p99_s", policy: str | None = "auto") -> Figure:
    """A serving sweep (batch limits, caps, replicas): energy per output token against a latency
    percentile, every run and its Pareto front (docs/serving.md). Both are minimised."""
    fig = pareto_front(sweep, energy=energy, time=latency, policy=policy)
    fig.suptitle("latency against energy per output token", fontsize=11)
    return fig


def sweep_figures(sweep: pd.DataFrame, metrics: Sequence[str] = ("facility_energy_kwh", "mean_jct_s",
                                                                  "carbon_kg")) -> dict[str, Figure]:
    """Standard sweep figures: each metric against each numeric swept parameter, and the Pareto front."""
    out: dict[str, Figure] = {}
    params = [p for p in analysis.sweep_parameters(sweep) if p != "seed"]
    policy = policy_column(sweep)
    xs = [p for p in params if p != policy and pd.api.types.is_numeric_dtype(sweep[p])
          and sweep[p].nunique() > 1]
    if not xs:  # no numeric axis: another categorical one against the policy lines, else the policy
        xs = [p for p in params if p != policy and sweep[p].nunique() > 1][:1] or ([policy] if policy else [])
    nothing = finished_nothing(sweep)
    for p in xs[:4]:
        for m in metrics:
            # a metric no run has is left out, unless runs that finished nothing are why
            if m in sweep and (sweep[m].notna().any() or len(nothing)):
                out[f"{m} vs {p}"] = sweep_response(sweep, m, p, policy=policy if p != policy else None)
    out["pareto_front"] = pareto_front(sweep, policy=policy)
    if SERVING_ENERGY in sweep and sweep[SERVING_ENERGY].notna().any():
        for lat in SERVING_LATENCIES:
            if lat in sweep and sweep[lat].notna().any():
                out[f"latency vs energy per token ({lat})"] = latency_vs_energy(sweep, latency=lat, policy=policy)
    return out
