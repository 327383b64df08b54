"""Cooling and power-distribution overhead of the facility, stepped by the plant loop.

Two models, chosen by the scenario key ``cooling.model``; the full write-up,
equations and sources are in ``docs/cooling.md``.

``constant-pue``
    Published accounting: the overhead of a step is ``(pue - 1) x IT energy``.
    Google fleet 1.10 (Google 2024 Environmental Report, P), industry average
    1.58 (Uptime Institute 2023, P); ``data/reference/cooling_and_grid.md`` s.1.

``plant``
    A physical plant stepped once per plant step ``[t0, t1)``:

    * distribution losses (UPS + PDU) ``a P_rated + b P + c P^2 / P_rated``;
    * the hall air as one lumped heat capacity ``C`` cooled by supply air at a
      setpoint, ``C dT/dt = Q - G (T - T_set)`` with ``G = m_dot c_p`` set by the
      CRAH fans, integrated in closed form; when the plant's capacity is short
      the removal is capped, the supply air warms and the hall heats up;
    * accelerator inlet = supply air + recirculation offset; above the inlet
      limit a proportional ramp lowers ``accelerator_cap_fraction``;
    * chillers (air-cooled, water-cooled with a cooling tower, or the Moore et
      al. CRAC curve) with a Carnot-fraction COP calibrated to the ASHRAE 90.1
      full-load minimum at AHRI rating conditions and a part-load curve;
    * air-side or water-side economizers with partial free cooling;
    * CRAH fans by the cube law, pumps proportional to flow, tower and
      dry-cooler fans proportional to heat rejected;
    * optional direct-to-chip liquid cooling: a share of the IT heat goes to a
      warm-water loop rejected by dry coolers, trimmed by the chillers;
    * optional thermal zones (``zones``, one per row): each its own lumped air
      volume, airflow and capacity (shares of nameplate) fed by the same
      supply air and plant, heated by its own nodes, with its own inlet
      temperature and thermal cap on its own accelerators.

    Everything that depends only on the weather (COP at full load, economizer
    fractions) is computed for all steps at build time with numpy; ``step()``
    is scalar arithmetic.

Verification levels of constants follow the reference file: P primary, S
secondary, M from memory or practice (to be replaced by a checked source), D derived here.
The contract with the engine is ``sim.engine.contracts.CoolingModel``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.engine.contracts import CoolingModel, CoolingSeries, CoolingStep
from sim.spec.cooling import (
    DRYCOOLER_FAN_W_PER_W,
    ConstantPueConfig,
    CustomCoolingConfig,
    PlantCoolingConfig,
)

if TYPE_CHECKING:
    from sim.facility.weather import Weather

# -- physical constants --------------------------------------------------------

KELVIN_OFFSET = 273.15  # 0 C in K (SI definition)
AIR_DENSITY_KG_M3 = 1.2  # dry air near 20 C, sea level (M; 1.204 at 20 C)
AIR_CP_J_KG_K = 1006.0  # dry air, J/(kg K) (M; standard tables)
AIR_VOL_HEAT_J_M3_K = AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K  # 1.2 kJ/(m3 K), cooling_and_grid.md s.2.3 (D)
WATER_VOL_HEAT_J_M3_K = 998.0 * 4186.0  # water density x c_p near 20 C (M; standard tables)


# AHRI 550/590 standard rating conditions (M): leaving chilled water 44 F,
# entering condenser water 85 F (water-cooled), entering condenser air 95 F (air-cooled).
RATING_CHW_C = (44.0 - 32.0) / 1.8  # 6.67 C (D)
RATING_CONDENSER_WATER_C = (85.0 - 32.0) / 1.8  # 29.44 C (D)
RATING_CONDENSER_AIR_C = (95.0 - 32.0) / 1.8  # 35.0 C (D)

# ASHRAE 90.1-2010 / CEC Title 24 minimum full-load efficiencies,
# cooling_and_grid.md s.2.2: air-cooled 9.562 EER -> COP 2.80 (D); water-cooled
# positive displacement < 75 t 0.780 kW/t -> COP 4.51 (D); large centrifugal
# about 0.56 kW/t -> COP 6.3 (M). A MW-scale plant uses centrifugals.
COP_RATED_AIR_COOLED = 9.562 / 3.412  # 2.80 (D from P)
COP_RATED_WATER_COOLED = 3.517 / 0.56  # 6.28 (D from M)

# Moore, Chase, Ranganathan & Sharma, "Making Scheduling 'Cool'", USENIX ATC 2005
# (attribution M; formula S via the GeoSched cost model): COP(T_supply_c).
MOORE_COP_COEFFS = (0.0068, 0.0008, 0.458)


def moore_crac_cop(supply_temp_c: np.ndarray | float) -> np.ndarray | float:
    """CRAC COP(T) = 0.0068 T^2 + 0.0008 T + 0.458 (T supply air, C): 15->2.00, 20->3.19, 25->4.73."""
    a, b, c = MOORE_COP_COEFFS
    return a * supply_temp_c**2 + b * supply_temp_c + c


def carnot_cop(evap_c: np.ndarray | float, cond_c: np.ndarray | float, min_lift_k: float) -> np.ndarray:
    """Ideal (Carnot) cooling COP T_evap / (T_cond - T_evap), the lift bounded below."""
    evap_k = np.asarray(evap_c, dtype=float) + KELVIN_OFFSET
    lift_k = np.maximum(np.asarray(cond_c, dtype=float) - np.asarray(evap_c, dtype=float), min_lift_k)
    return evap_k / lift_k


# Part-load multiplier of COP, m(x) = x / (a + b x + c x^2) with m(1) = 1.
# Beitelmal & Patel, HPL-2006-67 (P abstract): a constant-speed chiller's
# efficiency rises with load and peaks at full load; a variable-speed one peaks
# between 50 % and 70 % load. Shapes chosen to match that (M): constant speed
# = a no-load share of 15 % of rated power; variable speed peaks at x = 0.6
# (a = 0.36 c) 30 % above full-load COP.
PART_LOAD_COEFFS: dict[str, tuple[float, float, float]] = {
    "constant": (0.15, 0.85, 0.0),
    "variable": (0.5195, -0.9626, 1.4431),
}


def part_load_multiplier(plr: float, speed: str) -> float:
    """COP at part-load ratio plr divided by COP at full load (same temperatures)."""
    a, b, c = PART_LOAD_COEFFS[speed]
    x = min(max(plr, 0.05), 1.0)
    return x / (a + b * x + c * x * x)


# -- configuration ----------------------------------------------------------------


















def zone_of_nodes(config: ConstantPueConfig | PlantCoolingConfig, n_nodes: int) -> list[int] | None:
    """Thermal zone of each node index, in blocks of indices; None for one hall.

    ``zones: Z``: zone = i * Z // n_nodes (every zone gets n_nodes // Z or one more
    nodes); ``nodes_per_zone: k``: zone = i // k (the last zone may be short).
    """
    zones = getattr(config, "zones", 1)
    per_zone = getattr(config, "nodes_per_zone", None)
    if per_zone is not None:
        if per_zone >= n_nodes:
            return None
        return [i // per_zone for i in range(n_nodes)]
    if zones <= 1:
        return None
    if zones > n_nodes:
        raise ValueError(f"cooling.zones: {zones} zones for {n_nodes} nodes; a zone needs a node")
    return [i * zones // n_nodes for i in range(n_nodes)]


# -- constant PUE --------------------------------------------------------------------


class ConstantPue:
    """Constant-PUE overhead: cooling + losses = (pue - 1) x IT power of the step."""

    def __init__(self, config: ConstantPueConfig) -> None:
        self._config = config
        self._overhead_per_it = config.pue - 1.0
        self._cooling_share = 1.0 - config.loss_fraction

    def step(self, t0: float, t1: float, it_energy_j: float,
             zone_it_energy_j: list[float] | None = None) -> CoolingStep:
        dt_s = t1 - t0
        it_power_w = it_energy_j / dt_s if dt_s > 0 else 0.0
        overhead_w = self._overhead_per_it * it_power_w
        return CoolingStep(
            power_w={"overhead": overhead_w * self._cooling_share},
            losses_w=overhead_w * self._config.loss_fraction,
        )

    def step_series(self, edges_s: np.ndarray, it_energy_j: np.ndarray,
                    zone_it_energy_j: np.ndarray | None = None) -> CoolingSeries:
        """`step` over the consecutive steps [edges[k], edges[k+1]) (the plant loop's fast path)."""
        dt_s = np.diff(edges_s)
        it_power_w = np.divide(it_energy_j, dt_s, out=np.zeros(len(dt_s)), where=dt_s > 0)
        overhead_w = self._overhead_per_it * it_power_w
        n = len(dt_s)
        return CoolingSeries(power_w={"overhead": overhead_w * self._cooling_share},
                             losses_w=overhead_w * self._config.loss_fraction, state={},
                             accelerator_cap_fraction=np.ones(n), free_cooling_fraction=np.zeros(n))

    def limits_fixed(self, it_max_w: float) -> bool:
        """A constant PUE never limits anything."""
        return True

    def config(self) -> dict[str, Any]:
        return self._config.model_dump()


# -- hall thermal model -------------------------------------------------------------------


def hall_step(
    temp0_c: float,
    heat_w: float,
    setpoint_c: float,
    conductance_w_per_k: float,
    capacity_w: float,
    heat_capacity_j_per_k: float,
    dt_s: float,
) -> float:
    """Hall temperature after dt_s, exact for a constant heat input.

    C dT/dt = Q - R(T), R(T) = min(G (T - T_set), Q_cap): supply air at the
    setpoint removes G (T - T_set) (G = m_dot c_p) while that is within the
    capacity Q_cap; above T_sw = T_set + Q_cap / G removal is capped and T
    moves linearly. Within capacity T relaxes exponentially with tau = C / G
    towards T_eq = T_set + Q / G; a crossing of T_sw inside the step is solved
    for its time, so both pieces are exact.
    """
    g = conductance_w_per_k
    c = heat_capacity_j_per_k
    t_sw = setpoint_c + capacity_w / g
    t_eq = setpoint_c + heat_w / g
    tau = c / g
    if temp0_c <= t_sw:
        if t_eq <= t_sw:
            return t_eq + (temp0_c - t_eq) * math.exp(-dt_s / tau)
        t_cross = tau * math.log((t_eq - temp0_c) / (t_eq - t_sw))
        if t_cross >= dt_s:
            return t_eq + (temp0_c - t_eq) * math.exp(-dt_s / tau)
        return t_sw + (heat_w - capacity_w) / c * (dt_s - t_cross)
    if heat_w >= capacity_w:
        return temp0_c + (heat_w - capacity_w) / c * dt_s
    t_cross = (temp0_c - t_sw) * c / (capacity_w - heat_w)
    if t_cross >= dt_s:
        return temp0_c - (capacity_w - heat_w) / c * dt_s
    return t_eq + (t_sw - t_eq) * math.exp(-(dt_s - t_cross) / tau)


# -- the plant ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantArrays:
    """Per-step quantities that depend only on the weather (precomputed)."""

    outdoor_temp_c: np.ndarray
    wet_bulb_c: np.ndarray
    cop_full_load: np.ndarray  # chiller COP at full load for the air loop's chilled water
    free_fraction: np.ndarray  # share of air-loop heat removed by the economizer
    liquid_cop_full_load: np.ndarray  # chiller COP trimming the liquid loop
    liquid_free_fraction: np.ndarray  # share of liquid-loop heat removed by dry coolers


def carnot_fraction(config: PlantCoolingConfig) -> float:
    """Share of Carnot COP that makes full-load COP at AHRI rating equal the rated COP (D)."""
    if config.chiller == "air-cooled":
        cond_c = RATING_CONDENSER_AIR_C + config.air_condenser_approach_k
    else:
        cond_c = RATING_CONDENSER_WATER_C + config.condenser_range_k
    ideal = float(carnot_cop(RATING_CHW_C, cond_c, config.min_lift_k))
    return rated_cop(config) / ideal


def rated_cop(config: PlantCoolingConfig) -> float:
    if config.chiller_cop_rated is not None:
        return config.chiller_cop_rated
    return COP_RATED_AIR_COOLED if config.chiller == "air-cooled" else COP_RATED_WATER_COOLED


def economizer_thresholds_c(config: PlantCoolingConfig) -> tuple[float, float]:
    """(full, partial) free-cooling thresholds on dry-bulb (air-side) or wet-bulb (water-side)."""
    if config.economizer == "air-side":
        # Outdoor air replaces return air: fully free at or below the supply
        # setpoint, partly free below the return-air temperature (D).
        full = config.supply_temp_c
        partial = config.supply_temp_c + config.air_delta_t_k
    else:
        # Tower water through a plate HX: fully free when it can make chilled
        # water, partly free below the chilled-water return (D).
        lead = config.tower_approach_k + config.hx_approach_k
        full = config.chw_supply_temp_c - lead
        partial = config.chw_supply_temp_c + config.chw_range_k - lead
    if config.economizer_full_below_c is not None:
        full = config.economizer_full_below_c
    if config.economizer_partial_below_c is not None:
        partial = config.economizer_partial_below_c
    return full, max(partial, full)


def linear_free_fraction(source_c: np.ndarray, full_c: float, partial_c: float) -> np.ndarray:
    """1 at or below full_c, 0 at or above partial_c, linear between (mixing / series precooling)."""
    if partial_c <= full_c:
        return (source_c <= full_c).astype(float)
    return np.clip((partial_c - source_c) / (partial_c - full_c), 0.0, 1.0)


def precompute(config: PlantCoolingConfig, weather: Weather) -> PlantArrays:
    """Weather-only quantities for every plant step, vectorised."""
    dry_c = np.asarray(weather.temp_air_c, dtype=float)
    wet_c = np.asarray(weather.wet_bulb_c, dtype=float)
    dew_c = np.asarray(weather.dew_point_c, dtype=float)
    n = len(dry_c)
    if config.chiller == "crac-moore":
        cop = np.full(n, float(moore_crac_cop(config.supply_temp_c)))
        cond_c = dry_c + config.air_condenser_approach_k
        eta = 0.0
    else:
        eta = carnot_fraction(config)
        if config.chiller == "air-cooled":
            cond_c = dry_c + config.air_condenser_approach_k
        else:
            cond_c = wet_c + config.tower_approach_k + config.condenser_range_k
        cop = eta * carnot_cop(config.chw_supply_temp_c, cond_c, config.min_lift_k)

    full_c, partial_c = economizer_thresholds_c(config)
    if config.economizer == "air-side":
        free = linear_free_fraction(dry_c, full_c, partial_c) * (dew_c <= config.economizer_max_dew_point_c)
    elif config.economizer == "water-side":
        # With a tower the economizer follows the wet-bulb; without one (air-cooled
        # chillers, CRAC) it is a dry cooler on the dry-bulb.
        source = wet_c if config.chiller == "water-cooled" else dry_c
        free = linear_free_fraction(source, full_c, partial_c)
    else:
        free = np.zeros(n)

    liquid = config.liquid
    if liquid is not None:
        water_c = dry_c + liquid.drycooler_approach_k
        liquid_free = linear_free_fraction(
            water_c, liquid.supply_temp_c, liquid.supply_temp_c + liquid.range_k
        )
        if eta > 0:
            liquid_cop = eta * carnot_cop(liquid.supply_temp_c, cond_c, config.min_lift_k)
        else:
            liquid_cop = cop
    else:
        liquid_free = np.zeros(n)
        liquid_cop = cop
    return PlantArrays(dry_c, wet_c, cop, free, liquid_cop, liquid_free)


def _plant_state(outdoor_temp_c: Any, wet_bulb_c: Any, supply_temp_c: Any, hall_temp_c: Any, inlet_temp_c: Any,
                 cop: Any, heat_load_w: Any, heat_removed_w: Any) -> dict[str, Any]:
    """The cooling plant's readings of a step, or of many (arrays): the same keys on both paths."""
    return {
        "outdoor_temp_c": outdoor_temp_c,
        "wet_bulb_c": wet_bulb_c,
        "supply_temp_c": supply_temp_c,
        "hall_temp_c": hall_temp_c,
        "inlet_temp_c": inlet_temp_c,
        "cop": cop,
        "heat_load_w": heat_load_w,
        "heat_removed_w": heat_removed_w,
    }


def _plant_power_w(chillers: Any, crah_fans: Any, chw_pumps: Any, cw_pumps: Any, tower_fans: Any,
                   drycooler_fans: Any, liquid_pumps: Any, auxiliary: Any) -> dict[str, Any]:
    """The cooling plant's parts (W) of a step, or of many (arrays): the same keys on both paths."""
    return {
        "chillers": chillers,
        "crah_fans": crah_fans,
        "chw_pumps": chw_pumps,
        "cw_pumps": cw_pumps,
        "tower_fans": tower_fans,
        "drycooler_fans": drycooler_fans,
        "liquid_pumps": liquid_pumps,
        "auxiliary": auxiliary,
    }


class PlantCooling:
    """The physical plant (``cooling.model: plant``); see the module docstring."""

    def __init__(
        self, config: PlantCoolingConfig, weather: Weather, step_s: float, it_capacity_w: float,
        zone_capacity_w: list[float] | None = None,
    ) -> None:
        self._config = config
        self._step_s = step_s
        self._arrays = precompute(config, weather)
        self._n = len(self._arrays.outdoor_temp_c)
        if self._n == 0:
            raise ValueError("cooling: the weather has no steps")
        c = config
        capacity_w = c.capacity_w if c.capacity_w is not None else c.capacity_margin * it_capacity_w
        liquid_fraction = c.liquid.fraction if c.liquid is not None else 0.0
        self._liquid_fraction = liquid_fraction
        self._capacity_w = capacity_w
        self._air_capacity_w = capacity_w * (1.0 - liquid_fraction) if liquid_fraction < 1 else 0.0
        self._chiller_unit_w = capacity_w / c.chiller_count
        self._rated_loss_w = c.losses.rated_w if c.losses.rated_w is not None else it_capacity_w
        self._heat_capacity_j_per_k = c.hall_heat_capacity_j_per_k_per_w * max(it_capacity_w, 1.0)
        # Rated airflow carries the air-side capacity at the design rise (D).
        self._g_max_w_per_k = max(self._air_capacity_w, 1.0) / c.air_delta_t_k
        self._g_min_w_per_k = c.fan_min_flow_fraction * self._g_max_w_per_k
        flow_max_m3_s = self._g_max_w_per_k / AIR_VOL_HEAT_J_M3_K
        self._fan_rated_w = flow_max_m3_s * c.fan_pressure_pa / c.fan_efficiency
        self._chw_pump_w_per_w = c.chw_pump_head_pa / (
            c.pump_efficiency * WATER_VOL_HEAT_J_M3_K * c.chw_range_k
        )
        self._cw_pump_w_per_w = c.cw_pump_head_pa / (
            c.pump_efficiency * WATER_VOL_HEAT_J_M3_K * c.condenser_range_k
        )
        if c.liquid is not None:
            self._liquid_pump_w_per_w = c.liquid.pump_head_pa / (
                c.pump_efficiency * WATER_VOL_HEAT_J_M3_K * c.liquid.range_k
            )
        else:
            self._liquid_pump_w_per_w = 0.0
        self._pump_min_heat_w = c.pump_min_flow_fraction * capacity_w
        self._auxiliary_w = c.auxiliary_fraction * it_capacity_w
        self._has_tower = c.chiller == "water-cooled"
        self._speed = c.chiller_speed if c.chiller != "crac-moore" else "none"
        self.hall_temp_c = c.initial_hall_temp_c if c.initial_hall_temp_c is not None else c.supply_temp_c
        self._init_zones(zone_capacity_w)

    def _init_zones(self, zone_capacity_w: list[float] | None) -> None:
        """Per-zone shares of heat capacity, airflow, capacity and fans (by IT nameplate)."""
        c = self._config
        if zone_capacity_w is not None and len(zone_capacity_w) > 1:
            total = sum(zone_capacity_w)
            if total <= 0 or min(zone_capacity_w) <= 0:
                raise ValueError("cooling: every thermal zone needs IT nameplate")
            shares = [w / total for w in zone_capacity_w]
        else:
            shares = [1.0 / c.zones] * c.zones if zone_capacity_w is None else [1.0]
        self.zones = len(shares)
        self._zones_by_nameplate = zone_capacity_w is not None  # shares of the zones' node nameplate
        self._zone_share = shares
        self._zone_heat_capacity = [self._heat_capacity_j_per_k * f for f in shares]
        self._zone_air_capacity = [self._air_capacity_w * f for f in shares]
        self._zone_g_max = [self._g_max_w_per_k * f for f in shares]
        self._zone_g_min = [self._g_min_w_per_k * f for f in shares]
        self._zone_fan_rated = [self._fan_rated_w * f for f in shares]
        self._zone_offset_k = [c.recirculation_offset_k + z * c.recirculation_k_per_zone for z in range(self.zones)]
        self.zone_hall_temp_c = [self.hall_temp_c] * self.zones
        self.zone_inlet_temp_c = [c.supply_temp_c + o for o in self._zone_offset_k]
        self._zone_keys = [(f"z{z}_hall_temp_c", f"z{z}_inlet_temp_c", f"z{z}_heat_removed_w")
                           for z in range(self.zones)]

    def zone_temp_c(self, zone: int) -> float | None:
        """Inlet temperature of a thermal zone at the last plant step; None with one hall."""
        return self.zone_inlet_temp_c[zone] if self.zones > 1 else None

    def _thermal_cap(self, inlet_c: float) -> float:
        """Proportional ramp from 1 at the inlet limit to the floor throttle_ramp_k above it."""
        c = self._config
        over_k = inlet_c - c.inlet_limit_c
        if over_k > 0.0:
            return max(1.0 - (1.0 - c.min_cap_fraction) * over_k / c.throttle_ramp_k, c.min_cap_fraction)
        return 1.0

    def _step_zones(self, it_w: float, loss_w: float, zone_it_energy_j: list[float] | None, dt_s: float):
        """Air side of several zones, each a lumped volume with its own heat; sums for the plant.

        A zone's heat: the IT power of its nodes (`zone_it_energy_j`), plus its
        nameplate share of the IT power that is not zoned (network, measured
        background) and of the distribution losses, less the liquid share.
        """
        c = self._config
        lf = self._liquid_fraction
        shares = self._zone_share
        if zone_it_energy_j is None:
            zone_w = [0.0] * self.zones
            rest_w = it_w
        else:
            zone_w = [e / dt_s for e in zone_it_energy_j]
            rest_w = it_w - sum(zone_w)
        removed_w = fan_w = hall_mean = 0.0
        supply_max = inlet_max = -math.inf
        caps = []
        state: dict[str, float] = {}
        for z in range(self.zones):
            f = shares[z]
            zone_it_w = zone_w[z] + f * rest_w
            heat_w = zone_it_w * (1.0 - lf) + f * loss_w
            g_max = self._zone_g_max[z]
            g = min(max(heat_w / c.air_delta_t_k, self._zone_g_min[z]), g_max)
            air_cap = self._zone_air_capacity[z]
            heat_cap = self._zone_heat_capacity[z]
            temp0 = self.zone_hall_temp_c[z]
            temp1 = hall_step(temp0, heat_w, c.supply_temp_c, g, air_cap, heat_cap, dt_s)
            self.zone_hall_temp_c[z] = temp1
            removed = max(heat_w - heat_cap * (temp1 - temp0) / dt_s, 0.0)
            supply_c = max(c.supply_temp_c, temp1 - air_cap / g)
            inlet_c = supply_c + self._zone_offset_k[z]
            self.zone_inlet_temp_c[z] = inlet_c
            caps.append(self._thermal_cap(inlet_c))
            removed_w += removed
            fan_w += self._zone_fan_rated[z] * (g / g_max) ** 3
            hall_mean += f * temp1
            supply_max = max(supply_max, supply_c)
            inlet_max = max(inlet_max, inlet_c)
            k_hall, k_inlet, k_removed = self._zone_keys[z]
            state[k_hall] = temp1
            state[k_inlet] = inlet_c
            state[k_removed] = removed + lf * zone_it_w
        self.hall_temp_c = hall_mean
        return removed_w, fan_w, hall_mean, supply_max, inlet_max, tuple(caps), state

    @property
    def arrays(self) -> PlantArrays:
        return self._arrays

    def losses_w(self, it_power_w: float) -> float:
        """UPS + PDU losses at IT power it_power_w (quadratic loss model)."""
        lc = self._config.losses
        rated = self._rated_loss_w
        return lc.no_load * rated + lc.proportional * it_power_w + lc.square_law * it_power_w**2 / rated

    def _chiller_power_w(self, load_w: float, cop_full: float) -> tuple[float, float]:
        """Electric power and COP of the chillers carrying load_w, staged over equal units."""
        if load_w <= 0.0:
            return 0.0, cop_full
        if self._speed == "none":
            return load_w / cop_full, cop_full
        unit = self._chiller_unit_w
        count = self._config.chiller_count
        # Stage the fewest units that carry the load, or more if that raises the
        # COP (variable-speed plants run extra units near their part-load peak).
        # part_load_multiplier written out (one call per stage count per step; the same numbers)
        a, b, c = PART_LOAD_COEFFS[self._speed]
        best = 0.0
        for running in range(min(max(math.ceil(load_w / unit), 1), count), count + 1):
            x = load_w / (running * unit)
            if 0.05 > x:
                x = 0.05
            if 1.0 < x:
                x = 1.0
            m = x / (a + b * x + c * x * x)
            if m > best:
                best = m
        cop = cop_full * best
        return load_w / cop, cop

    def step(self, t0: float, t1: float, it_energy_j: float,
             zone_it_energy_j: list[float] | None = None) -> CoolingStep:
        c = self._config
        a = self._arrays
        dt_s = t1 - t0
        if dt_s <= 0.0:
            raise ValueError(f"cooling: empty plant step [{t0}, {t1})")
        k = min(max(int(t0 // self._step_s), 0), self._n - 1)
        it_w = it_energy_j / dt_s
        loss_w = self.losses_w(it_w)
        liquid_heat_w = self._liquid_fraction * it_w
        air_heat_w = it_w - liquid_heat_w + loss_w

        zone_caps = None
        if self.zones == 1:
            # Air loop: fans follow the heat at the design rise, within their range.
            g = min(max(air_heat_w / c.air_delta_t_k, self._g_min_w_per_k), self._g_max_w_per_k)
            temp0 = self.hall_temp_c
            temp1 = hall_step(
                temp0, air_heat_w, c.supply_temp_c, g, self._air_capacity_w, self._heat_capacity_j_per_k, dt_s
            )
            self.hall_temp_c = temp1
            removed_w = max(air_heat_w - self._heat_capacity_j_per_k * (temp1 - temp0) / dt_s, 0.0)
            supply_c = max(c.supply_temp_c, temp1 - self._air_capacity_w / g)
            inlet_c = supply_c + c.recirculation_offset_k
            over_k = inlet_c - c.inlet_limit_c
            if over_k > 0.0:
                cap = max(1.0 - (1.0 - c.min_cap_fraction) * over_k / c.throttle_ramp_k, c.min_cap_fraction)
            else:
                cap = 1.0
            flow_fraction = g / self._g_max_w_per_k
            fan_w = self._fan_rated_w * flow_fraction**3
        else:
            removed_w, fan_w, temp1, supply_c, inlet_c, zone_caps, zone_state = self._step_zones(
                it_w, loss_w, zone_it_energy_j, dt_s)
            cap = min(zone_caps)
        coil_w = removed_w + fan_w  # the fans' power ends up as heat in the air stream
        free = float(a.free_fraction[k])
        free_air_w = free * coil_w
        mech_air_w = coil_w - free_air_w

        liquid_free = float(a.liquid_free_fraction[k])
        free_liquid_w = liquid_free * liquid_heat_w
        mech_liquid_w = liquid_heat_w - free_liquid_w

        mech_w = mech_air_w + mech_liquid_w
        cop_full = float(a.cop_full_load[k])
        if mech_liquid_w > 0.0 and mech_w > 0.0:
            # One chiller plant, two evaporator temperatures: blend full-load COPs by load.
            cop_full = mech_w / (mech_air_w / cop_full + mech_liquid_w / float(a.liquid_cop_full_load[k]))
        chiller_w, cop = self._chiller_power_w(mech_w, cop_full)

        # Water flows: chilled water carries the coil heat that is not air-side
        # free cooling; condenser water carries everything rejected by the tower.
        chw_heat_w = coil_w if c.economizer != "air-side" else mech_air_w
        pump_min_w = self._pump_min_heat_w
        chw_pumps_w = self._chw_pump_w_per_w * max(chw_heat_w, pump_min_w)
        if self._has_tower:
            rejected_w = mech_w + chiller_w + (free_air_w if c.economizer == "water-side" else 0.0)
            cw_pumps_w = self._cw_pump_w_per_w * max(rejected_w, pump_min_w)
            tower_w = c.tower_fan_w_per_w * rejected_w
            dry_w = 0.0
        else:
            cw_pumps_w = 0.0
            tower_w = 0.0
            dry_w = 0.0
            if c.economizer == "water-side":
                dry_w = (c.liquid.drycooler_fan_w_per_w if c.liquid else DRYCOOLER_FAN_W_PER_W) * free_air_w
        liquid_pumps_w = self._liquid_pump_w_per_w * max(liquid_heat_w, self._liquid_fraction * pump_min_w)
        if c.liquid is not None:
            dry_w += c.liquid.drycooler_fan_w_per_w * free_liquid_w

        heat_total_w = coil_w + liquid_heat_w
        free_fraction = (free_air_w + free_liquid_w) / heat_total_w if heat_total_w > 0 else float(free)
        state = _plant_state(float(a.outdoor_temp_c[k]), float(a.wet_bulb_c[k]), supply_c, temp1, inlet_c, cop,
                             air_heat_w + liquid_heat_w, removed_w + liquid_heat_w)
        if zone_caps is not None:
            state.update(zone_state)
        return CoolingStep(
            power_w=_plant_power_w(chiller_w, fan_w, chw_pumps_w, cw_pumps_w, tower_w, dry_w, liquid_pumps_w,
                                   self._auxiliary_w),
            losses_w=loss_w,
            state=state,
            accelerator_cap_fraction=cap,
            free_cooling_fraction=free_fraction,
            zone_cap_fraction=zone_caps,
        )

    # -- the plant loop's fast path (sim.engine.contracts): columns of steps at once --------------

    def limits_fixed(self, it_max_w: float) -> bool:
        """True when no IT power up to `it_max_w` can ever raise an inlet temperature.

        Proof (the hall model above, for every zone alike, as zone shares are shares of
        the node nameplate): if the air loop's heat stays below its capacity,
        ``(1 - liquid) P_IT + P_loss(P_IT) <= Q_cap_air``, the fans follow the heat with
        ``G = Q / dT_design`` (or more, at the minimum flow), so ``T_eq = T_set + Q / G <=
        T_set + dT_design <= T_sw``: the hall only relaxes towards ``T_eq`` and never
        reaches the switch point; the supply air stays at the setpoint and every inlet at
        ``T_set + offset``. If that is at or below the inlet limit, no limit ever applies.
        Margins of 1e-6 (relative) keep floating-point rounding off every boundary, so
        the supply air is the setpoint exactly and the readings never move.
        """
        c = self._config
        if not (math.isfinite(it_max_w) and it_max_w >= 0.0) or self._air_capacity_w < 1.0:
            return False
        if self.zones > 1 and not self._zones_by_nameplate:
            return False  # equal shares: a zone's nodes may draw more than its share
        q_max = (1.0 - self._liquid_fraction) * it_max_w + float(self.losses_w(it_max_w))
        if not q_max <= self._air_capacity_w * (1.0 - 1e-6):
            return False
        dt_k = c.air_delta_t_k
        if max(self.zone_hall_temp_c) > c.supply_temp_c + dt_k * (1.0 - 1e-6):
            return False
        return all(c.supply_temp_c + o - c.inlet_limit_c <= 0.0 for o in self._zone_offset_k)

    def _hall_series(self, temp_c: float, heat_w: np.ndarray, g: np.ndarray, capacity_w: float,
                     heat_capacity: float, dt_s: np.ndarray) -> np.ndarray:
        """Hall temperatures at the start and after each step: `hall_step`, one float at a time.

        The switch point, equilibrium and decay factor of each step are computed for all
        steps at once (numpy, the same operations as `hall_step`; `math.exp` as it calls).
        A step that stays within capacity, as every step does where no limit can apply
        (`limits_fixed`), is then one multiply-add in the loop; any other calls `hall_step`.
        """
        sp = self._config.supply_temp_c
        t_sw = sp + capacity_w / g
        t_eq = sp + heat_w / g
        tau = heat_capacity / g
        decay = map(math.exp, (-dt_s / tau).tolist())
        # where T_eq is above the switch point no start temperature takes the first branch
        t_fast = np.where(t_eq <= t_sw, t_sw, -math.inf)
        out = [temp_c]
        append = out.append
        rows: tuple[list[float], list[float], list[float]] | None = None  # hall_step's inputs, when needed
        for sw, eq, b in zip(t_fast.tolist(), t_eq.tolist(), decay):
            if temp_c <= sw:  # hall_step's first branch: within capacity throughout
                temp_c = eq + (temp_c - eq) * b
            else:
                if rows is None:
                    rows = heat_w.tolist(), g.tolist(), dt_s.tolist()
                k = len(out) - 1  # this step's index
                temp_c = hall_step(temp_c, rows[0][k], sp, rows[1][k], capacity_w, heat_capacity, rows[2][k])
            append(temp_c)
        return np.asarray(out)

    def _cap_series(self, inlet_c: np.ndarray) -> np.ndarray:
        c = self._config
        over_k = inlet_c - c.inlet_limit_c
        ramp = np.maximum(1.0 - (1.0 - c.min_cap_fraction) * over_k / c.throttle_ramp_k, c.min_cap_fraction)
        return np.where(over_k > 0.0, ramp, 1.0)

    def _chiller_series(self, load_w: np.ndarray, cop_full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`_chiller_power_w` over arrays: the same staging, the best unit count per step."""
        if self._speed == "none":
            cop = cop_full
        else:
            unit = self._chiller_unit_w
            count = self._config.chiller_count
            a, b, cc = PART_LOAD_COEFFS[self._speed]
            first = np.minimum(np.maximum(np.ceil(load_w / unit), 1), count)
            best = np.zeros(len(load_w))
            for running in range(1, count + 1):
                x = np.minimum(np.maximum(load_w / (running * unit), 0.05), 1.0)
                m = x / (a + b * x + cc * x * x)
                best = np.where(running >= first, np.maximum(best, m), best)
            cop = cop_full * best
        on = load_w > 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            chiller_w = np.where(on, load_w / cop, 0.0)
        return chiller_w, np.where(on, cop, cop_full)

    def _zones_series(self, it_w: np.ndarray, loss_w: np.ndarray, zone_it_energy_j: np.ndarray | None,
                      dt_s: np.ndarray):
        """`_step_zones` over arrays: each zone's hall recursion, the rest per step at once."""
        c = self._config
        lf = self._liquid_fraction
        n = len(dt_s)
        if zone_it_energy_j is None:
            zone_w = np.zeros((n, self.zones))
            rest_w = it_w
        else:
            zone_w = np.asarray(zone_it_energy_j, dtype=float) / dt_s[:, None]
            total = np.zeros(n)
            for z in range(self.zones):
                total = total + zone_w[:, z]
            rest_w = it_w - total
        removed_w, fan_w, hall_mean = np.zeros(n), np.zeros(n), np.zeros(n)
        supply_max, inlet_max = np.full(n, -math.inf), np.full(n, -math.inf)
        caps = np.empty((n, self.zones))
        state: dict[str, np.ndarray] = {}
        for z in range(self.zones):
            f = self._zone_share[z]
            zone_it_w = zone_w[:, z] + f * rest_w
            heat_w = zone_it_w * (1.0 - lf) + f * loss_w
            g_max = self._zone_g_max[z]
            g = np.minimum(np.maximum(heat_w / c.air_delta_t_k, self._zone_g_min[z]), g_max)
            air_cap = self._zone_air_capacity[z]
            heat_cap = self._zone_heat_capacity[z]
            temps = self._hall_series(self.zone_hall_temp_c[z], heat_w, g, air_cap, heat_cap, dt_s)
            temp0, temp1 = temps[:-1], temps[1:]
            removed = np.maximum(heat_w - heat_cap * (temp1 - temp0) / dt_s, 0.0)
            supply_c = np.maximum(c.supply_temp_c, temp1 - air_cap / g)
            inlet_c = supply_c + self._zone_offset_k[z]
            caps[:, z] = self._cap_series(inlet_c)
            if n:
                self.zone_hall_temp_c[z] = float(temps[-1])
                self.zone_inlet_temp_c[z] = float(inlet_c[-1])
            removed_w = removed_w + removed
            fan_w = fan_w + self._zone_fan_rated[z] * (g / g_max) ** 3
            hall_mean = hall_mean + f * temp1
            supply_max = np.maximum(supply_max, supply_c)
            inlet_max = np.maximum(inlet_max, inlet_c)
            k_hall, k_inlet, k_removed = self._zone_keys[z]
            state[k_hall] = temp1
            state[k_inlet] = inlet_c
            state[k_removed] = removed + lf * zone_it_w
        if n:
            self.hall_temp_c = float(hall_mean[-1])
        return removed_w, fan_w, hall_mean, supply_max, inlet_max, caps, state

    def step_series(self, edges_s: np.ndarray, it_energy_j: np.ndarray,
                    zone_it_energy_j: np.ndarray | None = None) -> CoolingSeries:
        """`step` over the consecutive steps [edges[k], edges[k+1]), as columns.

        The same arithmetic as `step`, in numpy over all steps, except the hall (and each
        zone's) temperature: a recursion over plain floats (`_hall_series`, `hall_step`'s bits).
        """
        c = self._config
        a = self._arrays
        edges = np.asarray(edges_s, dtype=float)
        t0 = edges[:-1]
        dt_s = np.diff(edges)
        n = len(dt_s)
        if n and not dt_s.min() > 0.0:
            i = int(np.argmin(dt_s))
            raise ValueError(f"cooling: empty plant step [{edges[i]}, {edges[i + 1]})")
        k = np.clip(np.floor_divide(t0, self._step_s).astype(np.int64), 0, self._n - 1)
        it_w = np.asarray(it_energy_j, dtype=float) / dt_s
        loss_w = self.losses_w(it_w)
        liquid_heat_w = self._liquid_fraction * it_w
        air_heat_w = it_w - liquid_heat_w + loss_w

        zone_caps = None
        if self.zones == 1:
            g = np.minimum(np.maximum(air_heat_w / c.air_delta_t_k, self._g_min_w_per_k), self._g_max_w_per_k)
            temps = self._hall_series(self.hall_temp_c, air_heat_w, g, self._air_capacity_w,
                                      self._heat_capacity_j_per_k, dt_s)
            temp0, temp1 = temps[:-1], temps[1:]
            if n:
                self.hall_temp_c = float(temps[-1])
            removed_w = np.maximum(air_heat_w - self._heat_capacity_j_per_k * (temp1 - temp0) / dt_s, 0.0)
            supply_c = np.maximum(c.supply_temp_c, temp1 - self._air_capacity_w / g)
            inlet_c = supply_c + c.recirculation_offset_k
            cap = self._cap_series(inlet_c)
            fan_w = self._fan_rated_w * (g / self._g_max_w_per_k) ** 3
            zone_state: dict[str, np.ndarray] = {}
        else:
            removed_w, fan_w, temp1, supply_c, inlet_c, zone_caps, zone_state = self._zones_series(
                it_w, loss_w, zone_it_energy_j, dt_s)
            cap = zone_caps.min(axis=1) if n else np.ones(0)
        coil_w = removed_w + fan_w
        free = a.free_fraction[k]
        free_air_w = free * coil_w
        mech_air_w = coil_w - free_air_w

        free_liquid_w = a.liquid_free_fraction[k] * liquid_heat_w
        mech_liquid_w = liquid_heat_w - free_liquid_w

        mech_w = mech_air_w + mech_liquid_w
        cop_full = a.cop_full_load[k]
        blend = (mech_liquid_w > 0.0) & (mech_w > 0.0)
        if blend.any():
            cop_full = cop_full.copy()
            cop_full[blend] = mech_w[blend] / (mech_air_w[blend] / cop_full[blend]
                                               + mech_liquid_w[blend] / a.liquid_cop_full_load[k][blend])
        chiller_w, cop = self._chiller_series(mech_w, cop_full)

        chw_heat_w = coil_w if c.economizer != "air-side" else mech_air_w
        pump_min_w = self._pump_min_heat_w
        chw_pumps_w = self._chw_pump_w_per_w * np.maximum(chw_heat_w, pump_min_w)
        zeros = np.zeros(n)
        dry_w = zeros
        if self._has_tower:
            rejected_w = mech_w + chiller_w + (free_air_w if c.economizer == "water-side" else 0.0)
            cw_pumps_w = self._cw_pump_w_per_w * np.maximum(rejected_w, pump_min_w)
            tower_w = c.tower_fan_w_per_w * rejected_w
        else:
            cw_pumps_w = tower_w = zeros
            if c.economizer == "water-side":
                dry_w = (c.liquid.drycooler_fan_w_per_w if c.liquid else DRYCOOLER_FAN_W_PER_W) * free_air_w
        liquid_pumps_w = self._liquid_pump_w_per_w * np.maximum(liquid_heat_w, self._liquid_fraction * pump_min_w)
        if c.liquid is not None:
            dry_w = dry_w + c.liquid.drycooler_fan_w_per_w * free_liquid_w

        heat_total_w = coil_w + liquid_heat_w
        with np.errstate(divide="ignore", invalid="ignore"):
            free_fraction = np.where(heat_total_w > 0, (free_air_w + free_liquid_w) / heat_total_w, free)
        state = _plant_state(a.outdoor_temp_c[k], a.wet_bulb_c[k], supply_c, temp1, inlet_c, cop,
                             air_heat_w + liquid_heat_w, removed_w + liquid_heat_w)
        state.update(zone_state)
        return CoolingSeries(
            power_w=_plant_power_w(chiller_w, fan_w, chw_pumps_w, cw_pumps_w, tower_w, dry_w, liquid_pumps_w,
                                   np.full(n, self._auxiliary_w)),
            losses_w=loss_w,
            state=state,
            accelerator_cap_fraction=cap,
            free_cooling_fraction=free_fraction,
            zone_cap_fraction=zone_caps,
        )

    def config(self) -> dict[str, Any]:
        out = self._config.model_dump()
        out["resolved"] = {
            "capacity_w": self._capacity_w,
            "hall_heat_capacity_j_per_k": self._heat_capacity_j_per_k,
            "rated_airflow_w_per_k": self._g_max_w_per_k,
            "crah_fan_rated_w": self._fan_rated_w,
            "chiller_cop_rated": rated_cop(self._config),
            "economizer_thresholds_c": list(economizer_thresholds_c(self._config)),
        }
        if self.zones > 1:
            out["resolved"]["zone_shares"] = list(self._zone_share)
        return out


# -- factory ---------------------------------------------------------------------------------------


def build_cooling(
    config: ConstantPueConfig | PlantCoolingConfig | CustomCoolingConfig,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    it_capacity_w: float,
    weather: Callable[[], Weather] | None,
    zone_capacity_w: list[float] | None = None,
) -> CoolingModel:
    """Build the cooling model a scenario's ``cooling:`` section asks for.

    start, duration_s, step_s: the run's plant-step grid (weather is sampled on it).
    it_capacity_w: nameplate IT power of the cluster; sizes the plant by default.
    weather: lazily loads the scenario's weather on the same grid, or None.
    The plant model loads ``config.weather`` itself when set, else calls ``weather``.
    zone_capacity_w: IT nameplate of each thermal zone (from ``zone_of_nodes``); None:
    ``config.zones`` zones of equal share.
    """
    if isinstance(config, ConstantPueConfig):
        return ConstantPue(config)
    if isinstance(config, CustomCoolingConfig):
        from sim.registry import import_object

        return import_object(config.model)(
            options=dict(config.options), start=start, duration_s=duration_s, step_s=step_s,
            it_capacity_w=it_capacity_w, weather=weather)
    if isinstance(config, PlantCoolingConfig):
        if config.weather is not None:
            from sim.facility.weather import load_weather

            wx = load_weather(config.weather, start, duration_s, step_s)
        elif weather is not None:
            wx = weather()
        else:
            raise ValueError(
                "cooling.weather: the plant model needs weather; name a bundled TMY "
                "(tmy3-greensboro-nc, tmy3-sand-point-ak, tmy2-miami-fl) or a CSV path"
            )
        return PlantCooling(config, wx, step_s, it_capacity_w, zone_capacity_w)
    raise TypeError(f"unknown cooling config {type(config).__name__}")
