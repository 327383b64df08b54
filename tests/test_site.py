"""Site: validation with dotted paths, time zones, and the error when a site is needed and missing."""

from __future__ import annotations

import pytest

from sim.facility.site import Site, fixed_offset_name, parse_tz, require_site, resolve_site


def test_fixed_offsets_and_iana_names() -> None:
    assert parse_tz("UTC+01:00").utcoffset(None).total_seconds() == 3600.0
    assert parse_tz("UTC-03:30").utcoffset(None).total_seconds() == -3.5 * 3600
    assert str(parse_tz("Europe/Amsterdam")) == "Europe/Amsterdam"
    assert fixed_offset_name(-3.5) == "UTC-03:30" and fixed_offset_name(1.0) == "UTC+01:00"


def test_standard_offset_ignores_daylight_saving() -> None:
    # Amsterdam: CET (UTC+1) in winter, CEST (UTC+2) in summer; typical years use standard time.
    assert Site(52.3, 4.77, 0.0, "Europe/Amsterdam").standard_offset_hours() == 1.0
    # Sydney: AEST UTC+10, AEDT UTC+11 in the southern summer (January).
    assert Site(-33.87, 151.21, 0.0, "Australia/Sydney").standard_offset_hours() == 10.0


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"latitude": 95.0, "longitude": 0.0}, "site.latitude"),
     ({"latitude": 0.0, "longitude": -200.0}, "site.longitude"),
     ({"latitude": 0.0, "longitude": 0.0, "altitude_m": 12000.0}, "site.altitude_m"),
     ({"latitude": 0.0, "longitude": 0.0, "tz": "Mars/Olympus"}, "site.tz")],
)
def test_bad_site_is_one_line_with_the_dotted_path(kwargs: dict, path: str) -> None:
    with pytest.raises(ValueError) as info:
        Site(**kwargs)
    msg = str(info.value)
    assert msg.startswith(path + ":") and "\n" not in msg and "not allowed" in msg


def test_missing_site_is_a_clear_error_never_a_default() -> None:
    with pytest.raises(ValueError, match=r"supply.pv needs a site .*'my.csv'.*set site:"):
        require_site(resolve_site(None, None), "supply.pv", "my.csv")
    given = Site(45.0, 8.0)
    assert require_site(resolve_site(given, Site(0.0, 0.0)), "supply.pv") is given
