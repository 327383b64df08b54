"""Request streams for serving: real traces and seeded generators.

A stream is three arrays sorted by arrival: `arrival_s` (s from the start of
the run), `prompt_tokens` and `output_tokens` (ints >= 1).

Traces. The Azure LLM inference traces of 2023 (Patel et al., "Splitwise",
ISCA 2024; CC-BY 4.0; shipped in ``data/traces/azure-llm-2023/``): one hour
(2023-11-16 18:15-19:14 UTC) of a conversation service (`conv.csv`, 19,366
requests) and a coding service (`code.csv`, 8,819), columns
``TIMESTAMP, ContextTokens, GeneratedTokens``. Bundled names ``azure-conv``
and ``azure-code``; any CSV with the same columns (format ``azure-llm-2023``)
or with ``arrival_s, prompt_tokens, output_tokens`` (format ``csv``) reads too.

Generators. Arrivals at a mean rate (requests/s):

- ``poisson``: exponential gaps;
- ``diurnal``: an inhomogeneous Poisson process of rate
  ``r(t) = rate x (1 + amplitude cos(2 pi (h(t) - peak_hour) / 24)) x w(t)``,
  h the hour of day, ``w = weekend_factor`` on Saturdays and Sundays and 1
  otherwise, drawn by thinning (Lewis and Shedler 1979) at the peak rate.

Lengths, drawn independently of each other (the traces' log prompt and log
output lengths correlate at r = 0.09 (conv) and -0.005 (code), counted on the
files): ``lognormal`` fits by maximum likelihood on log tokens, or
``empirical`` resampling of (prompt, output) pairs from the trace. The fits
(mean and standard deviation of ln tokens, over every row of the file;
`tests/serving/test_requests.py` recomputes them):

| trace | ln prompt mu, sigma | ln output mu, sigma | mean prompt / output (file) |
|---|---|---|---|
| conv | 6.6333, 0.9852 | 5.0190, 0.8590 | 1,155 / 211 |
| code | 6.9986, 1.3602 | 2.7882, 0.8472 | 2,048 / 28 |

The lognormal is a smooth stand-in: the conversation outputs are
multi-modal (quartiles 85 / 129 / 395 tokens), so `empirical` keeps the
trace's exact mix where that matters. Draws are clipped to [1, max_tokens].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.paths import data_path

#: bundled trace names -> file under data/traces/azure-llm-2023
BUNDLED = {"azure-conv": "conv.csv", "azure-code": "code.csv"}

#: lognormal fits of ln(tokens): (mu, sigma) of prompt, then of output (table above)
LOGNORMAL_FITS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "azure-conv": ((6.6333, 0.9852), (5.0190, 0.8590)),
    "azure-code": ((6.9986, 1.3602), (2.7882, 0.8472)),
}

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
CSV_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")


class StreamError(ValueError):
    """A request stream that cannot be read or drawn; names the dotted path."""


@dataclass(frozen=True)
class RequestStream:
    arrival_s: np.ndarray  # float64, sorted
    prompt_tokens: np.ndarray  # int64 >= 1
    output_tokens: np.ndarray  # int64 >= 1

    def __len__(self) -> int:
        return len(self.arrival_s)

    def until(self, horizon_s: float) -> RequestStream:
        k = int(np.searchsorted(self.arrival_s, horizon_s, side="left"))
        return RequestStream(self.arrival_s[:k], self.prompt_tokens[:k], self.output_tokens[:k])


def trace_path(name: str) -> Path:
    """A bundled name (`azure-conv`, `azure-code`) or a path (absolute, cwd, data/, data/traces/)."""
    if name in BUNDLED:
        return data_path("traces", "azure-llm-2023", BUNDLED[name])
    p = Path(name).expanduser()
    for c in ([p] if p.is_absolute() else [Path.cwd() / p, data_path() / p, data_path("traces") / p]):
        if c.is_file():
            return c
    raise StreamError(f"serving.requests.trace: {name!r} is not a file nor a bundled trace "
                      f"({', '.join(BUNDLED)})")


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> RequestStream:
    where = "serving.requests.trace"
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise StreamError(f"{where}: cannot read {path}: {str(exc)[:120]}") from None
    cols = set(df.columns)
    if set(CSV_COLUMNS) <= cols:
        t = df["arrival_s"].to_numpy(np.float64)
        p, o = df["prompt_tokens"], df["output_tokens"]
    else:
        missing = [c for c in AZURE_COLUMNS if c not in cols]
        if missing:
            raise StreamError(
                f"{where}: {Path(path).name} has no column {missing[0]!r} (found: {', '.join(map(str, df.columns))[:80]}); "
                f"a serving trace needs {', '.join(AZURE_COLUMNS)} (azure-llm-2023) or {', '.join(CSV_COLUMNS)}")
        ts = pd.to_datetime(df["TIMESTAMP"], errors="coerce")
        if ts.isna().any():
            i = int(np.flatnonzero(ts.isna().to_numpy())[0])
            raise StreamError(f"{where}: {Path(path).name} row {i + 2}: TIMESTAMP {str(df['TIMESTAMP'][i])[:40]!r} "
                              "is not a date-time")
        t0 = ts.min()
        t = ((ts - t0).dt.total_seconds()).to_numpy(np.float64)
        p, o = df["ContextTokens"], df["GeneratedTokens"]
    for name, col in (("prompt", p), ("output", o)):
        v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(v) | (v < 1) | (v != np.floor(v))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise StreamError(f"{where}: {Path(path).name} row {i + 2}: {name} tokens {str(col.iloc[i])[:20]!r} "
                              "is not allowed: must be a whole number >= 1")
    if not np.isfinite(t).all():
        raise StreamError(f"{where}: {Path(path).name}: an arrival time is not a number")
    order = np.argsort(t, kind="stable")
    return RequestStream(t[order] - t[order][0] if len(t) else t,
                         p.to_numpy(np.int64)[order], o.to_numpy(np.int64)[order])


def read_trace(name: str, time_scale: float = 1.0, offset_s: float = 0.0) -> RequestStream:
    """A trace as a stream: arrivals from the first request, times x `time_scale`, shifted by `offset_s`."""
    path = trace_path(name)
    s = _read(str(path), path.stat().st_mtime)
    return RequestStream(s.arrival_s * time_scale + offset_s, s.prompt_tokens, s.output_tokens)


def draw_lengths(rng: np.random.Generator, n: int, lengths: str, max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """(prompt, output) token counts: `lognormal-conv`, `lognormal-code`, `empirical-conv`, `empirical-code`."""
    kind, _, trace = lengths.partition("-")
    name = f"azure-{trace}"
    if kind == "lognormal" and name in LOGNORMAL_FITS:
        (pm, ps), (om, os_) = LOGNORMAL_FITS[name]
        p = np.exp(rng.normal(pm, ps, n))
        o = np.exp(rng.normal(om, os_, n))
        p = np.clip(np.rint(p), 1, max_tokens).astype(np.int64)
        o = np.clip(np.rint(o), 1, max_tokens).astype(np.int64)
        return p, o
    if kind == "empirical" and name in BUNDLED:
        s = read_trace(name)
        idx = rng.integers(0, len(s), n)
        return (np.minimum(s.prompt_tokens[idx], max_tokens), np.minimum(s.output_tokens[idx], max_tokens))
    raise StreamError(f"serving.requests.lengths: {lengths!r} is not allowed: use lognormal-conv, lognormal-code, "
                      "empirical-conv or empirical-code")


def poisson_arrivals(rng: np.random.Generator, rate_per_s: float, horizon_s: float) -> np.ndarray:
    n_max = int(rate_per_s * horizon_s + 10.0 * np.sqrt(rate_per_s * horizon_s) + 10)
    t = np.cumsum(rng.exponential(1.0 / rate_per_s, n_max))
    while t[-1] < horizon_s:  # not reached in practice (10 sigma); kept exact anyway
        t = np.concatenate((t, t[-1] + np.cumsum(rng.exponential(1.0 / rate_per_s, n_max))))
    return t[t < horizon_s]


def diurnal_rate(t_s: np.ndarray, rate_per_s: float, amplitude: float, peak_hour: float,
                 weekend_factor: float, start_hour: float, start_weekday: int) -> np.ndarray:
    """r(t) of the diurnal generator; t in s from a start at `start_hour` of weekday `start_weekday` (0 Monday)."""
    hours = start_hour + np.asarray(t_s) / 3600.0
    hod = np.mod(hours, 24.0)
    dow = np.mod(start_weekday + np.floor(hours / 24.0), 7)
    w = np.where(dow >= 5, weekend_factor, 1.0)
    return rate_per_s * (1.0 + amplitude * np.cos(2.0 * np.pi * (hod - peak_hour) / 24.0)) * w


def diurnal_arrivals(rng: np.random.Generator, rate_per_s: float, horizon_s: float, amplitude: float,
                     peak_hour: float, weekend_factor: float, start_hour: float, start_weekday: int) -> np.ndarray:
    peak = rate_per_s * (1.0 + amplitude) * max(1.0, weekend_factor)
    cand = poisson_arrivals(rng, peak, horizon_s)
    keep = rng.random(len(cand)) * peak < diurnal_rate(cand, rate_per_s, amplitude, peak_hour, weekend_factor,
                                                       start_hour, start_weekday)
    return cand[keep]
