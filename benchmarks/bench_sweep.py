"""Sweep overhead: local process pool vs Dask, 1 vs 2 workers, on tiny scenarios.

Each run is a 2-node, 1 h scenario with two small jobs (~0.01 s of simulation),
so the wall time per run is nearly all sweep machinery: expansion and
validation in the parent, shipping the task, validating and building the world
in the worker, the result table, Parquet parts. Worker start-up (spawned
processes import the engine, ~2 s; a LocalCluster ~3-5 s) is reported apart.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200]

Prints the in-process cost of a run (validate + simulate in a loop), then per
engine and worker count: start-up, steady milliseconds per run (total minus
start-up, over runs), runs per second, and the overhead per run (worker-time
per run minus the in-process cost); then the speed-up from 1 to 2 workers. Figures are machine-dependent; benchmarks/README.md keeps them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from sim.sweep import expand_sweep, run_sweep

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
    """`runs` distinct tiny scenarios (the PV capacity differs, so every id does)."""
    return {"name": "bench", "base": TINY,
            "grid": {"supply.pv.capacity_kw": [float(i) for i in range(runs)]}}


def time_engine(sweep: dict, workers: int, dask: str | None) -> tuple[float, float]:
    """(start-up s, total s): start-up measured on a one-run sweep with the same engine."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        t0 = time.perf_counter()
        run_sweep({"base": TINY}, tmp / "warm", workers=workers, dask=dask, progress=False)
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = run_sweep(sweep, tmp / "run", workers=workers, dask=dask, progress=False)
        total = time.perf_counter() - t0
        assert (table["status"] == "ok").all(), table["error"].dropna().head()
        return startup, total
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--engines", default="pool,dask")
    args = ap.parse_args()
    sweep = sweep_of(args.runs)
    t0 = time.perf_counter()
    n = len(expand_sweep(sweep))
    expand_s = time.perf_counter() - t0
    print(f"{n} tiny runs; expansion + validation in the parent: {expand_s / n * 1e3:.2f} ms/run; "
          f"{os.cpu_count()} cores")
    from sim.scenario import validate_document
    from sim.world import simulate

    specs = expand_sweep(sweep)
    simulate(validate_document(specs[0].doc))  # warm the caches (catalog, imports)
    t0 = time.perf_counter()
    for spec in specs:
        simulate(validate_document(spec.doc))
    serial = (time.perf_counter() - t0) / n
    print(f"in-process loop (validate + simulate, no sweep machinery): {serial * 1e3:.1f} ms/run")
    print(f"{'engine':<6} {'workers':>7} {'start-up s':>10} {'total s':>8} {'ms/run':>7} {'runs/s':>7}"
          f" {'overhead ms/run':>16}")
    per_run: dict[tuple[str, int], float] = {}
    for engine in args.engines.split(","):
        for workers in (1, 2):
            startup, total = time_engine(sweep, workers, "local" if engine == "dask" else None)
            # the timed sweep starts its own pool/cluster too: take its start-up off
            steady = max(total - startup, 1e-9)
            per_run[(engine, workers)] = steady / n
            overhead = (steady / n * workers - serial) * 1e3  # worker-time per run beyond the engine's
            print(f"{engine:<6} {workers:>7} {startup:>10.2f} {total:>8.2f} {steady / n * 1e3:>7.1f} "
                  f"{n / steady:>7.1f} {overhead:>16.1f}")
    for engine in args.engines.split(","):
        one, two = per_run.get((engine, 1)), per_run.get((engine, 2))
        if one and two:
            print(f"{engine}: 1 -> 2 workers speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
