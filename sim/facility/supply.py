"""Energy supply: grid, on-site PV and wind, a battery, PPAs, a measured load.

What is modelled
----------------
Each plant step ``[t0, t1)`` the engine hands over a constant facility
demand ``D`` (W). On-site generation ``R = PV + wind`` (W, computed once for
every step when the run is built, vectorised, never per step) serves the
demand first; a battery and the grid cover the rest or absorb the surplus::

    direct      = min(D, R)                         renewables straight to the load
    charge_ren  = min(R - direct, battery room)     surplus into the battery
    discharge   = policy(...)                       battery to the load
    charge_grid = policy(...)                       grid into the battery
    grid_import = D - direct - discharge + charge_grid
    export      = surplus left if grid.export else 0;   curtailed = the rest

so, every step (tested)::

    grid_import + renewable_used + battery_discharge = D + battery_charge
    pv + wind = renewable_used + grid_export + curtailed
    renewable_used = direct + charge_ren,  battery_charge = charge_ren + charge_grid

Battery (energy ``E`` in J, bounds ``[soc_min, soc_max] x capacity``): a
round-trip efficiency ``eta_rt`` is split evenly, ``eta = sqrt(eta_rt)`` each
way; charging with ``P_c`` adds ``eta P_c dt``, delivering ``P_d`` removes
``P_d dt / eta``; the difference is booked as ``battery_loss_w``. The stored
energy is tracked in two pools (from renewables, from the grid) mixed
proportionally, so energy the grid put into the battery is not counted as
renewable when it comes out.

Dispatch policies (``battery.dispatch``, ``sim.facility.dispatch``: a registered
``Dispatch`` or "package.module:Class") only *request* a discharge and a grid
charge; this module clips them and books the flows. Every policy stores
surplus renewables first. Built-ins:

- ``self-consumption``: discharge to cover any demand the renewables do not;
- ``peak-shaving``: keep grid import at or below ``battery.peak_kw`` (default
  ``grid.import_limit_kw``): discharge above it, recharge from the grid below;
- ``carbon-aware``: at each step look at the *forecast* of grid carbon
  intensity over ``battery.horizon`` (the signal's ``forecast`` config:
  perfect, persistence or noisy; never the actual future): charge from the
  grid when the current intensity is at or below the forecast's
  ``clean_quantile``, discharge to the load when it is at or above
  ``dirty_quantile``, otherwise hold.

Whatever the policy, the battery discharges to keep import under
``grid.import_limit_kw`` and grid charging never pushes import above it. The
load is never shed: if the limit cannot be held, import exceeds it and
``import_limit_excess_w`` records by how much.

Carbon is location-based: ``carbon_g_per_s = grid_import_w x CI / 3.6e6``
(CI the exact mean of the carbon signal over the step, g/kWh); exports are not
credited. Cost: ``(import x price - export x export_price) / 3.6e6`` per s.

PV (pvlib, PVWatts v5 chain; Dobos 2014, NREL/TP-6A20-62641): solar position
(``pvlib.solarposition``, NREL SPA) at the step midpoints; plane-of-array
irradiance with the Hay-Davies transposition; beam reflection losses with
``pvlib.iam.physical``; cell temperature with the SAPM open-rack model;
``pvwatts_dc`` with temperature coefficient ``gamma``; PVWatts system losses
(14.08 %); ``pvlib.inverter.pvwatts`` with AC rating = DC rating / inverter
loading ratio. The default tilt is the site latitude, azimuth 180 (south).

Wind (windpowerlib; Haas et al., JOSS 2024): the turbine's power curve from
windpowerlib's bundled oedb library (offline), wind at hub height from the
10 m weather wind with the logarithmic profile
``v_hub = v_10 ln(h_hub / z0) / ln(10 / z0)``, optional air-density
correction (ideal gas at hub height, linear temperature gradient), times the
number of turbines.

Generation traces (``pv: {trace: gb-solar-2020, capacity_kw: ...}``): a real
generation series divided by the capacity it represents (by default its
maximum over the whole file, D; set ``trace_capacity_mw`` to the installed
capacity for a true capacity factor) and multiplied by ``capacity_kw``.

PPA (contracted, off-site): a generation profile (``pv``, ``wind`` per kW from
the same models, or a trace) scaled to ``ppa.capacity_kw``; it is not a
physical flow, only booked as ``ppa_w`` and used in the renewable shares.

Renewable shares (``Supply.summary()`` or ``summarize(steps, t_edges_s)``):

- hourly matched: ``(renewable_to_load + sum_h min(ppa_h, other_load_h)) / demand``
  with ``renewable_to_load`` = on-site renewables consumed by the load
  (directly or through the battery's renewable pool) and ``other_load_h`` the
  rest of the load in clock hour ``h``;
- annual matched: ``min(1, (onsite_generated - curtailed + ppa) / demand)``.
"""

from __future__ import annotations

import functools
import math
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.contracts import SupplyModel, SupplySeries, SupplyStep
from sim.facility.dispatch import DispatchSituation, PeakShaving, SelfConsumption, build_dispatch
from sim.facility.grid_mix import read_generation_mix
from sim.facility.signals import (
    BUNDLED_TRACES,
    ConstantSignal,
    SampledSignal,
    build_signal,
    series_signal,
    step_means,
    trace_max,
    unit_factor,
)
from sim.facility.site import require_site
from sim.facility.weather import Weather, load_weather
from sim.paths import data_path
from sim.results.shares import SHARE_DEFINITIONS, ShareInputs, compute_shares
from sim.spec.signals import SignalConfig
from sim.spec.supply import (
    DEFAULT_INVERTER_LOADING_RATIO,
    DEFAULT_ROUGHNESS_LENGTH_M,
    PVWATTS_GAMMA_PER_C,
    PVWATTS_INVERTER_EFFICIENCY,
    PVWATTS_SYSTEM_LOSSES_PCT,
    GridConfig,
    SupplyConfig,
)
from sim.units import HOUR, J_PER_KWH, W_PER_KW, as_utc

WIND_MEASUREMENT_HEIGHT_M = 10.0
"""TMY and WMO standard anemometer height."""


# ---------------------------------------------------------------- generation models


def pv_power_w(
    weather: Weather,
    capacity_w: float,
    tilt_deg: float | None = None,
    azimuth_deg: float = 180.0,
    inverter_loading_ratio: float = DEFAULT_INVERTER_LOADING_RATIO,
    system_losses_pct: float = PVWATTS_SYSTEM_LOSSES_PCT,
    temp_coefficient_per_c: float = PVWATTS_GAMMA_PER_C,
    inverter_efficiency: float = PVWATTS_INVERTER_EFFICIENCY,
    albedo: float = 0.2,
) -> np.ndarray:
    """AC output (W) of a fixed-tilt PV plant at each weather sample (PVWatts v5 via pvlib)."""
    import pvlib

    n = len(weather.times)
    if capacity_w <= 0 or n == 0:
        return np.zeros(n)
    for name in ("ghi_w_m2", "dni_w_m2", "dhi_w_m2"):
        if np.any(~np.isfinite(getattr(weather, name))):
            raise ValueError(f"supply.pv: the weather {weather.source!r} has no {name} values; PV needs irradiance")
    if not (math.isfinite(weather.latitude) and math.isfinite(weather.longitude)):
        require_site(None, "supply.pv", weather.source)
    tilt = abs(weather.latitude) if tilt_deg is None else tilt_deg
    temp = np.nan_to_num(weather.temp_air_c, nan=25.0)
    pressure = np.nan_to_num(weather.pressure_pa, nan=101325.0)
    zenith, sun_az = _solar_position(weather, pressure, temp)
    dni_extra = pvlib.irradiance.get_extra_radiation(weather.times).to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth_deg, zenith, sun_az, weather.dni_w_m2, weather.ghi_w_m2, weather.dhi_w_m2,
        dni_extra=dni_extra, albedo=albedo, model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(tilt, azimuth_deg, zenith, sun_az)
    iam = np.nan_to_num(pvlib.iam.physical(aoi), nan=0.0)
    direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float), nan=0.0)
    diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=float), nan=0.0)
    effective = np.maximum(direct * iam + diffuse, 0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    wind = np.nan_to_num(weather.wind_speed_m_s, nan=1.0)
    temp_cell = pvlib.temperature.sapm_cell(effective, temp, wind, **params)
    dc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, capacity_w, temp_coefficient_per_c)
    dc = np.asarray(dc, dtype=float) * (1.0 - system_losses_pct / 100.0)
    ac_rating_w = capacity_w / inverter_loading_ratio
    ac = pvlib.inverter.pvwatts(dc, ac_rating_w / inverter_efficiency, eta_inv_nom=inverter_efficiency)
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=float), nan=0.0), 0.0, ac_rating_w)


#: solar positions are computed at most this far apart (s) and interpolated between. The sun
#: moves 0.25 deg a minute on a smooth path; only refraction near the horizon bends the
#: apparent zenith within minutes of sunrise and sunset. Measured on Greensboro TMY3, 109 days
#: at 60 s, 1 MWp: azimuth within 0.007 deg (0.03 deg at a June noon, when the sun turns fastest),
#: apparent zenith within 0.39 deg (at the horizon),
#: PV energy over the period within 2.3e-6 of SPA (1.8e-5 over a June week); SPA 1.6 -> 0.4 s of CPU.
SOLAR_POSITION_STEP_S = 300.0


def _solar_position(weather: Weather, pressure: np.ndarray, temp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apparent zenith and azimuth (deg) at each weather sample (NREL SPA via pvlib).

    With samples closer than `SOLAR_POSITION_STEP_S`, SPA runs on every k-th sample (and the
    last) and the angles are interpolated linearly in time between them (azimuth unwrapped).
    """
    import pvlib

    times = weather.times
    n = len(times)
    t_s = (times - times[0]).total_seconds().to_numpy() if n else np.zeros(0)
    step = float(np.median(np.diff(t_s))) if n > 2 else 0.0
    k = int(SOLAR_POSITION_STEP_S // step) if step > 0 else 1
    idx = np.arange(0, n, max(k, 1))
    if len(idx) and idx[-1] != n - 1:
        idx = np.append(idx, n - 1)  # and the last sample
    pos = pvlib.solarposition.get_solarposition(
        times[idx], weather.latitude, weather.longitude, altitude=weather.altitude_m,
        pressure=pressure[idx], temperature=temp[idx],
    )
    zen = pos["apparent_zenith"].to_numpy()
    az = pos["azimuth"].to_numpy()
    if len(idx) == n:
        return zen, az
    az_unwrapped = np.degrees(np.unwrap(np.radians(az)))
    return np.interp(t_s, t_s[idx], zen), np.mod(np.interp(t_s, t_s[idx], az_unwrapped), 360.0)


@functools.lru_cache(maxsize=1)
def wind_turbine_types() -> tuple[str, ...]:
    """Turbine types with a power curve in windpowerlib's bundled oedb library."""
    from windpowerlib.data import get_turbine_types

    df = get_turbine_types(turbine_library="local", print_out=False, filter_=True)
    return tuple(sorted(df.loc[df["has_power_curve"], "turbine_type"]))


def wind_turbine(turbine_type: str, hub_height_m: float) -> Any:
    """A windpowerlib turbine from its bundled oedb library (no network)."""
    from windpowerlib import WindTurbine

    if turbine_type not in wind_turbine_types():
        some = ", ".join(wind_turbine_types()[:6])
        raise ValueError(
            f"supply.wind.turbine_type: {turbine_type!r} is not in windpowerlib's turbine library with a power"
            f" curve (e.g. {some}; all: sim.facility.supply.wind_turbine_types())"
        )
    return WindTurbine(turbine_type=turbine_type, hub_height=hub_height_m)


def wind_power_w(
    weather: Weather,
    turbine_type: str,
    hub_height_m: float,
    turbines: int = 1,
    roughness_length_m: float = DEFAULT_ROUGHNESS_LENGTH_M,
    density_correction: bool = True,
) -> np.ndarray:
    """Electrical output (W) of ``turbines`` identical turbines at each weather sample."""
    from windpowerlib import density, power_output, temperature, wind_speed

    n = len(weather.times)
    if turbines <= 0 or n == 0:
        return np.zeros(n)
    if np.any(~np.isfinite(weather.wind_speed_m_s)):
        raise ValueError(f"supply.wind: the weather {weather.source!r} has no wind_speed_m_s values")
    turbine = wind_turbine(turbine_type, hub_height_m)
    h0 = weather.wind_height_m
    v0 = pd.Series(weather.wind_speed_m_s)
    v_hub = wind_speed.logarithmic_profile(v0, h0, hub_height_m, roughness_length_m)
    curve = turbine.power_curve
    if density_correction:
        t_k = pd.Series(weather.temp_air_c + 273.15)
        t_hub = temperature.linear_gradient(t_k, 2.0, hub_height_m)  # air temperature measured at 2 m
        rho = density.ideal_gas(pd.Series(weather.pressure_pa), 0.0, hub_height_m, t_hub)
        p = power_output.power_curve(
            v_hub, curve["wind_speed"], curve["value"], density=rho, density_correction=True
        )
    else:
        p = power_output.power_curve(v_hub, curve["wind_speed"], curve["value"])
    return np.clip(np.asarray(p, dtype=float), 0.0, None) * turbines


def _trace_generation_w(
    trace: str,
    column: str | list[str] | None,
    unit: str,
    trace_capacity_mw: float | None,
    capacity_w: float,
    wrap: bool,
    start: pd.Timestamp,
    duration_s: float,
    edges_s: np.ndarray,
    name: str,
) -> np.ndarray:
    """A generation trace scaled to ``capacity_w``; the exact mean over each step."""
    factor = unit_factor(unit, "power", f"{name}.trace_unit: ")
    cfg = SignalConfig(trace=trace, column=column, unit=unit, wrap=wrap)
    sig = build_signal(cfg, start, duration_s, "power", name)
    represented_w = (trace_capacity_mw * 1e6) if trace_capacity_mw else trace_max(trace, column) * factor
    return np.clip(step_means(sig, edges_s) / represented_w * capacity_w, 0.0, None)


# ---------------------------------------------------------------- the model


class Supply:
    """The supply model of one run (satisfies ``sim.engine.contracts.SupplyModel``)."""

    def __init__(
        self,
        config: SupplyConfig,
        start: pd.Timestamp,
        duration_s: float,
        step_s: float,
        pv_w: np.ndarray,
        wind_w: np.ndarray,
        ppa_w: np.ndarray,
        carbon: SampledSignal | ConstantSignal,
        price: SampledSignal | ConstantSignal,
        export_price: SampledSignal | ConstantSignal,
        background: SampledSignal | ConstantSignal | None,
        edges_s: np.ndarray,
        renewable_fraction: SampledSignal | ConstantSignal | None = None,
        carbon_free_fraction: SampledSignal | ConstantSignal | None = None,
    ) -> None:
        self.cfg = config
        self.start, self.duration_s, self.step_s = start, duration_s, step_s
        self.pv_w, self.wind_w, self.ppa_w = pv_w, wind_w, ppa_w
        self.carbon, self.price, self.export_price, self.background = carbon, price, export_price, background
        self.edges_s = edges_s
        self.ci_step = step_means(carbon, edges_s)
        self.price_step = step_means(price, edges_s)
        self.export_price_step = step_means(export_price, edges_s)
        self.renewable_fraction, self.carbon_free_fraction = renewable_fraction, carbon_free_fraction
        # the grid's fractions per step (NaN when unknown: shares that need them are NaN, not 0)
        self.ren_frac_step = (step_means(renewable_fraction, edges_s) if renewable_fraction is not None
                              else np.full(len(edges_s) - 1, np.nan))
        self.cf_frac_step = (step_means(carbon_free_fraction, edges_s) if carbon_free_fraction is not None
                             else np.full(len(edges_s) - 1, np.nan))
        b = config.battery
        self.capacity_j = b.capacity_kwh * J_PER_KWH
        power_w = None if b.power_kw is None else b.power_kw * W_PER_KW
        self.charge_max_w = b.charge_power_kw * W_PER_KW if b.charge_power_kw is not None else power_w
        self.discharge_max_w = b.discharge_power_kw * W_PER_KW if b.discharge_power_kw is not None else power_w
        if self.capacity_j > 0 and (self.charge_max_w is None or self.discharge_max_w is None):
            raise ValueError("supply.battery: give power_kw (or charge_power_kw and discharge_power_kw)")
        self.charge_max_w = self.charge_max_w or 0.0
        self.discharge_max_w = self.discharge_max_w or 0.0
        self.eta = math.sqrt(b.round_trip_efficiency)
        self.e_min_j = b.soc_min_fraction * self.capacity_j
        self.e_max_j = b.soc_max_fraction * self.capacity_j
        self.energy_j = min(max(b.initial_soc_fraction * self.capacity_j, self.e_min_j), self.e_max_j)
        self.green_j = 0.0  # the part of energy_j that came from renewables
        imp = config.grid.import_limit_kw
        self.import_limit_w = math.inf if imp is None else imp * W_PER_KW
        self.dispatch = build_dispatch(b.dispatch, b.dispatch_options, b, config.grid)
        # the built-in policies written out in `_battery` (exact classes: a subclass may decide otherwise)
        self._dispatch_kind = {SelfConsumption: 1, PeakShaving: 2}.get(type(self.dispatch), 0)
        self._peak_w = float(getattr(self.dispatch, "peak_w", 0.0)) if self._dispatch_kind == 2 else 0.0
        self._totals: dict[str, float] = defaultdict(float)
        # per clock hour: the ShareInputs fields, summed (hourly sums give exact shares)
        self._hourly: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(_HOURLY_FIELDS))
        self._grid_peak_w = 0.0
        # flat float arrays: a scalar read in the per-step path is several times faster than
        # numpy's, at 8 bytes a value (a list of Python floats would take 32)
        self._n_steps = len(edges_s) - 1

        def flat(x: np.ndarray) -> array:
            return array("d", np.asarray(x, dtype=np.float64).tobytes())

        self._edges_list = flat(edges_s)
        self._pv_list, self._wind_list, self._ppa_list = flat(pv_w), flat(wind_w), flat(ppa_w)
        self._ci_list = flat(self.ci_step)
        self._price_list = flat(self.price_step)
        self._export_price_list = flat(self.export_price_step)
        self._ren_frac_list, self._cf_frac_list = flat(self.ren_frac_step), flat(self.cf_frac_step)
        self._fractions_known = renewable_fraction is not None or carbon_free_fraction is not None

    # -- SupplyModel

    def background_energy_j(self, t0: float, t1: float) -> float:
        if self.background is None:
            return 0.0
        return float(self.background.integral(t0, t1))

    def background_energy_series_j(self, edges_s: np.ndarray) -> np.ndarray:
        """`background_energy_j` over each [edges[k], edges[k+1]) at once (the plant loop's steps)."""
        edges = np.asarray(edges_s, dtype=float)
        if self.background is None:
            return np.zeros(max(len(edges) - 1, 0))
        return np.asarray(self.background.integral(edges[:-1], edges[1:]), dtype=float)

    def _index(self, t0: float, t1: float) -> tuple[int, bool]:
        n = self._n_steps
        k = int((0.5 * (t0 + t1)) // self.step_s)
        k = 0 if k < 0 else (n - 1 if k >= n else k)
        edges = self._edges_list
        aligned = n > 0 and abs(edges[k] - t0) < 1e-6 and abs(edges[k + 1] - t1) < 1e-6
        return k, aligned

    def step(self, t0: float, t1: float, demand_w: float) -> SupplyStep:
        dt = t1 - t0
        if dt <= 0:
            raise ValueError(f"supply step needs t1 > t0, got [{t0}, {t1})")
        k, aligned = self._index(t0, t1)
        n = self._n_steps
        pv = self._pv_list[k] if n else 0.0
        wind = self._wind_list[k] if n else 0.0
        ppa = self._ppa_list[k] if n else 0.0
        if aligned:
            ci, price, export_price = self._ci_list[k], self._price_list[k], self._export_price_list[k]
            ren_frac, cf_frac = (self._ren_frac_list[k], self._cf_frac_list[k]) if n else (math.nan, math.nan)
        else:
            ci = float(self.carbon.integral(t0, t1)) / dt
            price = float(self.price.integral(t0, t1)) / dt
            export_price = float(self.export_price.integral(t0, t1)) / dt
            ren_frac = (float(self.renewable_fraction.integral(t0, t1)) / dt
                        if self.renewable_fraction is not None else math.nan)
            cf_frac = (float(self.carbon_free_fraction.integral(t0, t1)) / dt
                       if self.carbon_free_fraction is not None else math.nan)
        demand = max(float(demand_w), 0.0)
        renewable = pv + wind
        direct = min(demand, renewable)
        surplus = renewable - direct
        net = demand - direct
        charge_ren = charge_grid = discharge = 0.0
        if self.capacity_j > 0:
            charge_ren, charge_grid, discharge, surplus, gf, self.energy_j, self.green_j = self._battery(
                self._dispatch_kind, t0, dt, net, surplus, ci, self.energy_j, self.green_j)
            self._last_green_fraction = gf
        grid_import = float(net - discharge + charge_grid)
        charge_ren, charge_grid, discharge = float(charge_ren), float(charge_grid), float(discharge)
        export = float(surplus) if self.cfg.grid.export else 0.0
        curtailed = surplus - export
        renewable_used = direct + charge_ren
        green_out = discharge * self._last_green_fraction
        renewable_to_load = direct + green_out
        loss_w = (charge_ren + charge_grid) * (1.0 - self.eta) + discharge * (1.0 / self.eta - 1.0)
        carbon = grid_import * ci / J_PER_KWH
        cost = (grid_import * price - export * export_price) / J_PER_KWH
        # no import, nothing of unknown origin: 0 even when the grid's fractions are unknown
        grid_ren, grid_cf = (grid_import * ren_frac, grid_import * cf_frac) if grid_import > 0 else (0.0, 0.0)
        self._book(t0, dt, demand, grid_import, export, pv, wind, ppa, renewable_used, curtailed,
                   charge_ren + charge_grid, discharge, loss_w, renewable_to_load, carbon, cost, grid_ren, grid_cf)
        flows = self._flows(grid_import, export, pv, wind, renewable_used, curtailed, charge_ren + charge_grid,
                            discharge, ppa, grid_ren, grid_cf)
        return SupplyStep(
            flows_w=flows,
            carbon_g_per_s=float(carbon),
            cost_per_s=float(cost),
            state={
                "battery_soc_kwh": float(self.energy_j) / J_PER_KWH,
                "carbon_intensity_g_per_kwh": ci,
                **({"grid_renewable_fraction": ren_frac, "grid_carbon_free_fraction": cf_frac}
                   if self._fractions_known else {}),
                "price_per_kwh": price,
                "demand_w": demand,
                "renewable_to_load_w": float(renewable_to_load),
                "battery_loss_w": float(loss_w),
                "import_limit_excess_w": max(grid_import - self.import_limit_w, 0.0),
            },
        )

    def step_series(self, edges_s: np.ndarray, demand_w: np.ndarray) -> SupplySeries:
        """`step` over the consecutive steps [edges[k], edges[k+1]), as columns (the plant loop's fast path).

        The same arithmetic as `step`, in numpy over all steps, except the battery: its
        stored energy is a recursion (`_battery_series`; the same bits as `step`). The
        totals, clock-hour sums and peak that `summary` reports are booked as by `step`.
        """
        edges = np.asarray(edges_s, dtype=float)
        t0, t1 = edges[:-1], edges[1:]
        dt = t1 - t0
        m = len(dt)
        if m and not dt.min() > 0:
            i = int(np.argmin(dt))
            raise ValueError(f"supply step needs t1 > t0, got [{t0[i]}, {t1[i]})")
        n = self._n_steps
        k = np.clip(np.floor_divide(0.5 * (t0 + t1), self.step_s).astype(np.int64), 0, max(n - 1, 0))
        if n:
            grid_edges = np.frombuffer(self._edges_list, dtype=np.float64)
            aligned = (np.abs(grid_edges[k] - t0) < 1e-6) & (np.abs(grid_edges[k + 1] - t1) < 1e-6)
            pv, wind, ppa = self.pv_w[k], self.wind_w[k], self.ppa_w[k]
            ci, price, export_price = self.ci_step[k], self.price_step[k], self.export_price_step[k]
            ren_frac, cf_frac = self.ren_frac_step[k], self.cf_frac_step[k]
        else:
            aligned = np.zeros(m, dtype=bool)
            pv = wind = ppa = np.zeros(m)
            ci, price, export_price, ren_frac, cf_frac = (np.zeros(m) for _ in range(5))
        if not aligned.all():  # a step off the supply's grid (a last partial step): exact means
            ci, price, export_price = ci.copy(), price.copy(), export_price.copy()
            ren_frac, cf_frac = np.array(ren_frac, dtype=float), np.array(cf_frac, dtype=float)
            for i in np.flatnonzero(~aligned).tolist():
                a, b = float(t0[i]), float(t1[i])
                d = b - a
                ci[i] = float(self.carbon.integral(a, b)) / d
                price[i] = float(self.price.integral(a, b)) / d
                export_price[i] = float(self.export_price.integral(a, b)) / d
                ren_frac[i] = (float(self.renewable_fraction.integral(a, b)) / d
                               if self.renewable_fraction is not None else math.nan)
                cf_frac[i] = (float(self.carbon_free_fraction.integral(a, b)) / d
                              if self.carbon_free_fraction is not None else math.nan)
        demand = np.maximum(np.asarray(demand_w, dtype=float), 0.0)
        renewable = pv + wind
        direct = np.minimum(demand, renewable)
        surplus = renewable - direct
        net = demand - direct
        if self.capacity_j > 0:
            charge_ren, charge_grid, discharge, surplus, green, soc_j = self._battery_series(t0, dt, net, surplus, ci)
        else:
            charge_ren = charge_grid = discharge = green = np.zeros(m)
            soc_j = np.full(m, float(self.energy_j))
        grid_import = net - discharge + charge_grid
        export = surplus if self.cfg.grid.export else np.zeros(m)
        curtailed = surplus - export
        renewable_used = direct + charge_ren
        renewable_to_load = direct + discharge * green
        loss_w = (charge_ren + charge_grid) * (1.0 - self.eta) + discharge * (1.0 / self.eta - 1.0)
        carbon = grid_import * ci / J_PER_KWH
        cost = (grid_import * price - export * export_price) / J_PER_KWH
        imports = grid_import > 0
        grid_ren = np.where(imports, grid_import * ren_frac, 0.0)
        grid_cf = np.where(imports, grid_import * cf_frac, 0.0)
        charge = charge_ren + charge_grid
        self._book_series(t0, dt, demand, grid_import, export, pv, wind, ppa, renewable_used, curtailed, charge,
                          discharge, loss_w, renewable_to_load, carbon, cost, grid_ren, grid_cf)
        flows = self._flows(grid_import, export, pv, wind, renewable_used, curtailed, charge, discharge, ppa,
                            grid_ren, grid_cf)
        state = {"battery_soc_kwh": soc_j / J_PER_KWH, "carbon_intensity_g_per_kwh": ci}
        if self._fractions_known:
            state["grid_renewable_fraction"] = ren_frac
            state["grid_carbon_free_fraction"] = cf_frac
        state.update({
            "price_per_kwh": price,
            "demand_w": demand,
            "renewable_to_load_w": renewable_to_load,
            "battery_loss_w": loss_w,
            "import_limit_excess_w": np.maximum(grid_import - self.import_limit_w, 0.0),
        })
        return SupplySeries(flows_w=flows, carbon_g_per_s=carbon, cost_per_s=cost, state=state)

    def _battery_series(self, t0: np.ndarray, dt: np.ndarray, net: np.ndarray, surplus: np.ndarray,
                        ci: np.ndarray) -> tuple[np.ndarray, ...]:
        """The battery of `step`, step after step over plain floats (its stored energy is a recursion).

        Returns (charge from renewables, charge from the grid, discharge, surplus left, the
        renewable share of what was discharged, stored energy after the step), one per step.
        A dispatch `_battery` writes out (self-consumption, peak shaving) runs in
        `_battery_builtin` (runs the battery sits out jumped over, runs its power bounds
        computed at once, the rest `_battery` step by step); any other calls `_battery`,
        `step`'s core, per step.
        """
        kind = self._dispatch_kind
        if kind:
            return self._battery_builtin(kind, dt, net, surplus)
        battery = self._battery
        e, green_j = float(self.energy_j), float(self.green_j)
        m = len(dt)
        out_cr, out_cg, out_d, out_s, out_gf, out_e = ([0.0] * m for _ in range(6))
        rows = zip(range(m), t0.tolist(), dt.tolist(), net.tolist(), surplus.tolist(), ci.tolist())
        for i, a, d, nt, sp, c in rows:
            cr, cg, dis, sp, gf, e, green_j = battery(kind, a, d, nt, sp, c, e, green_j)
            out_cr[i], out_cg[i], out_d[i], out_s[i], out_gf[i], out_e[i] = cr, cg, dis, sp, gf, e
        self.energy_j, self.green_j = e, green_j
        if m:
            self._last_green_fraction = out_gf[-1]
        return (np.array(out_cr), np.array(out_cg), np.array(out_d), np.array(out_s), np.array(out_gf),
                np.array(out_e))

    def _battery_builtin(self, kind: int, dt: np.ndarray, net: np.ndarray,
                         surplus: np.ndarray) -> tuple[np.ndarray, ...]:
        """`_battery_series` for `kind` 1 (self-consumption) or 2 (peak shaving): the numbers of
        `_battery` step after step, bit for bit (`tests/test_supply.py` checks it), most steps
        without a Python step of their own. Three kinds of runs of steps:

        - runs the battery sits out, jumped over (masks computed with numpy): at its floor
          (``e == e_min``) with no surplus (+0.0) and a positive net demand it cannot
          discharge (nor, under self-consumption or above the peak, charge from the grid);
          at its ceiling (``e == e_max``) with a surplus of +0.0 or more it cannot charge, and
          it does not discharge while the net demand is +0.0 (self-consumption) or at most
          the peak (peak shaving) and within the import limit. Each such step gives +0.0 for
          the three flows, the surplus unchanged, the same share and stored energy;
        - runs where the battery's power, not its state, bounds the flows: the flows of
          every step are computed at once with those bounds (`_decide`), the stored energy
          as a running sum of what they move (`np.add.accumulate` adds in order, as the loop
          does; exact where a step only charges or only discharges), and the steps kept up
          to the first whose own state would bound it, clip it, or move both ways; only the
          renewable share of the stored energy (a ratio) is a loop over plain floats there;
        - the steps in between (the battery filling up or running empty): `_battery` itself,
          one call per step.
        """
        eta = self.eta
        e_min, e_max = self.e_min_j, self.e_max_j
        c_max, d_max, limit = self.charge_max_w, self.discharge_max_w, self.import_limit_w
        peak = self._peak_w
        battery = self._battery
        e, green_j = float(self.energy_j), float(self.green_j)
        m = len(dt)
        out_cr, out_cg, out_d = np.zeros(m), np.zeros(m), np.zeros(m)
        out_s = surplus.copy()  # a run the battery sits out leaves the surplus as it is
        out_gf, out_e = np.empty(m), np.empty(m)
        in_bounds = c_max >= 0.0 and d_max >= 0.0 and e_min <= e_max
        if in_bounds:
            plus_zero_sp = (surplus == 0.0) & ~np.signbit(surplus)
            sp_not_neg = (surplus >= 0.0) & ~np.signbit(surplus)
            below_limit = ~(net > limit)
            if kind == 1:
                empty_ok = plus_zero_sp & (net > 0.0)
                full_ok = sp_not_neg & (net == 0.0) & ~np.signbit(net) & below_limit
            else:
                empty_ok = plus_zero_sp & (net > 0.0) & (net > peak)
                full_ok = sp_not_neg & (net <= peak) & below_limit
            empty_next, full_next = _next_false(empty_ok), _next_false(full_ok)
            # the flows of every step if the battery's power, not its state, bounded them (`_decide`)
            spec = _decide(kind, np.full(m, c_max), np.full(m, d_max), dt, net, surplus, peak, limit)
            spec_in_j = (spec[0] + spec[1]) * dt * eta  # energy in and out, as `_battery` moves it
            spec_out_j = spec[2] * dt / eta
            spec_x = spec_in_j - spec_out_j  # exactly the change of e where one of the two is 0
            spec_one_way = (spec_in_j == 0.0) | (spec_out_j == 0.0)
            spec_green_in = spec[0] * dt * eta
        window, scalar_steps = 256, 0
        i = 0
        while i < m:
            if not in_bounds:
                scalar_steps = m
            elif e == e_min or e == e_max:
                j = int(empty_next[i] if e == e_min else full_next[i])
                if j > i:  # the battery sits these steps out
                    out_gf[i:j] = green_j / e if e > 0 else 0.0
                    out_e[i:j] = e
                    i = j
                    continue
            if scalar_steps:
                scalar_steps -= 1
            else:  # the power-bound flows over a window; keep the steps their own state confirms
                w = min(m, i + window)
                e_path = np.add.accumulate(np.concatenate(([e], spec_x[i:w])))
                e0, e1 = e_path[:-1], e_path[1:]
                d_w = dt[i:w]
                x = e_max - e0
                room_w = np.where(0.0 > x, 0.0, x) / (eta * d_w)
                x = e0 - e_min
                avail_w = np.where(0.0 > x, 0.0, x) * eta / d_w
                real = _decide(kind, np.where(room_w < c_max, room_w, c_max),
                               np.where(avail_w < d_max, avail_w, d_max), d_w, net[i:w], surplus[i:w], peak, limit)
                ok = spec_one_way[i:w] & ~(e_min > e1) & ~(e_max < e1)
                for got, want in zip(real, spec, strict=True):
                    ok &= got.view(np.int64) == want[i:w].view(np.int64)
                p = w - i if ok.all() else int(np.argmin(ok))
                if p:
                    j = i + p
                    for out, values in zip((out_cr, out_cg, out_d, out_s), spec, strict=True):
                        out[i:j] = values[i:j]
                    out_e[i:j] = e1[:p]
                    shares = []
                    for e_a, e_b, g_in, o_j in zip(e0[:p].tolist(), e1[:p].tolist(), spec_green_in[i:j].tolist(),
                                                   spec_out_j[i:j].tolist()):
                        gf = green_j / e_a if e_a > 0 else 0.0
                        green_j -= o_j * gf
                        green_j += g_in
                        if 0.0 > green_j:
                            green_j = 0.0
                        if e_b < green_j:
                            green_j = e_b
                        shares.append(gf)
                    out_gf[i:j] = shares
                    e = float(e1[p - 1])
                if p == w - i:  # all kept: try a longer window next
                    window *= 2
                    i += p
                    continue
                window, scalar_steps = 256, 16  # the state bound a step: step on one at a time for a while
                if p:
                    i += p
                    continue
            # one step of `_battery` itself (t0 and the carbon intensity serve only a custom dispatch)
            charge_ren, charge_grid, discharge, sp, gf, e, green_j = battery(
                kind, 0.0, float(dt[i]), float(net[i]), float(surplus[i]), 0.0, e, green_j)
            out_cr[i] = charge_ren
            out_cg[i] = charge_grid
            out_d[i] = discharge
            out_s[i] = sp
            out_gf[i] = gf
            out_e[i] = e
            i += 1
        self.energy_j, self.green_j = e, green_j
        if m:
            self._last_green_fraction = float(out_gf[-1])
        return out_cr, out_cg, out_d, out_s, out_gf, out_e

    def _book_series(self, t0: np.ndarray, dt: np.ndarray, demand: np.ndarray, grid_import: np.ndarray,
                     export: np.ndarray, pv: np.ndarray, wind: np.ndarray, ppa: np.ndarray,
                     renewable_used: np.ndarray, curtailed: np.ndarray, charge: np.ndarray,
                     discharge: np.ndarray, loss: np.ndarray, renewable_to_load: np.ndarray, carbon: np.ndarray,
                     cost: np.ndarray, grid_renewable: np.ndarray, grid_carbon_free: np.ndarray) -> None:
        """`_book` for many steps: totals, clock-hour sums and the peak, vectorised."""
        if not len(dt):
            return
        t = self._totals
        for key, v in (("demand", demand), ("grid_import", grid_import), ("grid_export", export), ("pv", pv),
                       ("wind", wind), ("ppa", ppa), ("renewable_used", renewable_used),
                       ("curtailed", curtailed), ("battery_charge", charge), ("battery_discharge", discharge),
                       ("battery_loss", loss), ("renewable_to_load", renewable_to_load), ("carbon_g", carbon),
                       ("cost", cost)):
            t[key] += float(np.sum(v * dt))  # not np.dot: no BLAS threads (sim.engine.meter.set_series)
        hour_of = np.floor_divide(t0, HOUR).astype(np.int64)
        change = hour_of[1:] != hour_of[:-1]
        if np.all(hour_of[1:] >= hour_of[:-1]):  # consecutive steps: np.unique's answer without its sort
            hours = hour_of[np.concatenate(([True], change))]
            inverse = np.concatenate(([0], np.cumsum(change)))
        else:
            hours, inverse = np.unique(hour_of, return_inverse=True)
        sums = [np.bincount(inverse, weights=v * dt, minlength=len(hours)).tolist()
                for v in (demand, renewable_to_load, grid_import, grid_renewable, grid_carbon_free, ppa,
                          pv + wind, curtailed)]
        for j, h in enumerate(hours.tolist()):
            hour = self._hourly[h]
            for i in range(len(_HOURLY_FIELDS)):
                hour[i] += sums[i][j]
        self._grid_peak_w = max(self._grid_peak_w, float(grid_import.max()))

    def config(self) -> dict[str, Any]:
        out = self.cfg.model_dump(mode="json")
        out["pv_energy_kwh_over_run"] = float(np.sum(self.pv_w * np.diff(self.edges_s))) / J_PER_KWH
        out["wind_energy_kwh_over_run"] = float(np.sum(self.wind_w * np.diff(self.edges_s))) / J_PER_KWH
        return out

    # -- dispatch helpers

    _last_green_fraction: float = 0.0

    def _battery(self, kind: int, t0: float, dt: float, net: float, surplus: float, ci: float, e: float,
                 green_j: float) -> tuple[float, float, float, float, float, float, float]:
        """One step of the battery: store surplus renewables, ask the dispatch, clip, move the energy.

        Returns (charge from renewables, charge from the grid, discharge, surplus left,
        renewable share of the stored energy before the step, stored energy after, its
        renewable part after). `kind` 1 and 2 are `SelfConsumption` and `PeakShaving`,
        whose `decide` is written out here (the same numbers, no `DispatchSituation`
        per step); 0 asks `self.dispatch.decide`. min/max are written as comparisons
        (the same values; none is NaN): this runs once per plant step.
        """
        eta = self.eta
        x = self.e_max_j - e
        room_w = (0.0 if 0.0 > x else x) / (eta * dt)
        x = e - self.e_min_j
        avail_w = (0.0 if 0.0 > x else x) * eta / dt
        c_max, d_max, limit = self.charge_max_w, self.discharge_max_w, self.import_limit_w
        cap_c = room_w if room_w < c_max else c_max
        cap_d = avail_w if avail_w < d_max else d_max
        charge_ren = cap_c if cap_c < surplus else surplus
        surplus -= charge_ren
        if kind == 1:  # SelfConsumption.decide
            want_grid, discharge = 0.0, (cap_d if cap_d < net else net)
        elif kind == 2:  # PeakShaving.decide
            peak = self._peak_w
            if net > peak:
                x = net - peak
                want_grid, discharge = 0.0, (cap_d if cap_d < x else x)
            else:
                want_grid, discharge = peak - net, 0.0
        else:
            want_grid, discharge = self.dispatch.decide(DispatchSituation(
                t0, dt, net, surplus, cap_c - charge_ren, cap_d, ci, limit, self.carbon))
        if 0.0 > discharge:
            discharge = 0.0
        if cap_d < discharge:
            discharge = cap_d
        if net - discharge > limit:  # hold the import limit if the battery can
            x = net - limit
            discharge = cap_d if cap_d < x else x
        charge_grid = 0.0
        if discharge <= 0.0:  # grid charging only in a step that does not discharge, under the limit
            x = limit - net
            headroom = 0.0 if 0.0 > x else x
            x = want_grid
            y = cap_c - charge_ren
            if y < x:
                x = y
            if headroom < x:
                x = headroom
            charge_grid = 0.0 if 0.0 > x else x
        # move the energy: two pools (renewable, grid) mixed proportionally
        gf = green_j / e if e > 0 else 0.0
        out_j = discharge * dt / eta
        green_j -= out_j * gf
        green_j += charge_ren * dt * eta
        e = e + (charge_ren + charge_grid) * dt * eta - out_j
        if self.e_min_j > e:
            e = self.e_min_j
        if self.e_max_j < e:
            e = self.e_max_j
        if 0.0 > green_j:
            green_j = 0.0
        if e < green_j:
            green_j = e
        return charge_ren, charge_grid, discharge, surplus, gf, e, green_j

    def _flows(self, grid_import: Any, export: Any, pv: Any, wind: Any, renewable_used: Any, curtailed: Any,
               charge: Any, discharge: Any, ppa: Any, grid_ren: Any, grid_cf: Any) -> dict[str, Any]:
        """The supply flows (W) of a step, or of many (arrays): the same keys on both paths."""
        flows = {
            "grid_import_w": grid_import,
            "grid_export_w": export,
            "pv_w": pv,
            "wind_w": wind,
            "renewable_used_w": renewable_used,
            "curtailed_w": curtailed,
            "battery_charge_w": charge,
            "battery_discharge_w": discharge,
            "ppa_w": ppa,
        }
        if self._fractions_known:  # the grid import that was renewable / carbon-free (location-based)
            flows["grid_renewable_w"] = grid_ren
            flows["grid_carbon_free_w"] = grid_cf
        return flows

    def _book(self, t0: float, dt: float, demand: float, grid_import: float, export: float, pv: float,
              wind: float, ppa: float, renewable_used: float, curtailed: float, charge: float,
              discharge: float, loss: float, renewable_to_load: float, carbon: float, cost: float,
              grid_renewable: float = math.nan, grid_carbon_free: float = math.nan) -> None:
        t = self._totals
        t["demand"] += demand * dt
        t["grid_import"] += grid_import * dt
        t["grid_export"] += export * dt
        t["pv"] += pv * dt
        t["wind"] += wind * dt
        t["ppa"] += ppa * dt
        t["renewable_used"] += renewable_used * dt
        t["curtailed"] += curtailed * dt
        t["battery_charge"] += charge * dt
        t["battery_discharge"] += discharge * dt
        t["battery_loss"] += loss * dt
        t["renewable_to_load"] += renewable_to_load * dt
        t["carbon_g"] += carbon * dt
        t["cost"] += cost * dt
        hour = self._hourly[int(t0 // HOUR)]  # the _HOURLY_FIELDS, in order
        hour[0] += demand * dt
        hour[1] += renewable_to_load * dt
        hour[2] += grid_import * dt
        hour[3] += grid_renewable * dt
        hour[4] += grid_carbon_free * dt
        hour[5] += ppa * dt
        hour[6] += (pv + wind) * dt
        hour[7] += curtailed * dt
        if grid_import > self._grid_peak_w:
            self._grid_peak_w = grid_import

    def share_inputs(self) -> ShareInputs:
        """The steps served so far, summed per clock hour (``sim.results.shares``)."""
        return _hourly_inputs(self._hourly)

    def summary(self) -> dict[str, float]:
        """Totals of the steps served so far (kWh, kg, currency, shares)."""
        return _shares_and_totals(self._totals, self.share_inputs(), self._grid_peak_w, self.energy_j)


def _decide(kind: int, cap_c: np.ndarray, cap_d: np.ndarray, dt: np.ndarray, net: np.ndarray,
            surplus: np.ndarray, peak: float, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`Supply._battery`'s decisions over many steps given each step's charge and discharge
    bounds (W): (charge from renewables, charge from the grid, discharge, surplus left),
    the same comparisons and operations element by element, so the same bits."""
    charge_ren = np.where(cap_c < surplus, cap_c, surplus)
    left = surplus - charge_ren
    if kind == 1:
        want_grid: np.ndarray | float = 0.0
        discharge = np.where(cap_d < net, cap_d, net)
    else:
        above = net > peak
        x = net - peak
        discharge = np.where(above, np.where(cap_d < x, cap_d, x), 0.0)
        want_grid = np.where(above, 0.0, peak - net)
    discharge = np.where(0.0 > discharge, 0.0, discharge)
    discharge = np.where(cap_d < discharge, cap_d, discharge)
    x = net - limit
    discharge = np.where(net - discharge > limit, np.where(cap_d < x, cap_d, x), discharge)
    x = limit - net
    headroom = np.where(0.0 > x, 0.0, x)
    y = cap_c - charge_ren
    x = np.where(y < want_grid, y, want_grid)
    x = np.where(headroom < x, headroom, x)
    charge_grid = np.where(discharge <= 0.0, np.where(0.0 > x, 0.0, x), 0.0)
    return charge_ren, charge_grid, discharge, left


def _next_false(ok: np.ndarray) -> np.ndarray:
    """For each index i, the first index j >= i where `ok` is False (len(ok) if none)."""
    m = len(ok)
    stop_at = np.where(ok, m, np.arange(m))
    return np.minimum.accumulate(stop_at[::-1])[::-1]


_HOURLY_FIELDS = ("demand_j", "onsite_to_load_j", "grid_import_j", "grid_renewable_j", "grid_carbon_free_j",
                  "ppa_j", "onsite_generated_j", "curtailed_j")


def _hourly_inputs(hourly: dict[int, list[float]]) -> ShareInputs:
    hours = sorted(hourly)
    cols = np.array([hourly[h] for h in hours], dtype=float).reshape(len(hours), len(_HOURLY_FIELDS))
    return ShareInputs(**{f: cols[:, i] for i, f in enumerate(_HOURLY_FIELDS)}, hour=np.array(hours, dtype=np.int64))


def _shares_and_totals(t: dict[str, float], inputs: ShareInputs, grid_peak_w: float,
                       battery_energy_j: float) -> dict[str, float]:
    kwh = {f"{k}_kwh": float(t.get(k, 0.0)) / J_PER_KWH for k in (
        "demand", "grid_import", "grid_export", "pv", "wind", "ppa", "renewable_used", "curtailed",
        "battery_charge", "battery_discharge", "battery_loss", "renewable_to_load")}
    shares = compute_shares(inputs)
    assert set(shares) == set(SHARE_DEFINITIONS)
    return {
        **kwh,
        **shares,
        "carbon_kg": float(t.get("carbon_g", 0.0)) / 1e3,
        "cost": float(t.get("cost", 0.0)),
        "grid_peak_kw": float(grid_peak_w) / W_PER_KW,
        "battery_final_soc_kwh": float(battery_energy_j) / J_PER_KWH,
    }


def summarize(steps: Sequence[SupplyStep], t_edges_s: Sequence[float] | np.ndarray) -> dict[str, float]:
    """The same summary as ``Supply.summary()`` from booked steps and their edges
    (``len(t_edges_s) == len(steps) + 1``); needs the ``demand_w`` and
    ``renewable_to_load_w`` state this module records."""
    edges = np.asarray(t_edges_s, dtype=float)
    if len(edges) != len(steps) + 1:
        raise ValueError("summarize needs one more edge than steps")
    totals: dict[str, float] = defaultdict(float)
    hourly: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(_HOURLY_FIELDS))
    peak = 0.0
    for s, t0, t1 in zip(steps, edges[:-1], edges[1:], strict=True):
        dt = t1 - t0
        f = s.flows_w
        for key in ("grid_import", "grid_export", "pv", "wind", "ppa", "renewable_used", "curtailed",
                    "battery_charge", "battery_discharge"):
            totals[key] += f.get(f"{key}_w", 0.0) * dt
        demand = s.state.get("demand_w", f.get("grid_import_w", 0.0) + f.get("renewable_used_w", 0.0)
                             + f.get("battery_discharge_w", 0.0) - f.get("battery_charge_w", 0.0))
        r2l = s.state.get("renewable_to_load_w", 0.0)
        totals["demand"] += demand * dt
        totals["renewable_to_load"] += r2l * dt
        totals["battery_loss"] += s.state.get("battery_loss_w", 0.0) * dt
        totals["carbon_g"] += s.carbon_g_per_s * dt
        totals["cost"] += s.cost_per_s * dt
        hour = hourly[int(t0 // HOUR)]
        row = (demand, r2l, f.get("grid_import_w", 0.0), f.get("grid_renewable_w", math.nan),
               f.get("grid_carbon_free_w", math.nan), f.get("ppa_w", 0.0), f.get("pv_w", 0.0) + f.get("wind_w", 0.0),
               f.get("curtailed_w", 0.0))
        for i, v in enumerate(row):
            hour[i] += v * dt
        peak = max(peak, f.get("grid_import_w", 0.0))
    soc = steps[-1].state.get("battery_soc_kwh", 0.0) * J_PER_KWH if steps else 0.0
    return _shares_and_totals(totals, _hourly_inputs(hourly), peak, soc)


def build_supply(
    config: SupplyConfig,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    weather: Callable[[], Weather] | None,
) -> SupplyModel:
    """Build the supply model of a run.

    ``weather`` is called (at most once) only when PV, wind or a PPA profile
    needs it; if it is None, ``config.weather`` is loaded instead. All
    generation is computed here, vectorised over every step of the run.
    """
    if step_s <= 0:
        raise ValueError(f"plant step must be positive, got {step_s}")
    if config.model is not None:  # the user's own model
        from sim.registry import import_object

        return import_object(config.model)(options=dict(config.options), start=as_utc(start),
                                           duration_s=duration_s, step_s=step_s, weather=weather)
    start = as_utc(start)
    n = max(math.ceil(duration_s / step_s - 1e-9), 0)
    edges = np.minimum(np.arange(n + 1) * step_s, duration_s) if n else np.zeros(1)
    cache: list[Weather] = []

    def get_weather(what: str) -> Weather:
        if not cache:
            if weather is not None:
                cache.append(weather())
            elif config.weather is not None:
                cache.append(load_weather(config.weather, start, duration_s, step_s))
            else:
                raise ValueError(f"supply.{what} needs weather: set supply.weather (or the cooling weather)")
        w = cache[0]
        if len(w.times) != n:
            raise ValueError(f"supply.{what}: the weather has {len(w.times)} steps, the run has {n}")
        return w

    pv = config.pv
    if pv.trace is not None:
        pv_w = _trace_generation_w(pv.trace, pv.trace_column, pv.trace_unit, pv.trace_capacity_mw,
                                   pv.capacity_kw * W_PER_KW, pv.wrap, start, duration_s, edges, "supply.pv")
    elif pv.capacity_kw > 0:
        pv_w = pv_power_w(get_weather("pv"), pv.capacity_kw * W_PER_KW, pv.tilt_deg, pv.azimuth_deg,
                          pv.inverter_loading_ratio, pv.system_losses_pct, pv.temp_coefficient_per_c,
                          pv.inverter_efficiency, pv.albedo)
    else:
        pv_w = np.zeros(n)

    wind = config.wind
    if wind.trace is not None:
        wind_w = _trace_generation_w(wind.trace, wind.trace_column, wind.trace_unit, wind.trace_capacity_mw,
                                     wind.capacity_kw * W_PER_KW, wind.wrap, start, duration_s, edges,
                                     "supply.wind")
    elif wind.turbines > 0:
        wind_w = wind_power_w(get_weather("wind"), wind.turbine_type, wind.hub_height_m, wind.turbines,
                              wind.roughness_length_m, wind.density_correction)
    else:
        wind_w = np.zeros(n)

    ppa = config.ppa
    if ppa.capacity_kw <= 0:
        ppa_w = np.zeros(n)
    elif ppa.profile == "pv":
        ppa_w = pv_power_w(get_weather("ppa"), ppa.capacity_kw * W_PER_KW)
    elif ppa.profile == "wind":
        turbine = wind_turbine(wind.turbine_type, wind.hub_height_m)
        one = wind_power_w(get_weather("ppa"), wind.turbine_type, wind.hub_height_m, 1,
                           wind.roughness_length_m, wind.density_correction)
        ppa_w = one / float(turbine.nominal_power) * ppa.capacity_kw * W_PER_KW
    else:
        ppa_w = _trace_generation_w(ppa.profile, ppa.trace_column, ppa.trace_unit, ppa.trace_capacity_mw,
                                    ppa.capacity_kw * W_PER_KW, ppa.wrap, start, duration_s, edges, "supply.ppa")

    grid = config.grid
    carbon = build_signal(grid.carbon_intensity, start, duration_s, "carbon", "supply.grid.carbon_intensity")
    price = build_signal(grid.price, start, duration_s, "price", "supply.grid.price")
    export_price = build_signal(grid.export_price, start, duration_s, "price", "supply.grid.export_price")
    renewable_frac, carbon_free_frac = grid_fraction_signals(grid, start, duration_s)
    background = None
    if config.background_load is not None:
        background = build_signal(config.background_load, start, duration_s, "power", "supply.background_load")
    return Supply(config, start, duration_s, step_s, np.asarray(pv_w, float), np.asarray(wind_w, float),
                  np.asarray(ppa_w, float), carbon, price, export_price, background, edges,
                  renewable_frac, carbon_free_frac)


def grid_fraction_signals(grid: GridConfig, start: pd.Timestamp, duration_s: float) -> tuple[Any, Any]:
    """(renewable, carbon-free) fraction signals of the grid, each None when unknown.

    Given in the scenario, or read from the generation mix of a bundled carbon trace
    (``BundledTrace.mix_file``) over the same dates (wrapped when the carbon trace is)."""
    out: list[Any] = []
    ci = grid.carbon_intensity
    bundled = BUNDLED_TRACES.get(ci.trace) if ci.trace is not None else None
    mix = read_generation_mix(data_path(bundled.mix_file)) if bundled and bundled.mix_file else None
    for key, given in (("renewable_fraction", grid.renewable_fraction),
                       ("carbon_free_fraction", grid.carbon_free_fraction)):
        name = f"supply.grid.{key}"
        if given is not None:
            sig = build_signal(given, start, duration_s, "fraction", name)
            probe = sig.values(np.array([0.0, duration_s]))
            if np.any((probe < 0) | (probe > 1)):
                raise ValueError(f"{name}: {probe.tolist()} is not allowed: a fraction between 0 and 1")
            out.append(sig)
        elif mix is not None:
            frac = mix.renewable_fraction if key == "renewable_fraction" else mix.carbon_free_fraction
            out.append(series_signal(mix.times, frac, start, duration_s, ci.wrap, "step", name,
                                     f"generation mix of {ci.trace!r}"))
        else:
            out.append(None)
    return out[0], out[1]
