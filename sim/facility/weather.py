"""Outdoor weather for a run, sampled at the plant step midpoints.

What is modelled
----------------
A run needs the outdoor air (dry bulb, humidity, wet bulb, pressure) for the
cooling plant and the sun and wind for on-site generation. They come either
from a *typical meteorological year* (bundled, or the user's TMY3, TMY2, EPW
or PVGIS file, read by ``sim.facility.weather_files``), or from a user CSV
with real timestamps.

Bundled names (``BUNDLED_TMY``; nothing is downloaded):

=====================  =====================================================
name                   station
=====================  =====================================================
``tmy3-greensboro-nc`` Greensboro Piedmont Triad, NC (pvlib's 723170TYA.CSV)
``tmy3-sand-point-ak`` Sand Point, AK (pvlib's 703165TY.csv)
``tmy2-miami-fl``      Miami, FL (pvlib's 12839.tm2)
``epw-amsterdam-nl``   Amsterdam Schiphol, NL, ASHRAE IWEC (data/weather)
``pvgis-piedmont-it``  Piedmont, IT, PVGIS TMY 2005-2023 (data/weather)
=====================  =====================================================

The site (latitude, longitude, altitude, time zone) is the scenario's
``site`` if given, else the file's own (``sim.facility.site``). A CSV has no
site of its own: PV and wind refuse to run on it without the scenario's
``site``, with one line saying so (never a default site).

Typical year onto the scenario's dates
--------------------------------------
A TMY stitches months from different years. Each scenario instant is mapped
to the same month, day and local-standard-time hour of the typical year,
whatever the year; the typical year is treated as periodic, so a run that
crosses a year end wraps to January. On a leap day the typical 28 February
is used again (every later day of a leap year shifts back by one day).

TMY conventions (NREL TMY3 user manual, Wilcox & Marion 2008, NREL/TP-581-43156,
section 1.4): timestamps are local *standard* time and mark the *end* of the
hour; irradiances are totals over the hour ending at the stamp, so they are
placed at the hour's middle (stamp - 30 min); temperature, humidity, pressure
and wind are values at the stamp. Between those points every quantity is
interpolated linearly and sampled at the plant step midpoints
``t_k = (k + 0.5) * step_s`` seconds after ``start``.

Wet bulb
--------
Stull (2011), "Wet-Bulb Temperature from Relative Humidity and Air
Temperature", J. Appl. Meteor. Climatol. 50, 2267-2269,
doi:10.1175/JAMC-D-11-0143.1, eq. 1 (T in C, RH in %)::

    Tw = T atan(0.151977 (RH + 8.313659)^0.5) + atan(T + RH) - atan(RH - 1.676331)
         + 0.00391838 RH^1.5 atan(0.023101 RH) - 4.686035

valid for RH 5-99 % and T -20..50 C at sea-level pressure (error within
about -1..+0.65 K); RH is clipped to [5, 99] % before use and Tw is bounded
above by T.

CSV weather
-----------
A path to a CSV with a time column ``time`` (ISO 8601; naive times are UTC)
and any of these columns (units in the names):

``temp_air_c`` (required), ``relative_humidity_pct``, ``dew_point_c``,
``pressure_pa``, ``wind_speed_m_s``, ``ghi_w_m2``, ``dni_w_m2``, ``dhi_w_m2``.

RH and dew point are derived from each other with the Magnus formula
(Alduchov & Eskridge 1996, J. Appl. Meteor. 35, 601-609: a = 17.625,
b = 243.04 C) when only one is given; a missing pressure is the standard
atmosphere at the site's altitude; missing wind or irradiance columns are NaN
(a PV or wind model refuses NaN input with a clear error). The site comes from
the ``site`` argument (the scenario's), or the keyword arguments ``latitude``,
``longitude``, ``altitude_m``; without one latitude and longitude are NaN.
Unlike a TMY, a CSV is a real series: it must cover the simulated period or a
ValueError names the file and the range it covers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.facility.site import Site
from sim.facility.weather_files import (
    BUNDLED_WEATHER,
    TypicalYear,
    bundled_weather_path,
    detect_format,
    pvlib_data_dir,  # noqa: F401 - re-exported: where pvlib's typical years ship
    read_typical_year,
    typical_year_values,
)
from sim.units import as_utc

BUNDLED_TMY: dict[str, str] = {name: b.file for name, b in BUNDLED_WEATHER.items()}
"""Bundled weather names -> file (in pvlib's data folder or the project's ``data/``)."""

_SECONDS_PER_TYPICAL_YEAR = 8760 * 3600.0  # a TMY has 8760 hours (365 days)
_HALF_HOUR_S = 1800.0
_PA_PER_HPA = 100.0
_MAGNUS_A = 17.625  # Alduchov & Eskridge 1996
_MAGNUS_B_C = 243.04  # Alduchov & Eskridge 1996, C
_SEA_LEVEL_PA = 101325.0  # ISO 2533 standard atmosphere

_IRRADIANCE = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2")
_POINT_VALUES = (
    "temp_air_c",
    "relative_humidity_pct",
    "dew_point_c",
    "pressure_pa",
    "wind_speed_m_s",
)
CSV_COLUMNS = _POINT_VALUES + _IRRADIANCE
"""Columns a weather CSV may carry (plus the time column ``time``)."""


@dataclass(frozen=True)
class Weather:
    """Weather at the plant step midpoints; arrays have one value per step."""

    times: pd.DatetimeIndex  # UTC, step midpoints
    temp_air_c: np.ndarray
    relative_humidity_pct: np.ndarray
    dew_point_c: np.ndarray
    wet_bulb_c: np.ndarray
    pressure_pa: np.ndarray
    wind_speed_m_s: np.ndarray  # at the station's measuring height (10 m for TMY)
    ghi_w_m2: np.ndarray
    dni_w_m2: np.ndarray
    dhi_w_m2: np.ndarray
    latitude: float
    longitude: float
    altitude_m: float
    tz: str  # the site's standard time as a fixed offset, e.g. "UTC-05:00"
    source: str = ""
    step_s: float = 0.0
    wind_height_m: float = 10.0  # TMY wind is measured at 10 m (WMO standard)

    def __len__(self) -> int:
        return len(self.times)

    def at_step(self, k: int) -> dict[str, float]:
        """The readings of step k, names with units."""
        return {
            "temp_air_c": float(self.temp_air_c[k]),
            "relative_humidity_pct": float(self.relative_humidity_pct[k]),
            "dew_point_c": float(self.dew_point_c[k]),
            "wet_bulb_c": float(self.wet_bulb_c[k]),
            "pressure_pa": float(self.pressure_pa[k]),
            "wind_speed_m_s": float(self.wind_speed_m_s[k]),
            "ghi_w_m2": float(self.ghi_w_m2[k]),
            "dni_w_m2": float(self.dni_w_m2[k]),
            "dhi_w_m2": float(self.dhi_w_m2[k]),
        }

    def step_index(self, t_s: float) -> int:
        """Index of the step that contains t_s (seconds since start), clipped."""
        if self.step_s <= 0:
            return 0
        return int(min(max(t_s // self.step_s, 0), len(self.times) - 1))


def wet_bulb_stull_c(temp_air_c: np.ndarray, relative_humidity_pct: np.ndarray) -> np.ndarray:
    """Wet-bulb temperature, Stull (2011) eq. 1; RH clipped to its valid 5-99 %."""
    t = np.asarray(temp_air_c, dtype=float)
    rh = np.clip(np.asarray(relative_humidity_pct, dtype=float), 5.0, 99.0)
    tw = (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
    return np.minimum(tw, t)


def dew_point_magnus_c(temp_air_c: np.ndarray, relative_humidity_pct: np.ndarray) -> np.ndarray:
    """Dew point from T and RH, Magnus formula (Alduchov & Eskridge 1996)."""
    t = np.asarray(temp_air_c, dtype=float)
    rh = np.clip(np.asarray(relative_humidity_pct, dtype=float), 0.1, 100.0)
    gamma = np.log(rh / 100.0) + _MAGNUS_A * t / (_MAGNUS_B_C + t)
    return _MAGNUS_B_C * gamma / (_MAGNUS_A - gamma)


def relative_humidity_magnus_pct(temp_air_c: np.ndarray, dew_point_c: np.ndarray) -> np.ndarray:
    """Relative humidity from T and dew point, Magnus formula."""
    t = np.asarray(temp_air_c, dtype=float)
    td = np.asarray(dew_point_c, dtype=float)
    ratio = np.exp(_MAGNUS_A * td / (_MAGNUS_B_C + td) - _MAGNUS_A * t / (_MAGNUS_B_C + t))
    return np.clip(100.0 * ratio, 0.0, 100.0)


def standard_pressure_pa(altitude_m: float) -> float:
    """ISO 2533 standard atmosphere pressure at an altitude (troposphere)."""
    return _SEA_LEVEL_PA * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588


def step_midpoints_s(duration_s: float, step_s: float) -> np.ndarray:
    """Seconds since start of the midpoints of the plant steps covering duration_s."""
    if step_s <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    n = max(math.ceil(duration_s / step_s - 1e-9), 0)
    return (np.arange(n) + 0.5) * step_s


def load_weather(
    source: str,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    altitude_m: float | None = None,
    site: Site | None = None,
) -> Weather:
    """Weather at the plant step midpoints of [start, start + duration_s).

    source: a bundled name (see BUNDLED_TMY), a typical-year file (TMY3, TMY2,
    EPW, PVGIS) or a CSV (see module docstring). A naive ``start`` is taken as
    UTC. ``site`` (the scenario's) overrides the file's own site; the keyword
    arguments override single values.

    The same call again (the cooling plant and the supply of one run ask for the
    same weather) returns the answer of the last call: a `Weather` is immutable
    (frozen, read-only arrays), and its file must be unchanged (same size and
    modification time).
    """
    key = (source, _file_version(source), as_utc(start), float(duration_s), float(step_s),
           latitude, longitude, altitude_m, site)
    with _LAST_LOCK:
        last = _LAST.get(key)
    if last is None:
        last = _load_weather(source, start, duration_s, step_s, latitude, longitude, altitude_m, site)
        with _LAST_LOCK:
            _LAST.clear()
            _LAST[key] = last
    return last


#: the last answer of `load_weather`, by its arguments, so a run's cooling and supply read and
#: interpolate the file once. One Weather at most: with PV, the one the World holds for its run
#: anyway; without, kept until the next call (its times and nine float arrays over the horizon's
#: plant steps: 17 MB for 150 days at 60 s)
_LAST: dict[tuple[Any, ...], Weather] = {}
_LAST_LOCK = threading.Lock()


def _file_version(source: str) -> tuple[str, int, int] | None:
    """(path, size, modification time) of the file a weather source reads; None if there is none."""
    try:
        path = bundled_weather_path(source) if source in BUNDLED_WEATHER else Path(source)
        st = path.stat()
    except OSError:  # pvlib or the file is missing: the load says so
        return None
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _load_weather(
    source: str,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    latitude: float | None,
    longitude: float | None,
    altitude_m: float | None,
    site: Site | None,
) -> Weather:
    start_utc = as_utc(start)
    mid_s = step_midpoints_s(duration_s, step_s)
    times = pd.DatetimeIndex(start_utc + pd.to_timedelta(mid_s, unit="s"))
    if site is not None:
        latitude = site.latitude if latitude is None else latitude
        longitude = site.longitude if longitude is None else longitude
        altitude_m = site.altitude_m if altitude_m is None else altitude_m
    if source in BUNDLED_WEATHER or (Path(source).exists() and detect_format(Path(source)) != "csv"):
        return _from_typical_year(source, times, step_s, latitude, longitude, altitude_m)
    return _from_csv(source, times, step_s, latitude, longitude, altitude_m)


def _from_typical_year(
    source: str,
    times: pd.DatetimeIndex,
    step_s: float,
    latitude: float | None,
    longitude: float | None,
    altitude_m: float | None,
) -> Weather:
    year: TypicalYear = read_typical_year(source)  # parsed once per process and file version
    own = year.site
    return _assemble(
        times,
        typical_year_values(year, times),
        latitude=own.latitude if latitude is None else latitude,
        longitude=own.longitude if longitude is None else longitude,
        altitude_m=own.altitude_m if altitude_m is None else altitude_m,
        tz=own.tz,
        source=source,
        step_s=step_s,
    )


def _from_csv(
    source: str,
    times: pd.DatetimeIndex,
    step_s: float,
    latitude: float | None,
    longitude: float | None,
    altitude_m: float | None,
) -> Weather:
    path = Path(source)
    if not path.exists():
        names = ", ".join(sorted(BUNDLED_WEATHER))
        raise FileNotFoundError(f"weather file not found: {path} (bundled names: {names})")
    df = pd.read_csv(path)
    if "time" not in df.columns:
        raise ValueError(f"weather file {path}: needs a 'time' column, has {list(df.columns)}")
    if "temp_air_c" not in df.columns:
        raise ValueError(f"weather file {path}: needs a 'temp_air_c' column, has {list(df.columns)}")
    stamps = pd.to_datetime(df["time"], utc=True)
    order = np.argsort(stamps.to_numpy())
    df = df.iloc[order]
    stamps = pd.DatetimeIndex(stamps.iloc[order])
    if len(times) and (len(stamps) == 0 or times[0] < stamps[0] or times[-1] > stamps[-1]):
        covered = f"{stamps[0]} .. {stamps[-1]}" if len(stamps) else "nothing"
        raise ValueError(f"weather file {path} covers {covered}; the run needs {times[0]} .. {times[-1]}")
    xp = (stamps - stamps[0]).total_seconds().to_numpy()
    x = (times - stamps[0]).total_seconds().to_numpy()
    out: dict[str, np.ndarray] = {}
    for col in CSV_COLUMNS:
        if col in df.columns:
            out[col] = np.interp(x, xp, df[col].to_numpy(float))
    alt = 0.0 if altitude_m is None else altitude_m
    n = len(times)
    if "relative_humidity_pct" not in out and "dew_point_c" in out:
        out["relative_humidity_pct"] = relative_humidity_magnus_pct(out["temp_air_c"], out["dew_point_c"])
    if "dew_point_c" not in out and "relative_humidity_pct" in out:
        out["dew_point_c"] = dew_point_magnus_c(out["temp_air_c"], out["relative_humidity_pct"])
    out.setdefault("pressure_pa", np.full(n, standard_pressure_pa(alt)))
    for col in CSV_COLUMNS:
        out.setdefault(col, np.full(n, np.nan))
    return _assemble(
        times,
        out,
        latitude=float("nan") if latitude is None else latitude,
        longitude=float("nan") if longitude is None else longitude,
        altitude_m=alt,
        tz="UTC",
        source=str(path),
        step_s=step_s,
    )


def _assemble(times: pd.DatetimeIndex, cols: dict[str, np.ndarray], **site: Any) -> Weather:
    arrays = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    for key in _IRRADIANCE:
        arrays[key] = np.maximum(arrays[key], 0.0)
    arrays["wind_speed_m_s"] = np.maximum(arrays["wind_speed_m_s"], 0.0)
    arrays["wet_bulb_c"] = wet_bulb_stull_c(arrays["temp_air_c"], arrays["relative_humidity_pct"])
    for values in arrays.values():
        values.setflags(write=False)
    return Weather(times=times, **arrays, **site)
