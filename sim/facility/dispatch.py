"""Battery dispatch: how much to discharge, and how much to charge from the grid, each step.

A ``Dispatch`` has one method, ``decide(situation) -> (charge_from_grid_w,
discharge_w)``: the *requested* powers for one plant step. ``sim.facility.supply.Supply``
keeps the balance in one place: it has already put surplus renewables into
the battery (``charge_max_w`` is the room left after that), then clips the
request to the battery's limits, discharges to keep import under
``grid.import_limit_kw``, charges from the grid only in a step that does not
discharge and never above the import limit, and books every flow.

The scenario names a policy with ``supply.battery.dispatch``: a registered
name (below) or a user's ``"package.module:Class"``. A class is built as
``Class(**battery.dispatch_options)``; a class that also reads the older
battery keys (``peak_kw``, ``clean_quantile``, ...) defines a classmethod
``from_battery(battery, grid, options)`` and is built by it instead.

Built-ins (the policies wattsim has always had, unchanged):

- ``self-consumption``: discharge to cover whatever demand renewables do not;
- ``peak-shaving``: keep grid import at or below ``battery.peak_kw`` (default
  ``grid.import_limit_kw``): discharge above it, recharge from the grid below;
- ``carbon-aware``: on the *forecast* of grid carbon intensity over
  ``battery.horizon`` (never the actual future), charge from the grid when the
  current intensity is at or below the forecast's ``clean_quantile``,
  discharge when it is at or above ``dirty_quantile``, otherwise hold.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Protocol, runtime_checkable

from sim.registry import REGISTRIES
from sim.units import W_PER_KW


class DispatchSituation(NamedTuple):
    """What a dispatch policy sees in one plant step ``[t0_s, t0_s + dt_s)`` (W, s, g/kWh).

    A named tuple: built every step, it must cost little (a frozen dataclass costs ~3x more)."""

    t0_s: float
    dt_s: float
    net_demand_w: float
    """demand the on-site renewables do not cover."""
    surplus_w: float
    """renewables left after serving the load and charging the battery."""
    charge_max_w: float
    """how much more the battery can take this step (after the renewable charge)."""
    discharge_max_w: float
    """how much the battery can deliver this step (power and stored energy)."""
    carbon_g_per_kwh: float
    """mean grid carbon intensity over the step."""
    import_limit_w: float
    """``grid.import_limit_kw`` in W; inf when none."""
    carbon_signal: Any
    """the grid carbon signal; read it only through ``forecast``."""

    def forecast(self, horizon_s: float, resolution_s: float) -> Any:
        """The carbon forecast issued at ``t0_s`` (``sim.facility.signals`` Forecast: ``values``, ``quantile(q)``)."""
        return self.carbon_signal.forecast(self.t0_s, horizon_s, resolution_s)


@runtime_checkable
class Dispatch(Protocol):
    """Decides the battery's requested (charge from grid W, discharge W) for one step."""

    def decide(self, s: DispatchSituation) -> tuple[float, float]: ...


DISPATCH_POLICIES = REGISTRIES["dispatch"]
register_dispatch = DISPATCH_POLICIES.register
resolve_dispatch = DISPATCH_POLICIES.resolve


def build_dispatch(name: str, options: dict[str, Any], battery: Any, grid: Any) -> Dispatch:
    """An instance of the named policy for this battery and grid."""
    cls = resolve_dispatch(name)
    from_battery = getattr(cls, "from_battery", None)
    if from_battery is not None:
        return from_battery(battery, grid, dict(options))
    return cls(**options)


class SelfConsumption:
    """Discharge to cover the demand renewables leave; never charge from the grid."""

    def decide(self, s: DispatchSituation) -> tuple[float, float]:
        return 0.0, min(s.net_demand_w, s.discharge_max_w)


class PeakShaving:
    """Hold grid import at ``peak_w``: discharge above it, recharge from the grid below it."""

    def __init__(self, peak_w: float) -> None:
        self.peak_w = peak_w

    @classmethod
    def from_battery(cls, battery: Any, grid: Any, options: dict[str, Any]) -> PeakShaving:
        peak_kw = options.pop("peak_kw", battery.peak_kw if battery.peak_kw is not None else grid.import_limit_kw)
        if options:
            raise ValueError(f"supply.battery.dispatch_options: peak-shaving takes peak_kw only, not {sorted(options)}")
        if peak_kw is None:
            raise ValueError("supply.battery.dispatch peak-shaving needs battery.peak_kw or grid.import_limit_kw")
        return cls(peak_kw * W_PER_KW)

    def decide(self, s: DispatchSituation) -> tuple[float, float]:
        net = s.net_demand_w
        if net > self.peak_w:
            return 0.0, min(net - self.peak_w, s.discharge_max_w)
        return self.peak_w - net, 0.0


class CarbonAware:
    """Charge from the grid when it is forecast clean, discharge when dirty, else hold."""

    def __init__(self, horizon_s: float, resolution_s: float, clean_quantile: float, dirty_quantile: float) -> None:
        self.horizon_s, self.resolution_s = horizon_s, resolution_s
        self.clean_quantile, self.dirty_quantile = clean_quantile, dirty_quantile

    @classmethod
    def from_battery(cls, battery: Any, grid: Any, options: dict[str, Any]) -> CarbonAware:
        if options:
            raise ValueError(f"supply.battery.dispatch_options: carbon-aware takes none (it reads battery.horizon, "
                             f"forecast_resolution, clean_quantile, dirty_quantile), not {sorted(options)}")
        return cls(battery.horizon, battery.forecast_resolution, battery.clean_quantile, battery.dirty_quantile)

    def decide(self, s: DispatchSituation) -> tuple[float, float]:
        fc = s.forecast(self.horizon_s, self.resolution_s)
        lo, hi = fc.quantile(self.clean_quantile), fc.quantile(self.dirty_quantile)
        if not hi > lo:  # a flat outlook: nothing to gain, hold
            return 0.0, 0.0
        ci = s.carbon_g_per_kwh
        if ci <= lo:
            return math.inf, 0.0
        if ci >= hi:
            return 0.0, min(s.net_demand_w, s.discharge_max_w)
        return 0.0, 0.0
