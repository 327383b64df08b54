"""Scale: the full Philly replay with every physics layer (scenarios/philly_full.yaml, issue 14).

82,247 jobs on 320 DGX-1 (V100) servers, k=12 fat-tree with the flow network,
the cooling plant on Greensboro weather, 1 MWp PV + 2 MWh battery + the GB 2020
carbon trace, 60 s plant step. Prints wall and CPU seconds of building, running
and tabulating, the events, the process's max RSS, that every job is accounted
for, and, in the same process, bare SimPy on the same number of timeouts
(the ratio of our events/s to bare SimPy's). Target (issue 14): under 10 s
wall and 1 GB on one core. `python benchmarks/bench_philly.py`.
"""

from __future__ import annotations

import resource
import time

from bench_engine import bare_simpy  # the same bare-SimPy baseline as the engine bench

import sim.compiled
from sim import load_scenario
from sim.engine.world import World
from sim.paths import scenarios_path


def measure(path, overrides: dict | None = None, label: str = "") -> None:
    w0, c0 = time.perf_counter(), time.process_time()
    world = World(load_scenario(path, overrides=overrides))
    w1, c1 = time.perf_counter(), time.process_time()
    world.run()
    w2, c2 = time.perf_counter(), time.process_time()
    result = world.result()
    w3, c3 = time.perf_counter(), time.process_time()
    s = result.summary
    events = world.env.events_processed
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    accounted = s["jobs_completed"] + s["jobs_failed"] + s["jobs_unfinished"]
    print(label)
    print(f"  hot path: {sim.compiled.STATUS}")
    print(f"  jobs: {len(world.jobs):,} built, {s['jobs_submitted']:,} submitted, {s['jobs_completed']:,} "
          f"completed, {s['jobs_failed']} failed, {s['jobs_unfinished']} unfinished "
          f"({'every job accounted for' if accounted == len(world.jobs) == len(result.jobs) else 'JOBS MISSING'})")
    print(f"  wall: build {w1 - w0:.2f} s, run {w2 - w1:.2f} s, result {w3 - w2:.2f} s, total {w3 - w0:.2f} s")
    print(f"  CPU:  build {c1 - c0:.2f} s, run {c2 - c1:.2f} s, result {c3 - c2:.2f} s, total {c3 - c0:.2f} s")
    print(f"  simulated {s['simulated_s'] / 86400:.1f} d, {world.plant.steps:,} plant steps, {events:,} events, "
          f"max RSS {rss_mb:,.0f} MiB")
    bare = bare_simpy(events)
    ours = events / (w2 - w1)
    print(f"  bare SimPy: {events:,} timeouts in {bare:.2f} s = {events / bare:,.0f} events/s; "
          f"ours {ours:,.0f} events/s (run only); ratio ours/bare = {ours / (events / bare):.3f}; "
          f"per event {(w2 - w1) / events * 1e6:.1f} us against {bare / events * 1e6:.2f} us")


def main() -> None:
    measure(scenarios_path("philly_full.yaml"), label="philly full replay: 82,247 jobs, 320 x DGX-1 V100, "
            "fat-tree + flows, cooling plant, PV + battery + carbon trace, 60 s plant step")


if __name__ == "__main__":
    main()
