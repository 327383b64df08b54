"""Weather: typical years mapped onto scenario dates, CSV weather, wet bulb."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.facility.weather import (
    BUNDLED_TMY,
    load_weather,
    pvlib_data_dir,
    step_midpoints_s,
    wet_bulb_stull_c,
)

DAY_S = 86400.0


def _tmy3_monthly_mean_c(month: int) -> float:
    """Monthly mean dry bulb straight from pvlib's 723170TYA.CSV (the source itself)."""
    from pvlib.iotools import read_tmy3

    df, _ = read_tmy3(str(pvlib_data_dir() / "723170TYA.CSV"), map_variables=True)
    # Hour-ending stamps: the 24:00 value of 31 Dec becomes 1 Jan 00:00; take the stamp minus 1 s.
    months = (df.index - pd.Timedelta(seconds=1)).month
    return float(df["temp_air"][months == month].mean())


def test_steps_are_midpoints_in_utc() -> None:
    w = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-06-01T00:00Z"), 3600 * 2.5, 900)
    assert len(w) == 10  # ceil(9000 / 900)
    assert w.times[0] == pd.Timestamp("2020-06-01T00:07:30Z")
    assert str(w.times.tz) == "UTC"
    assert list(step_midpoints_s(100, 60)) == [30.0, 90.0]


@pytest.mark.parametrize("name", sorted(BUNDLED_TMY))
def test_bundled_names_load_with_site(name: str) -> None:
    w = load_weather(name, pd.Timestamp("2021-03-01T00:00Z"), 2 * DAY_S, 3600)
    assert len(w) == 48
    for key in ("temp_air_c", "wet_bulb_c", "pressure_pa", "wind_speed_m_s", "ghi_w_m2"):
        assert np.all(np.isfinite(getattr(w, key)))
    assert np.all(w.wet_bulb_c <= w.temp_air_c + 1e-9)
    assert 85_000 < w.pressure_pa.mean() < 105_000
    assert -90 <= w.latitude <= 90 and w.tz.startswith("UTC")
    assert set(w.at_step(0)) >= {"temp_air_c", "wet_bulb_c", "dew_point_c", "ghi_w_m2"}


def test_greensboro_monthly_means_match_the_tmy() -> None:
    # The typical year's own monthly means (723170TYA.CSV): July 25.4 C, January 0.3 C.
    # NOAA 1981-2010 normals for Greensboro (M): July ~26 C, January ~4 C; this TMY's
    # January (a cold 1988) is colder than the normal, so we test against the file.
    tz = pd.Timedelta(hours=5)  # the station's standard time is UTC-5
    july = load_weather("tmy3-greensboro-nc", pd.Timestamp("2022-07-01") + tz, 31 * DAY_S, 3600)
    jan = load_weather("tmy3-greensboro-nc", pd.Timestamp("2022-01-01") + tz, 31 * DAY_S, 3600)
    assert july.temp_air_c.mean() == pytest.approx(_tmy3_monthly_mean_c(7), abs=0.1)
    assert jan.temp_air_c.mean() == pytest.approx(_tmy3_monthly_mean_c(1), abs=0.1)
    assert 24.0 < july.temp_air_c.mean() < 27.0
    assert jan.temp_air_c.mean() < 5.0


def test_same_month_day_hour_in_any_year() -> None:
    a = load_weather("tmy3-greensboro-nc", pd.Timestamp("2021-07-01T00:00Z"), 3 * DAY_S, 600)
    b = load_weather("tmy3-greensboro-nc", pd.Timestamp("2035-07-01T00:00Z"), 3 * DAY_S, 600)
    np.testing.assert_allclose(a.temp_air_c, b.temp_air_c)
    np.testing.assert_allclose(a.ghi_w_m2, b.ghi_w_m2)


def test_leap_day_reuses_28_february_and_year_end_wraps() -> None:
    feb28 = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-02-28T05:00Z"), DAY_S, 3600)
    feb29 = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-02-29T05:00Z"), DAY_S, 3600)
    np.testing.assert_allclose(feb28.temp_air_c, feb29.temp_air_c)
    new_year = load_weather("tmy3-greensboro-nc", pd.Timestamp("2020-12-31T00:00Z"), 3 * DAY_S, 3600)
    assert np.all(np.isfinite(new_year.temp_air_c))
    jan = load_weather("tmy3-greensboro-nc", pd.Timestamp("2021-01-01T05:00Z"), DAY_S, 3600)
    np.testing.assert_allclose(new_year.temp_air_c[29 : 29 + 24], jan.temp_air_c)


def test_stull_wet_bulb_worked_example() -> None:
    # Stull (2011), J. Appl. Meteor. Climatol. 50:2267, worked example: T = 20 C, RH = 50 % -> Tw = 13.7 C.
    assert wet_bulb_stull_c(np.array([20.0]), np.array([50.0]))[0] == pytest.approx(13.7, abs=0.05)
    # Saturated air: wet bulb close to dry bulb (within Stull's stated error, ~1 K).
    assert wet_bulb_stull_c(np.array([25.0]), np.array([99.0]))[0] == pytest.approx(25.0, abs=1.0)


def test_typical_year_is_parsed_once_per_process() -> None:
    from sim.facility.weather_files import _read_cached

    load_weather("tmy3-greensboro-nc", pd.Timestamp("2021-01-01T00:00Z"), DAY_S, 3600)
    before = _read_cached.cache_info().hits
    load_weather("tmy3-greensboro-nc", pd.Timestamp("2021-01-01T00:00Z"), 2 * DAY_S, 3600)  # other steps
    assert _read_cached.cache_info().hits == before + 1


def test_the_same_weather_asked_twice_is_built_once(tmp_path) -> None:
    # a run's cooling plant and supply ask for the same weather: the second gets the first's
    start = pd.Timestamp("2021-05-01T00:00Z")
    first = load_weather("tmy3-greensboro-nc", start, DAY_S, 600)
    assert load_weather("tmy3-greensboro-nc", start, DAY_S, 600) is first
    other = load_weather("tmy3-greensboro-nc", start, DAY_S, 600, latitude=10.0)  # any argument differs: built anew
    assert other is not first and other.latitude == 10.0
    np.testing.assert_array_equal(other.temp_air_c, first.temp_air_c)
    # a file changed since is read again
    path = tmp_path / "site.csv"
    times = pd.date_range("2020-06-01", periods=3, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"time": times, "temp_air_c": [10.0, 12.0, 14.0]}).to_csv(path, index=False)
    w1 = load_weather(str(path), pd.Timestamp("2020-06-01T00:00Z"), 7200, 3600)
    assert load_weather(str(path), pd.Timestamp("2020-06-01T00:00Z"), 7200, 3600) is w1
    # (a longer file: two writes within the file system's clock tick may share a modification time)
    pd.DataFrame({"time": times, "temp_air_c": [20.25, 22.25, 24.25]}).to_csv(path, index=False)
    w2 = load_weather(str(path), pd.Timestamp("2020-06-01T00:00Z"), 7200, 3600)
    assert w2.temp_air_c.tolist() == [21.25, 23.25]  # linear at the midpoints of the new values


def test_csv_weather(tmp_path) -> None:
    path = tmp_path / "site.csv"
    times = pd.date_range("2020-06-01", periods=5, freq="h", tz="UTC")
    pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "temp_air_c": [10, 12, 14, 16, 18],
                  "relative_humidity_pct": [50] * 5}).to_csv(path, index=False)
    w = load_weather(str(path), pd.Timestamp("2020-06-01T00:00Z"), 7200, 1800, latitude=50.0, longitude=8.0)
    np.testing.assert_allclose(w.temp_air_c, [10.5, 11.5, 12.5, 13.5])  # linear at the midpoints
    assert np.all(np.isfinite(w.dew_point_c)) and np.all(np.isnan(w.ghi_w_m2))
    assert w.pressure_pa[0] == pytest.approx(101325.0)
    with pytest.raises(ValueError, match=r"site.csv covers 2020-06-01 00:00:00\+00:00 \.\. 2020-06-01 04:00:00"):
        load_weather(str(path), pd.Timestamp("2020-06-01T00:00Z"), 10 * 3600, 3600)


def test_missing_csv_names_the_path(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_weather(str(missing), pd.Timestamp("2020-06-01T00:00Z"), 3600, 60)
