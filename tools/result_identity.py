"""Run scenarios on two checkouts of wattsim and check their Results are identical, to the bit.

    python tools/result_identity.py [--rtol X] OLD_CHECKOUT NEW_CHECKOUT [CASE ...]

Evidence for a change that must not change any figure (issue 14's result phase:
the jobs recorded as columns, the ledger read in one pass). Each case runs in a
fresh process per checkout (that checkout first on PYTHONPATH): build, run, then
`world.result()`, whose CPU time is printed. Then every table of the two Results
(time series, jobs, nodes, requests) must pass `pandas.testing.assert_frame_equal`
with `check_exact=True` (dtypes, column order, every value; NaN equals NaN), and the
summaries must hold the same keys in the same order with equal values of the same
type, `wall_s` aside. Exits 1 on the first difference, naming it.

With `--rtol X`, a change that may move last bits (a sum taken in another order) is
checked instead: every case runs, numbers may differ by X relative at most (text,
dtypes and shapes must still be equal), and the largest relative difference of each
table and of the summary is printed; exits 1 if any case is beyond X.

Cases (default: all but the year): the full Philly replay, 30 days of
`benchmarks/bench_year.py`'s 16,384-GPU cluster, and small scenarios with
preemption and failures (three queue policies, noisy estimates), serving, the
cooling plant (with a power cap), carbon-aware deferral, the power envelope,
PV + battery, a trace replay, async training, the baseline and the training
physics; `year` runs the whole year (minutes).
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

POLICIES = "policies_philly.yaml"
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "philly_full": ("philly_full.yaml", {}),
    "year30": ("year:30", {}),
    "policies_las": (POLICIES, {}),
    "policies_srtf_noisy": (POLICIES, {"scheduler.queue": "srtf", "scheduler.queue_options": {},
                                       "scheduler.estimates": {"kind": "noisy", "sigma": 0.5}}),
    "policies_backfill": (POLICIES, {"scheduler.queue": "easy-backfill", "scheduler.queue_options": {}}),
    "serving_hour": ("serving_azure_hour.yaml", {}),
    "serving_day_6h": ("serving_diurnal_day.yaml", {"duration": "6h"}),
    "cooling": ("cooling_plant.yaml", {}),
    "cooling_capped": ("cooling_plant.yaml", {"cluster.power_cap_w": 250}),
    "carbon_aware": ("carbon_aware.yaml", {}),
    "power_envelope": ("power_envelope.yaml", {}),
    "solar_battery": ("solar_battery.yaml", {}),
    "philly_replay": ("philly_replay.yaml", {}),
    "async_vs_sync": ("async_vs_sync.yaml", {}),
    "baseline": ("baseline.yaml", {}),
    "training_physics": ("training_physics.yaml", {}),
    "year": ("year:365", {}),
}
DEFAULT = [c for c in CASES if c != "year"]
TABLES = ("timeseries", "jobs", "nodes", "requests")


def _dump(case: str, out: str) -> None:
    """In the checkout on PYTHONPATH: run `case`, pickle its Result's tables and summary to `out`.

    `sim` is imported here, in the child process, so that it is the checkout's own."""
    import sim
    from sim import load_scenario
    from sim.engine.world import World
    from sim.paths import scenarios_path

    source, overrides = CASES[case]
    if source.startswith("year:"):
        sys.path.insert(0, str(Path(sim.__file__).resolve().parents[1] / "benchmarks"))
        from bench_year import YEAR

        scenario = load_scenario(dict(YEAR, duration=f"{source.split(':')[1]}d"))
    else:
        scenario = load_scenario(scenarios_path(source), overrides=overrides or None)
    world = World(scenario)
    world.run()
    c0 = time.process_time()
    result = world.result()
    print(f"    result {time.process_time() - c0:.2f} s CPU, {len(result.jobs):,} jobs")
    summary = {k: v for k, v in result.summary.items() if k != "wall_s"}
    with open(out, "wb") as f:
        pickle.dump({"summary": summary, **{t: getattr(result, t) for t in TABLES}}, f)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _rel(a: float, b: float) -> float:
    """Relative difference of two numbers (0 for equal ones, NaN and infinities included)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def _compare(old: dict[str, Any], new: dict[str, Any], rtol: float | None = None) -> dict[str, float]:
    """Assert the two dumps equal (to `rtol` relative, if given); the largest relative difference
    of the summary and of each table."""
    worst: dict[str, float] = {}
    assert list(old["summary"]) == list(new["summary"]), "summary keys differ"
    for key, value in old["summary"].items():
        other = new["summary"][key]
        if rtol is not None and isinstance(value, float) and isinstance(other, float):
            worst["summary"] = max(worst.get("summary", 0.0), _rel(value, other))
            assert _rel(value, other) <= rtol, f"summary[{key!r}]: {value!r} != {other!r}"
        else:
            assert _same(value, other), f"summary[{key!r}]: {value!r} != {other!r}"
    for table in TABLES:
        a, b = old[table], new[table]
        if table == "jobs" and "nodes" in a:  # a job's nodes: a list until 2026-12-02, a tuple since
            a, b = a.assign(nodes=a["nodes"].map(tuple)), b.assign(nodes=b["nodes"].map(tuple))
        if rtol is None:
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)
            continue
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=rtol, atol=0.0, obj=table)
        num = a.select_dtypes("number").columns
        if len(num) and len(a):
            x, y = a[num].to_numpy(float), b[num].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where((x == y) | (np.isnan(x) & np.isnan(y)), 0.0,
                               np.abs(x - y) / np.maximum(np.abs(x), np.abs(y)))
            worst[table] = float(np.nanmax(rel))
    return worst


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "--dump":
        _dump(argv[1], argv[2])
        return 0
    rtol = None
    if argv and argv[0] == "--rtol":
        rtol = float(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        print(__doc__)
        return 2
    checkouts = [str(Path(a).resolve()) for a in argv[:2]]
    cases = argv[2:] or DEFAULT
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
        return 2
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            dumps = []
            for label, checkout in zip(("old", "new"), checkouts, strict=True):
                out = os.path.join(tmp, f"{case}-{label}.pkl")
                print(f"{case} on {label} ({checkout})", flush=True)
                env = dict(os.environ, PYTHONPATH=checkout)
                subprocess.run([sys.executable, __file__, "--dump", case, out], env=env, cwd=checkout, check=True)
                with open(out, "rb") as f:
                    dumps.append(pickle.load(f))
            try:
                worst = _compare(*dumps, rtol=rtol)
            except AssertionError as err:
                print(f"{case}: DIFFERENT\n{err}")
                if rtol is None:
                    return 1
                failed += 1
                continue
            shapes = ", ".join(f"{t} {dumps[1][t].shape}" for t in TABLES)
            if rtol is None or not any(worst.values()):
                print(f"{case}: identical ({shapes})", flush=True)
            else:
                moved = ", ".join(f"{k} {v:.1e}" for k, v in worst.items() if v)
                print(f"{case}: equal to rtol {rtol:g} ({shapes}); largest relative differences: {moved}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
