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

With several thermal zones (`cooling.zones` > 1) step 2 also reads the IT
energy of each zone's nodes from the ledger's per-(category, zone) running
integrals (O(zones) per step, never per channel), and step 6 passes one limit
per zone.

Whatever is exact inside a step stays exact: the IT energy is the ledger's
integral, not a sample.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import NORMAL, Event

from sim.engine.contracts import CoolingModel, SupplyModel

if TYPE_CHECKING:
    import simpy

    from sim.engine.meter import Meter

#: plant steps whose background energy is computed in one vectorised call
_BG_CHUNK = 4096


class Plant:
    """Steps cooling and supply; keeps their per-step values and books them exactly.

    During the run the plant appends each step's numbers to a flat float array;
    `flush` books them into the ledger as step series (`Meter.set_series`),
    exactly as if `Meter.set` had been called at every step, at a fraction of
    the cost. The IT energy it reads during the run is live ledger data; the
    plant's own categories (cooling, losses, supply, carbon, cost, state) are
    complete after `flush`.
    """

    def __init__(
        self,
        env: simpy.Environment,
        meter: Meter,
        cooling: CoolingModel,
        supply: SupplyModel,
        step_s: float,
        on_thermal_limit: Callable[..., None],
    ) -> None:
        self.env = env
        self.meter = meter
        self.cooling = cooling
        self.supply = supply
        self.step_s = step_s
        self._on_thermal_limit = on_thermal_limit
        # one flat float array per run of steps with the same keys (no objects kept per step)
        self._segments: list[tuple[tuple, array]] = []
        self._layout: tuple | None = None
        self._n_steps = 0
        self._t_last = 0.0
        self._it_cum_j = 0.0
        self._cap_fraction = 1.0
        # accelerators busy while a thermal limit holds (throttled accelerator-hours)
        self._busy_ch = meter.index("busy_accelerators") if meter.has("busy_accelerators") else None
        self._busy_cum = 0.0
        # thermal zones: running integrals of (accelerator, host, node_busy) per zone
        self._zones = int(getattr(cooling, "zones", 1))
        self._zone_caps: tuple[float, ...] | None = None
        if self._zones > 1:
            self._zone_groups = [meter.group_index(c, z) for z in range(self._zones)
                                 for c in ("accelerator", "host", "node_busy")]
            self._zone_cum = [0.0] * len(self._zone_groups)
        self.energy_j: dict[str, float] = {}
        # measured background energy of the steps ahead, computed in vectorised chunks
        self._bg_edges: list[float] | None = None
        self._bg_values: list[float] = []
        self._bg_pos = 0

    def _background_j(self, t0: float, t1: float) -> float:
        """The measured background energy of [t0, t1), from a vectorised chunk where the step is regular.

        A supply model with `background_energy_series_j(edges)` (optional, sim.facility.supply
        has it) is asked once per `_BG_CHUNK` steps for the steps ahead, on the same edges the
        loop reaches (t0 + step, + step, ... added one at a time, as SimPy does); the same
        integrals as one `background_energy_j` call per step, without a numpy call per step.
        """
        j = self._bg_pos
        edges = self._bg_edges
        if edges is not None and j + 1 < len(edges) and edges[j] == t0 and edges[j + 1] == t1:
            self._bg_pos = j + 1
            return self._bg_values[j]
        series = getattr(self.supply, "background_energy_series_j", None)
        if series is None or t1 - t0 != self.step_s:
            return self.supply.background_energy_j(t0, t1)
        steps = np.full(_BG_CHUNK + 1, self.step_s)
        steps[0] = t0
        edges_arr = np.add.accumulate(steps)  # sequential: the times SimPy's repeated timeouts reach
        self._bg_edges = edges_arr.tolist()
        self._bg_values = np.asarray(series(edges_arr), dtype=float).tolist()
        if self._bg_edges[1] != t1:
            self._bg_edges = None
            return self.supply.background_energy_j(t0, t1)
        self._bg_pos = 1
        return self._bg_values[0]

    def run(self):
        """SimPy process: close a step every `step_s` seconds.

        Steps that end before the next event in SimPy's queue are closed at once, without an
        event each: nothing can change the IT power inside them, so the ledger's integrals to
        their ends are already final. A step whose thermal limit changes is applied at its
        exact end time (an event at that instant), as when each step had its own event.
        """
        env = self.env
        step = self.step_s
        yield env.timeout(step)
        while True:
            t = env.now
            limit = self.close_step(t, apply=False)
            if limit is not None:
                self._on_thermal_limit(*limit)
            t1 = t + step  # the time a timeout(step) reaches
            poll = getattr(env, "poll", None)  # CountingEnvironment: wall-clock limit, progress
            n = 0
            while t1 < env.peek() < math.inf:
                n += 1
                if poll is not None and not n & 255:
                    poll(t1)
                limit = self.close_step(t1, apply=False)
                if limit is not None:  # apply it at t1 itself: wait for that instant
                    yield self._at(t1)
                    self._on_thermal_limit(*limit)
                t1 = t1 + step
            yield self._at(t1)

    def _at(self, t: float) -> Event:
        """An event at exactly `t` (what env.timeout(t - now) reaches when now + step = t)."""
        env = self.env
        ev = Event(env)
        ev._ok = True
        ev._value = None
        heapq.heappush(env._queue, (t, NORMAL, next(env._eid), ev))  # as Environment.schedule does
        return ev

    def close_step(self, t1: float, apply: bool = True) -> tuple | None:
        t0 = self._t_last
        dt = t1 - t0
        if dt <= 0:
            return None
        m = self.meter
        bg_j = self._background_j(t0, t1)
        it_cum = m.category_integral("accelerator", t1) + m.category_integral("host", t1) \
            + m.category_integral("network", t1)
        it_j = it_cum - self._it_cum_j + bg_j
        self._it_cum_j = it_cum
        zone_busy = None
        if self._zones > 1:
            cum = m.group_integrals(self._zone_groups, t1)
            d = [a - b for a, b in zip(cum, self._zone_cum)]
            self._zone_cum = cum
            zone_busy = d[2::3]
            cs = self.cooling.step(t0, t1, it_j, [a + h for a, h in zip(d[0::3], d[1::3])])
        else:
            cs = self.cooling.step(t0, t1, it_j)
        demand_w = it_j / dt + sum(cs.power_w.values()) + cs.losses_w
        ss = self.supply.step(t0, t1, demand_w)
        layout = (tuple(cs.power_w), tuple(cs.state), tuple(ss.flows_w), tuple(ss.state))
        if layout != self._layout:  # rare: a model changed the keys it reports
            self._layout = layout
            self._segments.append((layout, array("d")))
        buf = self._segments[-1][1]
        throttled = 0.0  # mean accelerators that ran under the thermal limit in this step
        if self._busy_ch is not None:
            busy_cum = m.integral(self._busy_ch, t1)
            if self._cap_fraction < 1.0:
                throttled = (busy_cum - self._busy_cum) / dt
                if zone_busy is not None and self._zone_caps is not None:  # only throttled zones
                    throttled = sum(b for b, f in zip(zone_busy, self._zone_caps) if f < 1.0) / dt
            self._busy_cum = busy_cum
        buf.extend((t0, bg_j / dt, self._cap_fraction, throttled, cs.losses_w, cs.free_cooling_fraction,
                    ss.carbon_g_per_s, ss.cost_per_s))
        buf.extend(cs.power_w.values())
        buf.extend(cs.state.values())
        buf.extend(ss.flows_w.values())
        buf.extend(ss.state.values())
        self._n_steps += 1
        self._t_last = t1
        limit: tuple | None = None
        if cs.zone_cap_fraction is not None or self._zone_caps is not None:
            if cs.zone_cap_fraction != self._zone_caps:
                self._cap_fraction = cs.accelerator_cap_fraction
                self._zone_caps = cs.zone_cap_fraction
                limit = (cs.accelerator_cap_fraction, cs.zone_cap_fraction)
        elif cs.accelerator_cap_fraction != self._cap_fraction:
            self._cap_fraction = cs.accelerator_cap_fraction
            limit = (cs.accelerator_cap_fraction,)
        if limit is not None and apply:
            self._on_thermal_limit(*limit)
            return None
        return limit

    @property
    def steps(self) -> int:
        return self._n_steps

    def flush(self) -> None:
        """Book every recorded step into the ledger (once, at the end of the run)."""
        if not self._n_steps:
            return
        fixed = [
            ("background", "background", "power_w"),
            ("accelerator_cap_fraction", "state", "level"),
            ("throttled_accelerators", "state", "level"),
            ("losses", "losses", "power_w"),
            ("free_cooling_fraction", "state", "level"),
            ("carbon_g", "carbon", "rate"),
            ("cost", "cost", "rate"),
        ]
        columns: dict[str, tuple[str, str, list[np.ndarray]]] = {}
        starts_parts = []
        filled = 0
        for (power, cstate, flows, sstate), buf in self._segments:
            names = fixed + [(f"cooling:{k}", "cooling", "power_w") for k in power]
            names += [(k, "state", "level") for k in cstate]
            names += [(k[:-2] if k.endswith("_w") else k, "supply", "flow_w") for k in flows]
            names += [(k, "state", "level") for k in sstate]
            table = np.frombuffer(buf, dtype=np.float64).reshape(-1, len(names) + 1)
            starts_parts.append(table[:, 0])
            for j, (name, category, quantity) in enumerate(names, start=1):
                col = columns.setdefault(name, (category, quantity, []))[2]
                if sum(len(c) for c in col) < filled:  # absent in earlier segments: 0 there
                    col.append(np.zeros(filled - sum(len(c) for c in col)))
                if sum(len(c) for c in col) == filled + len(table):
                    continue  # the same reading from both models: keep the first
                col.append(table[:, j])
            filled += len(table)
        starts = np.concatenate(starts_parts)
        for name, (category, quantity, parts) in columns.items():
            have = sum(len(c) for c in parts)
            values = np.concatenate(parts + [np.zeros(len(starts) - have)])
            ch = self.meter.channel(name, category, quantity=quantity, t=0.0)
            self.meter.set_series(ch, starts, values, self._t_last)
            self.energy_j[name] = self.meter.integral(ch, self._t_last)
