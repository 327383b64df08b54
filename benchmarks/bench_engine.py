"""Engine speed and scale: 30 simulated days of 128 nodes x 8 GPUs, ~5,000 Poisson jobs.

Prints wall time, events, events/s, peak memory (the process's max RSS), and the same number of timeout
events through a bare SimPy loop, with the ratio of our events/s to bare
SimPy's. Run with `make bench` (or `python benchmarks/bench_engine.py`).
"""

from __future__ import annotations

import resource
import time

import simpy

from sim import load_scenario
from sim.engine.world import World

SCENARIO = {
    "name": "bench-engine",
    "start": "2020-06-01T00:00:00Z",
    "duration": "30d",
    "seed": 7,
    "cluster": {"nodes": 128, "node_type": "dgx-h100"},
    "workload": {"generator": {"kind": "poisson", "rate_per_hour": 6.95, "mean_duration": "20h",
                               "duration_distribution": "lognormal", "duration_sigma": 1.5}},
    "cooling": {"model": "constant-pue", "pue": 1.1},
    "plant": {"step": "60s"},
    "output": {"interval": "15min"},
}


def bare_simpy(n_events: int) -> float:
    """Wall seconds for n timeouts through a bare SimPy environment."""
    env = simpy.Environment()

    def proc():
        for _ in range(n_events):
            yield env.timeout(1.0)

    env.process(proc())
    t = time.perf_counter()
    env.run()
    return time.perf_counter() - t


def plant_share(overrides: dict) -> tuple[float, float, int, bool]:
    """(wall s of the run, share of it inside the plant loop, plant steps, deferred?).

    The plant's own methods are timed: `close_step` (a live plant's step) and, for a plant
    evaluated after the fact in chunks (sim/engine/plant_loop.py), `_evaluate_to` and `flush`;
    nested calls count once.
    """
    from sim.engine.plant_loop import Plant

    spent = [0.0]
    depth = [0]
    names = [n for n in ("close_step", "_evaluate_to", "flush") if hasattr(Plant, n)]
    originals = {n: getattr(Plant, n) for n in names}

    def timed(f):
        def g(*args, **kwargs):
            if depth[0]:
                return f(*args, **kwargs)
            depth[0] += 1
            t = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t
                depth[0] -= 1
        return g

    for n in names:
        setattr(Plant, n, timed(originals[n]))
    try:
        t0 = time.perf_counter()
        world = World(load_scenario(SCENARIO, overrides=overrides)).run()
        wall = time.perf_counter() - t0
    finally:
        for n in names:
            setattr(Plant, n, originals[n])
    return wall, spent[0] / wall, world.plant.steps, bool(getattr(world.plant, "deferred", False))


def main() -> None:
    scenario = load_scenario(SCENARIO)
    rss0_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    world = World(scenario).run()
    t_run = time.perf_counter() - t0
    result = world.result()
    t_all = time.perf_counter() - t0
    events = world.env.events_processed
    s = result.summary
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bare = bare_simpy(events)
    ours = events / t_run
    print("engine: 30 d, 128 nodes x 8 H100, Poisson jobs")
    print(f"  jobs submitted {s['jobs_submitted']}, completed {s['jobs_completed']}, "
          f"utilization {s['gpu_utilization']:.1%}")
    print(f"  wall (simulate) {t_run:.2f} s, with result tables {t_all:.2f} s")
    print(f"  events {events:,}, events/s {ours:,.0f}, ledger changes {world.meter.changes:,}")
    print(f"  max RSS {rss_mb:.0f} MiB (before the run {rss0_mb:.0f} MiB)")
    print(f"  bare SimPy: {events:,} timeouts in {bare:.2f} s = {events / bare:,.0f} events/s; "
          f"ratio ours/bare = {ours / (events / bare):.2f}")
    for label, overrides in (
        ("constant PUE, grid only", {}),
        ("cooling plant (Greensboro TMY) + 2 MW PV + 4 MWh battery", {
            "cooling": {"model": "plant", "weather": "tmy3-greensboro-nc"},
            "supply": {"pv": {"capacity_kw": 2000}, "battery": {"capacity_kwh": 4000, "power_kw": 1000}}}),
    ):
        wall, share, steps, deferred = plant_share(overrides)
        print(f"  plant loop, {label}: {steps:,} steps at 60 s, {share:.0%} of {wall:.2f} s wall "
              f"({share * wall / steps * 1e6:.1f} us per step; {'evaluated in chunks' if deferred else 'stepped live'})")


if __name__ == "__main__":
    main()
