"""Tables of a serving run: per request, per output bin, and a summary with two energy boundaries.

Energy per request and per output token on two boundaries, as Google
reported for Gemini (Elsworth et al. 2025, arXiv 2508.15734; see
``data/reference/inference.md``):

- accelerators only ("active accelerators"): the accelerator energy of
  replicas while they prefill or decode; it is also the sum of the per-request
  energies (each iteration's energy is credited to the requests in it);
- comprehensive: all accelerator energy of the deployment (active + idle and
  booting capacity provisioned for the peak) + the host share of its nodes +
  the facility overhead (cooling and power losses), ``(PUE - 1) x IT`` with the
  run's PUE.

Per request = boundary energy / completed requests; per output token =
boundary energy / output tokens of completed requests (so a run should drain:
`simulate_serving` runs until the last request ends).

Tokens per bin count a request's first token at its first-token time and
spread the rest evenly to its end (within a request the step time grows by
the KV term only, a few per cent over an answer; the per-request mean TBT
is exact). Batch, KV occupancy and replicas on are exact time means (ledger
level channels).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.units import J_PER_KWH

if TYPE_CHECKING:
    from sim.serving.engine import ServingEngine

#: requests.parquet: one row per request (unit, meaning)
REQUEST_COLUMNS: dict[str, tuple[str, str]] = {
    "request_id": ("-", "index in the stream (arrival order)"),
    "replica": ("-", "replica that served it (-1: never routed)"),
    "arrival_s": ("s", "arrival time"),
    "prompt_tokens": ("tokens", "prompt length"),
    "output_tokens": ("tokens", "output length"),
    "start_s": ("s", "prefill start; NaN if never admitted"),
    "first_token_s": ("s", "time of the first output token"),
    "end_s": ("s", "time of the last output token; NaN if unfinished"),
    "ttft_s": ("s", "time to first token = first_token_s - arrival_s"),
    "tbt_mean_s": ("s", "mean time between output tokens = (end_s - first_token_s) / (output_tokens - 1)"),
    "e2e_s": ("s", "end_s - arrival_s"),
    "energy_j": ("J", "accelerator energy credited to the request: its FLOP share of prefills and an equal "
                      "share of each decode step"),
    "slo_met": ("bool", "ttft_s <= serving.slo.ttft_s and tbt_mean_s <= serving.slo.tbt_s"),
}

#: per output bin (timeseries columns `serving_<name>` in a World run)
BIN_COLUMNS: dict[str, tuple[str, str]] = {
    "arrivals_per_s": ("1/s", "requests arriving per second"),
    "output_tokens_per_s": ("1/s", "output tokens per second"),
    "mean_batch": ("count", "mean sequences per powered replica (decode batch + prefill group)"),
    "kv_occupancy": ("1", "reserved KV cache / KV capacity of the powered replicas, time mean"),
    "replicas_on": ("count", "replicas powered (booting included), time mean"),
    "ttft_p50_s": ("s", "median TTFT of the completed requests that arrived in the bin"),
    "ttft_p99_s": ("s", "99th percentile of that TTFT"),
    "tbt_p50_s": ("s", "median per-request mean TBT of the same requests"),
    "tbt_p99_s": ("s", "99th percentile of that TBT"),
    "slo_attainment": ("1", "share of the same requests that met both SLOs"),
    "accelerator_w": ("W", "mean accelerator power of the deployment"),
    "host_w": ("W", "mean host power of the deployment"),
}

#: summary keys of a serving run (unit, meaning)
SUMMARY_KEYS: dict[str, tuple[str, str]] = {
    "serving_requests": ("count", "requests that arrived"),
    "serving_requests_completed": ("count", "requests whose last token came before the end"),
    "serving_requests_unfinished": ("count", "requests still queued or running at the end"),
    "serving_output_tokens": ("tokens", "output tokens of the completed requests"),
    "serving_prompt_tokens": ("tokens", "prompt tokens of the completed requests"),
    "serving_max_batch": ("count", "batch limit per replica (serving.max_batch, auto resolved)"),
    "serving_kv_capacity_tokens": ("tokens", "KV cache of one replica"),
    "serving_ttft_p50_s": ("s", "median time to first token"),
    "serving_ttft_p99_s": ("s", "99th percentile time to first token"),
    "serving_tbt_p50_s": ("s", "median per-request mean time between tokens"),
    "serving_tbt_p99_s": ("s", "99th percentile per-request mean time between tokens"),
    "serving_e2e_p50_s": ("s", "median arrival-to-last-token time"),
    "serving_e2e_p99_s": ("s", "99th percentile arrival-to-last-token time"),
    "serving_slo_attainment": ("1", "share of completed requests that met both SLOs"),
    "serving_mean_batch": ("count", "mean sequences per powered replica"),
    "serving_kv_occupancy": ("1", "mean reserved KV / KV capacity of the powered replicas"),
    "serving_replica_on_hours": ("h", "replica-hours powered (booting included)"),
    "serving_accelerator_active_kwh": ("kWh", "accelerator energy while prefilling or decoding"),
    "serving_accelerator_idle_kwh": ("kWh", "accelerator energy of powered replicas with nothing to do, or booting"),
    "serving_host_kwh": ("kWh", "host energy of the deployment's share of its nodes"),
    "serving_overhead_kwh": ("kWh", "(PUE - 1) x the deployment's IT energy: cooling and power losses"),
    "serving_comprehensive_kwh": ("kWh", "accelerators (active + idle) + host + overhead"),
    "serving_energy_per_request_accel_wh": ("Wh", "active accelerator energy per completed request"),
    "serving_energy_per_request_accel_median_wh": ("Wh", "median of the requests' credited energy_j"),
    "serving_energy_per_request_comprehensive_wh": ("Wh", "comprehensive energy per completed request"),
    "serving_energy_per_output_token_accel_j": ("J", "active accelerator energy per output token"),
    "serving_energy_per_output_token_comprehensive_j": ("J", "comprehensive energy per output token"),
    "serving_share_accelerator_active": ("1", "share of the comprehensive energy: active accelerators"),
    "serving_share_accelerator_idle": ("1", "share: idle and booting accelerators"),
    "serving_share_host": ("1", "share: hosts"),
    "serving_share_overhead": ("1", "share: facility overhead"),
}


def requests_table(engine: ServingEngine, ttft_slo_s: float, tbt_slo_s: float) -> pd.DataFrame:
    s = engine.stream
    out = s.output_tokens
    first = np.asarray(engine.first_s)
    end = np.asarray(engine.end_s)
    ttft = first - s.arrival_s
    with np.errstate(invalid="ignore", divide="ignore"):
        tbt = np.where(out > 1, (end - first) / np.maximum(out - 1, 1), 0.0)
    tbt = np.where(np.isnan(end), np.nan, tbt)
    return pd.DataFrame({
        "request_id": np.arange(len(s), dtype=np.int64),
        "replica": np.asarray(engine.replica_of, dtype=np.int64),
        "arrival_s": s.arrival_s,
        "prompt_tokens": s.prompt_tokens,
        "output_tokens": out,
        "start_s": np.asarray(engine.start_s),
        "first_token_s": first,
        "end_s": end,
        "ttft_s": ttft,
        "tbt_mean_s": tbt,
        "e2e_s": end - s.arrival_s,
        "energy_j": np.asarray(engine.energy_j),
        "slo_met": (ttft <= ttft_slo_s) & (tbt <= tbt_slo_s) & ~np.isnan(end),
    })


def _ramp_integral(a: np.ndarray, b: np.ndarray, rate: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """sum_i rate_i x |[a_i, b_i) intersected with (-inf, x)| at each edge x (vectorised)."""
    def part(t: np.ndarray) -> np.ndarray:
        order = np.argsort(t)
        ts, rs = t[order], rate[order]
        c_r = np.concatenate(([0.0], np.cumsum(rs)))
        c_rt = np.concatenate(([0.0], np.cumsum(rs * ts)))
        k = np.searchsorted(ts, edges, side="right")
        return c_r[k] * edges - c_rt[k]
    return part(a) - part(b)


def bins_table(engine: ServingEngine, ledger: Any, edges: np.ndarray, requests: pd.DataFrame) -> pd.DataFrame:
    edges = np.asarray(edges, dtype=np.float64)
    width = np.diff(edges)
    chans = {"acc": [], "host": [], "batch": [], "kv": [], "on": []}
    for r in engine.replicas:
        chans["acc"].append(r.ch_acc)
        chans["host"].append(r.ch_host)
        chans["batch"].append(r.ch_batch)
        chans["kv"].append(r.ch_kv)
        chans["on"].append(r.ch_on)
    integ = ledger.binned(edges, chans)
    done = requests[~requests["end_s"].isna()]
    out = done["output_tokens"].to_numpy(np.float64)
    first = done["first_token_s"].to_numpy()
    end = done["end_s"].to_numpy()
    firsts = np.histogram(first, bins=edges)[0].astype(np.float64)
    span = end - first
    rest = out - 1.0
    has = (rest > 0) & (span > 0)
    spread = _ramp_integral(first[has], end[has], rest[has] / span[has], edges)
    instant = (rest > 0) & ~(span > 0)  # all tokens at once (zero-length decode): count at the end
    tokens = firsts + np.diff(spread) + np.histogram(end[instant], bins=edges, weights=rest[instant])[0]
    on = integ["on"] / width
    cap = engine.perf.kv_capacity_tokens
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_batch = np.where(on > 0, integ["batch"] / width / on, 0.0)
        kv_occ = np.where(on > 0, integ["kv"] / width / (on * cap), 0.0)
    rows: dict[str, Any] = {
        "arrivals_per_s": np.histogram(requests["arrival_s"], bins=edges)[0] / width,
        "output_tokens_per_s": tokens / width,
        "mean_batch": mean_batch,
        "kv_occupancy": kv_occ,
        "replicas_on": on,
    }
    idx = np.searchsorted(edges, requests["arrival_s"].to_numpy(), side="right") - 1
    stats = {k: np.full(len(width), np.nan) for k in ("ttft_p50_s", "ttft_p99_s", "tbt_p50_s", "tbt_p99_s",
                                                       "slo_attainment")}
    ttft = requests["ttft_s"].to_numpy()
    tbt = requests["tbt_mean_s"].to_numpy()
    ok = requests["slo_met"].to_numpy()
    fin = ~requests["end_s"].isna().to_numpy()
    for b in range(len(width)):
        m = (idx == b) & fin
        if m.any():
            stats["ttft_p50_s"][b], stats["ttft_p99_s"][b] = np.percentile(ttft[m], [50, 99])
            stats["tbt_p50_s"][b], stats["tbt_p99_s"][b] = np.percentile(tbt[m], [50, 99])
            stats["slo_attainment"][b] = ok[m].mean()
    rows.update(stats)
    rows["accelerator_w"] = integ["acc"] / width
    rows["host_w"] = integ["host"] / width
    return pd.DataFrame(rows)


def summary(engine: ServingEngine, ledger: Any, requests: pd.DataFrame, t_end: float,
            overhead_fraction: float) -> dict[str, float]:
    """Summary keys (units in the names). `overhead_fraction` = PUE - 1 of the run."""
    acc_j = sum(ledger.integral(r.ch_acc, t_end) for r in engine.replicas)
    host_j = sum(ledger.integral(r.ch_host, t_end) for r in engine.replicas)
    active_j = sum(r.active_j for r in engine.replicas)
    idle_j = acc_j - active_j
    overhead_j = overhead_fraction * (acc_j + host_j)
    comp_j = acc_j + host_j + overhead_j
    done = requests[~requests["end_s"].isna()]
    n = len(done)
    tokens = float(done["output_tokens"].sum())
    per_req = (lambda e: e / n / 3600.0) if n else (lambda e: math.nan)
    per_tok = (lambda e: e / tokens) if tokens else (lambda e: math.nan)

    def pct(col: str, q: float) -> float:
        return float(np.percentile(done[col], q)) if n else math.nan

    on_j = sum(ledger.integral(r.ch_on, t_end) for r in engine.replicas)
    batch_j = sum(ledger.integral(r.ch_batch, t_end) for r in engine.replicas)
    kv_j = sum(ledger.integral(r.ch_kv, t_end) for r in engine.replicas)
    return {
        "serving_requests": float(len(requests)),
        "serving_requests_completed": float(n),
        "serving_requests_unfinished": float(len(requests) - n),
        "serving_output_tokens": tokens,
        "serving_prompt_tokens": float(done["prompt_tokens"].sum()),
        "serving_max_batch": float(engine.max_batch),
        "serving_kv_capacity_tokens": float(engine.perf.kv_capacity_tokens),
        "serving_ttft_p50_s": pct("ttft_s", 50),
        "serving_ttft_p99_s": pct("ttft_s", 99),
        "serving_tbt_p50_s": pct("tbt_mean_s", 50),
        "serving_tbt_p99_s": pct("tbt_mean_s", 99),
        "serving_e2e_p50_s": pct("e2e_s", 50),
        "serving_e2e_p99_s": pct("e2e_s", 99),
        "serving_slo_attainment": float(done["slo_met"].mean()) if n else math.nan,
        "serving_mean_batch": batch_j / on_j if on_j else 0.0,
        "serving_kv_occupancy": kv_j / (on_j * engine.perf.kv_capacity_tokens) if on_j else 0.0,
        "serving_replica_on_hours": on_j / 3600.0,
        "serving_accelerator_active_kwh": active_j / J_PER_KWH,
        "serving_accelerator_idle_kwh": idle_j / J_PER_KWH,
        "serving_host_kwh": host_j / J_PER_KWH,
        "serving_overhead_kwh": overhead_j / J_PER_KWH,
        "serving_comprehensive_kwh": comp_j / J_PER_KWH,
        "serving_energy_per_request_accel_wh": per_req(active_j),
        "serving_energy_per_request_accel_median_wh": float(np.median(done["energy_j"])) / 3600.0 if n else math.nan,
        "serving_energy_per_request_comprehensive_wh": per_req(comp_j),
        "serving_energy_per_output_token_accel_j": per_tok(active_j),
        "serving_energy_per_output_token_comprehensive_j": per_tok(comp_j),
        "serving_share_accelerator_active": active_j / comp_j if comp_j else math.nan,
        "serving_share_accelerator_idle": idle_j / comp_j if comp_j else math.nan,
        "serving_share_host": host_j / comp_j if comp_j else math.nan,
        "serving_share_overhead": overhead_j / comp_j if comp_j else math.nan,
    }
