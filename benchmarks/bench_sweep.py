"""Sweep overhead: local process pool vs Dask, 1 vs 2 workers, on tiny scenarios.

Each run is a 2-node, 1 h scenario with two small jobs (~0.01 s of simulation),
so the wall time per run is nearly all sweep machinery: expansion and
validation in the parent, shipping the task, validating and building the world
in the worker, the result table, Parquet parts. Worker start-up (spawned
processes import the engine, ~2 s; a LocalCluster ~3-5 s) is reported apart.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200]

Prints the in-process cost of a run (validate + simulate in a loop), then per
engine and worker count (best of --repeats): start+stop (wall time outside the
steady span), steady milliseconds per run (first to last finished row, over
the runs between), runs per second, and the overhead per run (worker-time per
run minus the in-process cost); then the speed-up from 1 to 2 workers. Figures are machine-dependent; benchmarks/README.md keeps them.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from sim.sweep.execute import expand_sweep, run_sweep

TINY: dict = {
    "name": "tiny",
    "duration": "1h",
    "cluster": {"nodes": 2, "node_type": "dgx-h100"},
    "workload": {"jobs": [
        {"name": "a", "submit": 0, "accelerators": 8, "model": {"parameters": 1.0e8, "tokens": 1.0e9}},
        {"name": "b", "submit": 60, "accelerators": 8, "model": {"parameters": 1.0e8, "tokens": 2.0e9}},
    ]},
    "cooling": {"model": "constant-pue", "pue": 1.1},
    "plant": {"step": "300s"},
}


def sweep_of(runs: int) -> dict:
    """`runs` distinct tiny scenarios (the PUE differs, so every id does; PV needed a site's
    weather since issue 15, which would make the runs measure pvlib instead of the sweep)."""
    return {"name": "bench", "base": TINY,
            "grid": {"cooling.pue": [1.1 + 1e-4 * i for i in range(runs)]}}


def time_engine(sweep: dict, workers: int, dask: str | None, repeats: int) -> tuple[float, float]:
    """(start-up s, steady s per run), best of `repeats` sweeps.

    Steady: the span between the first and the last finished row over the
    runs in between (so pool/cluster start-up and the first import are out);
    start-up: the rest of the sweep's wall time.
    """
    best = (math.inf, math.inf)
    for _ in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            t0 = time.perf_counter()
            table = run_sweep(sweep, tmp, workers=workers, dask=dask, progress=False)
            total = time.perf_counter() - t0
            assert (table["status"] == "ok").all(), table["error"].dropna().head()
            done = table["finished_at"].sort_values()
            span = (done.iloc[-1] - done.iloc[0]).total_seconds()
            steady = span / (len(done) - 1)
            best = min(best, (total - span, steady), key=lambda x: x[1])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--engines", default="pool,dask")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many sweeps per configuration")
    args = ap.parse_args()
    sweep = sweep_of(args.runs)
    t0 = time.perf_counter()
    n = len(expand_sweep(sweep))
    expand_s = time.perf_counter() - t0
    print(f"{n} tiny runs; expansion + validation in the parent: {expand_s / n * 1e3:.2f} ms/run; "
          f"{os.cpu_count()} cores")
    from sim.engine.world import simulate
    from sim.spec.scenario import validate_document

    specs = expand_sweep(sweep)
    simulate(validate_document(specs[0].doc))  # warm the caches (catalog, imports)
    t0 = time.perf_counter()
    for spec in specs:
        simulate(validate_document(spec.doc))
    serial = (time.perf_counter() - t0) / n
    print(f"in-process loop (validate + simulate, no sweep machinery): {serial * 1e3:.1f} ms/run")
    print(f"{'engine':<6} {'workers':>7} {'start+stop s':>12} {'ms/run':>7} {'runs/s':>7}"
          f" {'overhead ms/run':>16}")
    per_run: dict[tuple[str, int], float] = {}
    for engine in args.engines.split(","):
        for workers in (1, 2):
            startup, steady = time_engine(sweep, workers, "local" if engine == "dask" else None, args.repeats)
            per_run[(engine, workers)] = steady
            overhead = (steady * workers - serial) * 1e3  # worker-time per run beyond the engine's own
            print(f"{engine:<6} {workers:>7} {startup:>12.2f} {steady * 1e3:>7.1f} {1 / steady:>7.1f} "
                  f"{overhead:>16.1f}")
    for engine in args.engines.split(","):
        one, two = per_run.get((engine, 1)), per_run.get((engine, 2))
        if one and two:
            print(f"{engine}: 1 -> 2 workers speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
