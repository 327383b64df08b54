"""The power envelope on a Philly slice (issue 14): the cost of the control against the same run without it.

`scenarios/philly_full.yaml` cut to 32 DGX-1 (V100) servers and the trace's first two
days from 2017-10-01, no network model, constant PUE 1.2, FIFO + first-fit; once as
is and once with `scheduler.controls: [{kind: power-envelope, limit_kw: 30}]`.
Prints CPU seconds of each run, its events, jobs completed and IT energy.
`python benchmarks/bench_envelope.py`.
"""

from __future__ import annotations

import time

from sim import load_scenario
from sim.engine.world import World
from sim.paths import scenarios_path

BASE = {
    "start": "2017-10-01T00:00:00Z", "duration": "2d",
    "cluster": {"nodes": 32, "node_type": "dgx-1-v100"},
    "network": {"model": "off"}, "cooling": {"model": "constant-pue", "pue": 1.2},
    "plant": {"step": "60s"}, "output": {"interval": "1h"},
    "workload": {"trace": {"path": "philly", "format": "philly",
                           "filter": {"start": "2017-10-01", "end": "2017-10-03"}}},
    "scheduler": {"queue": "fifo", "placement": "first-fit"},
}
ENVELOPE = {"queue": "fifo", "placement": "first-fit", "controls": [{"kind": "power-envelope", "limit_kw": 30}]}


def main() -> None:
    print("power envelope: 2 d of the Philly trace on 32 x DGX-1 V100, FIFO, no network model")
    for label, scheduler in (("no envelope", BASE["scheduler"]), ("envelope 30 kW", ENVELOPE)):
        world = World(load_scenario(scenarios_path("philly_full.yaml"), overrides=dict(BASE, scheduler=scheduler)))
        c0 = time.process_time()
        world.run()
        cpu = time.process_time() - c0
        s = world.result().summary
        print(f"  {label:15s} run {cpu:6.2f} s CPU, {world.env.events_processed:,} events, "
              f"{s['jobs_completed']:,} jobs completed, IT energy {s['it_energy_kwh']:,.6f} kWh")


if __name__ == "__main__":
    main()
