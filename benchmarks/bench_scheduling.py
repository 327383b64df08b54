"""Time per scheduling decision with 1,000 queued jobs on 1,000 nodes.

A 1,000-node DGX H100 cluster (8,000 GPUs) receives 1,250 jobs at t = 0
(8-64 GPUs, 1-10 h), so after the first pass the cluster is full and about
1,000 jobs wait. Then, per policy, we time (a) a full decision pass over the
waiting queue with nothing fitting (the worst case: every job is ordered and
tried) and (b) the passes of 6 simulated hours of completions and starts.
"Per decision" = pass time / jobs considered. Run: `python benchmarks/bench_scheduling.py`.
"""

from __future__ import annotations

import time

import numpy as np

from sim import load_scenario
from sim.engine.world import World

NODES = 1000
JOBS = 1250


def scenario(queue: str, placement: str) -> dict:
    rng = np.random.default_rng(0)
    jobs = [{"name": f"j{i}", "submit": 0, "accelerators": int(rng.choice([8, 16, 32, 64])),
             "duration": float(rng.uniform(1, 10)) * 3600} for i in range(JOBS)]
    return {"name": "bench-scheduling", "duration": "1d", "seed": 1,
            "cluster": {"nodes": NODES, "node_type": "dgx-h100"},
            "workload": {"jobs": jobs}, "scheduler": {"queue": queue, "placement": placement},
            "cooling": {"model": "constant-pue", "pue": 1.1}, "plant": {"step": "1h"},
            "output": {"interval": "1h"}}


def bench(queue: str, placement: str) -> dict[str, float]:
    w = World(load_scenario(scenario(queue, placement)))
    s = w.scheduler
    w.start_arrivals()
    w.env.run(until=1)
    queued = len(s.queue)
    d0 = s.decisions
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        s._pass()
    full_pass = (time.perf_counter() - t0) / reps
    per_decision = full_pass / max((s.decisions - d0) / reps, 1)
    p0, w0, dd0 = s.passes, s.pass_wall_s, s.decisions
    w.env.run(until=6 * 3600)
    passes = s.passes - p0
    return {"queued": queued, "full_pass_ms": full_pass * 1e3, "per_decision_us": per_decision * 1e6,
            "run_passes": passes, "run_pass_ms": (s.pass_wall_s - w0) / max(passes, 1) * 1e3,
            "run_decisions": s.decisions - dd0}


def main() -> None:
    print(f"{NODES} nodes, {JOBS} jobs submitted at t=0")
    print(f"{'queue':<14}{'placement':<12}{'queued':>7}{'full pass ms':>14}{'us/decision':>13}"
          f"{'6h passes':>11}{'ms/pass':>9}")
    for q, p in [("fifo", "first-fit"), ("sjf", "first-fit"), ("sjf", "packed"), ("sjf", "spread"),
                 ("sjf", "topology"), ("srtf", "packed"), ("las", "packed"), ("easy-backfill", "packed"),
                 ("fair", "packed")]:
        r = bench(q, p)
        print(f"{q:<14}{p:<12}{r['queued']:>7}{r['full_pass_ms']:>14.2f}{r['per_decision_us']:>13.2f}"
              f"{r['run_passes']:>11}{r['run_pass_ms']:>9.2f}")


if __name__ == "__main__":
    main()
