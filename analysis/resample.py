"""Daily and monthly views of a run's time series, aggregated the way each column means.

A year of 15-min bins drawn as is becomes a solid block; a figure of a long
run aggregates first. Each column is aggregated by what it is (its name):

- energies, carbon, cost and water (``_kwh``, ``_kg``, ``_l``, ``cost``): summed;
- powers and other readings (``_w``, ``_c``, ``_kw``, intensities, prices,
  counts): time-weighted means (bins of unequal width weigh by their width);
- shares (``_share``, ``cfe_score``, ``pue``): means weighted by the
  facility energy of each bin, so that the aggregate share is the share of the
  aggregate energy (for ``pue``: by IT energy);
- anything else: the first value.

``choose_frequency`` keeps the bins of a short run and otherwise picks the finest of
hourly / daily / weekly / monthly that keeps it under ``max_points`` points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SUMMED_SUFFIXES = ("_kwh", "_kg", "_l")
_SHARE_NAMES = ("cfe_score",)

FREQUENCIES: tuple[tuple[str, float, str], ...] = (
    ("h", 3600.0, "hourly"),
    ("D", 86400.0, "daily"),
    ("W", 7 * 86400.0, "weekly"),
    ("MS", 30.44 * 86400.0, "monthly"),
)
"""pandas frequency, its length in s (a month: 30.44 days on average), its word."""


def kind_of(column: str) -> str:
    """'time', 'sum', 'share' or 'mean' for a numeric time-series column."""
    if column == "time":
        return "time"
    if "_per_" in column:  # an intensity or a price (g_per_kwh, per_kwh): a rate, not an amount
        return "mean"
    if column == "cost" or column.endswith(_SUMMED_SUFFIXES) or column.startswith("cost_"):
        return "sum"
    if column.endswith("_share") or column in _SHARE_NAMES or column == "pue":
        return "share"
    return "mean"  # non-numeric columns take the first value (resample checks the dtype)


def choose_frequency(duration_s: float, interval_s: float, max_points: int = 400) -> tuple[str | None, str]:
    """(pandas frequency, or None to keep the bins; its word) for a run of ``duration_s`` in
    bins of ``interval_s``: the bins if they are few enough, else the finest longer period that is."""
    if duration_s / max(interval_s, 1e-9) <= max_points:
        return None, "as simulated"
    for freq, length_s, word in FREQUENCIES:
        if length_s > interval_s and duration_s / length_s <= max_points:
            return freq, word
    return FREQUENCIES[-1][0], FREQUENCIES[-1][2]


def resample(ts: pd.DataFrame, freq: str) -> pd.DataFrame:
    """The time series aggregated to ``freq`` (pandas: "h", "D", "W", "MS"), by column kind."""
    if ts.empty or "time" not in ts:
        return ts.copy()
    t = pd.DatetimeIndex(pd.to_datetime(ts["time"], utc=True))
    if len(t) > 1:
        widths = np.append(np.diff(t.asi8) / 1e9, np.median(np.diff(t.asi8)) / 1e9)
    else:
        widths = np.array([1.0])
    df = ts.drop(columns=["time"]).copy()
    df.index = t
    w = pd.Series(widths, index=t)
    energy = df["facility_energy_kwh"] if "facility_energy_kwh" in df else w
    it_energy = df["it_energy_kwh"] if "it_energy_kwh" in df else energy
    out: dict[str, pd.Series] = {}
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            out[col] = df[col].resample(freq).first()
            continue
        kind = kind_of(col)
        if kind == "sum":
            out[col] = df[col].resample(freq).sum(min_count=1)
        elif kind == "share":
            weight = it_energy if col == "pue" else energy
            num = (df[col] * weight).resample(freq).sum(min_count=1)
            den = weight.where(df[col].notna()).resample(freq).sum(min_count=1)
            out[col] = num / den.where(den > 0)
        else:
            num = (df[col] * w).resample(freq).sum(min_count=1)
            den = w.where(df[col].notna()).resample(freq).sum(min_count=1)
            out[col] = num / den.where(den > 0)
    res = pd.DataFrame(out)
    res.insert(0, "time", res.index)
    return res.reset_index(drop=True)
