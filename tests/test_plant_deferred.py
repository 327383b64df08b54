"""The plant loop's fast path: deferred, vectorised evaluation equals stepping live.

A plant whose cooling model proves that no IT power up to the facility's IT nameplate can
change a thermal limit (`limits_fixed`) is evaluated in chunks after the fact
(`sim.engine.plant_loop`); every other plant is stepped live. Here the same scenarios run
both ways and must agree to floating-point rounding; the models' `step_series` must equal
their `step` called step after step; the proof's boundary is checked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.engine.meter import Meter
from sim.engine.plant_loop import Plant
from sim.engine.world import World
from sim.facility.cooling import build_cooling
from sim.facility.supply import build_supply
from sim.spec.cooling import PlantCoolingConfig
from sim.spec.supply import SupplyConfig

START = pd.Timestamp("2020-06-01T00:00:00Z")
RTOL = 1e-10  # rounding: the ledger's running integrals vs its change log, numpy vs math.exp


def _world(doc: dict, defer: bool) -> World:
    world = World(load_scenario(doc))
    if not defer:  # the same plant, stepped live
        p = world.plant
        world.plant = Plant(world.env, world.meter, world.cooling, world.supply, p.step_s,
                            world._set_thermal_limit, defer=False)
    return world


def _both(doc: dict) -> tuple[World, World]:
    fast = _world(doc, True).run()
    live = _world(doc, False).run()
    return fast, live


def _same(fast: World, live: World) -> None:
    a, b = fast.result(), live.result()
    for k, v in b.summary.items():
        if k == "wall_s" or k == "events" or not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        w = a.summary[k]
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(w), k
        else:
            assert w == pytest.approx(v, rel=RTOL, abs=1e-9), k
    ta, tb = a.timeseries, b.timeseries
    assert list(ta.columns) == list(tb.columns)
    for c in tb.columns:
        if pd.api.types.is_numeric_dtype(tb[c]):
            np.testing.assert_allclose(ta[c].to_numpy(float), tb[c].to_numpy(float), rtol=RTOL, atol=1e-6,
                                       err_msg=c)


JOBS = {"jobs": [{"name": f"j{i}", "accelerators": 8, "submit": 1800 * i, "duration": f"{2 + i}h",
                  "reference_accelerator": "h100"} for i in range(4)]}


def test_constant_pue_pv_battery_background_deferred_equals_live(invariants):
    # 300 s steps: 86,250 s is 287.5 steps, so the last one is partial
    doc = tiny_scenario(
        workload=JOBS, duration="86250s",
        supply={"weather": "tmy3-greensboro-nc",
                "grid": {"carbon_intensity": {"trace": "gb-2020", "wrap": True}, "price": 0.1, "export": True},
                "pv": {"capacity_kw": 20},
                "battery": {"capacity_kwh": 30, "power_kw": 10, "dispatch": "self-consumption",
                            "initial_soc_fraction": 0.5, "round_trip_efficiency": 0.9},
                "background_load": {"profile": "daily", "values": [1000.0] * 8 + [3000.0] * 12 + [1000.0] * 4}})
    fast, live = _both(doc)
    assert fast.plant.deferred and not live.plant.deferred
    assert fast.plant.steps == live.plant.steps == 288
    # no plant event per step: fewer events than the live plant's
    assert fast.env.events_processed < live.env.events_processed
    _same(fast, live)
    invariants(fast, fast.result())


@pytest.mark.parametrize("dispatch", ["peak-shaving", "carbon-aware"])
def test_plant_cooling_with_zones_and_a_network_deferred_equals_live(dispatch, invariants):
    # 4 thermal zones, a leaf-spine fabric with flows, the plant on Greensboro weather
    battery = {"capacity_kwh": 40, "power_kw": 20, "dispatch": dispatch}
    if dispatch == "peak-shaving":
        battery["peak_kw"] = 30
    doc = tiny_scenario(
        start="2020-07-01T00:00:00Z",
        cluster={"nodes": 4, "node_type": "dgx-h100", "topology": {"kind": "leaf-spine"}},
        network={"model": "flow"},
        workload={"jobs": [{"name": f"j{i}", "accelerators": 8 * (1 + i % 2), "model": "llama-7b",
                            "tokens": 1e9 * (1 + i), "submit": 2000 * i} for i in range(6)]},
        cooling={"model": "plant", "weather": "tmy3-greensboro-nc", "zones": 4},
        supply={"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 40}, "battery": battery,
                "grid": {"carbon_intensity": {"trace": "gb-2020", "wrap": True}, "import_limit_kw": 60}},
        plant={"step": "60s"})
    fast, live = _both(doc)
    assert fast.plant.deferred and not live.plant.deferred
    r = fast.result()
    assert r.summary["network_energy_kwh"] > 0
    assert r.summary["jobs_completed"] >= 4  # jobs start and end inside plant steps
    _same(fast, live)
    invariants(fast, fast.result())


def test_a_plant_that_can_throttle_is_stepped_live_and_limits_at_step_ends():
    # 60 % of nameplate cannot carry the nodes at full power (tests/test_thermal_loop.py)
    doc = tiny_scenario(start="2020-07-01T00:00:00Z", workload=JOBS,
                        cooling={"model": "plant", "weather": "tmy3-greensboro-nc", "capacity_margin": 0.6})
    world = World(load_scenario(doc))
    assert not world.plant.deferred
    applied: list[tuple[float, float]] = []
    set_limit = world._set_thermal_limit

    def record(fraction: float, zones: tuple[float, ...] | None = None) -> None:
        applied.append((float(world.env.now), fraction))
        set_limit(fraction, zones)

    world.plant._on_thermal_limit = record
    world.run()
    r = world.result()
    assert r.summary["throttled_accelerator_hours"] > 0 and len(applied) > 3
    # each limit takes effect at the end of the 300 s step that produced it, and is the
    # cap in force (booked) over the next step
    ch = world.meter.index("accelerator_cap_fraction")
    for t, fraction in applied:
        assert t % 300.0 == 0.0
        if t + 300.0 <= world.end_s:
            mean = np.diff(world.meter.cumulative([ch], np.array([t, t + 300.0])))[0] / 300.0
            assert mean == pytest.approx(fraction, rel=1e-12)


def test_limits_fixed_boundary_by_hand():
    # Defaults: losses 1 % + 2 % + 1 % of nameplate at full load, so the air loop carries
    # 1.04 P at most; the plant is limit-free iff its capacity exceeds that (margin 1e-6),
    # and the inlet at the setpoint, 22 + 2 = 24 C, is within the 32 C limit.
    p_w = 1e6

    def fixed(**cfg) -> bool:
        model = build_cooling(PlantCoolingConfig(weather="tmy3-greensboro-nc", **cfg), START, 86400.0, 60.0,
                              p_w, None)
        return model.limits_fixed(p_w)

    assert fixed(capacity_margin=1.0401)
    assert not fixed(capacity_margin=1.0399)
    assert not fixed(recirculation_offset_k=10.5)  # 32.5 C inlet at the setpoint
    assert fixed(recirculation_offset_k=10.0)  # exactly at the limit: no cap
    assert not fixed(initial_hall_temp_c=40.0)  # starts hotter than supply + design rise


@pytest.mark.parametrize("cfg", [
    {},
    {"chiller": "air-cooled", "economizer": "none", "weather": "tmy2-miami-fl"},
    {"economizer": "air-side"},
    {"liquid": {"fraction": 0.75}, "weather": "tmy3-sand-point-ak"},
    {"chiller": "crac-moore"},
    {"chiller_speed": "variable", "chiller_count": 4},
    {"zones": 3},
    {"capacity_margin": 0.5},  # throttles: the series must follow the same hall and caps
])
def test_cooling_step_series_equals_step(cfg):
    cfg = {"weather": "tmy3-greensboro-nc", **cfg}
    p_w, step = 2e6, 60.0
    n = 3000
    rng = np.random.default_rng(3)
    loads = p_w * step * rng.uniform(0.0, 1.0, n)
    edges = np.add.accumulate(np.concatenate(([0.0], np.full(n, step))))
    edges[-1] -= 17.0  # a partial last step
    zones = cfg.get("zones", 1)
    zone_j = loads[:, None] * 0.8 * rng.dirichlet(np.ones(zones), n) if zones > 1 else None
    zone_cap = [p_w / zones] * zones if zones > 1 else None
    one = build_cooling(PlantCoolingConfig.model_validate(cfg), START, n * step, step, p_w, None, zone_cap)
    many = build_cooling(PlantCoolingConfig.model_validate(cfg), START, n * step, step, p_w, None, zone_cap)
    steps = [one.step(float(edges[k]), float(edges[k + 1]), float(loads[k]),
                      zone_j[k].tolist() if zone_j is not None else None) for k in range(n)]
    half = n // 2  # in two calls: the state carries over
    s1 = many.step_series(edges[:half + 1], loads[:half], zone_j[:half] if zone_j is not None else None)
    s2 = many.step_series(edges[half:], loads[half:], zone_j[half:] if zone_j is not None else None)

    def col(get) -> np.ndarray:
        return np.array([get(s) for s in steps])

    for key in steps[0].power_w:
        got = np.concatenate((s1.power_w[key], s2.power_w[key]))
        np.testing.assert_allclose(got, [s.power_w[key] for s in steps], rtol=1e-12, atol=1e-9, err_msg=key)
    for key in steps[0].state:
        got = np.concatenate((s1.state[key], s2.state[key]))
        np.testing.assert_allclose(got, [s.state[key] for s in steps], rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(np.concatenate((s1.losses_w, s2.losses_w)), col(lambda s: s.losses_w), rtol=1e-12)
    np.testing.assert_allclose(np.concatenate((s1.free_cooling_fraction, s2.free_cooling_fraction)),
                               col(lambda s: s.free_cooling_fraction), rtol=1e-12, atol=1e-15)
    caps = np.concatenate((s1.accelerator_cap_fraction, s2.accelerator_cap_fraction))
    np.testing.assert_allclose(caps, col(lambda s: s.accelerator_cap_fraction), rtol=1e-12)
    if cfg.get("capacity_margin") == 0.5:
        assert caps.min() < 1.0  # the case does throttle
    if zones > 1:
        got = np.concatenate((s1.zone_cap_fraction, s2.zone_cap_fraction))
        np.testing.assert_allclose(got, np.array([s.zone_cap_fraction for s in steps]), rtol=1e-12)
        assert many.zone_inlet_temp_c == pytest.approx(one.zone_inlet_temp_c, rel=1e-12)
    assert many.hall_temp_c == pytest.approx(one.hall_temp_c, rel=1e-12)


@pytest.mark.parametrize("battery", [
    {},
    {"capacity_kwh": 50, "power_kw": 20, "dispatch": "self-consumption", "round_trip_efficiency": 0.85},
    {"capacity_kwh": 50, "power_kw": 20, "dispatch": "peak-shaving", "peak_kw": 25},
    {"capacity_kwh": 50, "power_kw": 20, "dispatch": "carbon-aware", "soc_min_fraction": 0.2},
])
def test_supply_step_series_equals_step(battery):
    cfg = {"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 60}, "wind": {"turbines": 0},
           "grid": {"carbon_intensity": {"trace": "gb-2020", "wrap": True}, "price": 0.12, "export": True,
                    "import_limit_kw": 45},
           "background_load": 3000.0}
    if battery:
        cfg["battery"] = battery
    step, n = 300.0, 2000
    horizon = n * step - 100.0  # a partial last step
    one = build_supply(SupplyConfig.model_validate(cfg), START, horizon, step, None)
    many = build_supply(SupplyConfig.model_validate(cfg), START, horizon, step, None)
    edges = np.append(np.arange(n) * step, horizon)
    demand = 40e3 * (1 + 0.5 * np.sin(np.arange(n) / 30.0))
    steps = [one.step(float(edges[k]), float(edges[k + 1]), float(demand[k])) for k in range(n)]
    s1 = many.step_series(edges[:1001], demand[:1000])
    s2 = many.step_series(edges[1000:], demand[1000:])
    for key in steps[0].flows_w:
        got = np.concatenate((s1.flows_w[key], s2.flows_w[key]))
        np.testing.assert_allclose(got, [s.flows_w[key] for s in steps], rtol=1e-12, atol=1e-9, err_msg=key)
    for key in steps[0].state:
        got = np.concatenate((s1.state[key], s2.state[key]))
        np.testing.assert_allclose(got, [s.state[key] for s in steps], rtol=1e-12, atol=1e-9, err_msg=key)
    np.testing.assert_allclose(np.concatenate((s1.carbon_g_per_s, s2.carbon_g_per_s)),
                               [s.carbon_g_per_s for s in steps], rtol=1e-12)
    a, b = many.summary(), one.summary()
    assert a.keys() == b.keys()
    for k in b:
        assert a[k] == pytest.approx(b[k], rel=1e-12, nan_ok=True), k
    if battery:
        assert b["battery_discharge_kwh"] > 0  # the battery does work in this case


def test_network_nameplate_by_hand_sizes_the_cooling():
    # One DGX H100 on a leaf-spine: one leaf switch, 8 NDR ports (tests/test_network_power.py):
    # 400 W chassis + 8 x (11.5 pJ/bit x 400 Gb/s + 8.5 W) = 504.8 W with every port lit,
    # + 2 pJ/bit x 8 x 400 GB/s into it at full load = 6.4 W: 511.2 W.
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100", "topology": {"kind": "leaf-spine"}},
                        network={"model": "flow"},
                        cooling={"model": "plant", "weather": "tmy3-greensboro-nc"})
    world = World(load_scenario(doc))
    assert world.comm is not None
    assert world.comm.nameplate_w == pytest.approx(511.2, rel=1e-9)
    # the plant is sized on nodes + network: 1.2 x (IT nameplate of the node + 511.2 W)
    resolved = world.cooling.config()["resolved"]
    assert resolved["capacity_w"] == pytest.approx(1.2 * (world.it_capacity_w + 511.2), rel=1e-12)


def test_it_power_above_the_proven_nameplate_is_an_error():
    doc = tiny_scenario(workload=JOBS)
    world = World(load_scenario(doc))
    world.plant = Plant(world.env, world.meter, world.cooling, world.supply, world.plant.step_s,
                        world._set_thermal_limit, it_nameplate_w=1000.0, horizon_s=86400.0)
    assert world.plant.deferred
    with pytest.raises(RuntimeError, match="exceeds the facility's IT nameplate"):
        world.run()


PLUGIN_MODULE = '''
from sim.engine.contracts import CoolingStep, SupplyStep


class LimitFreeCop:
    """Cooling = IT heat / COP; says it never limits, but has no step_series."""

    def __init__(self, options, start, duration_s, step_s, it_capacity_w, weather):
        self.cop = options["cop"]

    def limits_fixed(self, it_max_w):
        return True

    def step(self, t0, t1, it_energy_j):
        it_w = it_energy_j / (t1 - t0)
        return CoolingStep(power_w={"chiller": it_w / self.cop}, state={"it_seen_w": it_w})

    def config(self):
        return {"cop": self.cop}


class HalfGreen:
    """Half of every step's demand from a contract; no step_series."""

    def __init__(self, options, start, duration_s, step_s, weather):
        pass

    def background_energy_j(self, t0, t1):
        return 500.0 * (t1 - t0)

    def step(self, t0, t1, demand_w):
        return SupplyStep(flows_w={"grid_import_w": demand_w / 2, "renewable_used_w": demand_w / 2},
                          carbon_g_per_s=demand_w / 2 * 1e-4, cost_per_s=0.0,
                          state={"renewable_to_load_w": demand_w / 2, "demand_w": demand_w})

    def config(self):
        return {}
'''


def test_plug_in_models_without_step_series_are_deferred_through_step(tmp_path, monkeypatch):
    (tmp_path / "plant_plugins.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    doc = tiny_scenario(workload=JOBS, duration="86250s",
                        cooling={"model": "plant_plugins:LimitFreeCop", "options": {"cop": 4.0}},
                        supply={"model": "plant_plugins:HalfGreen"})
    fast, live = _both(doc)
    assert fast.plant.deferred and not live.plant.deferred
    _same(fast, live)
    r = fast.result().summary
    # cooling = (IT + 500 W background) / 4 by the model's own definition
    assert r["cooling_energy_kwh"] == pytest.approx(r["it_energy_kwh"] / 4.0, rel=1e-9)


def test_the_deferred_plant_reads_the_ledger_during_the_run_without_views():
    """A view of the ledger's log held anywhere during the run (a Dask worker's profiler keeps the
    frames of the task it samples, and with them their locals) would make the log's next append
    raise BufferError: an exported array cannot be resized. That failed one run of a Dask sweep
    (tests/test_sweep.py). The plant must read the log through copies (`Meter.log_since`): every
    array it is given is kept alive here, as a captured frame would, and the run still ends."""
    kept: list[object] = []

    class Keeping:
        """The ledger as the plant sees it, keeping every log array it hands out (the ledger's
        class may be compiled, sim/compiled.py: wrapped here, not patched)."""

        def __init__(self, meter):
            self._meter = meter

        def __getattr__(self, name):
            real = getattr(self._meter, name)
            if name not in ("log", "log_since"):
                return real

            def keep(*args):
                out = real(*args)
                kept.append(out)
                return out
            return keep

    doc = tiny_scenario(duration="2d", plant={"step": "60s"},
                        workload={"jobs": [{"name": f"j{i}", "submit": i * 3600, "accelerators": 8,
                                            "duration": "3h"} for i in range(10)]})
    world = World(load_scenario(doc))
    assert world.plant.deferred
    world.plant.meter = Keeping(world.meter)
    world.run()  # chunks of 8,192 steps read the log mid-run, then the last one at the end
    assert kept, "the plant read the ledger"
    assert world.result().summary["jobs_completed"] == 10


def test_log_views_pin_the_log_and_log_since_copies_do_not():
    class Clock:
        t = 0.0

    clock = Clock()
    m = Meter(lambda: clock.t)
    a = m.channel("a", "it")
    m.set(a, 1.0)
    t, _, d = m.log_since(0)
    clock.t = 1.0
    m.set(a, 3.0)  # the copies do not hold the log
    assert t.tolist() == [0.0] and d.tolist() == [1.0]
    assert [x.tolist() for x in m.log_since(1)] == [[1.0], [a], [2.0]]
    views = m.log()
    clock.t = 2.0
    with pytest.raises(BufferError):
        m.set(a, 4.0)
    del views
