"""The scenario's ``cooling:`` section: constant PUE, the physical plant, or a user's model.

Pure data (pydantic); the models that step these live in `sim.facility.cooling`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from sim.spec.types import CoolingModelName, Fraction, NonNegative, Positive, StrictModel

# Dry-cooler fans per W rejected (M); used by the liquid loop and by a
# water-side economizer without a tower.
DRYCOOLER_FAN_W_PER_W = 0.015


class ConstantPueConfig(StrictModel):
    """Overhead = (pue - 1) x IT energy of each step."""

    model: Literal["constant-pue"] = "constant-pue"
    # Google fleet 1.10 (Google 2024 Environmental Report, P); industry 1.58 (Uptime 2023, P).
    pue: float = Field(1.1, ge=1.0)
    # Share of the overhead booked as distribution losses instead of cooling;
    # published PUE accounting folds both together, so 0 by default (D).
    loss_fraction: Fraction = 0.0


class DistributionLossConfig(StrictModel):
    """UPS + PDU losses P_loss = no_load * P_rated + proportional * P + square_law * P^2 / P_rated.

    Loss split into no-load, proportional and square-law parts: Schneider Electric
    WP 108 (Avelar, "Making Large UPS Systems More Efficient"; S). Default
    values: a modern double-conversion UPS plus PDU transformer, about 96 % at
    full load and 95 % at 50 % load (M).
    """

    rated_w: Positive | None = None  # default: the cluster's IT nameplate
    no_load: NonNegative = 0.01  # M
    proportional: NonNegative = 0.02  # M
    square_law: NonNegative = 0.01  # M; "1-4 % at higher loads", WP 108 (S)


class LiquidCoolingConfig(StrictModel):
    """Direct-to-chip liquid cooling: a share of the IT heat goes to a warm-water loop."""

    fraction: Fraction = 0.75  # share of IT heat captured by cold plates, 70-80 % typical (M)
    supply_temp_c: float = 32.0  # facility water, ASHRAE liquid class W32 (M)
    range_k: Positive = 10.0  # return - supply (M)
    drycooler_approach_k: NonNegative = 6.0  # water leaving dry cooler - dry-bulb (M)
    drycooler_fan_w_per_w: NonNegative = DRYCOOLER_FAN_W_PER_W  # fan power per W rejected (M)
    pump_head_pa: NonNegative = 200e3  # CDU + facility loop (M)


#: `practice: legacy`: the settings of an older, typical enterprise hall, which put an
#: air-cooled plant in a hot humid climate near the industry-average PUE (1.56-1.58,
#: Uptime 2023/2024, data/reference/cooling_and_grid.md 1): constant-speed chillers and
#: fans, cold 18 C supply air on 7 C chilled water, a UPS + PDU of ~93 % at half load
#: (M: common practice before VFDs, containment and eco-mode UPS). Keys given explicitly win.
LEGACY_PRACTICE: dict[str, Any] = {
    "chiller_speed": "constant",
    "fan_min_flow_fraction": 1.0,
    "supply_temp_c": 18.0,
    "chw_supply_temp_c": 7.0,
    "losses": {"no_load": 0.02, "proportional": 0.03, "square_law": 0.02},
}


class PlantCoolingConfig(StrictModel):
    """A physical cooling plant; see docs/cooling.md for every key."""

    model: Literal["plant"] = "plant"
    practice: Literal["modern", "legacy"] = "modern"
    """modern: the defaults below (VFDs, containment, warm supply air, efficient UPS);
    legacy: `LEGACY_PRACTICE` fills every key not given (an older enterprise hall)."""

    @model_validator(mode="before")
    @classmethod
    def _practice(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("practice") == "legacy":
            data = dict(data)
            for key, value in LEGACY_PRACTICE.items():
                if key == "losses" and isinstance(data.get("losses"), dict):
                    data["losses"] = {**value, **data["losses"]}
                else:
                    data.setdefault(key, value)
        return data

    weather: str | None = None  # bundled TMY name or CSV path; None: the scenario's weather
    chiller: Literal["air-cooled", "water-cooled", "crac-moore"] = "water-cooled"
    chiller_speed: Literal["constant", "variable"] = "variable"
    chiller_cop_rated: Positive | None = None  # default 2.80 air-cooled, 6.28 water-cooled (ASHRAE 90.1)
    chiller_count: int = Field(4, ge=1)  # staged units sharing the capacity (M)
    economizer: Literal["none", "air-side", "water-side"] = "water-side"
    # Economizer thresholds: outdoor dry-bulb (air-side) or wet-bulb (water-side)
    # below which cooling is fully / partly free. Default: derived from the loop
    # temperatures (docs/cooling.md).
    economizer_full_below_c: float | None = None
    economizer_partial_below_c: float | None = None
    economizer_max_dew_point_c: float = 17.0  # air-side only: ASHRAE A1 max dew point (S)

    capacity_w: Positive | None = None  # cooling capacity; default capacity_margin x IT nameplate
    capacity_margin: Positive = 1.2  # design margin over IT nameplate (M)
    supply_temp_c: float = 22.0  # supply-air setpoint, in ASHRAE recommended 18-27 C (S) with offset
    air_delta_t_k: Positive = 12.0  # supply -> return rise at design flow, 10-15 K with containment (M)
    recirculation_offset_k: NonNegative = 2.0  # inlet - supply air from hot-air recirculation (M)
    inlet_limit_c: float = 32.0  # ASHRAE A1 allowable upper inlet, 2021 Table 2.1 (S)
    throttle_ramp_k: Positive = 5.0  # inlet above limit at which the cap reaches its floor (M)
    min_cap_fraction: Fraction = 0.3  # floor of the thermal cap (M; H100 SXM min power limit 200/700 W)
    # Hall heat capacity per W of IT nameplate: air 1.2 kJ/(m3 K) x 3,000 m3 per MW
    # = 3.6 J/K per W (D, cooling_and_grid.md s.2.3) x 5 for racks, slab, walls (M).
    hall_heat_capacity_j_per_k_per_w: Positive = 18.0
    initial_hall_temp_c: float | None = None  # default: the supply setpoint

    chw_supply_temp_c: float = 10.0  # chilled water supply (M; 7-12 C in CRAH halls)
    chw_range_k: Positive = 6.0  # chilled-water return - supply (M)
    tower_approach_k: NonNegative = 4.0  # condenser water - wet-bulb, 3-5 K (M, cooling_and_grid.md)
    condenser_range_k: Positive = 5.6  # AHRI rating 85 -> 95 F condenser water (M)
    air_condenser_approach_k: NonNegative = 17.0  # condensing - dry-bulb, air-cooled (M)
    hx_approach_k: NonNegative = 2.0  # plate heat exchanger of the water-side economizer (M)
    min_lift_k: Positive = 10.0  # chillers need a minimum condensing-evaporating lift (M)

    fan_pressure_pa: NonNegative = 300.0  # CRAH total pressure at rated flow (M)
    fan_efficiency: Positive = 0.65  # fan + motor + drive (M)
    fan_min_flow_fraction: Fraction = 0.3  # VFD minimum speed (M)
    chw_pump_head_pa: NonNegative = 250e3  # chilled-water loop (M)
    cw_pump_head_pa: NonNegative = 150e3  # condenser-water loop incl. tower lift (M)
    pump_efficiency: Positive = 0.7  # pump + motor (M)
    pump_min_flow_fraction: Fraction = 0.3  # VFD pumps keep a minimum flow through chillers/coils (M)
    tower_fan_w_per_w: NonNegative = 0.006  # tower fans per W rejected, ~0.02 kW/ton (M)

    # Lighting, controls, security, offices: a constant share of IT nameplate,
    # booked as the cooling part "auxiliary" (M; 1-2 % in typical breakdowns).
    auxiliary_fraction: NonNegative = 0.01
    losses: DistributionLossConfig = Field(default_factory=DistributionLossConfig)
    liquid: LiquidCoolingConfig | None = None  # direct-to-chip; None = air only

    # Thermal zones (rows): nodes in blocks of indices, zone = index * zones // nodes,
    # or blocks of nodes_per_zone. Each zone is a lumped air volume with its share
    # (by IT nameplate) of heat capacity, airflow and cooling capacity.
    zones: int = Field(1, ge=1)
    nodes_per_zone: int | None = Field(None, ge=1)
    # Extra inlet offset per zone index: zone z's inlet = supply + recirculation_offset_k
    # + z * recirculation_k_per_zone (hot air recirculating more towards the end of a
    # row, Patel et al. / Moore et al. observed inlet spreads of several K; M).
    recirculation_k_per_zone: NonNegative = 0.0

    @model_validator(mode="after")
    def _one_zone_key(self) -> PlantCoolingConfig:
        if self.zones > 1 and self.nodes_per_zone is not None:
            raise ValueError("cooling: set zones or nodes_per_zone, not both")
        return self


class CustomCoolingConfig(StrictModel):
    """A user's own cooling model: ``model: "package.module:Class"`` and its ``options``.

    The class is built as ``Class(options=..., start=..., duration_s=...,
    step_s=..., it_capacity_w=..., weather=...)`` (the arguments `build_cooling`
    receives) and must satisfy ``sim.engine.contracts.CoolingModel``: ``step(t0, t1,
    it_energy_j) -> CoolingStep`` and ``config() -> dict``.
    """

    model: CoolingModelName
    options: dict[str, Any] = Field(default_factory=dict)


def _cooling_kind(value: Any) -> str:
    model = value.get("model", "constant-pue") if isinstance(value, dict) else getattr(value, "model", None)
    return "custom" if isinstance(model, str) and ":" in model else str(model)


CoolingConfig = Annotated[
    Union[  # noqa: UP007
        Annotated[ConstantPueConfig, Tag("constant-pue")],
        Annotated[PlantCoolingConfig, Tag("plant")],
        Annotated[CustomCoolingConfig, Tag("custom")],
    ],
    Discriminator(
        _cooling_kind,
        custom_error_type="cooling_model",
        custom_error_message="cooling.model must be 'constant-pue', 'plant' or 'package.module:Class'",
    ),
]
"""The scenario section ``cooling:``; ``model`` selects the variant."""
