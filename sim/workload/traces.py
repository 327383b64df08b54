"""Real cluster traces: readers that return one normalised table of jobs.

Every reader returns a `pandas.DataFrame` with one row per job and these
columns (SI units):

    job_id        the trace's id (string) or the row number
    submit_s      submit time, seconds after the trace window's start
    duration_s    run time on the trace's own hardware, s (summed over attempts)
    accelerators  whole accelerators the job holds (>= 1 after filtering; 0 = CPU only)
    gpu_fraction  share of each accelerator the job used (Alibaba `gpu_milli` / 1000; else 1)
    cluster       virtual cluster / queue / partition ("" when the trace has none)
    user          user id ("" when the trace has none)
    state         final state as the trace spells it ("" when none)
    gpu_type      accelerator model of the row ("" when none)

`df.attrs` carries `origin` (the timestamp of submit_s = 0, or None for traces
with relative times), `skipped` (malformed rows skipped), `path` and `format`.

Formats (`workload.trace.format`):

- `philly`: the Philly job CSV `timestamp,duration,num_gpus,gpu_time,cluster`
  (Pollux/AdaptDL artifact of Jeon et al., USENIX ATC 2019);
- `philly-json`: the original `cluster_job_log` JSON of msr-fiddle/philly-traces
  (a list of jobs with `submitted_time`, `vc`, `user`, `status` and
  `attempts[{start_time, end_time, detail[{ip, gpus[]}]}]`);
- `alibaba-gpu-2023`: `openb_pod_list_*.csv` of Alibaba clusterdata
  cluster-trace-gpu-v2023 (Weng et al., USENIX ATC 2023): `num_gpu`,
  `gpu_milli` (share of one GPU), `gpu_spec`, `creation_time`, `scheduled_time`,
  `deletion_time` (s);
- `alibaba-pai-2020`: `pai_task_table.csv` of cluster-trace-gpu-v2020 (Weng et
  al., NSDI 2022), headerless: job_name, task_name, inst_num, status,
  start_time, end_time, plan_cpu, plan_mem, plan_gpu (percent of one GPU per
  instance), gpu_type; a `pai_job_table.csv` next to it adds the user;
- `helios`: SenseTime Helios `cluster_log.csv` (Hu et al., SC 2021):
  job_id, user, vc, gpu_num, state, submit_time, start_time, end_time, duration;
- `swf`: the Standard Workload Format of the Parallel Workloads Archive
  (Feitelson et al.): 18 whitespace-separated fields, `;` comments, -1 = unknown;
- `csv`: any CSV, with `mapping` naming its columns (see `GENERIC_FIELDS`).

Malformed rows (unparsable numbers or times, negative durations) raise a
`TraceError` naming the file and the 1-based line, unless `skip_malformed`,
in which case they are dropped and counted in `attrs["skipped"]`.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.spec.traces import (
    BUNDLED,
    DEFAULT_MODEL_RULES,
    ModelRule,
    TraceConfig,
    TraceError,
    TraceFilter,
    infer_format,
    resolve_trace_path,
    scenario_dir,
)

COLUMNS = ["job_id", "submit_s", "duration_s", "accelerators", "gpu_fraction",
           "cluster", "user", "state", "gpu_type"]







# -- where a relative path is looked up --------------------------------------











# -- the scenario section ------------------------------------------------------














# -- reading -------------------------------------------------------------------


class _Rows:
    """Collects normalised rows and malformed-row errors for one file."""

    def __init__(self, path: Path, skip: bool) -> None:
        self.path = path
        self.skip = skip
        self.skipped = 0

    def bad(self, line: int, why: str) -> None:
        if not self.skip:
            raise TraceError(f"{self.path}:{line}: malformed row: {why} (set workload.trace.skip_malformed: true "
                             "to skip such rows)")
        self.skipped += 1


def _check_numeric(df: pd.DataFrame, cols: list[str], rows: _Rows, line0: int,
                   nonneg: tuple[str, ...] = ()) -> pd.DataFrame:
    """Coerce columns to numbers; report the first bad line (1-based file line)."""
    bad = pd.Series(False, index=df.index)
    why: dict[int, str] = {}
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        b = v.isna() & df[c].notna() | v.isna() & (c in nonneg)
        if c in nonneg:
            b |= v < 0
        for i in df.index[b & ~bad][:1]:
            why.setdefault(i, f"{c}={df.at[i, c]!r}")
        bad |= b
        df[c] = v
    if bad.any():
        if not rows.skip:
            i = int(np.flatnonzero(bad.to_numpy())[0])
            idx = df.index[i]
            rows.bad(line0 + i, why.get(idx, "bad value"))
        rows.skipped += int(bad.sum())
        df = df[~bad]
    return df


def _parse_times(s: pd.Series, col: str, rows: _Rows, line0: int) -> tuple[pd.Series, pd.Series]:
    t = pd.to_datetime(s, errors="coerce", utc=True)
    bad = t.isna() & s.notna()
    if bad.any() and not rows.skip:
        i = int(np.flatnonzero(bad.to_numpy())[0])
        rows.bad(line0 + i, f"{col}={s.iloc[i]!r} is not a timestamp")
    return t, bad


def _read_csv(path: Path, **kw: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True, **kw)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: not a readable CSV: {exc}") from None


def _read_csv_numbers(path: Path, numeric: list[str]) -> pd.DataFrame | None:
    """The CSV with its `numeric` columns parsed to floats by the reader itself, the others as strings.

    The fast path of `_read_csv` + `_check_numeric`: pandas' reader and `pd.to_numeric` parse
    numbers with one function (precise_xstrtod), so the values are the same. None when a
    column is missing or any of its values is missing, malformed or negative: the caller
    then reads strings and reports the first bad line.
    """
    dtypes: defaultdict[str, type] = defaultdict(lambda: str)
    dtypes.update(dict.fromkeys(numeric, float))
    try:
        df = pd.read_csv(path, dtype=dtypes, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, TypeError):
        return None
    for c in numeric:
        if c not in df.columns:
            return None
        v = df[c].to_numpy()
        if v.dtype != np.float64 or np.isnan(v).any() or (v < 0).any():
            return None
    return df


def _need(df: pd.DataFrame, cols: list[str], path: Path, fmt: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise TraceError(f"{path}: not a {fmt} trace: missing column(s) {missing}; has {list(df.columns)}")


def read_philly(path: Path, skip: bool = False) -> pd.DataFrame:
    rows = _Rows(path, skip)
    fast = _read_csv_numbers(path, ["duration", "num_gpus"])
    df = fast if fast is not None else _read_csv(path)
    _need(df, ["timestamp", "duration", "num_gpus", "cluster"], path, "philly")
    if fast is None:
        df = _check_numeric(df, ["duration", "num_gpus"], rows, 2, nonneg=("duration", "num_gpus"))
    t, bad = _parse_times(df["timestamp"], "timestamp", rows, 2)
    rows.skipped += int(bad.sum())
    df, t = df[~bad], t[~bad]
    out = pd.DataFrame({
        "job_id": df.index.astype(str), "submit_t": t, "duration_s": df["duration"].astype(float),
        "accelerators": df["num_gpus"].astype(int), "gpu_fraction": 1.0,
        "cluster": df["cluster"].fillna("").astype(str), "user": "", "state": "", "gpu_type": "",
    })
    return _finish(out, rows, "philly")


def read_philly_json(path: Path, skip: bool = False) -> pd.DataFrame:
    rows = _Rows(path, skip)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        data = data.get("jobs", list(data.values()))
    if not isinstance(data, list):
        raise TraceError(f"{path}: expected a list of jobs")
    recs = []
    for k, job in enumerate(data):
        where = k + 1  # JSON has no useful line per job: report the job's position
        try:
            submit = pd.Timestamp(job["submitted_time"])
            if submit is pd.NaT:
                raise ValueError("no submitted_time")
            dur = 0.0
            gpus = 0
            for a in job.get("attempts") or []:
                if a.get("start_time") and a.get("end_time"):
                    d = (pd.Timestamp(a["end_time"]) - pd.Timestamp(a["start_time"])).total_seconds()
                    if d < 0:
                        raise ValueError(f"attempt ends before it starts ({d} s)")
                    dur += d
                gpus = max(gpus, sum(len(det.get("gpus") or []) for det in a.get("detail") or []))
            recs.append((str(job.get("jobid", k)), submit, dur, gpus, str(job.get("vc", "")),
                         str(job.get("user", "")), str(job.get("status", ""))))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            if not skip:
                raise TraceError(f"{path}: job #{where} (jobid {job.get('jobid') if isinstance(job, dict) else '?'})"
                                 f": malformed: {exc}") from None
            rows.skipped += 1
    out = pd.DataFrame(recs, columns=["job_id", "submit_t", "duration_s", "accelerators", "cluster", "user", "state"])
    out["submit_t"] = pd.to_datetime(out["submit_t"], utc=True)
    out["gpu_fraction"] = 1.0
    out["gpu_type"] = ""
    return _finish(out, rows, "philly-json")


def read_alibaba_2023(path: Path, skip: bool = False) -> pd.DataFrame:
    rows = _Rows(path, skip)
    df = _read_csv(path)
    _need(df, ["name", "num_gpu", "gpu_milli", "creation_time", "deletion_time", "scheduled_time"], path,
          "alibaba-gpu-2023")
    df = _check_numeric(df, ["num_gpu", "gpu_milli", "creation_time", "deletion_time"], rows, 2,
                        nonneg=("num_gpu", "gpu_milli", "creation_time", "deletion_time"))
    sched = pd.to_numeric(df["scheduled_time"], errors="coerce")
    ran = sched.notna()  # pods never scheduled (Pending) did not run
    start = sched.where(ran, df["deletion_time"])
    dur = (df["deletion_time"] - start).clip(lower=0.0)
    n = df["num_gpu"].astype(int)
    milli = df["gpu_milli"].astype(float)
    # gpu_milli is the share of each GPU (1000 = whole); a pod with num_gpu > 1 takes whole GPUs
    frac = np.where(n > 0, np.clip(milli / 1000.0, 0.0, 1.0), 0.0)
    out = pd.DataFrame({
        "job_id": df["name"].astype(str), "submit_s": df["creation_time"].astype(float), "duration_s": dur,
        "accelerators": n, "gpu_fraction": frac, "cluster": df.get("qos", pd.Series("", index=df.index)).fillna(""),
        "user": "", "state": df.get("pod_phase", pd.Series("", index=df.index)).fillna("").astype(str),
        "gpu_type": df["gpu_spec"].fillna("").astype(str) if "gpu_spec" in df else "",
    })
    out.loc[~ran, "state"] = out.loc[~ran, "state"].where(out.loc[~ran, "state"] != "", "Pending")
    return _finish(out, rows, "alibaba-gpu-2023")


PAI_TASK_COLUMNS = ["job_name", "task_name", "inst_num", "status", "start_time", "end_time",
                    "plan_cpu", "plan_mem", "plan_gpu", "gpu_type"]
PAI_JOB_COLUMNS = ["job_name", "inst_id", "user", "status", "start_time", "end_time"]


def read_alibaba_pai_2020(path: Path, skip: bool = False) -> pd.DataFrame:
    """One row per task (a job's role: worker, ps, ...); GPUs = inst_num x plan_gpu / 100."""
    rows = _Rows(path, skip)
    df = _read_csv(path, header=None)
    if str(df.iloc[0, 0]) == "job_name":  # a copy with a header row
        df = df.iloc[1:].reset_index(drop=True)
        line0 = 2
    else:
        line0 = 1
    if df.shape[1] < len(PAI_TASK_COLUMNS):
        raise TraceError(f"{path}: not a PAI 2020 task table: {df.shape[1]} columns, expected "
                         f"{len(PAI_TASK_COLUMNS)} ({', '.join(PAI_TASK_COLUMNS)})")
    df = df.iloc[:, : len(PAI_TASK_COLUMNS)]
    df.columns = PAI_TASK_COLUMNS
    df["plan_gpu"] = df["plan_gpu"].fillna("0")
    df = _check_numeric(df, ["inst_num", "start_time", "end_time", "plan_gpu"], rows, line0,
                        nonneg=("inst_num", "start_time", "end_time"))
    dur = df["end_time"] - df["start_time"]
    bad = dur < 0
    if bad.any():
        if not skip:
            i = int(np.flatnonzero(bad.to_numpy())[0])
            rows.bad(line0 + i, f"end_time before start_time ({dur.iloc[i]} s)")
        rows.skipped += int(bad.sum())
        df, dur = df[~bad], dur[~bad]
    gpus = df["inst_num"] * df["plan_gpu"] / 100.0
    acc = np.ceil(gpus - 1e-9).astype(int)
    frac = np.where(acc > 0, gpus / acc.clip(lower=1), 0.0)
    user = pd.Series("", index=df.index)
    job_table = path.with_name("pai_job_table.csv")
    if job_table.is_file():
        jt = _read_csv(job_table, header=None).iloc[:, : len(PAI_JOB_COLUMNS)]
        jt.columns = PAI_JOB_COLUMNS
        user = df["job_name"].map(jt.drop_duplicates("job_name").set_index("job_name")["user"]).fillna("")
    out = pd.DataFrame({
        "job_id": df["job_name"].astype(str) + "/" + df["task_name"].astype(str),
        "submit_s": df["start_time"].astype(float), "duration_s": dur.astype(float), "accelerators": acc,
        "gpu_fraction": frac, "cluster": "", "user": user.astype(str),
        "state": df["status"].fillna("").astype(str), "gpu_type": df["gpu_type"].fillna("").astype(str),
    })
    return _finish(out, rows, "alibaba-pai-2020")


def read_helios(path: Path, skip: bool = False) -> pd.DataFrame:
    rows = _Rows(path, skip)
    df = _read_csv(path)
    _need(df, ["submit_time", "gpu_num"], path, "helios")
    if "duration" not in df.columns:
        _need(df, ["start_time", "end_time"], path, "helios (no duration column)")
    df = _check_numeric(df, ["gpu_num"] + (["duration"] if "duration" in df else []), rows, 2,
                        nonneg=("gpu_num",) + (("duration",) if "duration" in df else ()))
    t, bad = _parse_times(df["submit_time"], "submit_time", rows, 2)
    rows.skipped += int(bad.sum())
    df, t = df[~bad], t[~bad]
    if "duration" in df.columns:
        dur = df["duration"].astype(float)
    else:
        dur = (pd.to_datetime(df["end_time"], utc=True) - pd.to_datetime(df["start_time"], utc=True)).dt.total_seconds()
    col = lambda c: df[c].fillna("").astype(str) if c in df.columns else ""  # noqa: E731
    out = pd.DataFrame({
        "job_id": col("job_id") if "job_id" in df else df.index.astype(str), "submit_t": t, "duration_s": dur,
        "accelerators": df["gpu_num"].astype(int), "gpu_fraction": 1.0, "cluster": col("vc"),
        "user": col("user"), "state": col("state"), "gpu_type": "",
    })
    return _finish(out, rows, "helios")


SWF_FIELDS = ["job", "submit", "wait", "run", "alloc_procs", "avg_cpu", "mem", "req_procs", "req_time",
              "req_mem", "status", "user", "group", "exe", "queue", "partition", "prev_job", "think"]


def read_swf(path: Path, skip: bool = False, processors_per_accelerator: float = 1.0,
             time_unit_s: float = 1.0) -> pd.DataFrame:
    """Standard Workload Format v2.2 (Parallel Workloads Archive): -1 = unknown."""
    rows = _Rows(path, skip)
    recs = []
    with path.open() as fh:
        for line_no, line in enumerate(fh, start=1):
            s = line.strip()
            if not s or s.startswith(";"):
                continue
            parts = s.split()
            try:
                if len(parts) < 5:
                    raise ValueError(f"{len(parts)} fields, expected 18")
                v = [float(x) for x in parts[:18]] + [-1.0] * (18 - min(len(parts), 18))
            except ValueError as exc:
                rows.bad(line_no, str(exc))
                continue
            f = dict(zip(SWF_FIELDS, v))
            procs = f["alloc_procs"] if f["alloc_procs"] > 0 else f["req_procs"]
            if f["run"] < 0 or procs < 0 or f["submit"] < 0:
                rows.bad(line_no, f"unknown run time, processors or submit time ({parts[1]}, {parts[3]}, {parts[4]})")
                continue
            recs.append((str(int(f["job"])), f["submit"] * time_unit_s, f["run"] * time_unit_s,
                         int(math.ceil(procs / processors_per_accelerator - 1e-9)),
                         str(int(f["queue"])) if f["queue"] >= 0 else "",
                         str(int(f["user"])) if f["user"] >= 0 else "",
                         str(int(f["status"])) if f["status"] >= 0 else ""))
    out = pd.DataFrame(recs, columns=["job_id", "submit_s", "duration_s", "accelerators", "cluster", "user", "state"])
    out["gpu_fraction"] = 1.0
    out["gpu_type"] = ""
    return _finish(out, rows, "swf")


def read_generic_csv(path: Path, mapping: dict[str, str], skip: bool = False,
                     time_unit_s: float = 1.0) -> pd.DataFrame:
    """Any CSV: `mapping` names the column of each field of `GENERIC_FIELDS`.

    `submit` (and `start`/`end`) may be numbers (x time_unit seconds) or timestamps.
    """
    rows = _Rows(path, skip)
    df = _read_csv(path)
    _need(df, list(mapping.values()), path, "mapped CSV")
    get = {f: df[c] for f, c in mapping.items()}
    numeric = ["accelerators"] + [f for f in ("duration", "gpu_fraction") if f in get]
    tmp = pd.DataFrame({f: get[f] for f in numeric})
    tmp = _check_numeric(tmp, numeric, rows, 2, nonneg=tuple(numeric))
    keep = tmp.index

    def times(field: str) -> tuple[pd.Series, bool]:
        s = get[field].loc[keep]
        num = pd.to_numeric(s, errors="coerce")
        if num.notna().all():
            return num * time_unit_s, False
        t, bad = _parse_times(s, mapping[field], rows, 2)
        if bad.any():
            rows.skipped += int(bad.sum())
        return t, True

    submit, is_ts = times("submit")
    if "duration" in get:
        dur = tmp["duration"] * time_unit_s
    else:
        st, st_ts = times("start")
        en, _ = times("end")
        dur = (en - st).dt.total_seconds() if st_ts else (en - st)
    out = pd.DataFrame({
        "job_id": get["job_id"].loc[keep].astype(str) if "job_id" in get else keep.astype(str),
        ("submit_t" if is_ts else "submit_s"): submit,
        "duration_s": dur.astype(float),
        "accelerators": np.ceil(tmp["accelerators"] - 1e-9).astype(int),
        "gpu_fraction": tmp["gpu_fraction"].astype(float) if "gpu_fraction" in tmp else 1.0,
    })
    for f in ("cluster", "user", "state", "gpu_type"):
        out[f] = get[f].loc[keep].fillna("").astype(str) if f in get else ""
    out = out.dropna(subset=["submit_t" if is_ts else "submit_s", "duration_s"])
    return _finish(out, rows, "csv")


def _finish(out: pd.DataFrame, rows: _Rows, fmt: str) -> pd.DataFrame:
    """Make submit_s relative to the earliest submit; record origin and skips."""
    origin = None
    if "submit_t" in out.columns:
        origin = out["submit_t"].min() if len(out) else None
        out["submit_s"] = (out["submit_t"] - origin).dt.total_seconds() if len(out) else 0.0
        out = out.drop(columns="submit_t")
    elif len(out):
        out["submit_s"] = out["submit_s"] - out["submit_s"].min()
    out = out[COLUMNS].take(_submit_order(out)).reset_index(drop=True)
    out["accelerators"] = out["accelerators"].astype(int)
    out.attrs.update(origin=origin, skipped=rows.skipped, path=str(rows.path), format=fmt)
    return out


def _submit_order(out: pd.DataFrame) -> np.ndarray:
    """Row order by submit time, then job id: `sort_values(["submit_s", "job_id"], kind="stable")`.

    Arrow's sort is stable, compares text by code point (UTF-8 bytes) as Python does, puts NaN
    after every number and a missing id after every id, as pandas does; 5x faster than pandas'
    sort, which builds categories of both columns first (Philly: 0.015 against 0.08 s).
    """
    keys = pa.table({"submit_s": pa.array(out["submit_s"].to_numpy(dtype=float)),
                     "job_id": pa.Array.from_pandas(out["job_id"], type=pa.large_string())})
    return pc.sort_indices(keys, sort_keys=[("submit_s", "ascending"), ("job_id", "ascending")]).to_numpy()


#: tables read in this process, by file (path, size, modification time) and reader options:
#: a sweep's worker replays one trace run after run; a caller gets a copy, never the cached table
_READ_CACHE: OrderedDict[tuple[object, ...], pd.DataFrame] = OrderedDict()
_READ_CACHE_SIZE = 4
_READ_CACHE_LOCK = threading.Lock()


def _file_key(p: Path) -> tuple[str, int, int]:
    st = p.stat()
    return str(p.resolve()), st.st_size, st.st_mtime_ns


def read_trace(path: str | Path, format: str | None = None, *, skip_malformed: bool = False,
               mapping: dict[str, str] | None = None, time_unit_s: float = 1.0,
               processors_per_accelerator: float = 1.0) -> pd.DataFrame:
    """Read a trace file (or bundled name) into the normalised table (unfiltered).

    A file read before in this process, unchanged since (same size and
    modification time, its PAI job table too) and with the same options, is not
    parsed again: the caller gets a copy of the table read then.
    """
    fmt = format or infer_format(str(path))
    p = resolve_trace_path(str(path)) if not isinstance(path, Path) else path
    if not p.is_file():
        raise TraceError(f"trace file {str(p)!r} does not exist")
    side = p.with_name("pai_job_table.csv") if fmt == "alibaba-pai-2020" else None
    key = (_file_key(p), _file_key(side) if side is not None and side.is_file() else None, fmt, skip_malformed,
           tuple(sorted((mapping or {}).items())), time_unit_s, processors_per_accelerator)
    with _READ_CACHE_LOCK:
        hit = _READ_CACHE.get(key)
        if hit is not None:
            _READ_CACHE.move_to_end(key)
    if hit is None:
        hit = _read_trace(p, fmt, skip_malformed, mapping, time_unit_s, processors_per_accelerator)
        with _READ_CACHE_LOCK:
            _READ_CACHE[key] = hit
            while len(_READ_CACHE) > _READ_CACHE_SIZE:
                _READ_CACHE.popitem(last=False)
    return hit.copy()


def _read_trace(p: Path, fmt: str, skip_malformed: bool, mapping: dict[str, str] | None, time_unit_s: float,
                processors_per_accelerator: float) -> pd.DataFrame:
    if fmt == "philly":
        return read_philly(p, skip_malformed)
    if fmt == "philly-json":
        return read_philly_json(p, skip_malformed)
    if fmt == "alibaba-gpu-2023":
        return read_alibaba_2023(p, skip_malformed)
    if fmt == "alibaba-pai-2020":
        return read_alibaba_pai_2020(p, skip_malformed)
    if fmt == "helios":
        return read_helios(p, skip_malformed)
    if fmt == "swf":
        return read_swf(p, skip_malformed, processors_per_accelerator, time_unit_s)
    if fmt == "csv":
        return read_generic_csv(p, mapping or {}, skip_malformed, time_unit_s)
    raise TraceError(f"unknown trace format {fmt!r}")


def apply_filter(df: pd.DataFrame, f: TraceFilter, time_scale: float = 1.0) -> pd.DataFrame:
    """Keep the rows `f` selects; re-base submit_s on the window start and scale it."""
    origin = df.attrs.get("origin")
    t0 = 0.0
    keep = pd.Series(True, index=df.index)

    def offset(bound: datetime | float) -> float:
        if isinstance(bound, datetime):
            if origin is None:
                raise TraceError(f"{df.attrs.get('path')}: this trace has relative times; give the window "
                                 "as offsets (e.g. start: 10d), not timestamps")
            return (pd.Timestamp(bound) - origin).total_seconds()
        return float(bound)

    if f.start is not None:
        t0 = offset(f.start)
        keep &= df["submit_s"] >= t0
    if f.end is not None:
        keep &= df["submit_s"] < offset(f.end)
    for col, want in (("cluster", f.cluster), ("user", f.user)):
        if want is not None:
            keep &= df[col].isin([want] if isinstance(want, str) else want)
    if f.states is not None:
        keep &= df["state"].isin(f.states)
    keep &= df["accelerators"] >= f.min_accelerators
    if f.max_accelerators is not None:
        keep &= df["accelerators"] <= f.max_accelerators
    keep &= df["duration_s"] >= f.min_duration
    keep &= df["duration_s"] > 0
    if f.max_duration is not None:
        keep &= df["duration_s"] <= f.max_duration
    if f.max_gpu_time is not None:
        keep &= df["duration_s"] * df["accelerators"] * df["gpu_fraction"] <= f.max_gpu_time
    out = df[keep].copy()
    if f.max_jobs is not None:
        out = out.iloc[: f.max_jobs]
    out["submit_s"] = (out["submit_s"] - t0) * time_scale
    out.attrs = dict(df.attrs)
    if origin is not None:
        out.attrs["origin"] = origin + pd.Timedelta(seconds=t0)
    return out.reset_index(drop=True)


def load_trace(cfg: TraceConfig) -> pd.DataFrame:
    """Read, filter and time-scale the trace a scenario names."""
    df = read_trace(cfg.resolved_path(), cfg.format, skip_malformed=cfg.skip_malformed, mapping=cfg.mapping,
                    time_unit_s=cfg.time_unit, processors_per_accelerator=cfg.processors_per_accelerator)
    return apply_filter(df, cfg.filter, cfg.time_scale)


__all__ = [
    "BUNDLED", "COLUMNS", "DEFAULT_MODEL_RULES", "ModelRule", "TraceConfig", "TraceError", "TraceFilter",
    "apply_filter", "load_trace", "read_trace", "resolve_trace_path", "scenario_dir",
]
