"""Renewable and carbon-free shares of whole runs, checked against the production files themselves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate

GRID = Path(__file__).resolve().parent.parent / "data" / "grid"
START = pd.Timestamp("2020-06-01T00:00:00Z")
WEEK_S = 7 * 86400.0


def _csv_fraction_over(path: Path, sources: list[str], renewable: list[str], start: pd.Timestamp,
                       seconds: float) -> float:
    """Independently of sim: the time-mean over [start, start + seconds) of the file's
    renewable fraction, each row holding until the next (what a constant load consumes)."""
    df = pd.read_csv(path, index_col=0)
    df.index = pd.to_datetime(df.index, utc=True)
    frac = df[renewable].clip(lower=0).sum(axis=1) / df[sources].clip(lower=0).sum(axis=1)
    grid = start + pd.to_timedelta(np.arange(0, seconds, 60.0), unit="s")  # every minute
    held = frac.reindex(frac.index.union(grid)).ffill().loc[grid]
    return float(held.mean())


def test_grid_only_gb_run_share_is_the_production_files_renewable_fraction() -> None:
    # Done-when of issue 16: an idle grid-only hall (constant load) on the GB 2020 grid for a
    # week consumes the grid's mix; its location-based renewable share is the time-mean of the
    # file's renewable fraction. Renewable = biomass, run-of-river hydro, solar, wind
    # (EU RED); pumped storage and the FR/NL/IE/BE import columns are not generation.
    s = simulate(load_scenario(tiny_scenario(duration="7d", supply={"grid": {"carbon_intensity": {"trace": "gb-2020"}}})))
    gb = GRID / "gb_production.csv"
    renewable = ["Biomass", "Hydro Run-of-river and poundage", "Solar", "Wind Offshore", "Wind Onshore"]
    sources = renewable + ["Fossil Gas", "Fossil Hard coal", "Fossil Oil", "Nuclear", "Other"]
    expected = _csv_fraction_over(gb, sources, renewable, START, WEEK_S)
    assert s.summary["renewable_share"] == pytest.approx(expected, rel=1e-6)
    # carbon-free: the renewables without biomass, plus nuclear
    cf = ["Hydro Run-of-river and poundage", "Solar", "Wind Offshore", "Wind Onshore", "Nuclear"]
    assert s.summary["carbon_free_share"] == pytest.approx(_csv_fraction_over(gb, sources, cf, START, WEEK_S),
                                                           rel=1e-6)
    # the grid's own (generation-weighted) fraction that week is close to it: the first week of
    # June 2020 was between a third and a half renewable on the transmission-level data
    assert 0.33 < s.summary["renewable_share"] < 0.50
    # nothing on site, no contracts: the market-based shares are 0, the 24/7 CFE score is the grid's
    assert s.summary["renewable_share_onsite"] == 0.0 and s.summary["annual_matched_share"] == 0.0
    assert s.summary["cfe_score"] == pytest.approx(s.summary["carbon_free_share"], rel=1e-9)


def test_per_bin_shares_aggregate_to_the_summary() -> None:
    s = simulate(load_scenario(tiny_scenario(duration="2d", supply={"grid": {"carbon_intensity": {"trace": "fr-2020"}}})))
    ts = s.timeseries
    e = ts["facility_energy_kwh"]
    for key in ("renewable_share", "carbon_free_share", "cfe_score"):
        assert float((ts[key] * e).sum() / e.sum()) == pytest.approx(s.summary[key], rel=1e-9)
    # France 2020: mostly nuclear, so carbon-free far above renewable
    assert s.summary["carbon_free_share"] > 0.85 > 0.35 > s.summary["renewable_share"] > 0.15


def test_grid_without_a_known_mix_reports_unknown_not_zero() -> None:
    s = simulate(load_scenario(tiny_scenario(supply={"grid": {"carbon_intensity": 300}})))
    assert math.isnan(s.summary["renewable_share"]) and s.timeseries["renewable_share"].isna().all()
    given = simulate(load_scenario(tiny_scenario(
        supply={"grid": {"carbon_intensity": 300, "renewable_fraction": 0.4, "carbon_free_fraction": 0.5}})))
    assert given.summary["renewable_share"] == pytest.approx(0.4)
    assert given.summary["carbon_free_share"] == pytest.approx(0.5)


def test_a_fraction_outside_0_1_is_refused() -> None:
    with pytest.raises(Exception, match=r"supply.grid.renewable_fraction: .* is not allowed: a fraction"):
        simulate(load_scenario(tiny_scenario(supply={"grid": {"renewable_fraction": 40}})))
