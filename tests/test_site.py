"""Site: validation with dotted paths, time zones, and the error when a site is needed and missing."""

from __future__ import annotations

import pytest

from sim.facility.site import Site, fixed_offset_name, require_site, resolve_site
from sim.spec.site import parse_tz


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


# -- the site in a run ----------------------------------------------------------------------

def _pv_run(**sections):
    from wattsim_testing import tiny_scenario

    from sim import load_scenario, simulate

    doc = tiny_scenario(start="2021-06-01T00:00:00Z", duration="2d", plant={"step": "900s"}, **sections)
    return simulate(load_scenario(doc))


def test_pv_without_any_weather_is_an_error_not_greensboro() -> None:
    from sim.spec.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"^supply.weather: PV, wind .* no default site\)$"):
        _pv_run(supply={"pv": {"capacity_kw": 100}})


def test_csv_weather_needs_the_scenarios_site(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from sim.facility.weather_files import read_typical_year, typical_year_values
    from sim.spec.scenario import ScenarioError

    # the Amsterdam typical year written out as a plain CSV with real (UTC) times
    times = pd.date_range("2021-05-31", "2021-06-04", freq="h", tz="UTC")
    v = typical_year_values(read_typical_year("epw-amsterdam-nl"), times)
    df = pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), **{k: np.round(x, 3) for k, x in v.items()}})
    path = tmp_path / "ams.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ScenarioError, match=r"^supply.pv needs a site .*set site:"):
        _pv_run(supply={"weather": str(path), "pv": {"capacity_kw": 100}})
    site = {"latitude": 52.3, "longitude": 4.77, "altitude_m": -2.0, "tz": "Europe/Amsterdam"}
    from_csv = _pv_run(site=site, supply={"weather": str(path), "pv": {"capacity_kw": 100}})
    from_epw = _pv_run(supply={"weather": "epw-amsterdam-nl", "pv": {"capacity_kw": 100}})
    pv_csv = from_csv.timeseries["pv_w"].sum()
    # the same weather at the same site: the same PV energy (within the hourly re-sampling)
    assert pv_csv > 0
    assert pv_csv == pytest.approx(from_epw.timeseries["pv_w"].sum(), rel=0.03)


def test_bad_site_in_a_scenario_names_the_path() -> None:
    from wattsim_testing import tiny_scenario

    from sim import load_scenario
    from sim.spec.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"site.latitude: 91"):
        load_scenario(tiny_scenario(site={"latitude": 91, "longitude": 0}))
    with pytest.raises(ScenarioError, match=r"site.tz: .*Mars/Base.*IANA"):
        load_scenario(tiny_scenario(site={"latitude": 0, "longitude": 0, "tz": "Mars/Base"}))
