"""What the plant loop expects of a cooling model and of a supply model.

The plant loop (`sim/engine/plant_loop.py`) closes one step `[t0, t1)` at a time: it reads
the exact IT energy of that step from the ledger, asks the cooling model for
the overhead of carrying that heat, asks the supply model where the facility
power came from, and books every answer into the ledger as a constant segment
over `[t0, t1)`. Nothing here lags by a step.

Both models are plain classes built once per run; these Protocols are the
whole contract between them and the engine.

Optional fast path (a model may offer it; the built-in ones do, a plug-in need not):

- ``step_series(edges_s, it_energy_j, zone_it_energy_j=None) -> CoolingSeries`` and
  ``step_series(edges_s, demand_w) -> SupplySeries``: the answers of ``step`` for the
  consecutive steps ``[edges[k], edges[k+1])`` in one call (numpy arrays, one value per
  step), advancing the model's state exactly as calling ``step`` for each would;
- ``limits_fixed(it_max_w) -> bool`` (cooling): True when, for every IT power up to
  ``it_max_w``, the thermal limits it returns and every reading a scheduler may take
  live (``zone_temp_c``) keep their initial values (no limit, the same readings) over
  the whole run.

When the cooling model says ``limits_fixed`` for the facility's whole IT nameplate,
nothing the plant computes feeds back into the run, so the plant loop steps nothing
during the run and evaluates every step at the end, from the ledger's exact IT energy
per step, through ``step_series`` (or ``step`` one step at a time where a model has
no series method). Otherwise it calls ``step`` at every step during the run, as a
model without the fast path always gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class CoolingStep:
    """Mean values over one plant step.

    power_w: cooling power by part, e.g. {"chiller": ..., "fans": ...}; each
        part becomes a ledger channel `cooling:<part>` in category `cooling`.
    losses_w: power-distribution losses (UPS, PDU), category `losses`.
    state: instantaneous or mean readings recorded as time series, names with
        units, e.g. {"outdoor_temp_c": 21.0, "hall_temp_c": 24.3}.
    accelerator_cap_fraction: thermal limit on accelerator power as a fraction
        of TDP (1.0 = no throttling). The engine applies it through the same
        power-cap mechanism that scenario power caps use.
    free_cooling_fraction: share of the step's heat removed without
        mechanical cooling, 0..1.
    zone_cap_fraction: with several thermal zones, the limit of each zone,
        applied only to the accelerators of that zone's nodes
        (`accelerator_cap_fraction` is then their minimum, for reporting);
        None: one limit for all.
    """

    power_w: dict[str, float]
    losses_w: float = 0.0
    state: dict[str, float] = field(default_factory=dict)
    accelerator_cap_fraction: float = 1.0
    free_cooling_fraction: float = 0.0
    zone_cap_fraction: tuple[float, ...] | None = None


@dataclass(frozen=True)
class CoolingSeries:
    """`CoolingStep`s of consecutive steps as columns (one array element per step).

    zone_cap_fraction: shape (steps, zones), or None with one limit for all.
    """

    power_w: dict[str, np.ndarray]
    losses_w: np.ndarray
    state: dict[str, np.ndarray]
    accelerator_cap_fraction: np.ndarray
    free_cooling_fraction: np.ndarray
    zone_cap_fraction: np.ndarray | None = None


class CoolingModel(Protocol):
    def step(self, t0: float, t1: float, it_energy_j: float,
             zone_it_energy_j: list[float] | None = None) -> CoolingStep:
        """Overhead of removing `it_energy_j` of heat released in [t0, t1).

        A model with `zones` > 1 (an attribute; absent = 1) also gets the
        energy of the nodes (accelerators + hosts) of each zone in the step;
        the rest of `it_energy_j` (network, background) is not zoned.
        """
        ...

    def config(self) -> dict[str, Any]:
        """Static description written to the run manifest."""
        ...


@dataclass(frozen=True)
class SupplyStep:
    """Mean flows over one plant step, all in W, plus rates of carbon and cost.

    flows_w keys used by the engine and the reports (absent = 0):
        grid_import_w, grid_export_w, pv_w, wind_w, renewable_used_w,
        curtailed_w, battery_charge_w, battery_discharge_w, ppa_w.
    Balance each step: grid_import + renewable_used + battery_discharge
        = demand + battery_charge (+ grid_export is taken from renewables).
    carbon_g_per_s: location-based emissions rate of the grid import.
    cost_per_s: money per second (currency of the price signal).
    state: readings such as battery_soc_kwh, carbon_intensity_g_per_kwh,
        price_per_kwh.
    """

    flows_w: dict[str, float]
    carbon_g_per_s: float
    cost_per_s: float
    state: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SupplySeries:
    """`SupplyStep`s of consecutive steps as columns (one array element per step)."""

    flows_w: dict[str, np.ndarray]
    carbon_g_per_s: np.ndarray
    cost_per_s: np.ndarray
    state: dict[str, np.ndarray] = field(default_factory=dict)


class SupplyModel(Protocol):
    def background_energy_j(self, t0: float, t1: float) -> float:
        """Energy of a measured load already in the building over [t0, t1)."""
        ...

    def step(self, t0: float, t1: float, demand_w: float) -> SupplyStep:
        """Serve a constant facility demand over [t0, t1)."""
        ...

    def config(self) -> dict[str, Any]:
        ...
