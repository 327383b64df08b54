"""Tests of sim/cooling.py: constant-PUE accounting and the physical plant."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import TypeAdapter

from sim.cooling import ConstantPueConfig, CoolingConfig, build_cooling

START = pd.Timestamp("2020-01-01T00:00:00Z")


def test_constant_pue_books_overhead_as_pue_minus_one_times_it() -> None:
    # Google fleet PUE 1.10 (Google 2024 Environmental Report): 1 MW IT -> 100 kW overhead.
    model = build_cooling(ConstantPueConfig(pue=1.1), START, 3600.0, 60.0, 1e6, None)
    out = model.step(0.0, 60.0, 1e6 * 60.0)
    assert out.power_w["overhead"] == pytest.approx(1e5)
    assert out.losses_w == 0.0
    assert out.accelerator_cap_fraction == 1.0


def test_constant_pue_loss_fraction_splits_overhead() -> None:
    model = build_cooling(ConstantPueConfig(pue=1.58, loss_fraction=0.25), START, 3600.0, 60.0, 1e6, None)
    out = model.step(0.0, 60.0, 1e6 * 60.0)
    assert out.power_w["overhead"] + out.losses_w == pytest.approx(0.58e6)
    assert out.losses_w == pytest.approx(0.145e6)


def test_cooling_section_default_and_validation() -> None:
    adapter = TypeAdapter(CoolingConfig)
    assert adapter.validate_python({"model": "constant-pue"}) == ConstantPueConfig()
    with pytest.raises(ValueError):
        adapter.validate_python({"model": "constant-pue", "pue": 0.9})
    with pytest.raises(ValueError):
        adapter.validate_python({"model": "constant-pue", "bogus": 1})
