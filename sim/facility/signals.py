"""Time-indexed inputs (carbon intensity, price, a measured load...) and forecasts.

What is modelled
----------------
A *signal* is a value that varies with time ``t``, in float seconds since the
scenario's ``start``. Every signal is materialised once, when the run is
built, as a sampled series on its own native grid (a half-hourly trace stays
half-hourly), so queries are cheap numpy lookups and never open a file.

Between samples a signal is either *step* (zero-order hold: a sample holds
until the next one; right for interval means such as half-hourly carbon
intensity or hourly prices; the default) or *linear*. Integrals are exact for
both: ``integral(t0, t1) = F(t1) - F(t0)`` with ``F`` the cumulative integral
(a running sum of rectangles or trapezoids plus the partial interval).

Sources (``SignalConfig``, one of):

- a number: a constant (``429``);
- ``{trace: gb-2020}``: a bundled trace (``BUNDLED_TRACES``) or a CSV path;
- ``{csv: path, column: ..., time_column: ..., unit: ...}``: any CSV;
- ``{profile: daily | weekly, values: [24 | 168 numbers], tz: ...}``: an
  hourly profile in a local time zone, repeated (time-of-use prices);

plus ``wrap: true`` to map a trace's typical year onto the scenario's dates
(same month, day and time of day, any year; leap days reuse 28 February)
instead of demanding that the trace covers the run, ``interpolation``, a unit
and a ``forecast``. A trace that does not cover ``[start, start + duration)``
is an error that names the file and the range it covers.

Units: each consumer declares the unit it works in (carbon intensity in
g/kWh, price in currency per kWh, power in W); the ``unit`` key of a source
converts to it (``UNITS``).

Forecasts
---------
Policies must decide on forecasts, never on the actual future.
``forecast(t, horizon_s, resolution_s)`` returns the values expected at
``t + resolution_s * (0 .. n-1)``:

- ``persistence`` (the default, what an operator has without a forecasting
  service): what was seen one ``period`` earlier (default one day:
  day-ahead persistence; ``period: 0`` repeats the value now); uses only
  values at times <= t;
- ``perfect``: the actual future, only when asked for (an upper bound for
  any policy, never the default);
- ``noisy``: the actual future times ``1 + e``, ``e ~ N(0, relative_error)``,
  clipped at zero, drawn from ``numpy.random.default_rng([seed, round(t)])``
  so a forecast issued at ``t`` is the same whatever was asked before.

Bundled data files live in ``data/`` at the repository root, next to ``sim/``;
``sim.paths.data_path()`` is the only place that knows that folder.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from sim.paths import data_path
from sim.spec.signals import ForecastConfig, SignalConfig
from sim.units import DAY, HOUR, as_utc

# ---------------------------------------------------------------- data files




@dataclass(frozen=True)
class BundledTrace:
    """A trace that ships in ``data/``: file, columns summed, unit, source; for a grid's
    carbon intensity also its region and, where one ships, its generation-mix file."""

    file: str
    columns: tuple[str, ...]
    unit: str
    time_column: str
    description: str
    region: str = ""
    mix_file: str | None = None


_ENTSOE = "ENTSO-E via Wiesner et al., Middleware 2021 (dos-group/lets-wait-awhile)"
_OPENDC = "OpenDC demo carbon traces (atlarge-research/opendc, MIT; upstream not stated, level S)"
BUNDLED_TRACES: dict[str, BundledTrace] = {
    "gb-2020": BundledTrace("grid/gb_ci.csv", ("Carbon Intensity",), "g/kWh", "Time",
                            f"Great Britain grid carbon intensity, half-hourly, {_ENTSOE}",
                            "Great Britain", "grid/gb_production.csv"),
    "fr-2020": BundledTrace("grid/fr_ci.csv", ("Carbon Intensity",), "g/kWh", "Time",
                            f"France grid carbon intensity, half-hourly, {_ENTSOE}",
                            "France", "grid/fr_production.csv"),
    "de-2020": BundledTrace("grid/ger_ci.csv", ("Carbon Intensity",), "g/kWh", "Time",
                            f"Germany grid carbon intensity, quarter-hourly, {_ENTSOE}", "Germany"),
    **{
        f"{code}-2021-2024": BundledTrace(f"grid/hourly-2021-2024/{code}_ci.csv", ("carbon_intensity",), "g/kWh",
                                          "timestamp", f"{region} grid carbon intensity, hourly, {_OPENDC}",
                                          region)
        for code, region in (("at", "Austria"), ("au", "Australia"), ("be", "Belgium"), ("nl", "Netherlands"))
    },
    "gb-solar-2020": BundledTrace("grid/gb_production.csv", ("Solar",), "MW", "",
                                  f"Great Britain solar generation, half-hourly, {_ENTSOE}"),
    "gb-wind-2020": BundledTrace("grid/gb_production.csv", ("Wind Onshore", "Wind Offshore"), "MW", "",
                                 f"Great Britain wind generation (on+offshore), half-hourly, {_ENTSOE}"),
}
"""Bundled trace names. The ``-2020`` traces cover 2019-12-20 .. 2021-01-10 (UTC), the
``-2021-2024`` ones 2021-01-01 .. 2024-12-31 (``grid_catalog()`` lists each with its years)."""

CARBON_TRACES = tuple(name for name, t in BUNDLED_TRACES.items() if t.unit == "g/kWh")
"""The bundled grid carbon-intensity traces."""

# ---------------------------------------------------------------- units

UNITS: dict[str, tuple[str, float]] = {
    # carbon intensity -> g/kWh
    "g/kwh": ("carbon", 1.0),
    "gco2/kwh": ("carbon", 1.0),
    "gco2e/kwh": ("carbon", 1.0),
    "kg/kwh": ("carbon", 1e3),
    "kg/mwh": ("carbon", 1.0),
    "t/mwh": ("carbon", 1e3),
    "g/mwh": ("carbon", 1e-3),
    "lb/mwh": ("carbon", 0.45359237),  # 1 lb = 0.45359237 kg (exact, NIST SP 811)
    # price -> currency per kWh
    "per_kwh": ("price", 1.0),
    "/kwh": ("price", 1.0),
    "per_mwh": ("price", 1e-3),
    "/mwh": ("price", 1e-3),
    # power -> W
    "w": ("power", 1.0),
    "kw": ("power", 1e3),
    "mw": ("power", 1e6),
    "gw": ("power", 1e9),
    # dimensionless
    "1": ("fraction", 1.0),
    "fraction": ("fraction", 1.0),
    "%": ("fraction", 1e-2),
    "pct": ("fraction", 1e-2),
}
"""Accepted units: name -> (dimension, factor to the dimension's base unit:
g/kWh, currency/kWh, W, 1)."""

CANONICAL_UNIT = {"carbon": "g/kWh", "price": "per_kwh", "power": "W", "fraction": "1"}


def unit_factor(unit: str, dimension: str, where: str = "") -> float:
    """Factor from ``unit`` to the base unit of ``dimension``, or a clear error."""
    key = unit.strip().lower().replace(" ", "")
    if key not in UNITS or UNITS[key][0] != dimension:
        allowed = sorted(k for k, (dim, _) in UNITS.items() if dim == dimension)
        raise ValueError(f"{where}unit {unit!r} is not a {dimension} unit; use one of {allowed}")
    return UNITS[key][1]


# ---------------------------------------------------------------- forecasts


@dataclass(frozen=True)
class Forecast:
    """Expected values at ``times_s`` (seconds since start), issued at ``issued_s``."""

    issued_s: float
    times_s: np.ndarray
    values: np.ndarray

    def mean(self) -> float:
        return float(np.mean(self.values)) if len(self.values) else float("nan")

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.values, q)) if len(self.values) else float("nan")


def _forecast_times(t: float, horizon_s: float, resolution_s: float) -> np.ndarray:
    n = max(int(np.ceil(horizon_s / resolution_s - 1e-9)), 1)
    return t + resolution_s * np.arange(n)


@runtime_checkable
class Signal(Protocol):
    """A time-indexed input. ``t`` is seconds since the scenario start."""

    def at(self, t: float) -> float: ...

    def values(self, ts: np.ndarray) -> np.ndarray: ...

    def integral(self, t0: Any, t1: Any) -> Any:
        """Integral of the value over [t0, t1] (value x s); floats or arrays."""
        ...

    def forecast(self, t: float, horizon_s: float, resolution_s: float = 900.0) -> Forecast: ...


class _ForecastMixin(ABC):
    """``forecast`` for any signal that has ``values``; day-ahead persistence unless configured."""

    forecast_kind: str = "persistence"
    relative_error: float = 0.0
    persistence_period_s: float = DAY
    seed: int = 0

    @abstractmethod
    def values(self, ts: np.ndarray) -> np.ndarray:
        """The signal at each time in `ts` (s since the start); every concrete signal has it."""

    def forecast(self, t: float, horizon_s: float, resolution_s: float = 900.0) -> Forecast:
        times = _forecast_times(t, horizon_s, resolution_s)
        if self.forecast_kind == "persistence":
            lead = times - t
            if self.persistence_period_s > 0:
                back = np.ceil(np.maximum(lead, 0.0) / self.persistence_period_s - 1e-12)
                back = np.maximum(back, 1.0)
                values = self.values(times - back * self.persistence_period_s)
            else:
                values = np.full(len(times), self.values(np.array([t]))[0])
        else:
            values = self.values(times)
            if self.forecast_kind == "noisy" and self.relative_error > 0:
                rng = np.random.default_rng([int(self.seed), round(t)])
                values = np.maximum(values * (1.0 + rng.normal(0.0, self.relative_error, len(times))), 0.0)
        return Forecast(issued_s=t, times_s=times, values=values)

    def with_forecast(self, kind: str, relative_error: float = 0.0, period_s: float = DAY, seed: int = 0) -> Any:
        self.forecast_kind = kind
        self.relative_error = relative_error
        self.persistence_period_s = period_s
        self.seed = seed
        return self


class ConstantSignal(_ForecastMixin):
    """The same value at all times."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def at(self, t: float) -> float:
        return self.value

    def values(self, ts: np.ndarray) -> np.ndarray:
        return np.full(np.shape(ts), self.value)

    def integral(self, t0: Any, t1: Any) -> Any:
        return self.value * (np.asarray(t1, dtype=float) - np.asarray(t0, dtype=float)) if (
            np.ndim(t0) or np.ndim(t1)
        ) else self.value * (float(t1) - float(t0))


class SampledSignal(_ForecastMixin):
    """Samples at times ``times_s`` (strictly increasing), step or linear between.

    Before the first sample the first value holds; after the last, the last
    value holds (the loader checks coverage of the run, so this only matters
    to forecasts that look past the end).
    """

    def __init__(self, times_s: np.ndarray, values: np.ndarray, interpolation: str = "step", name: str = "") -> None:
        x = np.asarray(times_s, dtype=float)
        v = np.asarray(values, dtype=float)
        if x.ndim != 1 or x.shape != v.shape or len(x) == 0:
            raise ValueError(f"signal {name!r}: times and values must be equal, non-empty 1-D arrays")
        if np.any(np.diff(x) <= 0):
            raise ValueError(f"signal {name!r}: times must be strictly increasing")
        if np.any(~np.isfinite(v)):
            raise ValueError(f"signal {name!r}: has {int(np.sum(~np.isfinite(v)))} missing (NaN) values")
        if interpolation not in ("step", "linear"):
            raise ValueError(f"signal {name!r}: interpolation must be 'step' or 'linear'")
        self.times_s, self.samples, self.interpolation, self.name = x, v, interpolation, name
        dx = np.diff(x)
        seg = v[:-1] * dx if interpolation == "step" else 0.5 * (v[:-1] + v[1:]) * dx
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])

    def at(self, t: float) -> float:
        return float(self.values(np.array([t], dtype=float))[0])

    def values(self, ts: np.ndarray) -> np.ndarray:
        ts = np.asarray(ts, dtype=float)
        if self.interpolation == "linear":
            return np.interp(ts, self.times_s, self.samples)
        i = np.clip(np.searchsorted(self.times_s, ts, side="right") - 1, 0, len(self.times_s) - 1)
        return self.samples[i]

    def cumulative(self, ts: np.ndarray) -> np.ndarray:
        """F(t) = integral from the first sample to t (negative before it)."""
        ts = np.asarray(ts, dtype=float)
        x, v = self.times_s, self.samples
        i = np.clip(np.searchsorted(x, ts, side="right") - 1, 0, len(x) - 1)
        dt = ts - x[i]
        if self.interpolation == "step":
            return self._cum[i] + v[i] * dt
        before = ts < x[0]
        after = i >= len(x) - 1
        nxt = np.minimum(i + 1, len(x) - 1)
        span = np.where(nxt > i, x[nxt] - x[i], 1.0)
        slope = np.where(after | before, 0.0, (v[nxt] - v[i]) / span)
        return self._cum[i] + v[i] * dt + 0.5 * slope * dt * dt

    def integral(self, t0: Any, t1: Any) -> Any:
        out = self.cumulative(np.atleast_1d(t1)) - self.cumulative(np.atleast_1d(t0))
        return out if (np.ndim(t0) or np.ndim(t1)) else float(out[0])


def step_means(signal: Signal, edges_s: np.ndarray) -> np.ndarray:
    """Exact mean of a signal over each interval [edges[k], edges[k+1])."""
    edges = np.asarray(edges_s, dtype=float)
    if len(edges) < 2:
        return np.zeros(0)
    widths = np.diff(edges)
    return np.asarray(signal.integral(edges[:-1], edges[1:]), dtype=float) / widths


# ---------------------------------------------------------------- scenario config







FORECAST_MARGIN_S = 2 * DAY
"""Materialised beyond the run so that forecasts near its end see data."""


def build_signal(
    config: SignalConfig | float | dict[str, Any],
    start: pd.Timestamp,
    duration_s: float,
    dimension: str,
    name: str = "signal",
) -> SampledSignal | ConstantSignal:
    """Materialise a signal for the run [start, start + duration_s), in the base
    unit of ``dimension`` (g/kWh, per_kwh, W or 1)."""
    cfg = config if isinstance(config, SignalConfig) else SignalConfig.model_validate(config)
    start_utc = as_utc(start)
    where = f"{name}: "
    fc = cfg.forecast
    factor = cfg.scale
    if cfg.unit is not None:
        factor *= unit_factor(cfg.unit, dimension, where)
    sig: SampledSignal | ConstantSignal
    if cfg.constant is not None:
        sig = ConstantSignal(cfg.constant * factor)
    elif cfg.profile is not None:
        sig = _profile_signal(cfg, start_utc, duration_s, factor, name)
    else:
        sig = _trace_signal(cfg, start_utc, duration_s, dimension, factor, name)
    return sig.with_forecast(fc.kind, fc.relative_error, fc.period, fc.seed)


def _profile_signal(
    cfg: SignalConfig, start: pd.Timestamp, duration_s: float, factor: float, name: str
) -> SampledSignal:
    assert cfg.values is not None
    t0 = start.floor("h") - pd.Timedelta(hours=1)
    n = int(np.ceil((duration_s + FORECAST_MARGIN_S) / HOUR)) + 3
    stamps = pd.date_range(t0, periods=n, freq="h")
    try:
        local = stamps.tz_convert(cfg.tz)
    except Exception as exc:  # pandas raises several kinds
        raise ValueError(f"{name}: unknown time zone {cfg.tz!r}") from exc
    hour = local.hour.to_numpy()
    idx = hour if cfg.profile == "daily" else local.day_of_week.to_numpy() * 24 + hour
    values = np.asarray(cfg.values, dtype=float)[idx] * factor
    times_s = (stamps - start).total_seconds().to_numpy()
    return SampledSignal(times_s, values, cfg.interpolation, name)


def _read_trace_csv(path: Path, time_column: str | None, columns: list[str] | None) -> tuple[pd.DatetimeIndex, np.ndarray]:
    if not path.exists():
        bundled = ", ".join(sorted(BUNDLED_TRACES))
        raise FileNotFoundError(f"trace file not found: {path} (bundled names: {bundled})")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, time_column, tuple(columns) if columns else None)
    stamps, values = _read_trace_cached(*key)
    return stamps, values.copy()


@functools.lru_cache(maxsize=32)
def _read_trace_cached(
    path_text: str, mtime_ns: int, size: int, time_column: str | None, columns_key: tuple[str, ...] | None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Parse a trace CSV once per process and file version (sweeps reread it per run)."""
    path = Path(path_text)
    columns = list(columns_key) if columns_key else None
    df = pd.read_csv(path)
    tcol = time_column or df.columns[0]
    if tcol not in df.columns:
        raise ValueError(f"trace {path}: no time column {tcol!r}; columns are {list(df.columns)}")
    cols = columns or [c for c in df.columns if c != tcol][:1]
    missing = [c for c in cols if c not in df.columns]
    if missing or not cols:
        raise ValueError(f"trace {path}: no column {missing or cols!r}; columns are {list(df.columns)}")
    stamps = pd.DatetimeIndex(pd.to_datetime(df[tcol], utc=True))
    values = df[cols].to_numpy(float).sum(axis=1)
    order = np.argsort(stamps.asi8, kind="stable")  # ns since the epoch: no Timestamp per row
    stamps, values = stamps[order], values[order]
    keep = ~stamps.duplicated(keep="first")
    return stamps[keep], values[keep]


def _trace_signal(
    cfg: SignalConfig, start: pd.Timestamp, duration_s: float, dimension: str, factor: float, name: str
) -> SampledSignal:
    if cfg.trace is not None and cfg.trace in BUNDLED_TRACES:
        bt = BUNDLED_TRACES[cfg.trace]
        path = data_path(bt.file)
        columns = list(bt.columns) if cfg.column is None else _as_list(cfg.column)
        time_column = cfg.time_column or bt.time_column or None
        if cfg.unit is None:
            factor *= unit_factor(bt.unit, dimension, f"{name}: bundled trace {cfg.trace!r}: ")
    else:
        path = Path(cfg.trace if cfg.trace is not None else cfg.csv or "")
        columns = None if cfg.column is None else _as_list(cfg.column)
        time_column = cfg.time_column
        if cfg.unit is None and dimension not in ("carbon", "price", "fraction"):
            raise ValueError(f"{name}: trace {path}: give its unit (e.g. unit: kW)")
    stamps, raw = _read_trace_csv(path, time_column, columns)
    label = f"trace {cfg.trace!r} ({path.name})" if cfg.trace in BUNDLED_TRACES else f"trace {path}"
    return series_signal(stamps, raw * factor, start, duration_s, cfg.wrap, cfg.interpolation, name, label)


def series_signal(stamps: pd.DatetimeIndex, values: np.ndarray, start: pd.Timestamp, duration_s: float,
                  wrap: bool, interpolation: str, name: str, label: str) -> SampledSignal:
    """A signal from a timed series (UTC stamps): it must cover the run, or ``wrap`` maps its
    year onto the run's dates; never silently. ``label`` names the series in the error."""
    end = start + pd.Timedelta(seconds=duration_s)
    if wrap:
        return _wrapped(stamps, values, start, duration_s, interpolation, name)
    # A step sample holds until the next one: the trace covers up to last + one interval.
    last_interval = stamps[-1] - stamps[-2] if len(stamps) > 1 else pd.Timedelta(0)
    covered_end = stamps[-1] + (last_interval if interpolation == "step" else pd.Timedelta(0))
    if start < stamps[0] or end > covered_end:
        raise ValueError(
            f"{name}: {label} covers {stamps[0]:%Y-%m-%d %H:%M} .. {covered_end:%Y-%m-%d %H:%M} UTC but the run"
            f" needs {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}; use a trace that covers the run, or"
            " wrap: true to map its year onto the run's dates"
        )
    times_s = (stamps - start).total_seconds().to_numpy()
    return SampledSignal(times_s, values, interpolation, name)


def _as_list(column: str | list[str]) -> list[str]:
    return [column] if isinstance(column, str) else list(column)


def _year_position_s(index: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since 1 January 00:00 of a 365-day year (leap day -> 28 February)."""
    doy = index.day_of_year.to_numpy().astype(float)
    doy = np.where(index.is_leap_year & (doy >= 60), doy - 1, doy)
    sec = index.hour.to_numpy() * 3600.0 + index.minute.to_numpy() * 60.0 + index.second.to_numpy()
    return (doy - 1) * DAY + sec


def _wrapped(
    stamps: pd.DatetimeIndex, values: np.ndarray, start: pd.Timestamp, duration_s: float, interpolation: str, name: str
) -> SampledSignal:
    """Map a trace's typical year onto the run's dates (same month/day/time)."""
    period = 365 * DAY
    pos = _year_position_s(stamps)
    # If the trace is longer than a year keep the first occurrence of each position.
    pos_u, first = np.unique(pos, return_index=True)
    vals_u = values[first]
    resolution_s = float(np.median(np.diff(pos_u))) if len(pos_u) > 1 else HOUR
    n = int(np.ceil((duration_s + FORECAST_MARGIN_S) / resolution_s)) + 2
    grid = pd.date_range(start.floor(f"{int(resolution_s)}s"), periods=n, freq=f"{int(resolution_s)}s")
    q = _year_position_s(grid)
    if interpolation == "linear":
        v = np.interp(q, pos_u, vals_u, period=period)
    else:
        i = np.searchsorted(pos_u, q, side="right") - 1  # -1 wraps to the year's last sample
        v = vals_u[i]
    times_s = (grid - start).total_seconds().to_numpy()
    return SampledSignal(times_s, v, interpolation, name)


__all__ = [
    "BUNDLED_TRACES",
    "CARBON_TRACES",
    "ConstantSignal",
    "Forecast",
    "ForecastConfig",
    "SampledSignal",
    "Signal",
    "SignalConfig",
    "build_signal",
    "data_path",
    "grid_catalog",
    "series_signal",
    "step_means",
    "trace_max",
    "unit_factor",
]


def trace_max(trace: str, column: str | list[str] | None = None, time_column: str | None = None) -> float:
    """The largest value of a whole trace file (bundled name or CSV path), in its own unit."""
    if trace in BUNDLED_TRACES:
        bt = BUNDLED_TRACES[trace]
        path = data_path(bt.file)
        columns = list(bt.columns) if column is None else _as_list(column)
        time_column = time_column or bt.time_column or None
    else:
        path, columns = Path(trace), None if column is None else _as_list(column)
    _, values = _read_trace_csv(path, time_column, columns)
    return float(np.max(values))


def grid_catalog() -> list[dict[str, Any]]:
    """The bundled grid carbon traces: name, region, first and last time, years, resolution,
    mean (g/kWh, over the whole file) and whether a generation mix ships with it."""
    rows: list[dict[str, Any]] = []
    for name in CARBON_TRACES:
        bt = BUNDLED_TRACES[name]
        stamps, values = _read_trace_csv(data_path(bt.file), bt.time_column or None, list(bt.columns))
        step = pd.Series(stamps).diff().median()
        years = sorted(set(stamps.year))
        rows.append({
            "name": name,
            "region": bt.region,
            "first": stamps[0],
            "last": stamps[-1],
            "years": f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0]),
            "resolution_s": float(step.total_seconds()),
            "mean_g_per_kwh": float(np.mean(values)),
            "generation_mix": bt.mix_file is not None,
        })
    return rows
