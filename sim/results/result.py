"""The Result of a run: tidy DataFrames, a flat summary, Parquet + manifest on disk.

Everything here is read off the ledger by exact integration; nothing is
sampled. Column names carry their unit; `COLUMNS` lists every column with its
unit and meaning, and `docs/output-columns.md` is generated from it
(`python -m sim.results.result > docs/output-columns.md`).

Per-job energy: the ledger credits each accelerator and host segment to the
jobs on the node (by their share of the node's power), so `it_energy_kwh` is
exact; the rest (idle nodes, free slots) is unattributed overhead. A job's
`energy_kwh` adds the facility overhead of its run window (window PUE) and
its `carbon_kg` uses the carbon per facility joule of that window, so a job
run when the grid is clean is charged less.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from sim.results import serving as serving_results
from sim.results.footprint import FOOTPRINT_KEYS, FootprintInputs, footprint
from sim.results.shares import SHARE_DEFINITIONS, ShareInputs, binned_shares, compute_shares
from sim.units import J_PER_KWH, W_PER_KW

if TYPE_CHECKING:
    from sim.engine.record import JobRecords, RunRecord

#: job states as the run record writes them (`sim.compute.training.JobState` values)
PENDING, QUEUED, RUNNING, COMPLETED, FAILED = "pending", "queued", "running", "completed", "failed"

POWER_CATEGORIES = ("accelerator", "host", "network", "background", "cooling", "losses")

#: every summary key, its unit and meaning (the docs table is generated from this)
SUMMARY_KEYS: dict[str, tuple[str, str]] = {
    "facility_energy_kwh": ("kWh", "all consumption: IT + cooling + distribution losses"),
    "it_energy_kwh": ("kWh", "accelerators + hosts + network + measured background load"),
    "accelerator_energy_kwh": ("kWh", "accelerator boards"),
    "host_energy_kwh": ("kWh", "host CPUs, memory, fans, NICs"),
    "network_energy_kwh": ("kWh", "switches and links (0 until the network model is on)"),
    "background_energy_kwh": ("kWh", "measured load already in the building"),
    "cooling_energy_kwh": ("kWh", "cooling plant (or the PUE overhead of constant-pue)"),
    "losses_energy_kwh": ("kWh", "power distribution losses (UPS, PDU)"),
    "pue": ("1", "facility / IT energy"),
    **{k: ("1", v) for k, v in SHARE_DEFINITIONS.items()},
    **FOOTPRINT_KEYS,
    "grid_import_kwh": ("kWh", "energy drawn from the grid"),
    "grid_peak_kw": ("kW", "highest grid import averaged over a plant step"),
    "carbon_kg": ("kg CO2e", "location-based emissions of the grid import"),
    "cost": ("currency", "energy cost in the currency of supply prices"),
    "peak_power_kw": ("kW", "highest facility power averaged over a plant step"),
    "jobs_submitted": ("count", "jobs that arrived before the end"),
    "jobs_completed": ("count", "jobs that finished their work"),
    "jobs_failed": ("count", "jobs that could not run (reason in the jobs table)"),
    "jobs_unfinished": ("count", "jobs still queued or running at the end"),
    "mean_jct_s": ("s", "mean completion time (end - submit) of completed jobs"),
    "p95_jct_s": ("s", "95th percentile completion time of completed jobs"),
    "mean_wait_s": ("s", "mean queueing delay of every job that entered the queue: start - ready, or end of run - "
                    "ready for a job still waiting (censored at the horizon, so a lower bound)"),
    "makespan_s": ("s", "first submit to last completion"),
    "gpu_utilization": ("1", "busy accelerator-seconds / (accelerators x simulated time)"),
    "free_cooling_hours": ("h", "hours of full free cooling (time integral of the free-cooling fraction)"),
    "throttled_accelerator_hours": ("h", "accelerator-hours run under a thermal power limit"),
    "max_inlet_temp_c": ("degC", "highest bin-mean server inlet temperature (NaN without the cooling plant)"),
    "simulated_s": ("s", "simulated time"),
    "wall_s": ("s", "wall-clock time of the run"),
    "events": ("count", "SimPy events processed"),
    "name": ("-", "scenario name"),
    "seed": ("-", "random seed of the run"),
    "median_jct_s": ("s", "median completion time of completed jobs"),
    "p95_wait_s": ("s", "95th percentile queueing delay, every job that entered the queue (censored like mean_wait_s)"),
    "jobs_waiting_at_end": ("count", "jobs queued (not running) at the end of the run"),
    "oldest_wait_s": ("s", "longest wait of a job never started, at the end of the run (0 if none)"),
    "stopped": ("-", "why the run ended early: 'timeout' or 'interrupted' (partial results), else empty"),
    "mean_slowdown": ("1", "mean of JCT / runtime alone at full speed, completed jobs"),
    "jain_fairness_slowdown": ("1", "Jain's index of slowdowns (sum x)^2 / (n sum x^2); 1 = all equal"),
    "energy_per_job_kwh": ("kWh", "mean facility energy of completed jobs"),
    "carbon_per_job_kg": ("kg CO2e", "mean carbon of completed jobs"),
    "wasted_energy_kwh": ("kWh", "IT energy of work lost to failures and of checkpoint save/restore"),
    "preemptions": ("count", "job preemptions"),
    "restarts": ("count", "job restarts after node failures"),
}

#: time-series columns, unit and meaning (per-bin means unless said otherwise)
COLUMNS: dict[str, tuple[str, str]] = {
    "time": ("UTC", "start of the bin"),
    "facility_power_w": ("W", "mean facility power"),
    "it_power_w": ("W", "mean IT power"),
    **{f"{c}_power_w": ("W", f"mean {c} power") for c in POWER_CATEGORIES},
    "facility_energy_kwh": ("kWh", "facility energy in the bin"),
    "it_energy_kwh": ("kWh", "IT energy in the bin"),
    "pue": ("1", "facility / IT energy of the bin"),
    "carbon_kg": ("kg CO2e", "emissions in the bin"),
    "cost": ("currency", "energy cost in the bin"),
    **{k: ("1", f"{v}; over the bin (hourly matching within the bin's part of each hour; NaN where"
                f" the grid's mix is unknown)") for k, v in SHARE_DEFINITIONS.items()},
    "busy_accelerators": ("count", "mean accelerators running jobs"),
    "jobs_running": ("count", "mean jobs running"),
    "jobs_queued": ("count", "mean jobs waiting"),
    "<flow>_w": ("W", "mean supply flow: grid_import, grid_export, pv, wind, renewable_used, "
                      "curtailed, battery_charge, battery_discharge, ppa"),
    "grid_renewable_w": ("W", "grid import x the grid's renewable fraction (when the grid's mix is known)"),
    "grid_carbon_free_w": ("W", "grid import x the grid's carbon-free fraction (when the grid's mix is known)"),
    "grid_renewable_fraction": ("1", "renewable fraction of the grid's generation (when known)"),
    "grid_carbon_free_fraction": ("1", "carbon-free fraction of the grid's generation: renewables without "
                                       "biomass, plus nuclear (when known)"),
    # plant readings (per-bin means of the plant-step values)
    "accelerator_cap_fraction": ("1", "thermal limit on accelerator power as a fraction of TDP (1 = none)"),
    "throttled_accelerators": ("count", "mean accelerators running under a thermal power limit"),
    "free_cooling_fraction": ("1", "share of the heat removed without mechanical cooling"),
    "outdoor_temp_c": ("degC", "outdoor dry-bulb temperature (cooling: plant)"),
    "wet_bulb_c": ("degC", "outdoor wet-bulb temperature (cooling: plant)"),
    "supply_temp_c": ("degC", "supply-air temperature of the hall (cooling: plant)"),
    "hall_temp_c": ("degC", "hall (return-air) temperature (cooling: plant)"),
    "inlet_temp_c": ("degC", "server inlet temperature: supply air + recirculation offset (cooling: plant)"),
    "cop": ("1", "coefficient of performance of the chillers: heat moved / chiller power (cooling: plant)"),
    "heat_load_w": ("W", "heat released into the hall and the liquid loop: IT + losses (cooling: plant)"),
    "heat_removed_w": ("W", "heat carried out by the plant (cooling: plant)"),
    "<zone>_hall_temp_c": ("degC", "air temperature of thermal zone <zone> = z0, z1, ... (cooling: plant, zones > 1; "
                                   "hall_temp_c is then their nameplate-weighted mean, inlet_temp_c their max)"),
    "<zone>_inlet_temp_c": ("degC", "server inlet temperature of thermal zone <zone> = z0, z1, ... "
                                    "(cooling: plant, zones > 1)"),
    "<zone>_heat_removed_w": ("W", "heat carried out of thermal zone <zone> = z0, z1, ..., air and liquid; "
                                   "they sum to heat_removed_w (cooling: plant, zones > 1)"),
    "battery_soc_kwh": ("kWh", "energy stored in the battery"),
    "carbon_intensity_g_per_kwh": ("g CO2e/kWh", "grid carbon intensity"),
    "price_per_kwh": ("currency/kWh", "grid energy price"),
    "demand_w": ("W", "facility demand served by the supply"),
    "renewable_to_load_w": ("W", "on-site and PPA renewables that met the load directly"),
    "battery_loss_w": ("W", "battery conversion losses (round-trip efficiency)"),
    "import_limit_excess_w": ("W", "grid import above supply.grid.import_limit_kw"),
}

#: jobs.parquet: one row per job
JOB_COLUMNS: dict[str, tuple[str, str]] = {
    "job_id": ("-", "job id"),
    "name": ("-", "job name"),
    "user": ("-", "user (traces, fair share)"),
    "mode": ("-", "sync or async"),
    "accelerators": ("count", "accelerators requested"),
    "nodes": ("-", "names of the nodes the job ran on"),
    "submit_s": ("s", "submit time since the scenario start"),
    "ready_s": ("s", "when the job entered the queue: submit_s, or its last predecessor's end (after) if later; "
                     "NaN if it never did"),
    "start_s": ("s", "first start time (NaN if never started)"),
    "end_s": ("s", "end time (NaN if unfinished)"),
    "state": ("-", "completed, failed, queued, running or pending (not submitted, or waiting for predecessors)"),
    "reason": ("-", "why a job failed, or the predecessors a pending job waits for"),
    "wait_s": ("s", "start - ready: time in the queue (ready_s - submit_s is the wait for predecessors)"),
    "jct_s": ("s", "end - submit of a completed job"),
    "work_flops": ("FLOP", "work the job needs"),
    "done_flops": ("FLOP", "useful work done"),
    "it_energy_kwh": ("kWh", "IT energy attributed to the job by the ledger"),
    "energy_kwh": ("kWh", "it_energy_kwh x the facility / IT ratio of its run window"),
    "carbon_kg": ("kg CO2e", "energy_kwh x the carbon per facility kWh of its run window"),
    "wasted_energy_kwh": ("kWh", "IT energy of work lost to failures and of checkpoint save/restore"),
    "preemptions": ("count", "times the job was preempted"),
    "restarts": ("count", "restarts after node failures"),
    "slowdown": ("1", "JCT / runtime alone at full speed (completed jobs)"),
    "kwh_per_pflop": ("kWh/PFLOP", "IT kWh per 1e15 useful FLOPs: the work the job needs at a batch far below "
                                    "the critical batch, without staleness or rollback"),
    "samples_per_kwh": ("1/kWh", "useful samples (tokens for language models) per IT kWh: the samples the job "
                                 "needs at a small batch, not the extra ones a large batch costs"),
    "power_per_accelerator_w": ("W", "IT power (accelerator + host share) per accelerator held"),
    "comm_wait_share": ("1", "share of running time spent waiting on communication"),
    "accelerator_hours": ("h", "accelerator-hours the job held (attained service)"),
    "cost_total": ("currency", "the run's cost_total x the job's share of the jobs' accelerator-hours"),
    "embodied_carbon_kg": ("kg CO2e", "the run's embodied carbon x the job's share of the jobs' accelerator-hours"),
}

#: nodes.parquet: one row per node
NODE_COLUMNS: dict[str, tuple[str, str]] = {
    "node": ("-", "node name"),
    "node_type": ("-", "catalog node type"),
    "accelerator": ("-", "catalog accelerator"),
    "pool": ("-", "index of the node pool"),
    "accelerators": ("count", "accelerators in the node"),
    "accelerator_energy_kwh": ("kWh", "energy of the node's accelerators"),
    "host_energy_kwh": ("kWh", "energy of the node's host"),
    "busy_accelerator_h": ("h", "accelerator-hours spent running jobs"),
    "utilization": ("1", "busy accelerator-seconds / (accelerators x simulated time)"),
}


@dataclass
class Result:
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    nodes: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    requests: pd.DataFrame = field(default_factory=pd.DataFrame)  # serving: one row per request

    def to_dir(self, path: str | Path) -> Path:
        """Write the run folder: summary.json, *.parquet, manifest.yaml."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(_jsonable(self.summary), indent=2) + "\n")
        self.timeseries.to_parquet(out / "timeseries.parquet", index=False)
        self.jobs.to_parquet(out / "jobs.parquet", index=False)
        self.nodes.to_parquet(out / "nodes.parquet", index=False)
        if len(self.requests.columns):
            self.requests.to_parquet(out / "requests.parquet", index=False)
        (out / "manifest.yaml").write_text(yaml.safe_dump(_jsonable(self.manifest), sort_keys=False))
        return out

    @classmethod
    def from_dir(cls, path: str | Path) -> Result:
        p = Path(path)
        missing = [f for f in ("summary.json", "timeseries.parquet", "jobs.parquet", "nodes.parquet")
                   if not (p / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{p} is not a run folder: missing {', '.join(missing)}")
        manifest = yaml.safe_load((p / "manifest.yaml").read_text()) if (p / "manifest.yaml").is_file() else {}
        summary = json.loads((p / "summary.json").read_text())
        for key, value in summary.items():  # JSON has no NaN: to_dir wrote a NaN number as null
            if value is None and SUMMARY_KEYS.get(key, ("-",))[0] != "-":
                summary[key] = float("nan")
        return cls(
            summary=summary,
            timeseries=pd.read_parquet(p / "timeseries.parquet"),
            jobs=pd.read_parquet(p / "jobs.parquet"),
            nodes=pd.read_parquet(p / "nodes.parquet"),
            manifest=manifest or {},
            requests=pd.read_parquet(p / "requests.parquet") if (p / "requests.parquet").is_file()
            else pd.DataFrame(),
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) else f
    return obj


# -- building a Result from a finished World ------------------------------------


def build_result(record: RunRecord) -> Result:
    """The Result of a run, from its record alone."""
    meter = record.ledger
    s = record.scenario
    end = record.end_s
    IT_CATEGORIES = record.it_categories  # noqa: N806 - the record's constant
    start_ts = s.start_ts
    interval = s.output.interval
    edges = np.arange(0.0, end, interval)
    edges = np.append(edges, end) if len(edges) == 0 or edges[-1] < end else edges
    if len(edges) < 2:
        edges = np.array([0.0, max(end, 1e-9)])
    widths = np.diff(edges)

    power = meter.groups_by("category", "power_w")
    groups: dict[str, list[int]] = {f"{c}_power_w": power.get(c, []) for c in POWER_CATEGORIES}
    for c in meter.channels:
        if c.quantity == "flow_w":
            groups[f"{c.name}_w"] = [c.index]
        elif c.quantity == "level" and c.category != "node_busy" and not c.category.startswith("serving_"):
            groups[c.name] = [c.index]
        elif c.quantity == "rate":
            groups[c.name] = [c.index]
        if c.name == "jobs_running":  # accelerators held by jobs: the sum of the nodes' busy slots
            groups["busy_accelerators"] = [n.index for n in meter.channels if n.category == "node_busy"]
    # the facility and IT power, carbon and the supply's share channels at the plant steps
    step_edges = np.append(np.arange(0.0, end, s.plant.step), end)
    carbon_idx = [c.index for c in meter.channels if c.name == "carbon_g"]
    step_groups: dict[str, list[int]] = {
        "facility": [ch for c in POWER_CATEGORIES for ch in power.get(c, [])],
        "it": [ch for c in IT_CATEGORIES for ch in power.get(c, [])],
        "carbon_g": carbon_idx,
        **{name: [meter.index(name)] for name in SHARE_CHANNELS if meter.has(name)},
    }
    # one read of the ledger's log for both (`Meter.cumulative_many`: bit-equal to one read per group)
    cums = meter.cumulative_many([*((chans, edges) for chans in groups.values()),
                                  *((chans, step_edges) for chans in step_groups.values())])
    integrals = {name: np.diff(cum) for name, cum in zip(groups, cums[:len(groups)], strict=True)}
    step_cum = dict(zip(step_groups, cums[len(groups):], strict=True))

    # the time series' columns, in order, made a table once they are all there (a column
    # added to a table costs about 40x a dict entry; the serving bins are added later)
    cols: dict[str, Any] = {"time": start_ts + pd.to_timedelta(edges[:-1], unit="s")}
    for c in POWER_CATEGORIES:
        cols[f"{c}_power_w"] = integrals[f"{c}_power_w"] / widths
    it_j = sum(integrals[f"{c}_power_w"] for c in IT_CATEGORIES)
    fac_j = sum(integrals[f"{c}_power_w"] for c in POWER_CATEGORIES)
    cols["it_power_w"] = it_j / widths
    cols["facility_power_w"] = fac_j / widths
    cols["it_energy_kwh"] = it_j / J_PER_KWH
    cols["facility_energy_kwh"] = fac_j / J_PER_KWH
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["pue"] = np.where(it_j > 0, fac_j / np.where(it_j > 0, it_j, 1.0), np.nan)
    cols["carbon_kg"] = integrals.get("carbon_g", np.zeros(len(widths))) / 1000.0
    cols["cost"] = integrals.get("cost", np.zeros(len(widths)))
    for name, arr in integrals.items():
        if name in cols or name.endswith("_power_w") or name in ("carbon_g", "cost"):
            continue
        cols[name] = arr / widths

    cat = {c: meter.category_integral(c, end) for c in meter.categories}
    it_total = sum(cat.get(c, 0.0) for c in IT_CATEGORIES)
    fac_total = sum(cat.get(c, 0.0) for c in POWER_CATEGORIES)
    flows = {c.name: meter.integral(c.index, end) for c in meter.channels if c.quantity == "flow_w"}
    # facility power per plant step, for the peak
    cum_fac, cum_it, cum_carbon = step_cum["facility"], step_cum["it"], step_cum["carbon_g"]
    step_power = np.diff(cum_fac) / np.maximum(np.diff(step_edges), 1e-12)

    share_in = _share_inputs(step_cum, step_edges)
    step_bin = np.clip(np.searchsorted(edges, step_edges[:-1], side="right") - 1, 0, len(widths) - 1)
    cols.update(binned_shares(share_in, step_bin, len(widths)))
    ts = pd.DataFrame(cols)
    shares = compute_shares(share_in)

    jobs = _jobs_table(record, step_edges, cum_fac, cum_it, cum_carbon)
    nodes = _nodes_table(record)
    busy_s = meter.category_integral("node_busy", end)  # accelerators held by jobs (the nodes' busy slots)
    capacity = sum(n.accelerators for n in record.nodes)

    # masks and single columns, not filtered copies of the whole table (a million rows at scale)
    state = jobs["state"]
    done = (state == COMPLETED).to_numpy(bool)
    submitted = (state != PENDING).to_numpy(bool)
    jct_done = jobs["jct_s"][done]
    summary: dict[str, Any] = {
        "name": s.name,
        "seed": s.seed,
        "facility_energy_kwh": fac_total / J_PER_KWH,
        "it_energy_kwh": it_total / J_PER_KWH,
        **{f"{c}_energy_kwh": cat.get(c, 0.0) / J_PER_KWH for c in POWER_CATEGORIES},
        "pue": fac_total / it_total if it_total > 0 else float("nan"),
        **shares,
        "grid_import_kwh": flows.get("grid_import", 0.0) / J_PER_KWH,
        "carbon_kg": (meter.integral(carbon_idx[0], end) / 1000.0) if carbon_idx else 0.0,
        "cost": meter.category_integral("cost", end),
        "peak_power_kw": float(step_power.max()) / W_PER_KW if len(step_power) else 0.0,
        "jobs_submitted": int(submitted.sum()),
        "jobs_completed": int(done.sum()),
        "jobs_failed": int((state == FAILED).sum()),
        "jobs_unfinished": int(state.isin([QUEUED, RUNNING]).sum()),
        "mean_jct_s": float(jct_done.mean()) if len(jct_done) else float("nan"),
        "p95_jct_s": float(np.percentile(jct_done, 95)) if len(jct_done) else float("nan"),
        "makespan_s": float(jobs["end_s"][done].max() - jobs["submit_s"][submitted].min()) if len(jct_done)
        else float("nan"),
        "gpu_utilization": busy_s / (capacity * end) if end > 0 and capacity else 0.0,
        "free_cooling_hours": _level_integral(meter, "free_cooling_fraction", end) / 3600.0,
        "throttled_accelerator_hours": _level_integral(meter, "throttled_accelerators", end) / 3600.0,
        "max_inlet_temp_c": float(ts["inlet_temp_c"].max()) if "inlet_temp_c" in ts else float("nan"),
        "simulated_s": end,
        "wall_s": record.wall_s,
        "events": record.events,
        **_scheduling_summary(jobs, end),
        "stopped": record.stopped,
    }
    if record.supply_summary is not None:
        extra = record.supply_summary
        summary["grid_peak_kw"] = extra.get("grid_peak_kw", summary["peak_power_kw"])
    requests = _serving_tables(record, edges, ts, summary)
    _add_footprint(record, summary, jobs, share_in, step_edges, cat, fac_total, flows, busy_s, it_total)
    manifest = {
        "scenario": s.resolved(),
        "seed": s.seed,
        "simulated_s": end,
        "wall_s": record.wall_s,
        "events": record.events,
        "ledger_changes": meter.changes,
        "components": record.components,
        "versions": _versions(),
        "git_revision": _git_revision(),
        "python": platform.python_version(),
    }
    return Result(summary=summary, timeseries=ts, jobs=jobs, nodes=nodes, manifest=manifest, requests=requests)


def _serving_tables(record: RunRecord, edges: np.ndarray, ts: pd.DataFrame, summary: dict[str, Any]) -> pd.DataFrame:
    """A serving deployment's requests table; its bins join the time series, its keys the summary.

    The comprehensive boundary's overhead is the run's own: (PUE - 1) x the deployment's IT energy.
    """
    eng = record.serving
    if eng is None:
        return pd.DataFrame()
    slo = record.scenario.serving.slo
    req = serving_results.requests_table(eng, slo.ttft_s, slo.tbt_s)
    bins = serving_results.bins_table(eng, record.ledger, edges, req)
    for col in bins.columns:
        ts[f"serving_{col}"] = bins[col].to_numpy()
    pue = summary["pue"]
    overhead = pue - 1.0 if math.isfinite(pue) else 0.0
    summary.update(serving_results.summary(eng, record.ledger, req, record.end_s, overhead))
    return req


def _add_footprint(record: RunRecord, summary: dict[str, Any], jobs: pd.DataFrame, share_in: ShareInputs,
                   step_edges: np.ndarray, cat: dict[str, float], fac_total: float, flows: dict[str, float],
                   busy_s: float, it_total: float) -> None:
    """Costs, embodied carbon and water (``sim.results.footprint``) into the summary and the jobs table."""
    s = record.scenario
    end = record.end_s
    accelerators: dict[str, int] = {}
    for n in record.nodes:
        accelerators[n.accelerator] = accelerators.get(n.accelerator, 0) + n.accelerators
    meter = record.ledger
    heat_j = fac_total  # every joule the facility draws ends as heat to reject
    if meter.has("heat_removed_w"):  # the plant: heat from the hall + the chillers' own work
        heat_j = meter.integral(meter.index("heat_removed_w"), end) + cat.get("cooling", 0.0)
    widths = np.maximum(np.diff(step_edges), 1e-12)
    supply_cfg = s.supply
    x = FootprintInputs(
        duration_s=end, start=s.start_ts, currency=supply_cfg.grid.currency, accelerators=accelerators,
        nodes=len(record.nodes), it_capacity_w=record.it_capacity_w,
        pv_kwp=supply_cfg.pv.capacity_kw if supply_cfg.pv.trace is None else 0.0,
        battery_kwh=supply_cfg.battery.capacity_kwh, energy_cost=summary["cost"],
        ppa_kwh=flows.get("ppa", 0.0) / J_PER_KWH, step_edges_s=step_edges,
        grid_import_w=share_in.grid_import_j / widths, busy_accelerator_hours=busy_s / 3600.0,
        heat_rejected_j=heat_j, it_energy_j=it_total, grid_import_j=flows.get("grid_import", 0.0),
        operational_carbon_kg=summary["carbon_kg"],
    )
    out, totals, embodied_kg = footprint(s.costs, x)
    summary.update(out)
    # per job: its share of the accelerator-hours the jobs held (the jobs table follows record.jobs)
    held_h = record.jobs.attained_service_s / 3600.0
    total_h = float(held_h.sum())
    jobs["accelerator_hours"] = held_h
    jobs["cost_total"] = totals.total * held_h / total_h if total_h > 0 else 0.0
    jobs["embodied_carbon_kg"] = embodied_kg * held_h / total_h if total_h > 0 else 0.0


#: ledger channels the renewable and carbon-free shares read per plant step (``_share_inputs``)
SHARE_CHANNELS = ("demand_w", "renewable_to_load_w", "grid_import", "grid_renewable", "grid_carbon_free", "ppa",
                  "pv", "wind", "curtailed")


def _share_inputs(step_cum: dict[str, np.ndarray], step_edges: np.ndarray) -> ShareInputs:
    """Per plant step energies of the supply channels (J), for ``sim.results.shares``.

    `step_cum`: the cumulative integrals at `step_edges` of the ledger's `SHARE_CHANNELS` it has
    and of the facility power (``facility``). Flow channels are named without ``_w`` in the
    ledger. A channel the supply model does not book is 0 (the grid's renewable and carbon-free
    imports: NaN, unknown); without a ``demand_w`` reading the demand is the facility energy."""

    def per_step(name: str, missing: float = 0.0) -> np.ndarray:
        if name not in step_cum:
            return np.full(len(step_edges) - 1, missing)
        return np.diff(step_cum[name])

    demand = per_step("demand_w", math.nan)
    if np.isnan(demand).all():
        demand = np.diff(step_cum["facility"])
    return ShareInputs(
        demand_j=demand,
        onsite_to_load_j=per_step("renewable_to_load_w"),
        grid_import_j=per_step("grid_import"),
        grid_renewable_j=per_step("grid_renewable", math.nan),
        grid_carbon_free_j=per_step("grid_carbon_free", math.nan),
        ppa_j=per_step("ppa"),
        onsite_generated_j=per_step("pv") + per_step("wind"),
        curtailed_j=per_step("curtailed"),
        hour=np.floor(step_edges[:-1] / 3600.0).astype(np.int64),
    )


def _level_integral(meter, name: str, end: float) -> float:
    """Time integral of a level channel (0 when the run has no such channel)."""
    return meter.integral(meter.index(name), end) if meter.has(name) else 0.0


def _jobs_table(record: RunRecord, edges, cum_fac, cum_it, cum_carbon) -> pd.DataFrame:
    """The jobs table, from the record's columns (one numpy pass per column, no object per job).

    A job's facility energy is its IT energy times the facility/IT ratio over its
    running span, and its carbon that energy times the span's mean intensity.
    """
    recs = record.jobs
    if not len(recs):  # the same columns as a table with jobs (a sweep concatenates them)
        return pd.DataFrame(columns=list(JOB_COLUMNS))
    it_j = recs.attributed_it_j
    submit, ready, start, end = recs.submit_s, recs.ready_s, recs.start_s, recs.end_s
    state = recs.state
    completed = np.fromiter((s == COMPLETED for s in state), dtype=bool, count=len(state))
    started = ~np.isnan(start)
    a = np.where(started, start, 0.0)
    b = np.where(started, np.where(np.isnan(end), record.end_s, end), 0.0)
    fa, fb = np.interp(a, edges, cum_fac), np.interp(b, edges, cum_fac)
    ia, ib = np.interp(a, edges, cum_it), np.interp(b, edges, cum_it)
    ca, cb = np.interp(a, edges, cum_carbon), np.interp(b, edges, cum_carbon)
    with np.errstate(divide="ignore", invalid="ignore"):
        energy_j = np.where(started & (ib > ia), it_j * (fb - fa) / (ib - ia), it_j)
        carbon_g = np.where(started & (fb > fa), energy_j * (cb - ca) / (fb - fa), 0.0)
    work, done, accs = recs.work_flops, recs.done_flops, recs.accelerators
    df = pd.DataFrame({
        "job_id": recs.id,
        "name": recs.name,
        "user": recs.user,
        "mode": recs.mode,
        "accelerators": accs,
        "nodes": recs.nodes,
        "submit_s": submit,
        "ready_s": ready,
        "start_s": start,
        "end_s": end,
        "state": state,
        "reason": recs.reason,
        "wait_s": np.where(started, start - np.where(np.isnan(ready), submit, ready), np.nan),
        "jct_s": np.where(completed, end - submit, np.nan),
        "work_flops": work,
        "done_flops": done,
        "it_energy_kwh": it_j / J_PER_KWH,
        "energy_kwh": energy_j / J_PER_KWH,
        "carbon_kg": carbon_g / 1000.0,
        "wasted_energy_kwh": recs.wasted_energy_j / J_PER_KWH,
        "preemptions": recs.preemptions,
        "restarts": recs.restarts,
        "slowdown": _slowdowns(completed & ~np.isnan(end), end - submit, recs.alone_s),
        **_efficiency(recs, it_j, work, done, accs),
    }, copy=False)  # the columns as they are (the record's are the table's own): no second copy of them all
    return df


def _efficiency(recs: JobRecords, it_j: np.ndarray, work: np.ndarray, done: np.ndarray,
                accs: np.ndarray) -> dict[str, np.ndarray]:
    """Energy efficiency of each job (docs/training.md): IT energy per unit of useful work.

    One definition of useful work for every job (issue 13): the work the job
    needs to reach its target at a batch far below the critical batch, with no
    staleness and nothing rolled back (`JobWork.useful_flops`, S_min x F for a
    `batch_scaling` job). `done_flops` already excludes async staleness and
    rolled-back work; the share useful_flops / work_flops removes the extra
    samples a large batch needs (McCandlish et al. 2018).

    kwh_per_pflop: IT kWh per 1e15 useful FLOPs done; samples_per_kwh: useful
    samples (tokens for language models) per IT kWh, where FLOPs per sample are
    known; power_per_accelerator_w: IT power (accelerator + host share) per
    accelerator held; comm_wait_share: share of running time spent waiting on
    communication.
    """
    kwh = it_j / J_PER_KWH
    useful = recs.useful_flops  # NaN where unknown: then neither test below holds
    fps = recs.flops_per_sample
    held_s = recs.attained_service_s
    comm = recs.comm_wait_s
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where((useful > 0) & (work > 0), useful / work, 1.0)
        useful_done = done * share
        pflop = useful_done / 1e15
        run_s = np.where(accs > 0, held_s / np.maximum(accs, 1), 0.0)
        return {
            "kwh_per_pflop": np.where(pflop > 0, kwh / pflop, np.nan),
            "samples_per_kwh": np.where((fps > 0) & (kwh > 0), useful_done / fps / kwh, np.nan),
            "power_per_accelerator_w": np.where(held_s > 0, it_j / held_s, np.nan),
            "comm_wait_share": np.where(run_s > 0, comm / run_s, np.nan),
        }


def _slowdowns(completed: np.ndarray, jct_s: np.ndarray, alone_s: np.ndarray) -> np.ndarray:
    """JCT over the job's runtime alone at full speed (the scheduler's exact estimate); NaN unless completed."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(completed & (alone_s > 0), jct_s / alone_s, np.nan)


def _waits(jobs: pd.DataFrame, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Wait of every job that entered the queue (start - ready; end - ready if never started), and
    the waits of those never started (right-censored at the end of the run)."""
    queued = (jobs["state"] != PENDING).to_numpy(bool)
    ready = jobs["ready_s"].to_numpy(float)
    ready = np.where(np.isnan(ready), jobs["submit_s"].to_numpy(float), ready)[queued]
    start = jobs["start_s"].to_numpy(float)[queued]
    never = np.isnan(start)
    waits = np.where(never, end - ready, start - ready)
    return waits, waits[never]


def _scheduling_summary(jobs: pd.DataFrame, end: float) -> dict[str, float]:
    """Scheduling metrics of the jobs table (sim/scheduling), read column by column."""
    state = jobs["state"]
    done = (state == COMPLETED).to_numpy(bool)
    n_done = int(done.sum())
    waits, never_started = _waits(jobs, end)
    sd = jobs["slowdown"][done].dropna().to_numpy(float) if "slowdown" in jobs else np.zeros(0)
    nan = float("nan")
    return {
        "median_jct_s": float(jobs["jct_s"][done].median()) if n_done else nan,
        "mean_wait_s": float(waits.mean()) if len(waits) else nan,
        "p95_wait_s": float(np.percentile(waits, 95)) if len(waits) else nan,
        "jobs_waiting_at_end": int((state == QUEUED).sum()),
        "oldest_wait_s": float(never_started.max()) if len(never_started) else 0.0,
        "mean_slowdown": float(sd.mean()) if len(sd) else nan,
        "jain_fairness_slowdown": float(sd.sum() ** 2 / (len(sd) * (sd**2).sum())) if len(sd) else nan,
        "energy_per_job_kwh": float(jobs["energy_kwh"][done].mean()) if n_done else nan,
        "carbon_per_job_kg": float(jobs["carbon_kg"][done].mean()) if n_done else nan,
        "wasted_energy_kwh": float(jobs["wasted_energy_kwh"].sum()) if "wasted_energy_kwh" in jobs else 0.0,
        "preemptions": int(jobs["preemptions"].sum()) if "preemptions" in jobs else 0,
        "restarts": int(jobs["restarts"].sum()) if "restarts" in jobs else 0,
    }


def _nodes_table(record: RunRecord) -> pd.DataFrame:
    end = record.end_s
    rows = [
        {
            "node": n.name,
            "node_type": n.node_type,
            "accelerator": n.accelerator,
            "pool": n.pool,
            "accelerators": n.accelerators,
            "accelerator_energy_kwh": n.accelerator_energy_j / J_PER_KWH,
            "host_energy_kwh": n.host_energy_j / J_PER_KWH,
            "busy_accelerator_h": n.busy_accelerator_s / 3600.0,
            "utilization": n.busy_accelerator_s / (n.accelerators * end) if end > 0 else 0.0,
        }
        for n in record.nodes
    ]
    return pd.DataFrame(rows)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("wattsim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "networkx", "pvlib",
                "windpowerlib", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@lru_cache(maxsize=1)
def _git_revision() -> str:
    try:
        here = Path(__file__).resolve().parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True,
                               timeout=5)
        if rev.returncode == 0:
            return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "unknown"


def columns_markdown() -> str:
    lines = ["# Output columns", "", "Generated from `sim/results/result.py` (`python -m sim.results.result`).", "",
             "## summary.json", "", "| key | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in SUMMARY_KEYS.items()]
    lines += ["", "## timeseries.parquet", "", "| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in COLUMNS.items()]
    for title, table in (("jobs.parquet", JOB_COLUMNS), ("nodes.parquet", NODE_COLUMNS)):
        lines += ["", f"## {title}", "", "| column | unit | meaning |", "|---|---|---|"]
        lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in table.items()]
    lines += ["", "## Serving (a run with a `serving:` section; docs/serving.md)", "",
              "### summary.json, serving keys", "", "| key | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in serving_results.SUMMARY_KEYS.items()]
    lines += ["", "### timeseries.parquet, serving columns", "", "| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `serving_{k}` | {u} | {m} |" for k, (u, m) in serving_results.BIN_COLUMNS.items()]
    lines += ["", "### requests.parquet", "", "| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in serving_results.REQUEST_COLUMNS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(columns_markdown(), end="")
