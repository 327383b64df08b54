"""Typical-year weather files, bundled or the user's: TMY3, TMY2, EPW, PVGIS.

What is read
------------
Each reader returns a ``TypicalYear``: hourly values of the columns
``temp_air_c, dew_point_c, relative_humidity_pct, pressure_pa,
wind_speed_m_s, ghi_w_m2, dni_w_m2, dhi_w_m2`` at positions in a 365-day
year (seconds since 1 January 00:00 in the file's own clock), and the site
the file describes (its latitude, longitude, altitude and time zone). The
weather module maps any scenario date onto those positions (same month, day
and hour).

Formats (all parsed by ``pvlib.iotools``, BSD-3; nothing is downloaded):

==========  =====================================  ==================================
format      how it is recognised                   clock of the stamps, irradiance
==========  =====================================  ==================================
TMY3        ``.csv`` whose first line is the       local standard time, hour ending
            station header (``read_tmy3``)         (NREL/TP-581-43156, section 1.4)
TMY2        ``.tm2`` (``read_tmy2``)               local standard time, hour ending
EPW         ``.epw`` (``read_epw``)                local standard time (header TZ),
                                                   hour ending (EnergyPlus Auxiliary
                                                   Programs, "Weather Data Format")
PVGIS EPW   ``.epw`` whose LOCATION data type is   UTC (PVGIS always writes UTC; pvlib
            ``ECMWF/ERA`` (how PVGIS writes it)    issue #2139), header TZ is the site's
PVGIS       ``.csv`` / ``.json`` from the PVGIS    UTC (same)
            TMY tool (``read_pvgis_tmy``)
==========  =====================================  ==================================

Irradiance in an hour-ending file is the total over the hour before the
stamp, so it is placed at the hour's middle (stamp - 30 min); temperature,
humidity, pressure and wind are values at the stamp. For PVGIS (ERA5-based)
the irradiance is placed at the stamp: measured on the bundled Piedmont
year, the irradiance-weighted mean hour then lies 0.12 h from solar noon,
against 0.38 h if read as hour-ending means (``tests/test_weather_files.py``
checks that every bundled year is within 0.25 h of solar noon).

Bundled names (``BUNDLED_WEATHER``): the three typical years inside pvlib's
``data`` folder and two non-US years shipped in ``data/weather/``:

- ``epw-amsterdam-nl``: ASHRAE IWEC, Amsterdam Schiphol (52.30 N, 4.77 E),
  as in pvlib-python's test data (BSD-3);
- ``pvgis-piedmont-it``: PVGIS TMY 2005-2023 (EU JRC, ERA5) at 45.0 N, 8.0 E,
  250 m, as in pvlib-python's test data (BSD-3).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.facility.site import Site, fixed_offset_name
from sim.paths import data_path

SECONDS_PER_TYPICAL_YEAR = 8760 * 3600.0
_HALF_HOUR_S = 1800.0
_PA_PER_HPA = 100.0
IRRADIANCE_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2")
POINT_COLUMNS = ("temp_air_c", "relative_humidity_pct", "dew_point_c", "pressure_pa", "wind_speed_m_s")


@dataclass(frozen=True)
class BundledWeather:
    """A typical year that ships with pvlib (``pvlib``) or in ``data/weather`` (``data``)."""

    where: str
    file: str
    description: str


BUNDLED_WEATHER: dict[str, BundledWeather] = {
    "tmy3-greensboro-nc": BundledWeather("pvlib", "723170TYA.CSV", "TMY3 Greensboro Piedmont Triad, NC (NREL)"),
    "tmy3-sand-point-ak": BundledWeather("pvlib", "703165TY.csv", "TMY3 Sand Point, AK (NREL)"),
    "tmy2-miami-fl": BundledWeather("pvlib", "12839.tm2", "TMY2 Miami, FL (NREL)"),
    "epw-amsterdam-nl": BundledWeather("data", "weather/NLD_Amsterdam062400_IWEC.epw",
                                       "ASHRAE IWEC typical year, Amsterdam Schiphol, NL (EPW)"),
    "pvgis-piedmont-it": BundledWeather("data", "weather/tmy_45.000_8.000_2005_2023.epw",
                                        "PVGIS TMY 2005-2023 (EU JRC, ERA5), Piedmont, IT, 45.0 N 8.0 E (EPW)"),
}
"""Bundled weather names -> file."""


@dataclass(frozen=True)
class TypicalYear:
    """A parsed typical year: positions in a 365-day year (s, file clock) and values."""

    point_pos_s: np.ndarray
    irradiance_pos_s: np.ndarray
    columns: dict[str, np.ndarray]
    site: Site
    data_offset_hours: float
    """Offset of the file's clock from UTC (local standard time, or 0 for PVGIS)."""
    source: str
    format: str


def pvlib_data_dir() -> Path:
    """The installed pvlib package's data folder (where its TMY files ship), found without
    importing pvlib (a second of start-up a run without PV does not need)."""
    spec = importlib.util.find_spec("pvlib")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pvlib is not installed: its bundled TMY files are not available")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_weather_path(name: str) -> Path:
    b = BUNDLED_WEATHER[name]
    return pvlib_data_dir() / b.file if b.where == "pvlib" else data_path(b.file)


def typical_year_position_s(index: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since 1 January 00:00 of a 365-day year from month/day/time (29 Feb -> 28 Feb)."""
    doy = index.day_of_year.to_numpy().astype(float)
    doy = np.where(index.is_leap_year & (doy >= 60), doy - 1, doy)
    seconds = index.hour.to_numpy() * 3600.0 + index.minute.to_numpy() * 60.0 + index.second.to_numpy()
    return (doy - 1) * 86400.0 + seconds


def detect_format(path: Path) -> str:
    """tmy3, tmy2, epw, pvgis-epw, pvgis-csv, pvgis-json, or 'csv' (a wattsim weather CSV)."""
    suffix = path.suffix.lower()
    if suffix == ".tm2":
        return "tmy2"
    if suffix == ".json":
        return "pvgis-json"
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
        head = first + fh.read(2000)
    if suffix == ".epw":
        fields = first.split(",")
        return "pvgis-epw" if len(fields) > 4 and fields[4].strip().upper() == "ECMWF/ERA" else "epw"
    if "PVGIS" in head or head.startswith("Latitude (decimal degrees):"):
        return "pvgis-csv"
    fields = first.strip().split(",")
    # TMY3 header: USAF, station name, state, TZ, latitude, longitude, elevation
    if len(fields) == 7 and fields[0].strip().isdigit():
        return "tmy3"
    return "csv"


def read_typical_year(source: str) -> TypicalYear:
    """Parse a bundled name or a typical-year file (TMY3, TMY2, EPW, PVGIS); cached per file version."""
    if source in BUNDLED_WEATHER:
        path = bundled_weather_path(source)
        if not path.exists():
            raise FileNotFoundError(f"bundled weather {source!r}: {path} is missing")
    else:
        path = Path(source)
        if not path.exists():
            names = ", ".join(sorted(BUNDLED_WEATHER))
            raise FileNotFoundError(f"weather file not found: {path} (bundled names: {names})")
    stat = path.stat()
    return _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size, source)


@functools.lru_cache(maxsize=16)
def _read_cached(path_text: str, mtime_ns: int, size: int, source: str) -> TypicalYear:
    from pvlib import iotools

    path = Path(path_text)
    fmt = detect_format(path)
    irradiance_shift_s = -_HALF_HOUR_S  # hour-ending totals placed at the hour's middle
    if fmt == "tmy2":
        df, meta = iotools.read_tmy2(str(path))
        # pvlib labels TMY2 hour h (hour ending) as h-1: shift back to the hour end.
        # TMY2 stores temperatures and wind in tenths (NREL TMY2 user's manual, 1995).
        index = pd.DatetimeIndex(df.index + pd.Timedelta(hours=1))
        cols = {
            "temp_air_c": df["DryBulb"].to_numpy(float) / 10.0,
            "dew_point_c": df["DewPoint"].to_numpy(float) / 10.0,
            "relative_humidity_pct": df["RHum"].to_numpy(float),
            "pressure_pa": df["Pressure"].to_numpy(float) * _PA_PER_HPA,
            "wind_speed_m_s": df["Wspd"].to_numpy(float) / 10.0,
            "ghi_w_m2": df["GHI"].to_numpy(float),
            "dni_w_m2": df["DNI"].to_numpy(float),
            "dhi_w_m2": df["DHI"].to_numpy(float),
        }
        lat, lon, alt, tz_hours = meta["latitude"], meta["longitude"], meta["altitude"], meta["TZ"]
        data_offset = float(tz_hours)
    elif fmt == "tmy3":
        df, meta = iotools.read_tmy3(str(path), map_variables=True)
        index = pd.DatetimeIndex(df.index)
        cols = _mapped_columns(df, pressure_factor=_PA_PER_HPA)  # mbar
        lat, lon, alt, tz_hours = meta["latitude"], meta["longitude"], meta["altitude"], meta["TZ"]
        data_offset = float(tz_hours)
    elif fmt in ("epw", "pvgis-epw"):
        df, meta = iotools.read_epw(str(path))
        # pvlib labels EPW hour h (hour ending) as h-1: shift back to the hour end
        index = pd.DatetimeIndex(df.index + pd.Timedelta(hours=1))
        cols = _mapped_columns(df.rename(columns={"atmospheric_pressure": "pressure"}), pressure_factor=1.0)
        lat, lon, alt, tz_hours = meta["latitude"], meta["longitude"], meta["altitude"], meta["TZ"]
        data_offset = float(tz_hours)
        if fmt == "pvgis-epw":
            data_offset = 0.0
            irradiance_shift_s = -3600.0  # the stamp PVGIS meant, see the module docstring
    elif fmt in ("pvgis-csv", "pvgis-json"):
        df, meta = iotools.read_pvgis_tmy(str(path), pvgis_format=fmt.split("-")[1], map_variables=True)
        index = pd.DatetimeIndex(df.index)
        cols = _mapped_columns(df, pressure_factor=1.0)
        loc = meta.get("inputs", {}).get("location", {}) if isinstance(meta, dict) else {}
        lat, lon, alt = loc.get("latitude", np.nan), loc.get("longitude", np.nan), loc.get("elevation", 0.0)
        tz_hours, data_offset = 0.0, 0.0
        irradiance_shift_s = 0.0
    else:
        raise ValueError(
            f"weather file {path}: not a typical-year format (TMY3, TMY2, EPW, PVGIS csv/json);"
            " a CSV with a 'time' column is read as a real series"
        )
    local = pd.DatetimeIndex(index.tz_localize(None) if index.tz is not None else index)
    pos = typical_year_position_s(local) % SECONDS_PER_TYPICAL_YEAR
    order = np.argsort(pos, kind="stable")
    for key in cols:
        cols[key] = np.asarray(cols[key], dtype=float)[order]
        cols[key].setflags(write=False)
    pos = pos[order]
    site = Site(float(lat), float(lon), float(alt), fixed_offset_name(float(tz_hours)), name=Path(source).name)
    return TypicalYear(
        point_pos_s=pos,
        irradiance_pos_s=(pos + irradiance_shift_s) % SECONDS_PER_TYPICAL_YEAR,
        columns=cols,
        site=site,
        data_offset_hours=data_offset,
        source=source,
        format=fmt,
    )


def _mapped_columns(df: pd.DataFrame, pressure_factor: float) -> dict[str, Any]:
    """Columns under pvlib's mapped names -> wattsim names with units."""
    need = {"temp_air": "temp_air_c", "relative_humidity": "relative_humidity_pct", "wind_speed": "wind_speed_m_s",
            "ghi": "ghi_w_m2", "dni": "dni_w_m2", "dhi": "dhi_w_m2", "pressure": "pressure_pa"}
    missing = [k for k in need if k not in df.columns]
    if missing:
        raise ValueError(f"weather file lacks columns {missing}; has {list(df.columns)[:12]}")
    cols = {new: df[old].to_numpy(float) for old, new in need.items()}
    cols["pressure_pa"] = cols["pressure_pa"] * pressure_factor
    if "temp_dew" in df.columns:
        cols["dew_point_c"] = df["temp_dew"].to_numpy(float)
    else:  # Magnus formula (Alduchov & Eskridge 1996, J. Appl. Meteor. 35, 601-609)
        t, rh = cols["temp_air_c"], np.clip(cols["relative_humidity_pct"], 0.1, 100.0)
        gamma = np.log(rh / 100.0) + 17.625 * t / (243.04 + t)
        cols["dew_point_c"] = 243.04 * gamma / (17.625 - gamma)
    return cols


def typical_year_values(year: TypicalYear, times_utc: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Every column at the given UTC instants (linear between the hourly points; the year is periodic)."""
    clock = times_utc.tz_convert(None) + pd.Timedelta(hours=year.data_offset_hours)
    x = typical_year_position_s(pd.DatetimeIndex(clock)) if len(clock) else np.zeros(0)
    out: dict[str, np.ndarray] = {}
    for col, values in year.columns.items():
        xp = year.irradiance_pos_s if col in IRRADIANCE_COLUMNS else year.point_pos_s
        order = np.argsort(xp, kind="stable")
        out[col] = np.interp(x, xp[order], values[order], period=SECONDS_PER_TYPICAL_YEAR)
    return out
