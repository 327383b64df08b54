"""Energy supply: where the facility's power comes from (minimal first cut).

The grid serves the whole demand at a constant carbon intensity and a flat
price. Later commits add signals, PV, wind, battery and PPA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import Field

from sim.plant_api import SupplyModel, SupplyStep
from sim.schema import StrictModel
from sim.units import J_PER_KWH
from sim.weather import Weather

US_AVERAGE_CARBON_G_PER_KWH = 429.0
"""EPA US average used for GPT-3 by Patterson et al. 2021, section 2.4 / Table 4 (P)."""

DEFAULT_PRICE_PER_KWH = 0.10
"""USD per kWh. M: round figure near the US commercial average retail price
(EIA Electric Power Monthly Table 5.6.A reports roughly 0.11-0.13 USD/kWh for
2021-2023; not checked in this session)."""


class SupplyConfig(StrictModel):
    """Scenario section `supply:`."""

    carbon_intensity_g_per_kwh: float = Field(default=US_AVERAGE_CARBON_G_PER_KWH, ge=0)
    price_per_kwh: float = Field(default=DEFAULT_PRICE_PER_KWH, ge=0)
    currency: str = "USD"


class GridOnlySupply:
    def __init__(self, config: SupplyConfig) -> None:
        self._config = config

    def background_energy_j(self, t0: float, t1: float) -> float:
        return 0.0

    def step(self, t0: float, t1: float, demand_w: float) -> SupplyStep:
        c = self._config
        return SupplyStep(
            flows_w={"grid_import_w": demand_w},
            carbon_g_per_s=demand_w * c.carbon_intensity_g_per_kwh / J_PER_KWH,
            cost_per_s=demand_w * c.price_per_kwh / J_PER_KWH,
            state={
                "battery_soc_kwh": 0.0,
                "carbon_intensity_g_per_kwh": c.carbon_intensity_g_per_kwh,
                "price_per_kwh": c.price_per_kwh,
            },
        )

    def config(self) -> dict[str, Any]:
        return self._config.model_dump()


def build_supply(
    config: SupplyConfig,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    weather: Callable[[], Weather] | None,
) -> SupplyModel:
    """Build the supply model of a run (weather is fetched lazily, only if needed)."""
    return GridOnlySupply(config)
