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

Deferred evaluation (the fast path): when the cooling model proves that no IT power
up to the facility's whole IT nameplate (plus the measured background load's peak)
can ever change its thermal limit or a reading a scheduler takes live
(`limits_fixed`, sim.engine.contracts), nothing the plant computes feeds back into
the run. The plant then has no event per step: it evaluates the steps after the
fact, 8,192 at a time (and the rest when the run closes, `close_step(end)`): the IT
energy of each step from the ledger's change log (the IT changes booked since the
last chunk, `cumulative_at`, on top of the integral and power carried from it:
exact), the cooling and supply models through their vectorised `step_series` (one
`step` call per step where a model has none). It still wakes every 256 steps so that
a quiet run polls its wall-clock limit, Ctrl-C and progress. The numbers are those of
stepping live, up to floating-point rounding. Any other plant is stepped live as above.
"""

from __future__ import annotations

import functools
import heapq
import math
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import NORMAL, Event

from sim.engine.contracts import CoolingModel, CoolingSeries, SupplyModel, SupplySeries
from sim.engine.meter import cumulative_at

if TYPE_CHECKING:
    import simpy

    from sim.engine.meter import Meter

#: plant steps whose background energy is computed in one vectorised call
_BG_CHUNK = 4096

#: plant steps evaluated together in deferred mode
_DEFER_CHUNK = 8192
#: a deferred plant still wakes every this many steps (one event) so that a long quiet run
#: checks its wall-clock limit and Ctrl-C and reports progress, as a live plant does
_DEFER_POLL = 256

#: IT categories whose energy is the heat load (with the measured background load)
IT_CATEGORIES = ("accelerator", "host", "network")

#: the fixed columns the plant books every step, after the step's start time
_FIXED = (
    ("background", "background", "power_w"),
    ("accelerator_cap_fraction", "state", "level"),
    ("throttled_accelerators", "state", "level"),
    ("losses", "losses", "power_w"),
    ("free_cooling_fraction", "state", "level"),
    ("carbon_g", "carbon", "rate"),
    ("cost", "cost", "rate"),
)


class Plant:
    """Steps cooling and supply; keeps their per-step values and books them exactly.

    During the run a live plant appends each step's numbers to a flat float array, a
    deferred one writes each chunk into one float64 array per column over the whole step
    grid (`_store`); `flush` books them into the ledger as step series
    (`Meter.set_series`), exactly as if `Meter.set` had been called at every step, at a
    fraction of the cost. The IT energy it reads during the run is live ledger data; the
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
        it_nameplate_w: float | None = None,
        horizon_s: float | None = None,
        defer: bool = True,
    ) -> None:
        """it_nameplate_w: the most IT power the facility can draw (every node, switch and
        serving replica at nameplate); horizon_s: the latest end of the run. With both, and
        `defer`, the plant is evaluated after the fact when the cooling model allows it (see
        the module doc); `defer=False` always steps live (tests compare the two)."""
        self.env = env
        self.meter = meter
        self.cooling = cooling
        self.supply = supply
        self.step_s = step_s
        self._on_thermal_limit = on_thermal_limit
        # live: one flat float array per run of steps with the same keys (no objects kept per step)
        self._segments: list[tuple[tuple, array]] = []
        self._layout: tuple | None = None
        self._n_steps = 0
        self._t_last = 0.0
        self._it_cum_j = 0.0
        self._cap_fraction = 1.0
        # accelerators busy while a thermal limit holds (throttled accelerator-hours)
        # read as the nodes' busy slots (category node_busy), kept live, not the scheduler's counter
        self._has_busy = "node_busy" in meter.categories
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
        # deferred evaluation: the step grid of the whole horizon and its background energy
        self.deferred = False
        self._grid: np.ndarray | None = None
        self._grid_bg_j: np.ndarray | None = None
        self._it_bound_w = math.inf
        limits_fixed = getattr(cooling, "limits_fixed", None)
        if defer and limits_fixed is not None and it_nameplate_w is not None and horizon_s is not None \
                and math.isfinite(horizon_s) and horizon_s > 0:
            self._grid = _step_grid(step_s, horizon_s)
            self._grid_bg_j = self._background_series_j(self._grid)
            dts = np.diff(self._grid)
            bg_max_w = float(np.max(self._grid_bg_j / dts)) if len(dts) else 0.0
            self._it_bound_w = it_nameplate_w + max(bg_max_w, 0.0)
            self.deferred = bool(limits_fixed(self._it_bound_w))
            if not self.deferred:
                self._grid = self._grid_bg_j = None
        # deferred: one column per booked name over the whole grid (see `_store`)
        self._columns: dict[str, _Column] = {}
        self._starts = np.empty(len(self._grid) if self._grid is not None else 0)
        # deferred: the IT energy carried from chunk to chunk (see `_it_cumulative`)
        self._n_channels = -1
        self._it_member = np.zeros(0, dtype=bool)
        self._zone_of_ch = np.zeros(0, dtype=np.int64)
        self._log_pos = 0
        self._it_cum_at = 0.0
        self._it_value_w = 0.0
        self._zone_cum_at = [0.0] * max(self._zones, 1)
        self._zone_value_w = [0.0] * max(self._zones, 1)

    def _background_series_j(self, edges: np.ndarray) -> np.ndarray:
        """Measured background energy of each step [edges[k], edges[k+1])."""
        series = getattr(self.supply, "background_energy_series_j", None)
        if series is not None:
            return np.asarray(series(edges), dtype=float)
        return np.array([self.supply.background_energy_j(a, b)
                         for a, b in zip(edges[:-1].tolist(), edges[1:].tolist())], dtype=float)

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
        if self.deferred:  # no event per step: evaluate a chunk of steps at a time, after the fact
            grid = self._grid
            assert grid is not None
            poll = getattr(self.env, "poll", None)
            for i in range(_DEFER_POLL, len(grid), _DEFER_POLL):
                t = float(grid[i])
                yield self._at(t)
                if not i % _DEFER_CHUNK:
                    self._evaluate_to(t)
                if poll is not None:  # CountingEnvironment: wall-clock limit, Ctrl-C, progress
                    poll(t)
            return
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
        if self.deferred:
            self._evaluate_to(t1)
            return None
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
        if self._has_busy:
            busy_cum = m.category_integral("node_busy", t1)
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

    # -- deferred evaluation ---------------------------------------------------------------

    def _evaluate_to(self, t_end: float) -> None:
        """Evaluate every step from the last one evaluated up to `t_end` (deferred mode), in chunks."""
        grid = self._grid
        assert grid is not None and self._grid_bg_j is not None
        while t_end > self._t_last:
            t0 = self._t_last
            i0 = int(np.searchsorted(grid, t0, side="right"))
            i1 = int(np.searchsorted(grid, t_end, side="left"))
            if i1 - i0 >= _DEFER_CHUNK:
                inner = grid[i0:i0 + _DEFER_CHUNK]
                edges = np.concatenate(([t0], inner))
            else:
                edges = np.concatenate(([t0], grid[i0:i1], [t_end]))
            self._evaluate(edges)

    def _it_cumulative(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """IT energy (and each zone's node energy) from the start of the run to each edge.

        Exact integrals of the ledger's change log: the changes booked since the last chunk
        (IT channels only), on top of the integral and the power carried from it. Edges run
        from the last evaluated step's end on.
        """
        m = self.meter
        if len(m.channels) != self._n_channels:  # channels opened since: (re)classify them
            self._n_channels = len(m.channels)
            self._it_member = np.array([c.category in IT_CATEGORIES for c in m.channels], dtype=bool)
            if self._zones > 1:  # the nodes' channels tagged with their zone (as Meter.group_index keys them)
                zone_of = [c.tags.get("zone") if c.category in ("accelerator", "host") else None for c in m.channels]
                self._zone_of_ch = np.array([z if isinstance(z, int) else -1 for z in zone_of], dtype=np.int64)
        t, ch, d = m.log_since(self._log_pos)  # copies: the run goes on booking into the log
        self._log_pos += len(t)
        sel = self._it_member[ch] if len(ch) else np.zeros(0, dtype=bool)
        t_it, ch_it, d_it = t[sel], ch[sel], d[sel]
        span = edges - edges[0]
        cum = self._it_cum_at + self._it_value_w * span + cumulative_at(t_it, d_it, edges)
        self._it_cum_at = float(cum[-1])
        self._it_value_w += float(d_it.sum())
        if self._zones <= 1:
            return cum, None
        zone_cum = np.empty((len(edges), self._zones))
        zone = self._zone_of_ch[ch_it]
        for z in range(self._zones):
            mine = zone == z
            zone_cum[:, z] = (self._zone_cum_at[z] + self._zone_value_w[z] * span
                              + cumulative_at(t_it[mine], d_it[mine], edges))
            self._zone_cum_at[z] = float(zone_cum[-1, z])
            self._zone_value_w[z] += float(d_it[mine].sum())
        return cum, zone_cum

    def _evaluate(self, edges: np.ndarray) -> None:
        """Close the steps [edges[k], edges[k+1]) at once: the deferred counterpart of `close_step`."""
        grid = self._grid
        assert grid is not None and self._grid_bg_j is not None
        n = len(edges) - 1
        dt = np.diff(edges)
        # background: the precomputed grid step where a step is one, else its own integral (a partial step)
        j = np.minimum(np.searchsorted(grid, edges[:-1], side="left"), len(grid) - 2)
        on_grid = (grid[j] == edges[:-1]) & (grid[j + 1] == edges[1:])
        bg_j = np.where(on_grid, self._grid_bg_j[j], 0.0)
        for i in np.flatnonzero(~on_grid).tolist():
            bg_j[i] = self.supply.background_energy_j(float(edges[i]), float(edges[i + 1]))
        cum, zone_cum = self._it_cumulative(edges)
        it_j = np.diff(cum) + bg_j
        over = it_j > self._it_bound_w * dt * (1.0 + 1e-9)
        if over.any():
            i = int(np.argmax(over))
            raise RuntimeError(
                f"plant: IT power {it_j[i] / dt[i]:.6g} W in [{edges[i]}, {edges[i + 1]}) s exceeds the facility's "
                f"IT nameplate {self._it_bound_w:.6g} W the cooling plant was proven safe for (a power model "
                f"drawing above its accelerator's tdp_w?)")
        zone_j = np.diff(zone_cum, axis=0) if zone_cum is not None else None
        cs = self._cooling_series(edges, it_j, zone_j)
        if np.any(cs.accelerator_cap_fraction != self._cap_fraction) or (
                cs.zone_cap_fraction is not None and np.any(cs.zone_cap_fraction != 1.0)):
            raise RuntimeError("plant: a thermal limit changed in a plant the cooling model proved limit-free")
        cooling_w = np.zeros(n)
        for v in cs.power_w.values():
            cooling_w = cooling_w + v
        demand_w = it_j / dt + cooling_w + cs.losses_w
        ss = self._supply_series(edges, demand_w)
        layout = (tuple(cs.power_w), tuple(cs.state), tuple(ss.flows_w), tuple(ss.state))
        values = [bg_j / dt, self._cap_fraction, 0.0, cs.losses_w, cs.free_cooling_fraction, ss.carbon_g_per_s,
                  ss.cost_per_s, *cs.power_w.values(), *cs.state.values(), *ss.flows_w.values(), *ss.state.values()]
        self._store(layout, edges[:-1], values)
        self._layout = layout
        self._n_steps += n
        self._t_last = float(edges[-1])

    def _store(self, layout: tuple, starts: np.ndarray, values: list) -> None:
        """Write a deferred chunk's columns after the steps stored so far.

        Each booked name has one float64 array over the whole step grid (allocated when its
        first value that differs from the ones before arrives: pages never written take no
        memory), or, while every step so far holds the same bits, just that value: a year
        of a constant column (an idle pump, the price, an absent export) costs nothing.
        """
        i0 = self._n_steps
        n = len(starts)
        i1 = i0 + n
        if i1 > len(self._starts):  # past the grid (never on a run's own horizon): grow
            self._starts = _grown(self._starts, i1)
            for col in self._columns.values():
                if col.values is not None:
                    col.values = _grown(col.values, i1)
        self._starts[i0:i1] = starts
        seen: set[str] = set()
        for (name, category, quantity), v in zip(_names(layout), values):
            if name in seen:
                continue  # the same reading from both models: keep the first
            seen.add(name)
            col = self._columns.get(name)
            if col is None:  # a new name: 0 in the steps before (as a live plant books it)
                col = self._columns[name] = _Column(category, quantity, 0.0 if i0 else None)
            col.write(i0, i1, v, len(self._starts))
        for name, col in self._columns.items():
            if name not in seen:  # a name a model stopped reporting: 0 from here on
                col.write(i0, i1, 0.0, len(self._starts))

    def _cooling_series(self, edges: np.ndarray, it_j: np.ndarray, zone_j: np.ndarray | None) -> CoolingSeries:
        """The cooling model's `step_series`, or its `step` called for each step."""
        series = getattr(self.cooling, "step_series", None)
        if series is not None:
            return series(edges, it_j, zone_j) if zone_j is not None else series(edges, it_j)
        steps = []
        for k, (a, b) in enumerate(zip(edges[:-1].tolist(), edges[1:].tolist())):
            e = float(it_j[k])
            steps.append(self.cooling.step(a, b, e, zone_j[k].tolist()) if zone_j is not None
                         else self.cooling.step(a, b, e))
        power = _columns([s.power_w for s in steps])
        state = _columns([s.state for s in steps])
        zone_caps = (np.array([s.zone_cap_fraction for s in steps], dtype=float)
                     if steps and steps[0].zone_cap_fraction is not None else None)
        return CoolingSeries(power, np.array([s.losses_w for s in steps], dtype=float), state,
                             np.array([s.accelerator_cap_fraction for s in steps], dtype=float),
                             np.array([s.free_cooling_fraction for s in steps], dtype=float), zone_caps)

    def _supply_series(self, edges: np.ndarray, demand_w: np.ndarray) -> SupplySeries:
        """The supply model's `step_series`, or its `step` called for each step."""
        series = getattr(self.supply, "step_series", None)
        if series is not None:
            return series(edges, demand_w)
        steps = [self.supply.step(a, b, d)
                 for a, b, d in zip(edges[:-1].tolist(), edges[1:].tolist(), demand_w.tolist())]
        return SupplySeries(_columns([s.flows_w for s in steps]),
                            np.array([s.carbon_g_per_s for s in steps], dtype=float),
                            np.array([s.cost_per_s for s in steps], dtype=float),
                            _columns([s.state for s in steps]))

    def flush(self) -> None:
        """Book every recorded step into the ledger (once, at the end of the run).

        Column by column, each let go once booked: the plant never holds a second copy of
        its steps. A column that is one value all run is booked as one change, as
        `Meter.set_series` would book it.
        """
        if not self._n_steps:
            return
        n = self._n_steps
        if self.deferred:
            starts = self._starts[:n]
            columns, self._columns = self._columns, {}
            for name, col in columns.items():
                self._book(name, col.category, col.quantity, starts, col.value if col.values is None
                           else col.values[:n], n)
                col.values = None  # a year's column (4 MB) goes back before the next is booked
            self._starts = np.empty(0)
            return
        if not self._segments:
            return
        # name -> (category, quantity, parts, steps covered); parts: arrays, or (0.0, steps) where absent
        parts_of: dict[str, tuple[str, str, list, list[int]]] = {}
        starts_parts = []
        filled = 0
        for layout, buf in self._segments:  # flat row-major tables, one per run of the same keys
            table = np.frombuffer(buf, dtype=np.float64).reshape(-1, _width(layout))
            k = len(table)
            starts_parts.append(table[:, 0])
            for j, (name, category, quantity) in enumerate(_names(layout), start=1):
                _, _, parts, have = parts_of.setdefault(name, (category, quantity, [], [0]))
                if have[0] < filled:  # absent in earlier segments: 0 there
                    parts.append(np.zeros(filled - have[0]))
                    have[0] = filled
                if have[0] == filled + k:
                    continue  # the same reading from both models: keep the first
                parts.append(table[:, j])
                have[0] = filled + k
            filled += k
        starts = np.concatenate(starts_parts)
        for name, (category, quantity, parts, have) in parts_of.items():
            values = np.concatenate(parts + [np.zeros(filled - have[0])])
            parts.clear()
            self._book(name, category, quantity, starts, values, n)
        self._segments = []

    def _book(self, name: str, category: str, quantity: str, starts: np.ndarray, values: np.ndarray | float,
              n: int) -> None:
        """Book one column of `n` steps (an array, or one float for all of them) into the ledger."""
        ch = self.meter.channel(name, category, quantity=quantity, t=0.0)
        if isinstance(values, float):
            if values == values:
                self.meter.set(ch, values, t=float(starts[0]))
                self.energy_j[name] = self.meter.integral(ch, self._t_last)
                return
            values = np.full(n, values)  # NaN: the ledger refuses it, naming the channel
        if values[0] == values.min() == values.max():  # one value all run: one change, as set_series books
            self.meter.set(ch, float(values[0]), t=float(starts[0]))
        else:
            self.meter.set_series(ch, starts, values, self._t_last)
        self.energy_j[name] = self.meter.integral(ch, self._t_last)


class _Column:
    """One booked name of a deferred plant: its steps so far, as one value while they all
    hold the same bits, else as an array over the whole step grid."""

    __slots__ = ("category", "quantity", "value", "values")

    def __init__(self, category: str, quantity: str, value: float | None) -> None:
        self.category, self.quantity = category, quantity
        self.value = value  # the one value of every step so far (None: no step yet)
        self.values: np.ndarray | None = None

    def write(self, i0: int, i1: int, v: np.ndarray | float, capacity: int) -> None:
        """Steps [i0, i1) hold `v` (an array of i1 - i0 values, or one value for all)."""
        if self.values is None:
            one = _one_value(v, i1 - i0)
            if one is not None and (self.value is None or _same_bits(one, self.value)):
                self.value = one
                return
            self.values = np.empty(capacity)
            if i0:
                assert self.value is not None
                self.values[:i0] = self.value
        col = np.asarray(v, dtype=np.float64)
        if col.ndim and col.shape != (i1 - i0,):
            raise ValueError(f"plant: a model's step_series gave {col.shape[0]} values for a chunk of "
                             f"{i1 - i0} steps")
        self.values[i0:i1] = col


def _step_grid(step_s: float, horizon_s: float) -> np.ndarray:
    """0 and the step ends a live plant reaches (t + step added one at a time, as SimPy's
    timeouts do) up to the first at or past `horizon_s`."""
    n = int(math.ceil(horizon_s / step_s)) + 2
    steps = np.full(n + 1, step_s)
    steps[0] = 0.0
    grid = np.add.accumulate(steps)
    return grid[: int(np.searchsorted(grid, horizon_s, side="left")) + 1]


def _columns(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """Dicts of one step each -> one array per key (every key any row has, first seen first; absent = 0,
    as the live plant books a key a model stops reporting)."""
    keys = dict.fromkeys(k for r in rows for k in r)
    return {k: np.array([r.get(k, 0.0) for r in rows], dtype=float) for k in keys}


def _one_value(v: np.ndarray | float, n: int) -> float | None:
    """The value all `n` steps of `v` hold, bit for bit (a float stands for all), else None."""
    if isinstance(v, (float, int)):
        return float(v)
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"plant: a model's step_series gave {v.shape} values for a chunk of {n} steps")
    bits = v.view(np.int64)
    return float(v[0]) if n and (bits == bits[0]).all() else None


def _same_bits(a: float, b: float) -> bool:
    """a and b are the same float64, sign of zero and NaN payload included."""
    return bool(np.float64(a).view(np.int64) == np.float64(b).view(np.int64))


def _grown(a: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(max(n, 2 * len(a)))
    out[:len(a)] = a
    return out


@functools.lru_cache(maxsize=64)
def _names(layout: tuple) -> tuple[tuple[str, str, str], ...]:
    """(name, ledger category, quantity) of each column after the start time, for a layout."""
    power, cstate, flows, sstate = layout
    names = list(_FIXED) + [(f"cooling:{k}", "cooling", "power_w") for k in power]
    names += [(k, "state", "level") for k in cstate]
    names += [(k[:-2] if k.endswith("_w") else k, "supply", "flow_w") for k in flows]
    names += [(k, "state", "level") for k in sstate]
    return tuple(names)


def _width(layout: tuple) -> int:
    """Floats per step in a segment of this layout: the start, the fixed columns, the models' keys."""
    return 1 + len(_FIXED) + sum(len(keys) for keys in layout)
