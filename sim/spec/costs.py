"""Scenario section ``costs:``: capital, contracts, tariffs, embodied carbon and water
(``sim.results.footprint`` computes them; every default below carries its source). Money is in the scenario's
currency, ``supply.grid.currency`` (default USD); the defaults are USD."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.spec.types import NonNegative, Positive, StrictModel
from sim.units import DAY

YEAR_S = 365.0 * DAY

DEFAULT_CURRENCY = "USD"
"""All money defaults below are in USD; a scenario in another currency must give its own prices."""

ACCELERATOR_PRICE_USD: dict[str, float] = {
    "h100": 30_000.0,  # M: reported H100 SXM street prices 25-40 kUSD in 2023 (press, e.g. CNBC 2023)
    "h200": 35_000.0,  # M: reported 30-40 kUSD in 2024
    "a100-80gb": 15_000.0,  # M: A100 80 GB reported 10-20 kUSD
    "a100-40gb": 10_000.0,  # M
    "b200": 40_000.0,  # M: NVIDIA CEO's stated 30-40 kUSD (CNBC, March 2024)
}
"""Purchase price of one accelerator, USD, by catalog name (level M, all)."""
DEFAULT_ACCELERATOR_PRICE_USD = 30_000.0
"""M: used when the accelerator is not in ACCELERATOR_PRICE_USD (H100-class)."""
SERVER_PRICE_USD_PER_NODE = 100_000.0
"""M: an 8-GPU server without its GPUs (CPUs, memory, NICs, storage, chassis): DGX H100 list price
reportedly ~350-450 kUSD minus 8 x ~30 kUSD of GPUs. Replace with your quote."""
NETWORK_FRACTION = 0.10
"""M: cluster network (switches, optics, cables) as a fraction of accelerator + server capex;
replace with your own bill of materials."""
FACILITY_PRICE_USD_PER_MW_IT = 10.0e6
"""M: build cost of a datacenter per MW of IT capacity, commonly quoted at 7-12 MUSD/MW in the US
(e.g. Cushman & Wakefield, Data Center Development Cost Guide 2024)."""
PV_PRICE_USD_PER_KWP = 1_100.0
"""M: utility-scale PV ~1.1 USD/Wdc (NREL Annual Technology Baseline 2023)."""
BATTERY_PRICE_USD_PER_KWH = 450.0
"""M: 4-hour utility-scale Li-ion ~450 USD/kWh installed (NREL, Cole & Ramasamy 2023,
"Cost Projections for Utility-Scale Battery Storage: 2023 Update", NREL/TP-6A40-85332)."""
IT_LIFETIME_S = 5.0 * YEAR_S
"""M: servers and accelerators depreciated over 5-6 years by hyperscalers (Microsoft 10-K FY2023:
6 years; Meta 2022: 5 years)."""
FACILITY_LIFETIME_S = 20.0 * YEAR_S
"""M: building and M&E plant, 15-25 years."""
PV_LIFETIME_S = 30.0 * YEAR_S
"""NREL ATB 2023 cost-recovery/technical life for utility PV: 30 years (M)."""
BATTERY_LIFETIME_S = 15.0 * YEAR_S
"""NREL (Cole & Ramasamy 2023) assume a 15-year life (M)."""
PPA_PRICE_USD_PER_KWH = 0.06
"""M: LevelTen Energy PPA Price Index, North America, 2023: P25 solar and wind near 55-65 USD/MWh."""

EMBODIED_KG_PER_ACCELERATOR = 150.0
"""Luccioni et al. 2023 (JMLR 24(253)) sec. 4.2: estimate for one A100 (S: no vendor LCA)."""
EMBODIED_KG_PER_SERVER = 2_500.0
"""Luccioni et al. 2023 sec. 4.2: HPE Apollo 6500 Gen10 Plus product carbon footprint (8-GPU server)."""
EMBODIED_LIFETIME_S = 6.0 * YEAR_S
"""Luccioni et al. 2023 sec. 4.2: 6-year replacement."""
LUCCIONI_UTILIZATION = 0.85
"""Luccioni et al. 2023 sec. 4.2: 85 % of the life spent busy (used only in their per-busy-hour figure)."""

LATENT_HEAT_J_PER_KG = 2.4305e6
"""Latent heat of vaporisation of water at 30 C (IAPWS-IF97 steam tables)."""
TOWER_LATENT_FRACTION = 0.90
"""D: from the 0.00085 x flow x range rule (Perry's, 8th ed., sec. 12; M); arithmetic in the docstring."""
TOWER_CYCLES_OF_CONCENTRATION = 5.0
"""M: 3-6 typical (US EPA WaterSense, 'Cooling Towers', best management practices)."""
WATER_DENSITY_KG_PER_L = 0.99565
"""Water at 30 C (IAPWS-95)."""
WUE_L_PER_KWH: dict[str, float] = {
    "dry": 0.0,  # closed loop with dry coolers: no evaporation on site
    "adiabatic": 0.49,  # M: Microsoft fleet WUE 0.49 L/kWh (2022 sustainability report), mixed technologies
}
"""On-site WUE by plant type (The Green Grid WP #35 definition), L per kWh of IT energy."""
US_EWIF_L_PER_KWH = 3.14
"""M: US average water intensity of electricity used by Li et al. 2023 (arXiv 2304.03271)."""
DEMAND_INTERVAL_S = 900.0
"""15-min demand interval of US commercial tariffs (e.g. PG&E B-19; M)."""


class WaterConfig(StrictModel):
    """On-site water of the cooling plant, and optionally off-site water of the grid's electricity."""

    kind: Literal["tower", "dry", "adiabatic", "wue"] = "tower"
    """tower: evaporation + blowdown from the heat rejected; dry / adiabatic / wue: a WUE figure."""
    wue_l_per_kwh: NonNegative | None = None
    """L per kWh of IT energy (kind wue; overrides the dry / adiabatic default)."""
    cycles_of_concentration: float = Field(default=TOWER_CYCLES_OF_CONCENTRATION, gt=1)
    offsite_l_per_kwh: NonNegative | None = None
    """Water intensity of grid electricity (EWIF), L/kWh; None: off-site water not counted."""


class CostsConfig(StrictModel):
    """Prices (scenario currency), lifetimes (years), embodied carbon (kgCO2e), water."""

    accelerator_price: NonNegative | None = None
    """Per accelerator; None: the default for the catalog accelerator (USD, ``ACCELERATOR_PRICE_USD``)."""
    server_price_per_node: NonNegative = SERVER_PRICE_USD_PER_NODE
    network_fraction: NonNegative = NETWORK_FRACTION
    facility_price_per_mw_it: NonNegative = FACILITY_PRICE_USD_PER_MW_IT
    pv_price_per_kwp: NonNegative = PV_PRICE_USD_PER_KWP
    battery_price_per_kwh: NonNegative = BATTERY_PRICE_USD_PER_KWH
    ppa_price_per_kwh: NonNegative = PPA_PRICE_USD_PER_KWH
    demand_charge_per_kw_month: NonNegative = 0.0
    """Tariff-specific; 0 unless given."""
    it_lifetime_years: Positive = IT_LIFETIME_S / YEAR_S
    facility_lifetime_years: Positive = FACILITY_LIFETIME_S / YEAR_S
    pv_lifetime_years: Positive = PV_LIFETIME_S / YEAR_S
    battery_lifetime_years: Positive = BATTERY_LIFETIME_S / YEAR_S
    embodied_kg_per_accelerator: NonNegative = EMBODIED_KG_PER_ACCELERATOR
    embodied_kg_per_server: NonNegative = EMBODIED_KG_PER_SERVER
    embodied_lifetime_years: Positive = EMBODIED_LIFETIME_S / YEAR_S
    water: WaterConfig = Field(default_factory=WaterConfig)

    def usd_defaults_in_use(self) -> list[str]:
        """Money keys left at their USD default (a scenario in another currency must set them)."""
        money = ("accelerator_price", "server_price_per_node", "facility_price_per_mw_it", "pv_price_per_kwp",
                 "battery_price_per_kwh", "ppa_price_per_kwh")
        return [k for k in money if k not in self.model_fields_set]
