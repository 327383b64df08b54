"""Run folders and sweep tables read back for figures, reports and notebooks (`analysis.load`, ...)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.results.result import Result

__all__ = [
    "Run",
    "collect_runs",
    "load",
    "load_sweep",
    "sweep_metrics",
    "sweep_parameters",
]

#: run-folder files; the three tables are required, the rest optional
RUN_FILES = ("summary.json", "timeseries.parquet", "jobs.parquet", "nodes.parquet")
#: columns of a sweep table that are neither parameters nor metrics
SWEEP_META = ("run_id", "status", "error", "message", "error_message", "wall_s", "sim_wall_s", "name", "run_dir",
              "finished_at")


@dataclass
class Run:
    """One run folder read back: tidy tables, the summary and the manifest.

    `timeseries` gains `elapsed_h` (hours since the scenario start); `jobs`
    gains `submit_h`, `start_h`, `end_h` (hours since the start) and, where
    the table carries node placement, `nodes` as a list of node names.
    """

    path: Path | None
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    nodes: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The scenario name (from the summary, else the folder name)."""
        name = self.summary.get("name")
        if name:
            return str(name)
        return self.path.name if self.path is not None else "run"

    @property
    def scenario(self) -> dict[str, Any]:
        """The resolved scenario of the manifest (empty if there is none)."""
        return dict(self.manifest.get("scenario") or {})

    @property
    def simulated_s(self) -> float:
        """Simulated time (s): from the summary, else the time series span."""
        value = self.summary.get("simulated_s")
        if value is not None and np.isfinite(value):
            return float(value)
        if "elapsed_h" in self.timeseries and len(self.timeseries):
            return float(self.timeseries["elapsed_h"].iloc[-1] * 3600.0)
        return 0.0

    def has(self, *columns: str) -> bool:
        """True when every named time-series column exists and is not all NaN."""
        ts = self.timeseries
        return all(c in ts.columns and ts[c].notna().any() for c in columns)

    def summary_table(self) -> pd.DataFrame:
        """The summary as a tidy table: key, value, unit, meaning."""
        return summary_table(self.summary)


def summary_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """A summary dict as rows of key, value, unit, meaning (units from sim.results.result)."""
    from sim.results.result import SUMMARY_KEYS

    rows = []
    for key, value in summary.items():
        unit, meaning = SUMMARY_KEYS.get(key, ("", ""))
        rows.append({"key": key, "value": value, "unit": unit, "meaning": meaning})
    return pd.DataFrame(rows, columns=["key", "value", "unit", "meaning"])


def _parse_nodes(value: Any) -> list[str]:
    """A placement cell (list, array, or comma/space separated string) as node names."""
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def tidy_timeseries(ts: pd.DataFrame, start: pd.Timestamp | None = None) -> pd.DataFrame:
    """Copy of a time series with `time` as UTC timestamps and `elapsed_h` added."""
    out = ts.copy()
    if "time" in out:
        out["time"] = pd.to_datetime(out["time"], utc=True)
        origin = start if start is not None else (out["time"].iloc[0] if len(out) else None)
        if origin is not None:
            out["elapsed_h"] = (out["time"] - origin).dt.total_seconds() / 3600.0
    return out


def tidy_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Copy of a jobs table with hour columns and parsed node placement."""
    out = jobs.copy()
    for col in ("submit_s", "start_s", "end_s"):
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out[col.replace("_s", "_h")] = out[col] / 3600.0
    if "nodes" in out:
        out["nodes"] = [_parse_nodes(v) for v in out["nodes"]]
    return out


def load(run_dir: str | Path) -> Run:
    """Read a run folder written by `wattsim run` (or `Result.to_dir`).

    Raises FileNotFoundError naming the missing files when `run_dir` is not a
    run folder. manifest.yaml is optional.
    """
    p = Path(run_dir)
    missing = [f for f in RUN_FILES if not (p / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{p} is not a run folder: missing {', '.join(missing)}")
    run = from_result(Result.from_dir(p))  # the one reader of run folders
    run.path = p
    return run


def from_result(result: Any) -> Run:
    """A `Run` from an in-memory `sim.Result` (no files needed)."""
    return from_tables(result.summary, result.timeseries, result.jobs, result.nodes,
                       dict(result.manifest or {}), None)


def from_tables(
    summary: Mapping[str, Any],
    timeseries: pd.DataFrame,
    jobs: pd.DataFrame,
    nodes: pd.DataFrame,
    manifest: Mapping[str, Any] | None = None,
    path: Path | None = None,
) -> Run:
    """Assemble a `Run`, tidying the tables (see `Run`)."""
    manifest = dict(manifest or {})
    start = None
    scen_start = (manifest.get("scenario") or {}).get("start")
    if scen_start:
        try:
            start = pd.Timestamp(scen_start)
            start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        except (ValueError, TypeError):
            start = None
    return Run(
        path=path,
        summary=dict(summary),
        timeseries=tidy_timeseries(timeseries, start),
        jobs=tidy_jobs(jobs),
        nodes=nodes.copy(),
        manifest=manifest,
    )


# -- sweeps --------------------------------------------------------------------


def load_sweep(path: str | Path) -> pd.DataFrame:
    """Read a sweep table: a row per run (run_id, dotted parameters, metrics, status).

    `path` may be a sweep folder written by `wattsim sweep` (its
    results/*.parquet parts, read with `sim.sweep.execute.load_sweep`), the table
    itself (.parquet, .csv or .json), a folder holding one Parquet table, or
    a folder of run
    folders (then the table is built with `collect_runs`). A missing `status`
    column is filled with "ok".
    """
    p = Path(path)
    if p.is_file():
        df = _read_table(p)
    elif p.is_dir() and any((p / "results").glob("*.parquet")):
        from sim.sweep.execute import load_sweep as _sim_load_sweep

        df = _sim_load_sweep(p)
    elif p.is_dir():
        tables = sorted(p.glob("*.parquet"))
        runs = [d for d in sorted(p.iterdir()) if d.is_dir() and (d / "summary.json").is_file()]
        if len(tables) == 1:
            df = pd.read_parquet(tables[0])
        elif runs:
            df = collect_runs(runs)
        elif tables:
            named = [t for t in tables if t.stem in ("sweep", "results", "runs")]
            if not named:
                raise FileNotFoundError(f"{p}: several Parquet tables, none named sweep/results/runs")
            df = pd.read_parquet(named[0])
        else:
            raise FileNotFoundError(f"{p} holds no sweep table (*.parquet) and no run folders")
    else:
        raise FileNotFoundError(f"{p}: no such sweep table or folder")
    df = df.reset_index(drop=True)
    if "status" not in df:
        df["status"] = "ok"
    if "run_id" not in df:
        df.insert(0, "run_id", [f"run-{i}" for i in range(len(df))])
    return df


def _read_table(p: Path) -> pd.DataFrame:
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(p)
    if suffix == ".csv":
        return pd.read_csv(p)
    if suffix == ".json":
        return pd.read_json(p)
    raise ValueError(f"{p}: a sweep table is .parquet, .csv or .json, not {suffix or 'no suffix'}")


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = json.dumps(v, sort_keys=True, default=str)
        else:
            out[key] = v
    return out


def collect_runs(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """A sweep table from run folders: the scenario values that differ become columns.

    Each row: run_id (the folder name), every dotted scenario path whose value
    differs between the runs (from manifest.yaml), every summary metric, and
    status "ok". Useful for runs made by hand or by a script looping
    `simulate()`; `sim.sweep.execute` writes the same shape directly.
    """
    rows, params = [], []
    for d in run_dirs:
        d = Path(d)
        summary = json.loads((d / "summary.json").read_text())
        manifest = {}
        if (d / "manifest.yaml").is_file():
            manifest = yaml.safe_load((d / "manifest.yaml").read_text()) or {}
        params.append(_flatten(manifest.get("scenario") or {}))
        rows.append({"run_id": d.name, **summary})
    keys = sorted({k for p in params for k in p})
    varying = [k for k in keys if len({json.dumps(p.get(k), default=str) for p in params}) > 1
               and k != "name"]
    table = []
    for row, p in zip(rows, params):
        table.append({"run_id": row["run_id"], **{k: p.get(k) for k in varying},
                      **{k: v for k, v in row.items() if k not in ("run_id", "name", "seed")},
                      "status": "ok"})
    df = pd.DataFrame(table)
    return df


def sweep_parameters(df: pd.DataFrame) -> list[str]:
    """The swept parameter columns: scenario paths (dotted, or a whole section such as
    `cooling` swept with labels), plus `seed`; never a summary metric or sweep metadata."""
    from sim.results.result import SUMMARY_KEYS

    return [c for c in df.columns
            if c not in SWEEP_META and (c == "seed" or "." in c or c not in SUMMARY_KEYS)]


def sweep_metrics(df: pd.DataFrame) -> list[str]:
    """The numeric metric columns (summary keys) of a sweep table."""
    params = set(sweep_parameters(df))
    return [c for c in df.columns
            if c not in params and c not in SWEEP_META and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]
