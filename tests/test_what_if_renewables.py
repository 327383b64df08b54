"""The ready 512-H100 scenarios' figures documented in docs/supply.md, produced here from the
scenarios (deterministic: a change that moves one fails this test). The what-if page's
carbon-aware and solar tables are checked by tests/test_what_if.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, simulate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (renewable %, carbon-free %, on-site %, annual matched %, 24/7 CFE %, hours >= 99 % on-site,
        #  EUR per GPU-hour)
        ("amsterdam_512_h100.yaml", (67.3, 65.4, 38.3, 40.2, 65.4, 30.1, 1.19)),
        ("piedmont_512_h100.yaml", (73.6, 70.8, 52.9, 56.3, 70.8, 46.3, 1.16)),
    ],
)
def test_512_h100_ready_scenarios(name: str, expected: tuple[float, ...]) -> None:
    # docs/supply.md, "Ready scenario": a year of 512 H100s with 2 MWp PV and a 4-hour battery
    r = simulate(load_scenario(SCENARIOS / name))
    s = r.summary
    hours_onsite = 100 * float((r.timeseries["renewable_share_onsite"] >= 0.99).mean())
    got = (100 * s["renewable_share"], 100 * s["carbon_free_share"], 100 * s["renewable_share_onsite"],
           100 * s["annual_matched_share"], 100 * s["cfe_score"], hours_onsite, s["cost_per_accelerator_hour"])
    assert got == pytest.approx(expected, abs=0.051)
    assert s["currency"] == "EUR"
