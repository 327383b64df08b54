"""An overloaded cluster costs the same per event as an idle one (issue 14).

8 DGX-1 (V100) fed the whole Philly trace from 1 Oct 2017 under FIFO: the
queue grows by about a thousand jobs a day. Prints CPU seconds per event at
10 and 30 simulated days; with the queue kept in the policy's order (no
re-sort per pass) the figure does not grow with the queue.
`python benchmarks/bench_overload.py`.
"""

from __future__ import annotations

import time

from sim import load_scenario
from sim.engine.world import World

DOC = {"name": "overload", "start": "2017-10-01T00:00:00Z", "seed": 1,
       "cluster": {"nodes": 8, "node_type": "dgx-1-v100"},
       "workload": {"trace": {"path": "philly", "format": "philly", "filter": {"start": "2017-10-01"}}},
       "scheduler": {"queue": "fifo", "placement": "first-fit"},
       "cooling": {"model": "constant-pue", "pue": 1.2}, "plant": {"step": "60s"}}


def main() -> None:
    print("overloaded cluster: 8 x DGX-1 V100, whole Philly trace from 2017-10-01, FIFO")
    for days in (10, 30):
        world = World(load_scenario(dict(DOC, duration=f"{days}d")))
        c0 = time.process_time()
        world.run()
        cpu = time.process_time() - c0
        ev = world.env.events_processed
        print(f"  {days:>2} d: queue {world.scheduler.queue_length():,} at the end, {ev:,} events, "
              f"CPU run {cpu:.2f} s = {cpu / ev * 1e6:.1f} us per event, {world.scheduler.passes:,} passes")


if __name__ == "__main__":
    main()
