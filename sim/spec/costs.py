"""Scenario section ``costs:``: capital, contracts, tariffs, embodied carbon and water
(``sim.facility.costs``, where every default is sourced). Money is in the scenario's
currency, ``supply.grid.currency`` (default USD); the defaults are USD."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.facility import costs as c
from sim.spec.types import NonNegative, Positive, StrictModel


class WaterConfig(StrictModel):
    """On-site water of the cooling plant, and optionally off-site water of the grid's electricity."""

    kind: Literal["tower", "dry", "adiabatic", "wue"] = "tower"
    """tower: evaporation + blowdown from the heat rejected; dry / adiabatic / wue: a WUE figure."""
    wue_l_per_kwh: NonNegative | None = None
    """L per kWh of IT energy (kind wue; overrides the dry / adiabatic default)."""
    cycles_of_concentration: float = Field(default=c.TOWER_CYCLES_OF_CONCENTRATION, gt=1)
    offsite_l_per_kwh: NonNegative | None = None
    """Water intensity of grid electricity (EWIF), L/kWh; None: off-site water not counted."""


class CostsConfig(StrictModel):
    """Prices (scenario currency), lifetimes (years), embodied carbon (kgCO2e), water."""

    accelerator_price: NonNegative | None = None
    """Per accelerator; None: the default for the catalog accelerator (USD, ``ACCELERATOR_PRICE_USD``)."""
    server_price_per_node: NonNegative = c.SERVER_PRICE_USD_PER_NODE
    network_fraction: NonNegative = c.NETWORK_FRACTION
    facility_price_per_mw_it: NonNegative = c.FACILITY_PRICE_USD_PER_MW_IT
    pv_price_per_kwp: NonNegative = c.PV_PRICE_USD_PER_KWP
    battery_price_per_kwh: NonNegative = c.BATTERY_PRICE_USD_PER_KWH
    ppa_price_per_kwh: NonNegative = c.PPA_PRICE_USD_PER_KWH
    demand_charge_per_kw_month: NonNegative = 0.0
    """Tariff-specific; 0 unless given."""
    it_lifetime_years: Positive = c.IT_LIFETIME_S / c.YEAR_S
    facility_lifetime_years: Positive = c.FACILITY_LIFETIME_S / c.YEAR_S
    pv_lifetime_years: Positive = c.PV_LIFETIME_S / c.YEAR_S
    battery_lifetime_years: Positive = c.BATTERY_LIFETIME_S / c.YEAR_S
    embodied_kg_per_accelerator: NonNegative = c.EMBODIED_KG_PER_ACCELERATOR
    embodied_kg_per_server: NonNegative = c.EMBODIED_KG_PER_SERVER
    embodied_lifetime_years: Positive = c.EMBODIED_LIFETIME_S / c.YEAR_S
    water: WaterConfig = Field(default_factory=WaterConfig)

    def usd_defaults_in_use(self) -> list[str]:
        """Money keys left at their USD default (a scenario in another currency must set them)."""
        money = ("accelerator_price", "server_price_per_node", "facility_price_per_mw_it", "pv_price_per_kwp",
                 "battery_price_per_kwh", "ppa_price_per_kwh")
        return [k for k in money if k not in self.model_fields_set]
