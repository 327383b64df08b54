"""The power envelope on a Philly slice (issue 14): the cost of the control against the same run without it.

`scenarios/philly_full.yaml` cut to 32 DGX-1 (V100) servers and the trace's first two
days from 2017-10-01, no network model, constant PUE 1.2, FIFO + first-fit; once as
is and once with `scheduler.controls: [{kind: power-envelope, limit_kw: 30}]`.
Prints CPU seconds of each run, its events, jobs completed and IT energy.
`python benchmarks/bench_envelope.py`; with `--breakdown`, the envelope run
also says where its time goes (CPU seconds inside the envelope's hooks and
their parts; the timers add ~0.2 s). The breakdown runs the pure-Python sources
(`WATTSIM_PURE=1`, sim/compiled.py): compiled code calls the parts directly, past
the timers.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

if "--breakdown" in sys.argv[1:]:
    os.environ["WATTSIM_PURE"] = "1"  # the timers wrap Python methods: run the sources

from sim import load_scenario  # noqa: E402
from sim.engine.world import World  # noqa: E402
from sim.paths import scenarios_path  # noqa: E402
from sim.scheduling import control_api, controls  # noqa: E402

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


#: (class, method, label): the parts timed by --breakdown
PARTS = ((controls.PowerEnvelope, "after_change", "after a change (all of it)"),
         (control_api.ControlContext, "set_cap_fraction", "  re-rating the jobs at a new cap"),
         (controls.PowerEnvelope, "highest_fraction", "  the solve"),
         (control_api._StateRead, "__init__", "state reads (change and admission)"),
         (control_api.ControlContext, "_state_key", "their keys"),
         (controls.PowerEnvelope, "admits", "admission"))


def timed(cpu: Counter[str], calls: Counter[str]) -> None:
    """Wrap each part in PARTS with a CPU timer (for this process)."""
    for cls, name, label in PARTS:
        f = getattr(cls, name)

        def wrapper(*args: Any, _f: Callable[..., Any] = f, _label: str = label, **kw: Any) -> Any:
            c0 = time.process_time()
            try:
                return _f(*args, **kw)
            finally:
                cpu[_label] += time.process_time() - c0
                calls[_label] += 1

        setattr(cls, name, wrapper)


def main() -> None:
    print("power envelope: 2 d of the Philly trace on 32 x DGX-1 V100, FIFO, no network model")
    part_cpu: Counter[str] = Counter()
    part_calls: Counter[str] = Counter()
    breakdown = "--breakdown" in sys.argv[1:]
    for label, scheduler in (("no envelope", BASE["scheduler"]), ("envelope 30 kW", ENVELOPE)):
        if breakdown and scheduler is ENVELOPE:
            timed(part_cpu, part_calls)
        world = World(load_scenario(scenarios_path("philly_full.yaml"), overrides=dict(BASE, scheduler=scheduler)))
        c0 = time.process_time()
        world.run()
        cpu = time.process_time() - c0
        s = world.result().summary
        print(f"  {label:15s} run {cpu:6.2f} s CPU, {world.env.events_processed:,} events, "
              f"{s['jobs_completed']:,} jobs completed, IT energy {s['it_energy_kwh']:,.6f} kWh")
    for _, _, part in PARTS if breakdown else ():
        print(f"    {part:36s} {part_cpu[part]:6.2f} s CPU, {part_calls[part]:,} calls")


if __name__ == "__main__":
    main()
