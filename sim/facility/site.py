"""Where the datacenter is: latitude, longitude, altitude and time zone.

What is modelled
----------------
A ``Site`` places the run on Earth. Solar position (PV), air density at hub
height (wind), the standard pressure of a weather CSV without one, and the
local time of a typical-year weather file all depend on it. It comes from,
in this order:

1. the scenario's ``site:`` section, if given (it overrides a file's own);
2. the weather file's own metadata (EPW, TMY3, TMY2 and PVGIS files carry
   latitude, longitude, altitude and time zone);
3. nothing: then anything that needs a site (PV, wind, the local time of a
   CSV) fails with one line that says what to set. There is no default site.

Time zones are IANA names (``Europe/Amsterdam``) or fixed offsets
(``UTC+01:00``, ``UTC-05:00``, ``UTC``). Typical-year files are in local
*standard* time, so a site's ``standard_offset_hours`` (its offset in
January, outside daylight saving in the northern hemisphere, or the smaller
of January and July in the southern) is what maps them onto UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import pandas as pd

from sim.spec.site import check_site_values, parse_tz


def fixed_offset_name(hours: float) -> str:
    """``UTC+01:00`` for 1.0, ``UTC-03:30`` for -3.5."""
    sign = "+" if hours >= 0 else "-"
    minutes = round(abs(hours) * 60)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Site:
    """A place on Earth. Degrees north and east, metres above sea level."""

    latitude: float
    longitude: float
    altitude_m: float = 0.0
    tz: str = "UTC"
    name: str = ""

    def __post_init__(self) -> None:
        check_site_values(self.latitude, self.longitude, self.altitude_m, self.tz)

    @property
    def tzinfo(self) -> tzinfo:
        return parse_tz(self.tz)

    def standard_offset_hours(self, year: int = 2021) -> float:
        """The site's standard-time offset from UTC, hours (typical years are in standard time)."""
        zone = self.tzinfo
        offsets = []
        for month in (1, 7):
            stamp = pd.Timestamp(year=year, month=month, day=15, hour=12, tz=zone)
            off = stamp.utcoffset()
            offsets.append(0.0 if off is None else off.total_seconds() / 3600.0)
        return min(offsets)

    def describe(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return (f"{label}{abs(self.latitude):.2f} {'N' if self.latitude >= 0 else 'S'},"
                f" {abs(self.longitude):.2f} {'E' if self.longitude >= 0 else 'W'},"
                f" {self.altitude_m:.0f} m, {self.tz}")


def resolve_site(scenario_site: Site | None, file_site: Site | None) -> Site | None:
    """The scenario's site if given, else the weather file's, else None."""
    return scenario_site if scenario_site is not None else file_site


def require_site(site: Site | None, what: str, weather_source: str = "") -> Site:
    """The site, or a one-line ValueError saying that ``what`` needs one and how to give it."""
    if site is not None:
        return site
    src = f" (the weather {weather_source!r} carries none)" if weather_source else ""
    raise ValueError(
        f"{what} needs a site{src}: set site: {{latitude: .., longitude: .., altitude_m: .., tz: ..}}"
        " in the scenario, or use a weather file with its own site (EPW, TMY3, PVGIS)"
    )
