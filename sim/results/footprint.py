"""The full cost and footprint of a run: capital, energy, PPA and demand charges,
embodied carbon and water.

What is modelled
----------------
Capital (``CapitalCosts``) is bought once and used over a lifetime ``L``; a
run of wall-clock length ``T`` carries the straight-line share::

    amortised = purchase x T / L

for every item installed, busy or idle (an idle GPU still ages and was
still paid for). Items: accelerators (count x price), servers (nodes x price
of a node without its accelerators), network (a fraction of accelerators +
servers), facility (price per MW of IT capacity x the cluster's peak IT
power), on-site PV (per kWp) and battery (per kWh).

Operating cost: grid energy (import x price, from the supply model), PPA
energy (PPA generation x PPA price) and demand charges: per billing month,
``rate x max over the month of the 15-min mean grid import`` (kW), pro rata
to the part of the month the run covers (US commercial tariffs bill the
highest 15-min demand of the month, e.g. PG&E schedule B-19; the 15-min
interval is the common choice, level M).

Per unit::

    cost_per_accelerator_hour = total / (accelerators x T / 3600)
    cost of job j             = total x (accelerator-hours of j / busy accelerator-hours)

so that the jobs together carry the whole cost, idle time included.

Embodied carbon (``EmbodiedCarbon``): the life-cycle emissions of making an
accelerator and a server, amortised exactly like capital
(``embodied x T / L``). Defaults: Luccioni, Viguier & Ligozat 2023,
"Estimating the Carbon Footprint of BLOOM", JMLR 24(253), section 4.2:
150 kgCO2e per A100 GPU (their estimate), 2,500 kgCO2e per 8-GPU server
(HPE Apollo 6500 Gen10 Plus product carbon footprint), a 6-year life at 85 %
use. Their BLOOM figure, 11.2 t for 1,082,990 GPU-hours, follows from
``(150 + 2500 / 8) / (6 x 8760 x 0.85) kg`` per GPU-hour
(``embodied_per_busy_accelerator_hour``; a test reproduces it).

Water (on-site): a cooling tower evaporates part of the heat it rejects::

    evaporation_kg = f_latent x Q_rejected_J / h_fg
    blowdown_kg    = evaporation_kg / (cycles - 1)
    water_l        = (evaporation_kg + blowdown_kg) / rho

``h_fg = 2.4305 MJ/kg`` (latent heat of water at 30 C, IAPWS-IF97 steam
tables), ``f_latent = 0.90`` (D: the design rule "evaporation = 0.00085 x
circulating flow x range (F)", Perry's Chemical Engineers' Handbook, 8th ed.,
section 12, level M, is 0.00085 gpm per gpm and F: 1 gpm x 1 F carries
0.0631 kg/s x 4186 J/kg/K x 0.5556 K = 146.7 W of heat while 0.00085 gpm =
5.36e-5 kg/s evaporated carries 5.36e-5 x 2.45e6 = 131 W, a fraction 0.90),
``cycles = 5`` cycles of concentration (M: 3-6 typical, US EPA WaterSense
"Cooling Towers" guidance), drift neglected (< 0.005 % of the circulating
flow for towers with drift eliminators, CTI), ``rho = 0.99565 kg/L`` at 30 C.
A dry or adiabatic plant is given by its WUE instead (The Green Grid, WP #35,
2011: site water litres per kWh of IT energy): ``water_l = WUE x IT kWh``.
Off-site (optional): ``water_offsite_l = EWIF x grid import kWh`` with the
grid's water intensity EWIF (L/kWh; e.g. 3.14 L/kWh US average used by Li et
al. 2023, "Making AI Less Thirsty", arXiv 2304.03271, level M).

Every default (in ``sim.spec.costs``) says where it comes from and its level (P primary,
S secondary, M from memory: an assumption to replace with your own quote).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.spec.costs import (
    ACCELERATOR_PRICE_USD,
    BATTERY_LIFETIME_S,
    BATTERY_PRICE_USD_PER_KWH,
    DEFAULT_ACCELERATOR_PRICE_USD,
    DEMAND_INTERVAL_S,
    EMBODIED_KG_PER_ACCELERATOR,
    EMBODIED_KG_PER_SERVER,
    EMBODIED_LIFETIME_S,
    FACILITY_LIFETIME_S,
    FACILITY_PRICE_USD_PER_MW_IT,
    IT_LIFETIME_S,
    LATENT_HEAT_J_PER_KG,
    NETWORK_FRACTION,
    PV_LIFETIME_S,
    PV_PRICE_USD_PER_KWP,
    SERVER_PRICE_USD_PER_NODE,
    TOWER_CYCLES_OF_CONCENTRATION,
    TOWER_LATENT_FRACTION,
    WATER_DENSITY_KG_PER_L,
    WUE_L_PER_KWH,
    YEAR_S,
)
from sim.units import HOUR, J_PER_KWH, W_PER_KW

if TYPE_CHECKING:
    from sim.spec.costs import CostsConfig

@dataclass(frozen=True)
class CapitalCosts:
    """What is installed, what it cost (currency), and how long it lasts (s)."""

    accelerators: int
    nodes: int
    it_capacity_w: float
    accelerator_price: float = DEFAULT_ACCELERATOR_PRICE_USD
    server_price_per_node: float = SERVER_PRICE_USD_PER_NODE
    network_fraction: float = NETWORK_FRACTION
    facility_price_per_mw_it: float = FACILITY_PRICE_USD_PER_MW_IT
    pv_kwp: float = 0.0
    pv_price_per_kwp: float = PV_PRICE_USD_PER_KWP
    battery_kwh: float = 0.0
    battery_price_per_kwh: float = BATTERY_PRICE_USD_PER_KWH
    it_lifetime_s: float = IT_LIFETIME_S
    facility_lifetime_s: float = FACILITY_LIFETIME_S
    pv_lifetime_s: float = PV_LIFETIME_S
    battery_lifetime_s: float = BATTERY_LIFETIME_S

    def purchase(self) -> dict[str, float]:
        """Purchase price of each item (currency)."""
        acc = self.accelerators * self.accelerator_price
        srv = self.nodes * self.server_price_per_node
        return {
            "accelerators": acc,
            "servers": srv,
            "network": self.network_fraction * (acc + srv),
            "facility": self.facility_price_per_mw_it * self.it_capacity_w / 1e6,
            "pv": self.pv_kwp * self.pv_price_per_kwp,
            "battery": self.battery_kwh * self.battery_price_per_kwh,
        }

    def lifetimes_s(self) -> dict[str, float]:
        it = self.it_lifetime_s
        return {"accelerators": it, "servers": it, "network": it, "facility": self.facility_lifetime_s,
                "pv": self.pv_lifetime_s, "battery": self.battery_lifetime_s}

    def amortised(self, duration_s: float) -> dict[str, float]:
        """Each item's straight-line share of its purchase over a run of ``duration_s`` (currency)."""
        life = self.lifetimes_s()
        return {k: v * duration_s / life[k] for k, v in self.purchase().items()}


@dataclass(frozen=True)
class EmbodiedCarbon:
    """Life-cycle (manufacturing) emissions, kgCO2e, and the life they are spread over (s)."""

    accelerators: int
    nodes: int
    kg_per_accelerator: float = EMBODIED_KG_PER_ACCELERATOR
    kg_per_server: float = EMBODIED_KG_PER_SERVER
    lifetime_s: float = EMBODIED_LIFETIME_S

    def total_kg(self) -> dict[str, float]:
        return {"accelerators": self.accelerators * self.kg_per_accelerator,
                "servers": self.nodes * self.kg_per_server}

    def amortised_kg(self, duration_s: float) -> dict[str, float]:
        return {k: v * duration_s / self.lifetime_s for k, v in self.total_kg().items()}


def embodied_per_busy_accelerator_hour(kg_per_accelerator: float, kg_per_server: float,
                                       accelerators_per_server: int, lifetime_s: float,
                                       utilization: float) -> float:
    """kgCO2e per busy accelerator-hour, as Luccioni et al. 2023 amortise it (life x utilization)."""
    per_acc = kg_per_accelerator + kg_per_server / accelerators_per_server
    return per_acc / (lifetime_s / HOUR * utilization)


def demand_charge(edges_s: np.ndarray, grid_import_w: np.ndarray, start: pd.Timestamp,
                  rate_per_kw_month: float, interval_s: float = DEMAND_INTERVAL_S) -> tuple[float, float]:
    """(charge in currency, highest interval-mean import in kW) for a run.

    ``grid_import_w[k]`` is the constant import over ``[edges_s[k], edges_s[k+1])``. Per calendar
    month (UTC) of the run: rate x the month's highest ``interval_s``-mean import, times the
    fraction of that month the run covers."""
    edges = np.asarray(edges_s, dtype=float)
    power = np.asarray(grid_import_w, dtype=float)
    if len(power) == 0 or edges[-1] <= edges[0]:
        return 0.0, 0.0
    cum = np.concatenate([[0.0], np.cumsum(power * np.diff(edges))])
    grid = np.arange(edges[0], edges[-1] + interval_s, interval_s)
    grid = np.minimum(grid, edges[-1])
    grid = np.unique(grid)
    energy = np.interp(grid, edges, cum)
    widths = np.diff(grid)
    means_w = np.diff(energy) / np.where(widths > 0, widths, 1.0)
    t0 = pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    stamps = t0 + pd.to_timedelta(grid[:-1], unit="s")
    months = stamps.tz_localize(None).to_period("M")
    charge, peak_kw = 0.0, 0.0
    run_start, run_end = t0, t0 + pd.Timedelta(seconds=float(edges[-1]))
    for month in months.unique():
        sel = months == month
        peak = float(np.max(means_w[sel])) / W_PER_KW
        m0 = month.start_time.tz_localize("UTC")
        m1 = (month + 1).start_time.tz_localize("UTC")
        covered = (min(run_end, m1) - max(run_start, m0)).total_seconds() / (m1 - m0).total_seconds()
        charge += rate_per_kw_month * peak * covered
        peak_kw = max(peak_kw, peak)
    return charge, peak_kw


@dataclass(frozen=True)
class WaterModel:
    """On-site water by a cooling tower (``tower``) or a WUE (``dry``, ``adiabatic``, ``wue``)."""

    kind: str = "tower"
    wue_l_per_kwh: float | None = None
    cycles_of_concentration: float = TOWER_CYCLES_OF_CONCENTRATION
    latent_fraction: float = TOWER_LATENT_FRACTION
    offsite_l_per_kwh: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("tower", "dry", "adiabatic", "wue"):
            raise ValueError(f"costs.water.kind: {self.kind!r} is not allowed: tower, dry, adiabatic or wue")
        if self.kind == "wue" and self.wue_l_per_kwh is None:
            raise ValueError("costs.water.wue_l_per_kwh: needed when kind is wue")
        if self.cycles_of_concentration <= 1.0:
            raise ValueError(f"costs.water.cycles_of_concentration: {self.cycles_of_concentration!r} is not"
                             " allowed: more than 1")

    def onsite_l(self, heat_rejected_j: float, it_energy_j: float) -> dict[str, float]:
        """On-site water (L) split into evaporation and blowdown (tower) or one WUE figure."""
        if self.kind == "tower":
            evap_kg = self.latent_fraction * heat_rejected_j / LATENT_HEAT_J_PER_KG
            blow_kg = evap_kg / (self.cycles_of_concentration - 1.0)
            return {"evaporation_l": evap_kg / WATER_DENSITY_KG_PER_L,
                    "blowdown_l": blow_kg / WATER_DENSITY_KG_PER_L}
        wue = self.wue_l_per_kwh if self.wue_l_per_kwh is not None else WUE_L_PER_KWH[self.kind]
        return {"evaporation_l": wue * it_energy_j / J_PER_KWH, "blowdown_l": 0.0}

    def offsite_l(self, grid_import_j: float) -> float:
        if self.offsite_l_per_kwh is None:
            return math.nan
        return self.offsite_l_per_kwh * grid_import_j / J_PER_KWH


@dataclass(frozen=True)
class CostTotals:
    """The cost of a run by item (currency), with the accelerator-hours it is spread over."""

    currency: str
    items: dict[str, float]
    installed_accelerator_hours: float
    busy_accelerator_hours: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(self.items.values()))

    def per_accelerator_hour(self) -> float:
        h = self.installed_accelerator_hours
        return self.total / h if h > 0 else math.nan

    def per_busy_accelerator_hour(self) -> float:
        h = self.busy_accelerator_hours
        return self.total / h if h > 0 else math.nan

    def job_share(self, job_accelerator_hours: float) -> float:
        """A job's cost: the total times its share of the busy accelerator-hours."""
        h = self.busy_accelerator_hours
        return self.total * job_accelerator_hours / h if h > 0 else 0.0


def run_costs(capital: CapitalCosts, duration_s: float, currency: str, energy_cost: float,
              ppa_kwh: float, ppa_price_per_kwh: float, demand_charge_cost: float,
              busy_accelerator_hours: float) -> CostTotals:
    """Every cost item of a run: amortised capital + energy + PPA + demand charges."""
    items = {f"capex_{k}": v for k, v in capital.amortised(duration_s).items()}
    items["energy"] = float(energy_cost)
    items["ppa"] = float(ppa_kwh * ppa_price_per_kwh)
    items["demand_charges"] = float(demand_charge_cost)
    return CostTotals(
        currency=currency,
        items=items,
        installed_accelerator_hours=capital.accelerators * duration_s / HOUR,
        busy_accelerator_hours=float(busy_accelerator_hours),
    )


@dataclass(frozen=True)
class FootprintInputs:
    """What a finished run hands to ``footprint``: what was installed and what flowed."""

    duration_s: float
    start: pd.Timestamp
    currency: str
    accelerators: dict[str, int]
    """Accelerator catalog key -> count installed."""
    nodes: int
    it_capacity_w: float
    pv_kwp: float
    battery_kwh: float
    energy_cost: float
    ppa_kwh: float
    step_edges_s: np.ndarray
    grid_import_w: np.ndarray
    """Mean grid import of each plant step."""
    busy_accelerator_hours: float
    heat_rejected_j: float
    it_energy_j: float
    grid_import_j: float
    operational_carbon_kg: float


FOOTPRINT_KEYS: dict[str, tuple[str, str]] = {
    "currency": ("-", "currency of every cost (supply.grid.currency; the defaults are USD)"),
    **{f"cost_capex_{k}": ("currency", f"{k} purchase x run time / lifetime (straight line)")
       for k in ("accelerators", "servers", "network", "facility", "pv", "battery")},
    "cost_energy": ("currency", "grid energy: import x price - export x export price"),
    "cost_ppa": ("currency", "PPA energy x costs.ppa_price_per_kwh"),
    "cost_demand_charges": ("currency", "per month: rate x highest 15-min mean import, pro rata to the month"),
    "cost_total": ("currency", "amortised capital + energy + PPA + demand charges"),
    "cost_per_accelerator_hour": ("currency/h", "cost_total / (accelerators installed x run hours)"),
    "cost_per_busy_accelerator_hour": ("currency/h", "cost_total / accelerator-hours that ran jobs"),
    "grid_demand_peak_kw": ("kW", "highest 15-min mean grid import (what demand charges bill)"),
    "embodied_carbon_kg": ("kg CO2e", "manufacturing emissions of accelerators and servers x run time / lifetime"),
    "total_carbon_kg": ("kg CO2e", "operational (carbon_kg) + embodied carbon"),
    "water_onsite_l": ("L", "on-site water: tower evaporation + blowdown, or WUE x IT energy"),
    "water_evaporation_l": ("L", "tower evaporation (0.90 x heat rejected / latent heat), or WUE x IT energy"),
    "water_blowdown_l": ("L", "tower blowdown: evaporation / (cycles of concentration - 1)"),
    "water_offsite_l": ("L", "grid import x the grid's water intensity (NaN unless costs.water.offsite_l_per_kwh)"),
}
"""Summary keys of ``footprint``, unit and meaning (the docs table is generated from them)."""


def accelerator_price(key: str) -> float:
    """Default purchase price (USD) of a catalog accelerator."""
    return ACCELERATOR_PRICE_USD.get(key, DEFAULT_ACCELERATOR_PRICE_USD)


def footprint(cfg: CostsConfig, x: FootprintInputs) -> tuple[dict[str, Any], CostTotals, float]:
    """(summary keys of ``FOOTPRINT_KEYS``, the cost totals, embodied kg) of a run under ``cfg``."""
    n_acc = sum(x.accelerators.values())
    if cfg.accelerator_price is not None:
        acc_price = cfg.accelerator_price
    else:
        acc_price = sum(accelerator_price(k) * n for k, n in x.accelerators.items()) / n_acc if n_acc else 0.0
    capital = CapitalCosts(
        accelerators=n_acc, nodes=x.nodes, it_capacity_w=x.it_capacity_w, accelerator_price=acc_price,
        server_price_per_node=cfg.server_price_per_node, network_fraction=cfg.network_fraction,
        facility_price_per_mw_it=cfg.facility_price_per_mw_it, pv_kwp=x.pv_kwp,
        pv_price_per_kwp=cfg.pv_price_per_kwp, battery_kwh=x.battery_kwh,
        battery_price_per_kwh=cfg.battery_price_per_kwh, it_lifetime_s=cfg.it_lifetime_years * YEAR_S,
        facility_lifetime_s=cfg.facility_lifetime_years * YEAR_S, pv_lifetime_s=cfg.pv_lifetime_years * YEAR_S,
        battery_lifetime_s=cfg.battery_lifetime_years * YEAR_S,
    )
    demand_cost, peak_kw = demand_charge(x.step_edges_s, x.grid_import_w, x.start, cfg.demand_charge_per_kw_month)
    totals = run_costs(capital, x.duration_s, x.currency, x.energy_cost, x.ppa_kwh, cfg.ppa_price_per_kwh,
                       demand_cost, x.busy_accelerator_hours)
    embodied = EmbodiedCarbon(n_acc, x.nodes, cfg.embodied_kg_per_accelerator, cfg.embodied_kg_per_server,
                              cfg.embodied_lifetime_years * YEAR_S)
    embodied_kg = float(sum(embodied.amortised_kg(x.duration_s).values()))
    w = cfg.water
    water = WaterModel(w.kind, w.wue_l_per_kwh, w.cycles_of_concentration, TOWER_LATENT_FRACTION,
                       w.offsite_l_per_kwh)
    onsite = water.onsite_l(x.heat_rejected_j, x.it_energy_j)
    out: dict[str, Any] = {"currency": x.currency}
    out.update({f"cost_{k}": v for k, v in totals.items.items()})
    out["cost_total"] = totals.total
    out["cost_per_accelerator_hour"] = totals.per_accelerator_hour()
    out["cost_per_busy_accelerator_hour"] = totals.per_busy_accelerator_hour()
    out["grid_demand_peak_kw"] = peak_kw
    out["embodied_carbon_kg"] = embodied_kg
    out["total_carbon_kg"] = x.operational_carbon_kg + embodied_kg
    out["water_evaporation_l"] = onsite["evaporation_l"]
    out["water_blowdown_l"] = onsite["blowdown_l"]
    out["water_onsite_l"] = onsite["evaporation_l"] + onsite["blowdown_l"]
    out["water_offsite_l"] = water.offsite_l(x.grid_import_j)
    return out, totals, embodied_kg
