"""The scenario's ``supply:`` section: grid, PV, wind, battery, PPA, a background load, or a user's model.

Pure data; `sim.facility.supply` steps it. Default figures carry their sources.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from sim.spec.signals import SignalConfig
from sim.spec.types import (
    DispatchName,
    Duration,
    Fraction,
    NonNegative,
    Positive,
    StrictModel,
    SupplyModelName,
)
from sim.units import DAY, HOUR

US_AVERAGE_CARBON_G_PER_KWH = 429.0
"""EPA US average used for GPT-3 by Patterson et al. 2021, section 2.4 / Table 4 (P)."""


DEFAULT_PRICE_PER_KWH = 0.10
"""USD per kWh. M: round figure near the US commercial average retail price
(EIA Electric Power Monthly Table 5.6.A, roughly 0.11-0.13 USD/kWh in
2021-2023; not checked in this session). Replace with the site's tariff."""


PVWATTS_SYSTEM_LOSSES_PCT = 14.08
"""PVWatts v5 default system losses (Dobos 2014, NREL/TP-6A20-62641, Table 1)."""


PVWATTS_GAMMA_PER_C = -0.0037
"""PVWatts v5 'standard' module temperature coefficient, 1/C (Dobos 2014, Table 2)."""


PVWATTS_INVERTER_EFFICIENCY = 0.96
"""PVWatts v5 nominal inverter efficiency (Dobos 2014, section 10)."""


DEFAULT_INVERTER_LOADING_RATIO = 1.2
"""DC/AC ratio; PVWatts v5 default 1.2 (Dobos 2014, section 10)."""


DEFAULT_ROUND_TRIP_EFFICIENCY = 0.85
"""Utility-scale Li-ion AC round trip; NREL Annual Technology Baseline assumes 85 % (M)."""


DEFAULT_ROUGHNESS_LENGTH_M = 0.1
"""Open farmland with few obstacles (Wieringa 1992 roughness classes, ~0.1 m; M)."""


def _signal(value: float) -> Any:
    return lambda: SignalConfig(constant=value)


class GridConfig(StrictModel):
    """The utility connection."""

    carbon_intensity: SignalConfig = Field(default_factory=_signal(US_AVERAGE_CARBON_G_PER_KWH))
    """gCO2e/kWh: a number, {trace: gb-2020 | fr-2020 | de-2020}, a CSV or a profile."""
    price: SignalConfig = Field(default_factory=_signal(DEFAULT_PRICE_PER_KWH))
    """currency per kWh: flat, time-of-use ({profile: daily, values: [...]}) or a trace."""
    export_price: SignalConfig = Field(default_factory=_signal(0.0))
    currency: str = "USD"
    import_limit_kw: Positive | None = None
    export: bool = False
    renewable_fraction: SignalConfig | None = None
    """The grid's renewable fraction of generation (0..1): a number, a trace or a profile;
    omitted: from the generation mix that ships with a bundled carbon trace (gb-2020, fr-2020),
    else unknown (location-based shares are then NaN, never 0)."""
    carbon_free_fraction: SignalConfig | None = None
    """The grid's carbon-free fraction (renewables without biomass, plus nuclear); as above."""


class _GenerationTrace(StrictModel):
    """How a generation trace (instead of weather) is read and scaled: shared by PV, wind and PPA."""

    trace_column: str | list[str] | None = None
    trace_unit: str = "MW"
    trace_capacity_mw: Positive | None = None
    wrap: bool = False


class PVConfig(_GenerationTrace):
    """On-site photovoltaics: from the weather through pvlib, or a scaled trace."""

    capacity_kw: NonNegative = 0.0
    """DC nameplate, kWp."""
    tilt_deg: float | None = Field(default=None, ge=0, le=90)
    """None: the site latitude."""
    azimuth_deg: float = Field(default=180.0, ge=0, lt=360)
    inverter_loading_ratio: Positive = DEFAULT_INVERTER_LOADING_RATIO
    system_losses_pct: float = Field(default=PVWATTS_SYSTEM_LOSSES_PCT, ge=0, lt=100)
    temp_coefficient_per_c: float = PVWATTS_GAMMA_PER_C
    inverter_efficiency: Fraction = PVWATTS_INVERTER_EFFICIENCY
    albedo: Fraction = 0.2
    trace: str | None = None
    """Generation trace instead of weather: gb-solar-2020 or a CSV path."""


class WindConfig(_GenerationTrace):
    """On-site wind turbines: windpowerlib power curves, or a scaled trace."""

    turbines: int = Field(default=0, ge=0)
    turbine_type: str = "E-126/4200"
    hub_height_m: Positive = 135.0
    roughness_length_m: Positive = DEFAULT_ROUGHNESS_LENGTH_M
    density_correction: bool = True
    capacity_kw: NonNegative = 0.0
    """Only for a trace: the capacity the trace is scaled to."""
    trace: str | None = None
    """Generation trace instead of weather: gb-wind-2020 or a CSV path."""


class BatteryConfig(StrictModel):
    """A stationary battery and its dispatch policy."""

    capacity_kwh: NonNegative = 0.0
    power_kw: NonNegative | None = None
    """Both limits at once; charge_power_kw / discharge_power_kw override."""
    charge_power_kw: NonNegative | None = None
    discharge_power_kw: NonNegative | None = None
    round_trip_efficiency: float = Field(default=DEFAULT_ROUND_TRIP_EFFICIENCY, gt=0, le=1)
    soc_min_fraction: Fraction = 0.1
    soc_max_fraction: Fraction = 1.0
    initial_soc_fraction: Fraction = 0.5
    dispatch: DispatchName = "self-consumption"
    """self-consumption, peak-shaving, carbon-aware (``sim.facility.dispatch``) or "package.module:Class"."""
    dispatch_options: dict[str, Any] = Field(default_factory=dict)
    """keyword arguments of the dispatch policy."""
    peak_kw: Positive | None = None
    horizon: Duration = DAY
    forecast_resolution: Duration = HOUR
    clean_quantile: Fraction = 0.25
    dirty_quantile: Fraction = 0.75

    @model_validator(mode="after")
    def _bounds(self) -> BatteryConfig:
        if self.soc_min_fraction > self.soc_max_fraction:
            raise ValueError("soc_min_fraction must not exceed soc_max_fraction")
        if self.clean_quantile > self.dirty_quantile:
            raise ValueError("clean_quantile must not exceed dirty_quantile")
        return self



class PPAConfig(_GenerationTrace):
    """Contracted off-site renewables (virtual: booked, not a physical flow)."""

    capacity_kw: NonNegative = 0.0
    profile: str = "wind"
    """pv or wind (the on-site models per kW, from the weather) or a trace name / CSV path."""


class SupplyConfig(StrictModel):
    """Scenario section ``supply:``. ``SupplyConfig()`` is the grid alone at
    429 gCO2e/kWh and 0.10 USD/kWh."""

    grid: GridConfig = Field(default_factory=GridConfig)
    pv: PVConfig = Field(default_factory=PVConfig)
    wind: WindConfig = Field(default_factory=WindConfig)
    battery: BatteryConfig = Field(default_factory=BatteryConfig)
    ppa: PPAConfig = Field(default_factory=PPAConfig)
    background_load: SignalConfig | None = None
    """A measured load already in the building (power, W unless ``unit`` says)."""
    weather: str | None = None
    """Weather for PV/wind when the engine provides none (bundled name or CSV)."""
    model: SupplyModelName | None = None
    """A user's own supply model, "package.module:Class" (``sim.engine.contracts.SupplyModel``),
    built as ``Class(options=..., start=..., duration_s=..., step_s=..., weather=...)``;
    the other keys of this section are then unused."""
    options: dict[str, Any] = Field(default_factory=dict)

