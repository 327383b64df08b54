"""Scenario section ``site:``: where the datacenter is (the engine's ``sim.facility.site.Site``),
and the checks of a site's values shared with it (time zones, ranges)."""

from __future__ import annotations

import math
import re
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from sim.spec.types import StrictModel

_FIXED = re.compile(r"^UTC(?:(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?$")


def parse_tz(tz: str, where: str = "site.tz") -> tzinfo:
    """An IANA time zone or a fixed ``UTC+HH:MM`` offset; ValueError naming ``where`` otherwise."""
    text = str(tz).strip()
    match = _FIXED.match(text)
    if match:
        if match.group("sign") is None:
            return ZoneInfo("UTC")
        hours, minutes = int(match.group("h")), int(match.group("m") or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{where}: {tz!r} is not allowed: an offset between UTC-14:00 and UTC+14:00")
        sign = 1 if match.group("sign") == "+" else -1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{where}: {str(tz)[:40]!r} is not allowed: an IANA time zone (e.g. Europe/Amsterdam)"
            " or a fixed offset (UTC+01:00)"
        ) from exc



def check_site_values(latitude: float, longitude: float, altitude_m: float, tz: str) -> None:
    """One-line errors with the dotted path for an impossible site."""
    if not (math.isfinite(latitude) and -90.0 <= latitude <= 90.0):
        raise ValueError(f"site.latitude: {latitude!r} is not allowed: degrees north between -90 and 90")
    if not (math.isfinite(longitude) and -180.0 <= longitude <= 180.0):
        raise ValueError(f"site.longitude: {longitude!r} is not allowed: degrees east between -180 and 180")
    # Dead Sea shore -430 m to the highest observatories ~5,600 m; a wide, still physical band
    if not (math.isfinite(altitude_m) and -500.0 <= altitude_m <= 9000.0):
        raise ValueError(f"site.altitude_m: {altitude_m!r} is not allowed: metres between -500 and 9000")
    parse_tz(tz)




class SiteConfig(StrictModel):
    """Latitude and longitude in degrees (north, east), altitude in metres, a time zone
    (IANA name such as Europe/Amsterdam, or UTC+01:00). Overrides the weather file's own site."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude_m: float = Field(default=0.0, ge=-500, le=9000)
    tz: str = "UTC"
    name: str = ""

    @field_validator("tz")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        parse_tz(value, "tz")  # ValueError says what is allowed
        return value
