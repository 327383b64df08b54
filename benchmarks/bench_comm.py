"""Network in the engine: 1,000 concurrent multi-node jobs on a fat-tree.

2,000 DGX H100 nodes on a k=20 fat-tree (2,000 hosts, 500 switches); 1,000
sync jobs of 16 GPUs on 2 random nodes each (hierarchical all-reduce) start
together
and finish at spread-out times, so every completion changes the flow set and
re-rates the jobs whose share moved. Prints the time per flow-set change
(max-min recompute + re-rating + network power booking), whole-run events/s,
and the slowdown against the same scenario with `network.model: off`.
Run with `make bench` (or `python benchmarks/bench_comm.py`).
"""

from __future__ import annotations

import time

import numpy as np

from sim import load_scenario
from sim.engine.world import World

JOBS = 1000


def scenario(model: str) -> dict:
    rng = np.random.default_rng(3)
    samples = rng.uniform(0.5e6, 5e6, JOBS)  # BERT-large sequences: ~20 min to ~3 h each
    jobs = [{"name": f"j{i}", "accelerators": 16, "model": "bert-large", "samples": float(s)}
            for i, s in enumerate(samples)]
    return {
        "name": f"bench-comm-{model}",
        "duration": "until-done",
        "cluster": {"nodes": 2 * JOBS, "node_type": "dgx-h100",
                    "topology": {"kind": "fat-tree", "k": 20, "host_link_bandwidth": "400Gbps"}},
        "network": {"model": model},
        "scheduler": {"placement": "random"},  # jobs cross pods: shares interact
        "workload": {"jobs": jobs},
        "cooling": {"model": "constant-pue", "pue": 1.1},
        "plant": {"step": "600s"},
        "output": {"interval": "1h"},
    }


def run(model: str) -> tuple[World, float]:
    s = load_scenario(scenario(model))
    t0 = time.perf_counter()
    w = World(s).run()
    return w, time.perf_counter() - t0


def main() -> None:
    off, wall_off = run("off")
    on, wall_on = run("flow")
    c = on.comm
    print(f"hosts {len(on.nodes)}, switches {len(c._switch_ch)}, jobs {JOBS} (16 GPUs on 2 nodes each)")
    print(f"flow-set changes {c.flow_set_changes}, recomputations {c.net.recomputations}")
    print(f"time per flow-set change {1e3 * c.flush_wall_s / max(c.flow_set_changes, 1):.1f} ms "
          f"(share recompute + re-rating + power), {c.flush_wall_s:.1f} s in all")
    for name, w, wall in (("flow", on, wall_on), ("off", off, wall_off)):
        ev = w.env.events_processed
        print(f"network {name:4s}: wall {wall:6.1f} s, events {ev:,}, {ev / wall:,.0f} events/s, "
              f"makespan {w.end_s / 3600:.2f} h")
    print(f"slowdown flow vs off: {wall_on / wall_off:.2f}x wall")


if __name__ == "__main__":
    main()
