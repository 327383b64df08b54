"""Parameter sweeps: expand a sweep file, run it on a process pool or Dask, collect one table.

A sweep file is a base scenario plus axes over dotted paths (the same paths as
``wattsim run --set``)::

    name: size-x-policy
    base: ../baseline.yaml              # relative to this file, or an inline scenario mapping
    set: {duration: 1d}                 # fixed overrides for every run (optional)
    grid:                               # cartesian product, first key outermost
      cluster.nodes: [8, 16, 32]
      scheduler.queue: [fifo, sjf]
    zip:                                # values taken together (one axis; a list of mappings = several)
      cluster.power_cap_w: [400, 550, 700]
      workload.jobs.0.batch_per_accelerator: [8, 16, 32]
    random: {samples: 20, seed: 0, ranges: {supply.pv.capacity_kw: [0, 5000]}}
    lhs:    {samples: 20, seed: 0, ranges: {supply.battery.capacity_kwh: {low: 0, high: 8000}}}
    replicates: 3                       # seeds base seed + 0, 1, 2 (or a list of seeds)

The blocks present are combined as a cartesian product (grid x zip x random x
lhs x replicates, the last innermost). A value list written as a mapping
(``{gb: {trace: gb-2020}, fr: {trace: fr-2020}}``) is a *labelled* axis: the
scenario gets the value, the table gets the label. A range is ``[low, high]``
or ``{low, high, log: bool, int: bool, round: digits}`` or ``{choices: [...]}``;
random samples are i.i.d. uniform (numpy ``default_rng(seed)``), ``lhs`` uses
``scipy.stats.qmc.LatinHypercube(seed)``, so expansion is deterministic.

Each run's id is the first 16 hex digits of the SHA-256 of its resolved
scenario (``Scenario.model_dump(mode="json")`` as sorted, compact JSON): the
same scenario gets the same id in any process, on any machine. Every expanded
scenario is validated before anything runs; an invalid one becomes a failed
row whose error names the dotted path (its id hashes the raw document).

Results: one row per run — ``run_id``, every swept parameter (column named by
its dotted path), every summary metric (the simulator's own ``wall_s`` is
renamed ``sim_wall_s``), ``status`` (``ok`` or ``failed``), ``error``,
``wall_s`` (the worker's wall time for the run) and ``finished_at``. Rows go to
``OUT/results/part-NNNNNN.parquet`` as they finish (a part per flush), so an
interrupted sweep loses at most the last unflushed rows; running the same sweep
into the same folder skips every run id already there.

Faults (sim/sweep/isolate.py): every run executes in its own child process,
on the local pool and inside a Dask worker alike. A run that crashes or kills
its process fails that run only (``status: failed``, the signal in ``error``);
a run past ``timeout_s`` is stopped by the engine's own check (every 256
events) or, if it is blocked outside the engine, killed ``KILL_GRACE_S`` later,
and recorded with ``status: timeout``. The children die with the sweep, even
when it is killed with SIGKILL. ``--retry-failed`` reruns the ids recorded as
failed or timed out, nothing else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
import time
import traceback
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.engine.world import RunTimeout as EngineTimeout
from sim.spec.scenario import ScenarioError, apply_overrides, read_document, validate_document
from sim.sweep.isolate import STATUS_TIMEOUT, IsolatedRunner, run_isolated
from sim.units import parse_duration

__all__ = [
    "RunSpec",
    "Sweep",
    "SweepError",
    "expand_sweep",
    "load_sweep",
    "read_sweep",
    "run_id_of",
    "run_sweep",
]

SWEEP_KEYS = ("name", "description", "base", "set", "grid", "zip", "random", "lhs", "replicates")
STATUS_OK = "ok"
STATUS_FAILED = "failed"
RESULTS_DIR = "results"
"""How often (in SimPy events) a worker looks at the wall clock for the time limit."""


class SweepError(ScenarioError):
    """A sweep file that cannot be expanded; the message names the key and why."""


# -- definition and expansion ------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One expanded point: its id, the swept values (table labels), the document, any error."""

    run_id: str
    params: dict[str, Any]
    doc: dict[str, Any]
    error: str | None = None


@dataclass
class Sweep:
    """A parsed sweep file: the base document and its axes, ready to expand."""

    name: str
    base: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: list[list[dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    """Each axis is a list of points; a point maps a dotted path to (label, value)."""
    source: Path | None = None

    @property
    def size(self) -> int:
        return math.prod(len(a) for a in self.axes) if self.axes else 1


def read_sweep(source: str | Path | Mapping[str, Any]) -> Sweep:
    """Parse a sweep file (YAML/JSON path) or mapping into a `Sweep`; errors name the key."""
    if isinstance(source, Mapping):
        doc, here, where = dict(source), Path.cwd(), "sweep"
    else:
        path = Path(source)
        doc = read_document(path)
        here, where = path.resolve().parent, str(path)
    unknown = sorted(set(doc) - set(SWEEP_KEYS))
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {', '.join(unknown)}; a sweep has {', '.join(SWEEP_KEYS)}")
    base_spec = doc.get("base", {})
    if isinstance(base_spec, str):
        base_path = Path(base_spec)
        base_path = base_path if base_path.is_absolute() else here / base_path
        base = read_document(base_path)
    elif isinstance(base_spec, Mapping):
        base = dict(base_spec)
    else:
        raise SweepError(f"base: {base_spec!r} is not allowed: give a scenario path or an inline scenario")
    fixed = doc.get("set") or {}
    if not isinstance(fixed, Mapping):
        raise SweepError(f"set: {fixed!r} is not allowed: a mapping of dotted path -> value")
    name = str(doc.get("name") or (Path(source).stem if not isinstance(source, Mapping) else "sweep"))
    axes: list[list[dict[str, tuple[Any, Any]]]] = []
    if doc.get("grid"):
        axes.extend(_grid_axes(doc["grid"]))
    if doc.get("zip"):
        groups = doc["zip"] if isinstance(doc["zip"], list) else [doc["zip"]]
        axes.extend(_zip_axis(g, f"zip.{i}" if len(groups) > 1 else "zip") for i, g in enumerate(groups))
    for kind in ("random", "lhs"):
        if doc.get(kind):
            axes.append(_sample_axis(kind, doc[kind]))
    if doc.get("replicates") is not None:
        axes.append(_replicate_axis(doc["replicates"], base, fixed))
    return Sweep(name=name, base=base, fixed=dict(fixed), axes=axes,
                 source=None if isinstance(source, Mapping) else Path(source))


def _values(where: str, spec: Any) -> list[tuple[Any, Any]]:
    """A value list -> [(label, value)]; a mapping is a labelled list."""
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, list):
        items = [(_label(v), v) for v in spec]
    else:
        raise SweepError(f"{where}: {spec!r} is not allowed: give a list of values or a mapping label -> value")
    if not items:
        raise SweepError(f"{where}: an axis needs at least one value")
    return items


def _label(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _grid_axes(spec: Any) -> list[list[dict[str, tuple[Any, Any]]]]:
    if not isinstance(spec, Mapping):
        raise SweepError(f"grid: {spec!r} is not allowed: a mapping of dotted path -> values")
    return [[{path: item} for item in _values(f"grid.{path}", vals)] for path, vals in spec.items()]


def _zip_axis(spec: Any, where: str) -> list[dict[str, tuple[Any, Any]]]:
    if not isinstance(spec, Mapping) or not spec:
        raise SweepError(f"{where}: {spec!r} is not allowed: a mapping of dotted path -> values of equal length")
    columns = {path: _values(f"{where}.{path}", vals) for path, vals in spec.items()}
    lengths = {path: len(v) for path, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise SweepError(f"{where}: the value lists differ in length: {lengths}")
    n = next(iter(lengths.values()))
    return [{path: vals[i] for path, vals in columns.items()} for i in range(n)]


def _sample_axis(kind: str, spec: Any) -> list[dict[str, tuple[Any, Any]]]:
    if not isinstance(spec, Mapping) or "ranges" not in spec or "samples" not in spec:
        raise SweepError(f"{kind}: give {{samples: N, seed: S, ranges: {{dotted.path: [low, high], ...}}}}")
    extra = sorted(set(spec) - {"samples", "seed", "ranges"})
    if extra:
        raise SweepError(f"{kind}: unknown key(s) {', '.join(extra)}; allowed: samples, seed, ranges")
    n, seed, ranges = spec["samples"], int(spec.get("seed", 0)), spec["ranges"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SweepError(f"{kind}.samples: {n!r} is not allowed: a positive integer")
    if not isinstance(ranges, Mapping) or not ranges:
        raise SweepError(f"{kind}.ranges: {ranges!r} is not allowed: a mapping of dotted path -> range")
    scalers = {path: _range(f"{kind}.ranges.{path}", r) for path, r in ranges.items()}
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(scalers), seed=seed).random(n)
    else:
        unit = np.random.default_rng(seed).random((n, len(scalers)))
    points = []
    for row in unit:
        point = {}
        for (path, scale), u in zip(scalers.items(), row):
            value = scale(float(u))
            point[path] = (_label(value), value)
        points.append(point)
    return points


def _range(where: str, spec: Any) -> Callable[[float], Any]:
    """A range spec -> a map from u in [0, 1) to a value."""
    if isinstance(spec, list) and len(spec) == 2:
        spec = {"low": spec[0], "high": spec[1]}
    if not isinstance(spec, Mapping):
        raise SweepError(f"{where}: {spec!r} is not allowed: [low, high], {{low, high, log, int, round}} "
                         "or {choices: [...]}")
    if "choices" in spec:
        choices = list(spec["choices"])
        if not choices or set(spec) != {"choices"}:
            raise SweepError(f"{where}: give only a non-empty choices list")
        return lambda u: choices[min(int(u * len(choices)), len(choices) - 1)]
    extra = sorted(set(spec) - {"low", "high", "log", "int", "round"})
    if extra:
        raise SweepError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: low, high, log, int, round")
    try:
        low, high = float(spec["low"]), float(spec["high"])
    except (KeyError, TypeError, ValueError):
        raise SweepError(f"{where}: {spec!r} is not allowed: low and high must be numbers") from None
    if not high >= low:
        raise SweepError(f"{where}: high {high} is below low {low}")
    log, as_int, digits = bool(spec.get("log", False)), bool(spec.get("int", False)), spec.get("round")
    if log and low <= 0:
        raise SweepError(f"{where}: a log range needs low > 0, got {low}")

    def scale(u: float) -> Any:
        if as_int:
            lo, hi = math.ceil(low), math.floor(high)
            if log:
                return int(min(max(round(math.exp(math.log(lo) + u * math.log(hi / lo))), lo), hi))
            return int(min(lo + math.floor(u * (hi - lo + 1)), hi))
        x = math.exp(math.log(low) + u * math.log(high / low)) if log else low + u * (high - low)
        return round(x, int(digits)) if digits is not None else x

    return scale


def _replicate_axis(spec: Any, base: Mapping[str, Any], fixed: Mapping[str, Any]) -> list[dict[str, tuple[Any, Any]]]:
    if isinstance(spec, bool):
        raise SweepError(f"replicates: {spec!r} is not allowed: a count or a list of seeds")
    if isinstance(spec, int):
        if spec < 1:
            raise SweepError(f"replicates: {spec} is not allowed: at least 1")
        first = fixed.get("seed", base.get("seed", 1))
        seeds = [int(first) + i for i in range(spec)]
    elif isinstance(spec, list) and spec and all(isinstance(s, int) and not isinstance(s, bool) for s in spec):
        seeds = list(spec)
    else:
        raise SweepError(f"replicates: {spec!r} is not allowed: a count or a list of integer seeds")
    return [{"seed": (s, s)} for s in seeds]


def run_id_of(resolved: Mapping[str, Any]) -> str:
    """The stable id of a run: 16 hex digits of SHA-256 over sorted, compact JSON."""
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expand_sweep(sweep: Sweep | str | Path | Mapping[str, Any]) -> list[RunSpec]:
    """Every run of the sweep, in a deterministic order, each validated.

    An invalid point is returned with `error` set (one line per problem, dotted
    paths) and an id hashed from its raw document. A point that resolves to the
    same scenario as an earlier one is dropped (same id, same result).
    """
    sw = sweep if isinstance(sweep, Sweep) else read_sweep(sweep)
    base = apply_overrides(sw.base, sw.fixed) if sw.fixed else sw.base
    columns = _column_kinds(sw)
    specs: list[RunSpec] = []
    seen: set[str] = set()
    for combo in itertools.product(*sw.axes) if sw.axes else [()]:
        overrides: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for point in combo:
            for path, (label, value) in point.items():
                overrides[path] = value
                params[path] = _column_value(label, columns[path])
        doc: dict[str, Any] = base
        try:
            doc = apply_overrides(base, overrides)
            scenario = validate_document(doc)
            rid, error = run_id_of(scenario.model_dump(mode="json")), None
        except ScenarioError as exc:
            rid, error = run_id_of({"invalid": doc, "overrides": overrides}), f"invalid scenario: {exc}"
        if rid in seen:
            continue
        seen.add(rid)
        specs.append(RunSpec(run_id=rid, params=params, doc=doc, error=error))
    return specs


def _column_kinds(sw: Sweep) -> dict[str, str]:
    """Per swept path, how its labels go into the table: as they are, or as JSON text when mixed."""
    labels: dict[str, list[Any]] = {}
    for axis in sw.axes:
        for point in axis:
            for path, (label, _) in point.items():
                labels.setdefault(path, []).append(label)
    kinds = {}
    for path, vals in labels.items():
        types = {("num" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__)
                 for v in vals if v is not None}
        kinds[path] = "raw" if len(types) <= 1 else "json"
    return kinds


def _column_value(label: Any, kind: str) -> Any:
    return label if kind == "raw" or isinstance(label, str) else json.dumps(label)


# -- the worker ----------------------------------------------------------------


class RunTimeout(RuntimeError):
    """A run passed its wall-clock limit."""


def run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one scenario and return its outcome; never raises (spawn- and Dask-safe, top level).

    `task`: ``run_id``, ``doc`` (the scenario document), optional ``timeout_s``,
    ``run_dir`` (write the run folder there) and ``runs_interval_s`` (coarser
    time-series bins for that folder).
    """
    t0 = time.perf_counter()
    out: dict[str, Any] = {"run_id": task["run_id"], "status": STATUS_OK, "error": None, "summary": {}}
    try:
        from sim.engine.world import World

        doc = task["doc"]
        if task.get("run_dir") and task.get("runs_interval_s"):  # validated like any override
            doc = apply_overrides(doc, {"output.interval": float(task["runs_interval_s"])})
        scenario = validate_document(doc)
        world = World(scenario)
        timeout = task.get("timeout_s")
        limit = None if not timeout else max(float(timeout) - (time.perf_counter() - t0), 0.0)
        try:
            world.run(wall_limit_s=limit)
        except EngineTimeout as exc:
            raise RunTimeout(f"run passed its {float(timeout):g} s limit: {exc}") from None
        result = world.result()
        out["summary"] = dict(result.summary)
        if task.get("run_dir"):
            result.to_dir(task["run_dir"])
    except RunTimeout as exc:
        out.update(status=STATUS_TIMEOUT, error=f"timeout: {exc}")
    except ScenarioError as exc:
        out.update(status=STATUS_FAILED, error=f"invalid scenario: {exc}")
    except Exception as exc:  # noqa: BLE001 - a sweep records every failure and goes on
        out.update(status=STATUS_FAILED, error=_describe(exc))
    out["wall_s"] = time.perf_counter() - t0
    return out


def warm_worker() -> None:
    """Import the engine once per worker, so the first run's wall_s is not the import."""
    import sim.engine.world  # noqa: F401


def _describe(exc: BaseException) -> str:
    """'TypeName: message (at file:line in func)', the innermost frame of the traceback."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        text += f" (at {Path(f.filename).name}:{f.lineno} in {f.name})"
    return text


# -- executors -------------------------------------------------------------------


class _Executor(ABC):
    """Submit tasks, iterate over outcomes as they finish; at most `window` in flight."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @abstractmethod
    def results(self, tasks: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Run the tasks; yield each outcome as it finishes."""

    def close(self) -> None:
        """Release workers (the pool and Dask executors override it)."""
        return None


class _PoolExecutor(_Executor):
    """Local runs, each in its own killable child process (sim/sweep/isolate.py)."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.runner = IsolatedRunner(workers, run_task)

    def results(self, tasks: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from self.runner.results(tasks)

    def close(self) -> None:
        self.runner.close()


def run_task_isolated(task: Mapping[str, Any]) -> dict[str, Any]:
    """`run_task` in its own child process of a Dask worker: a crash or a hang costs that run only."""
    return run_isolated(run_task, task)


class _DaskExecutor(_Executor):
    """A dask.distributed Client: a LocalCluster ('local'), a scheduler address, or a given client."""

    def __init__(self, workers: int | None, dask: str | None = None, client: Any = None) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        self.own_client = client is None
        if client is None:
            if dask in (None, "local"):
                import dask as dask_lib

                # non-daemonic workers may start a child process per run (run_task_isolated)
                dask_lib.config.set({"distributed.worker.daemon": False})
                self.cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                            processes=True, host="127.0.0.1", dashboard_address=None)
                client = Client(self.cluster)
            else:
                client = Client(dask)
        self.client = client
        client.run(warm_worker)
        n = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        super().__init__(max(n, 1))

    def results(self, tasks: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        from distributed import as_completed

        it = iter(tasks)
        window = 4 * self.workers
        pending: dict[str, dict[str, Any]] = {}
        first = [self._submit(t, pending) for t in itertools.islice(it, window)]
        if not first:
            return
        ac = as_completed(first)
        for fut in ac:
            task = pending.pop(fut.key)
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker (KilledWorker) fails its run only
                yield _lost(task, _describe(exc))
            nxt = next(it, None)
            if nxt is not None:
                ac.add(self._submit(nxt, pending))

    def _submit(self, task: dict[str, Any], pending: dict[str, dict[str, Any]]) -> Any:
        fut = self.client.submit(run_task_isolated, task, key=f"wattsim-run-{task['run_id']}-{time.time_ns()}",
                                 pure=False)
        pending[fut.key] = task
        return fut

    def close(self) -> None:
        if self.own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _lost(task: Mapping[str, Any], why: str) -> dict[str, Any]:
    return {"run_id": task["run_id"], "status": STATUS_FAILED, "error": why, "summary": {}, "wall_s": float("nan")}


# -- the results table -------------------------------------------------------------


def _row(spec: RunSpec, outcome: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": spec.run_id, **spec.params}
    for key, value in outcome.get("summary", {}).items():
        key = "sim_wall_s" if key == "wall_s" else key
        if key not in row:
            row[key] = value
    row.update(status=outcome["status"], error=outcome["error"], wall_s=outcome.get("wall_s", float("nan")),
               finished_at=datetime.now(UTC))
    return row


class _PartWriter:
    """Append rows to OUT/results/ as numbered Parquet part files (atomic rename)."""

    def __init__(self, out_dir: Path | None, flush_every: int, flush_s: float) -> None:
        self.dir = out_dir / RESULTS_DIR if out_dir else None
        self.flush_every, self.flush_s = flush_every, flush_s
        self.buffer: list[dict[str, Any]] = []
        self.last = time.monotonic()
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)
            numbers = [int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.parquet")]
            self.next = max(numbers, default=-1) + 1

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.flush_every or time.monotonic() - self.last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.dir or not self.buffer:
            self.buffer.clear()
            return
        frame = pd.DataFrame(self.buffer)
        target = self.dir / f"part-{self.next:06d}.parquet"
        tmp = target.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
        self.next += 1
        self.buffer.clear()

    def compact(self) -> None:
        """Merge every part into one (written before the old ones go; readers drop duplicate ids)."""
        if not self.dir:
            return
        parts = sorted(self.dir.glob("part-*.parquet"))
        if len(parts) < 2:
            return
        self.buffer = load_sweep(self.dir.parent, all_rows=True).to_dict("records")
        self.flush()
        for p in parts:
            p.unlink()


def load_sweep(out_dir: str | Path, *, all_rows: bool = False) -> pd.DataFrame:
    """The results table of a sweep folder: a row per run id (the latest if a run was retried).

    `all_rows=True` keeps every row ever written (a retried run appears more than once).
    """
    parts = sorted((Path(out_dir) / RESULTS_DIR).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["run_id", "status", "error", "wall_s", "finished_at"])
    frames = [pd.read_parquet(p) for p in parts]
    table = pd.concat([f for f in frames if not f.empty], ignore_index=True) if len(frames) > 1 else frames[0]
    if not all_rows:
        table = table.drop_duplicates("run_id", keep="last").reset_index(drop=True)
    return table


# -- running ------------------------------------------------------------------------


def run_sweep(
    sweep: str | Path | Mapping[str, Any] | Sweep,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    dask: str | None = None,
    client: Any = None,
    timeout_s: float | None = None,
    keep_runs: bool = False,
    runs_interval: str | float | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    flush_every: int = 500,
    flush_s: float = 2.0,
) -> pd.DataFrame:
    """Run every run of a sweep and return its table (a row per run, in expansion order).

    - `out_dir`: the sweep folder (results/ parts, sweep.yaml, runs/); None keeps
      everything in memory (no resume).
    - `workers`: processes of the local pool, or LocalCluster workers (default: cores).
    - `dask`: ``"local"`` for a LocalCluster, or a scheduler address ``tcp://host:8786``;
      `client`: an existing ``distributed.Client`` (takes precedence).
    - `timeout_s`: wall-clock limit per run (checked in the worker; see the module doc).
    - `keep_runs`: also write each run's folder to ``out_dir/runs/<run_id>``
      (on the worker's file system), with time-series bins of `runs_interval`.
    - `retry_failed`: rerun ids recorded as failed; finished ``ok`` ids are always skipped.
    - `flush_every` / `flush_s`: write a results part after this many rows or seconds
      (a killed sweep loses at most that much); the parts are merged into one at the end.
    """
    sw = sweep if isinstance(sweep, Sweep) else read_sweep(sweep)
    specs = expand_sweep(sw)
    out = Path(out_dir) if out_dir is not None else None
    if keep_runs and out is None:
        raise SweepError("keep_runs needs an output folder")
    interval_s = parse_duration(runs_interval) if runs_interval is not None else None
    previous = load_sweep(out) if out is not None else pd.DataFrame(columns=["run_id", "status"])
    if out is not None:
        _write_definition(out, sw, specs)
    done_status = dict(zip(previous["run_id"], previous["status"]))
    skip = {rid for rid, st in done_status.items() if st == STATUS_OK or not retry_failed}  # retry: failed, timeout
    todo = [s for s in specs if s.run_id not in skip]
    by_id = {s.run_id: s for s in specs}
    n_workers = workers or os.cpu_count() or 1
    writer = _PartWriter(out, flush_every, flush_s)
    rows: list[dict[str, Any]] = []
    bar = _progress(total=len(specs), initial=len(specs) - len(todo), enabled=progress, name=sw.name)
    failed = sum(1 for s in specs if done_status.get(s.run_id) not in (None, STATUS_OK) and s.run_id in skip)

    def record(spec: RunSpec, outcome: Mapping[str, Any]) -> None:
        nonlocal failed
        row = _row(spec, outcome)
        rows.append(row)
        writer.add(row)
        failed += outcome["status"] != STATUS_OK
        bar.update(1)
        bar.set_postfix(done=bar.n - failed, failed=failed, refresh=False)

    runnable = []
    for spec in todo:
        if spec.error is not None:
            record(spec, {"status": STATUS_FAILED, "error": spec.error, "wall_s": 0.0})
        else:
            runnable.append(spec)
    tasks = (
        {"run_id": s.run_id, "doc": s.doc, "timeout_s": timeout_s,
         "run_dir": str((out / "runs" / s.run_id).resolve()) if keep_runs and out else None,
         "runs_interval_s": interval_s}
        for s in runnable
    )
    executor: _Executor | None = None
    try:
        if runnable:
            if client is not None or dask is not None:
                executor = _DaskExecutor(workers, dask, client)
            else:
                executor = _PoolExecutor(min(n_workers, len(runnable)))
            for outcome in executor.results(tasks):
                record(by_id[outcome["run_id"]], outcome)
    finally:
        writer.flush()
        bar.close()
        if executor is not None:
            executor.close()
    writer.compact()
    fresh = pd.DataFrame(rows)
    frames = [f for f in (previous[previous["run_id"].isin(by_id)], fresh) if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run_id"])
    table = table.drop_duplicates("run_id", keep="last")
    order = {s.run_id: i for i, s in enumerate(specs)}
    return table.sort_values("run_id", key=lambda c: c.map(order)).reset_index(drop=True)


def _write_definition(out: Path, sw: Sweep, specs: Sequence[RunSpec]) -> None:
    """OUT/sweep.yaml (the definition as run, base inlined) and OUT/plan.parquet (every id and its values).

    Warns when the folder held a different plan: finished ids are still skipped.
    """
    out.mkdir(parents=True, exist_ok=True)
    doc = {"name": sw.name, "source": str(sw.source) if sw.source else None, "runs": len(specs),
           "base": sw.base, "set": sw.fixed}
    (out / "sweep.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(doc, default=str)), sort_keys=False))
    plan = pd.DataFrame([{"run_id": s.run_id, **s.params, "invalid": s.error} for s in specs])
    path = out / "plan.parquet"
    if path.is_file():
        try:
            old = pd.read_parquet(path, columns=["run_id"])["run_id"].tolist()
        except (OSError, ValueError, KeyError):
            old = None
        if old != plan["run_id"].tolist():
            warnings.warn(f"{out}: a different sweep was run into this folder before; finished run ids are "
                          "still skipped and load_sweep() returns the rows of both", stacklevel=3)
    tmp = path.with_suffix(".tmp")
    plan.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _progress(total: int, initial: int, enabled: bool, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc=name, unit="run", dynamic_ncols=True)


def cmd_sweep(args: Any) -> int:
    """`wattsim sweep`: run, then print counts and where the table is."""
    sw = read_sweep(args.sweep)
    if args.dask not in (None, "local") and not str(args.dask).startswith(("tcp://", "tls://")):
        raise SweepError(f"--dask {args.dask!r}: give 'local', or --scheduler tcp://HOST:8786")
    if args.dry_run:
        specs = expand_sweep(sw)
        bad = [s for s in specs if s.error]
        try:
            print(f"{sw.name}: {len(specs)} runs, {len(bad)} invalid")
            print(pd.DataFrame([{"run_id": s.run_id, **s.params} for s in specs]).to_string(index=False))
            for s in bad:
                print(f"{s.run_id}: {s.error}".replace("\n", "; "))
        except BrokenPipeError:  # `| head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    out = Path(args.output or Path("sweeps") / sw.name)
    table = run_sweep(
        sw, out, workers=args.workers, dask=args.scheduler or args.dask,
        timeout_s=parse_duration(args.timeout) if args.timeout else None,
        keep_runs=args.keep_runs, runs_interval=args.runs_interval,
        retry_failed=args.retry_failed, progress=not args.no_progress)
    failed = table[table["status"] != STATUS_OK]
    timed_out = int((table["status"] == STATUS_TIMEOUT).sum())
    print(f"sweep {sw.name!r}: {len(table) - len(failed)} ok, {len(failed) - timed_out} failed, {timed_out} timed out "
          f"-> {out}/{RESULTS_DIR}/")
    for _, row in failed.head(10).iterrows():
        print(f"  {row['run_id']}: {str(row['error']).splitlines()[0] if row['error'] else ''}")
    if len(failed) > 10:
        print(f"  ... and {len(failed) - 10} more (load_sweep('{out}') has them all)")
    return 1 if args.fail_on_error and len(failed) else 0
