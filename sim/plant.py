"""The plant loop: cooling, on-site supply and the grid, stepped together.

One SimPy process closes a step `[t0, t1)` every `plant.step` seconds (and a
last partial step at the end of the run). For each step it

1. books the measured background load of the building (if any),
2. reads the exact IT energy of the step from the ledger (the heat load),
3. asks the cooling model for cooling and distribution-loss power,
4. asks the supply model how the facility demand was met,
5. books all of it as constant segments over `[t0, t1)` (back-dated, so
   nothing lags a step), and records readings (temperatures, state of charge,
   carbon intensity) as level channels,
6. passes a thermal limit on accelerator power back to the engine, which
   applies it from `t1` on through the power-cap mechanism.

Whatever is exact inside a step stays exact: the IT energy is the ledger's
integral, not a sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.plant_api import CoolingModel, SupplyModel

if TYPE_CHECKING:
    import simpy

    from sim.meter import Meter

#: ledger categories whose energy is IT load (the heat the plant removes)
IT_CATEGORIES = ("accelerator", "host", "network", "background")


class Plant:
    def __init__(
        self,
        env: simpy.Environment,
        meter: Meter,
        cooling: CoolingModel,
        supply: SupplyModel,
        step_s: float,
        on_thermal_limit: Callable[[float], None],
    ) -> None:
        self.env = env
        self.meter = meter
        self.cooling = cooling
        self.supply = supply
        self.step_s = step_s
        self._on_thermal_limit = on_thermal_limit
        self._channels: dict[str, int] = {}
        self._t_last = 0.0
        self._it_cum_j = 0.0
        self._cap_fraction = 1.0
        self.steps = 0
        self._background = meter.channel("background", "background")

    def _ch(self, name: str, category: str, quantity: str) -> int:
        ch = self._channels.get(name)
        if ch is None:  # opened at the start of the step it is first booked for
            ch = self.meter.channel(name, category, quantity=quantity, t=self._t_last)
            self._channels[name] = ch
        return ch

    def run(self):
        """SimPy process: close a step every `step_s` seconds."""
        while True:
            yield self.env.timeout(self.step_s)
            self.close_step(self.env.now)

    def close_step(self, t1: float) -> None:
        t0 = self._t_last
        dt = t1 - t0
        if dt <= 0:
            return
        m = self.meter
        bg_j = self.supply.background_energy_j(t0, t1)
        m.set(self._background, bg_j / dt, t0)
        it_cum = sum(m.category_integral(c, t1) for c in IT_CATEGORIES)
        it_j = it_cum - self._it_cum_j
        self._it_cum_j = it_cum
        cs = self.cooling.step(t0, t1, it_j)
        overhead_w = 0.0
        for part, watts in cs.power_w.items():
            m.set(self._ch(f"cooling:{part}", "cooling", "power_w"), watts, t0)
            overhead_w += watts
        m.set(self._ch("losses", "losses", "power_w"), cs.losses_w, t0)
        demand_w = it_j / dt + overhead_w + cs.losses_w
        ss = self.supply.step(t0, t1, demand_w)
        for flow, watts in ss.flows_w.items():
            name = flow[:-2] if flow.endswith("_w") else flow
            m.set(self._ch(name, "supply", "flow_w"), watts, t0)
        m.set(self._ch("carbon_g", "carbon", "rate"), ss.carbon_g_per_s, t0)
        m.set(self._ch("cost", "cost", "rate"), ss.cost_per_s, t0)
        for key, value in {**cs.state, **ss.state}.items():
            m.set(self._ch(key, "state", "level"), value, t0)
        m.set(self._ch("free_cooling_fraction", "state", "level"), cs.free_cooling_fraction, t0)
        m.set(self._ch("accelerator_cap_fraction", "state", "level"), self._cap_fraction, t0)
        self._t_last = t1
        self.steps += 1
        if cs.accelerator_cap_fraction != self._cap_fraction:
            self._cap_fraction = cs.accelerator_cap_fraction
            self._on_thermal_limit(cs.accelerator_cap_fraction)
