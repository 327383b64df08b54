"""Reading wattsim results for figures, reports and notebooks.

`analysis` reads what `sim` writes and never the other way round: `sim` does
not import this package. Everything here works on whatever columns a run
has: a grid-only run with a constant PUE has no supply or cooling readings,
and the figures say so instead of failing.

    import analysis
    run = analysis.load("runs/baseline")        # a Run: DataFrames + summary + manifest
    run.timeseries, run.jobs, run.nodes, run.summary_table()
    sweep = analysis.load_sweep("sweep.parquet")  # a row per run
    analysis.sweep_parameters(sweep), analysis.sweep_metrics(sweep)

Column names carry their unit (`facility_power_w`, `start_s`, `energy_kwh`);
the columns added here follow the same rule (`elapsed_h`, `start_h`).
Modules: `runs` (run folders and sweep tables), `figures`, `report`, `cli`.
Names load on first use, so `wattsim --help` (which finds `wattsim report`
through an entry point) does not import pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Run",
    "collect_runs",
    "load",
    "load_sweep",
    "sweep_metrics",
    "sweep_parameters",
]


def __getattr__(name: str) -> Any:
    runs = import_module("analysis.runs")
    try:
        return getattr(runs, name)
    except AttributeError:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}") from None
