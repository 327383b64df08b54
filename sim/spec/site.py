"""Scenario section ``site:``: where the datacenter is (``sim.facility.site.Site``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.facility.site import Site, parse_tz
from sim.spec.types import StrictModel


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

    def to_site(self) -> Site:
        return Site(self.latitude, self.longitude, self.altitude_m, self.tz, self.name)
