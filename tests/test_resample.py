"""Daily / monthly aggregation of a time series: sums, energy-weighted shares, time-weighted means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.resample import choose_frequency, kind_of, resample


def _two_days() -> pd.DataFrame:
    # 48 hourly bins: day 1 at 100 kWh/h with a 20 % share, day 2 at 300 kWh/h with 60 %
    t = pd.date_range("2021-06-01", periods=48, freq="h", tz="UTC")
    energy = np.r_[np.full(24, 100.0), np.full(24, 300.0)]
    share = np.r_[np.full(24, 0.2), np.full(24, 0.6)]
    return pd.DataFrame({"time": t, "facility_energy_kwh": energy, "it_energy_kwh": energy / 1.25,
                         "renewable_share": share, "facility_power_w": energy * 1000.0,
                         "carbon_kg": energy * 0.1, "pue": np.full(48, 1.25)})


def test_daily_sums_and_weighted_shares_by_hand() -> None:
    d = resample(_two_days(), "D")
    assert list(d["facility_energy_kwh"]) == [2400.0, 7200.0]
    assert list(d["carbon_kg"]) == pytest.approx([240.0, 720.0])
    assert list(d["renewable_share"]) == pytest.approx([0.2, 0.6])
    # over both days the share is that of the total energy: (2400 x 0.2 + 7200 x 0.6) / 9600 = 0.5,
    # not the plain mean 0.4
    m = resample(_two_days(), "MS")
    assert m["renewable_share"].iloc[0] == pytest.approx(0.5)
    assert m["facility_power_w"].iloc[0] == pytest.approx(200_000.0)  # time-weighted mean
    assert m["pue"].iloc[0] == pytest.approx(1.25)


def test_unknown_share_stays_unknown() -> None:
    ts = _two_days()
    ts["renewable_share"] = np.nan
    assert resample(ts, "D")["renewable_share"].isna().all()


def test_kinds_and_frequency_choice() -> None:
    assert kind_of("grid_import_kwh") == "sum" and kind_of("cost") == "sum" and kind_of("water_onsite_l") == "sum"
    assert kind_of("cfe_score") == "share" and kind_of("carbon_free_share") == "share"
    assert kind_of("carbon_intensity_g_per_kwh") == "mean"
    week, year = 7 * 86400.0, 365 * 86400.0
    assert choose_frequency(week, 3600.0) == (None, "as simulated")  # 168 points
    assert choose_frequency(week, 900.0) == ("h", "hourly")  # 672 bins -> 168 hours
    assert choose_frequency(year, 900.0) == ("D", "daily")  # 8,760 hours is too many, 365 days is not
    assert choose_frequency(3 * year, 3600.0) == ("W", "weekly")
    assert choose_frequency(20 * year, 3600.0) == ("MS", "monthly")
