"""The plant loop's share of the full Philly replay (scenarios/philly_full.yaml), in CPU seconds.

Wraps the plant's own methods (`Plant.close_step`, `flush` and, where they exist,
the deferred path's `_evaluate_to` and `_evaluate`) with `time.process_time`,
counting the outermost call only, and runs the replay. Prints the run's CPU time,
the plant's and its share. Run it on two trees to compare them:
`PYTHONPATH=<tree> python benchmarks/bench_plant.py` (issue 14; the box is shared,
so CPU time, not wall time). `--year DAYS` runs `bench_year.py`'s 16,384-GPU scenario
for DAYS days instead and also prints the resident memory before and after the plant's
`flush` and the process's peak.
"""

from __future__ import annotations

import functools
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_year import YEAR

from sim import load_scenario
from sim.engine import plant_loop
from sim.engine.world import World
from sim.paths import scenarios_path

spent = {"plant": 0.0}
depth = [0]


def timed(f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def g(*args: Any, **kwargs: Any) -> Any:
        if depth[0]:
            return f(*args, **kwargs)
        depth[0] += 1
        c0 = time.process_time()
        try:
            return f(*args, **kwargs)
        finally:
            spent["plant"] += time.process_time() - c0
            depth[0] -= 1
    return g


def rss_mib() -> str:
    """Resident memory now and the process's peak so far (Linux)."""
    with open("/proc/self/status") as f:
        now = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    return f"{now:,.0f} MiB (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB)"


def main() -> None:
    year_days = float(sys.argv[sys.argv.index("--year") + 1]) if "--year" in sys.argv else None
    flush = plant_loop.Plant.flush

    def probed_flush(self: plant_loop.Plant) -> None:
        print(f"  before the plant's flush: {rss_mib()}")
        flush(self)
        print(f"  after it: {rss_mib()}")

    if year_days is not None:
        plant_loop.Plant.flush = probed_flush  # type: ignore[method-assign]
    for name in ("close_step", "flush", "_evaluate_to", "_evaluate"):
        if hasattr(plant_loop.Plant, name):
            setattr(plant_loop.Plant, name, timed(getattr(plant_loop.Plant, name)))
    c0 = time.process_time()
    if year_days is None:
        label = "philly full replay"
        world = World(load_scenario(scenarios_path("philly_full.yaml")))
    else:
        label = f"{year_days:g} d of bench_year.py's 16,384 GPUs"
        world = World(load_scenario(dict(YEAR, duration=f"{year_days:g}d")))
    c1 = time.process_time()
    world.run()
    c2 = time.process_time()
    run = c2 - c1
    print(f"{label}: build {c1 - c0:.2f} s CPU, run {run:.2f} s CPU, of which the plant "
          f"{spent['plant']:.2f} s ({spent['plant'] / run * 100:.1f} %); {world.plant.steps:,} plant steps, "
          f"{world.env.events_processed:,} events, deferred: {getattr(world.plant, 'deferred', False)}")
    if year_days is not None:
        world.result()
        print(f"  after the result: {rss_mib()}")


if __name__ == "__main__":
    main()
