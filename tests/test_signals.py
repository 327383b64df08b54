"""Signals: constants, traces, profiles, exact integrals, coverage, forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.facility.signals import (
    ConstantSignal,
    SampledSignal,
    build_signal,
    data_path,
    step_means,
    unit_factor,
)
from sim.spec.signals import SignalConfig

START = pd.Timestamp("2020-06-01T00:00Z")
WEEK_S = 7 * 86400.0


def _gb_ci() -> pd.Series:
    df = pd.read_csv(data_path("grid", "gb_ci.csv"))
    return pd.Series(df["Carbon Intensity"].to_numpy(), index=pd.to_datetime(df["Time"], utc=True))


def test_constant_signal() -> None:
    s = build_signal(429, START, WEEK_S, "carbon")
    assert isinstance(s, ConstantSignal)
    assert s.at(123.0) == 429.0
    assert s.integral(0.0, 3600.0) == pytest.approx(429.0 * 3600)
    np.testing.assert_allclose(s.values(np.array([0.0, 1e6])), [429.0, 429.0])


def test_step_and_linear_integrals_are_exact() -> None:
    step = SampledSignal(np.array([0.0, 10.0, 20.0]), np.array([1.0, 3.0, 5.0]), "step")
    assert step.integral(0.0, 20.0) == pytest.approx(1 * 10 + 3 * 10)
    assert step.integral(5.0, 15.0) == pytest.approx(1 * 5 + 3 * 5)
    assert step.at(9.999) == 1.0 and step.at(10.0) == 3.0
    lin = SampledSignal(np.array([0.0, 10.0, 20.0]), np.array([1.0, 3.0, 5.0]), "linear")
    assert lin.integral(0.0, 20.0) == pytest.approx(0.5 * (1 + 3) * 10 + 0.5 * (3 + 5) * 10)
    assert lin.integral(5.0, 15.0) == pytest.approx(0.5 * (2 + 3) * 5 + 0.5 * (3 + 4) * 5)
    np.testing.assert_allclose(step_means(step, np.array([0.0, 10.0, 20.0])), [1.0, 3.0])
    np.testing.assert_allclose(lin.integral(np.array([0.0, 5.0]), np.array([20.0, 15.0])), [60.0, 30.0])


def test_bundled_trace_aligns_to_the_start() -> None:
    s = build_signal({"trace": "gb-2020"}, START, WEEK_S, "carbon")
    raw = _gb_ci()
    assert s.at(0.0) == pytest.approx(raw[START])
    assert s.at(1800.0) == pytest.approx(raw[START + pd.Timedelta(minutes=30)])
    week = raw[(raw.index >= START) & (raw.index < START + pd.Timedelta(days=7))]
    assert s.integral(0.0, WEEK_S) / WEEK_S == pytest.approx(week.mean())


def test_trace_not_covering_the_run_names_file_and_range() -> None:
    with pytest.raises(ValueError, match=r"trace 'gb-2020' \(gb_ci\.csv\) covers 2019-12-20 00:00 \.\. 2021-01-10 00:00 UTC"
                       r" but the run needs 2021-01-05 00:00 \.\. 2021-02-04 00:00") as err:
        build_signal({"trace": "gb-2020"}, pd.Timestamp("2021-01-05T00:00Z"), 30 * 86400, "carbon", "grid")
    assert "wrap: true" in str(err.value)


def test_wrap_maps_the_typical_year_onto_the_run() -> None:
    wrapped = build_signal({"trace": "gb-2020", "wrap": True}, pd.Timestamp("2023-06-01T00:00Z"), WEEK_S, "carbon")
    actual = build_signal({"trace": "gb-2020"}, START, WEEK_S, "carbon")
    ts = np.arange(0.0, WEEK_S, 1800.0)
    np.testing.assert_allclose(wrapped.values(ts), actual.values(ts))


def test_csv_with_unit_and_column(tmp_path) -> None:
    path = tmp_path / "load.csv"
    times = pd.date_range("2020-06-01", periods=4, freq="h", tz="UTC")
    pd.DataFrame({"ts": times, "site_kw": [100.0, 200.0, 300.0, 400.0]}).to_csv(path, index=False)
    s = build_signal({"csv": str(path), "column": "site_kw", "unit": "kW"}, START, 3 * 3600, "power")
    assert s.at(3600.0) == pytest.approx(200e3)
    assert s.integral(0.0, 3 * 3600.0) == pytest.approx((100 + 200 + 300) * 1e3 * 3600)
    with pytest.raises(ValueError, match="not a power unit"):
        build_signal({"csv": str(path), "unit": "g/kWh"}, START, 3600, "power")


def test_daily_profile_is_local_time_of_use() -> None:
    prices = [0.1] * 24
    prices[17] = 0.3  # 17:00-18:00 London time = 16:00 UTC in June (BST)
    s = build_signal({"profile": "daily", "values": prices, "tz": "Europe/London"}, START, 86400, "price")
    assert s.at(16.5 * 3600) == pytest.approx(0.3)
    assert s.at(17.5 * 3600) == pytest.approx(0.1)
    weekly = build_signal({"profile": "weekly", "values": list(range(168))}, START, 86400, "price")
    assert weekly.at(0.0) == 0.0  # 2020-06-01 is a Monday


def test_config_forms_and_errors() -> None:
    assert SignalConfig.model_validate(429).constant == 429
    with pytest.raises(ValidationError, match="exactly one"):
        SignalConfig.model_validate({"trace": "gb-2020", "constant": 1})
    with pytest.raises(ValidationError, match="24 hourly values"):
        SignalConfig.model_validate({"profile": "daily", "values": [1, 2]})
    with pytest.raises(ValidationError, match="Extra inputs"):
        SignalConfig.model_validate({"trace": "gb-2020", "colum": "x"})
    assert unit_factor("kg/kWh", "carbon") == 1000.0
    assert unit_factor("lb/MWh", "carbon") == pytest.approx(0.45359237)


def test_perfect_forecast_is_the_future_and_persistence_sees_only_the_past() -> None:
    x = np.arange(0.0, 5 * 86400, 3600.0)
    v = np.sin(x / 86400 * 2 * np.pi) + 2
    s = SampledSignal(x, v).with_forecast("perfect")
    f = s.forecast(86400.0, 6 * 3600, 3600.0)
    np.testing.assert_allclose(f.values, s.values(86400.0 + 3600 * np.arange(6)))
    # Persistence (day-ahead): changing the future after t must not change the forecast.
    t = 2 * 86400.0
    future_changed = v.copy()
    future_changed[x > t] += 100.0
    a = SampledSignal(x, v).with_forecast("persistence").forecast(t, 86400, 3600.0)
    b = SampledSignal(x, future_changed).with_forecast("persistence").forecast(t, 86400, 3600.0)
    np.testing.assert_allclose(a.values, b.values)
    np.testing.assert_allclose(a.values, v[(x >= t - 86400) & (x < t)])


def test_noisy_forecast_is_seeded_and_has_the_given_error() -> None:
    s = ConstantSignal(100.0).with_forecast("noisy", relative_error=0.1, seed=7)
    a = s.forecast(3600.0, 1000 * 3600, 3600.0).values
    b = s.forecast(3600.0, 1000 * 3600, 3600.0).values
    np.testing.assert_array_equal(a, b)
    # 1,000 draws: the sample std of N(0, 0.1) has a relative standard error 1/sqrt(2 x 1000) = 2.2%,
    # so 10% is ~4.5 standard errors
    assert np.std(a / 100.0 - 1.0) == pytest.approx(0.1, rel=0.1)
    other = ConstantSignal(100.0).with_forecast("noisy", relative_error=0.1, seed=8)
    assert not np.array_equal(a, other.forecast(3600.0, 1000 * 3600, 3600.0).values)
