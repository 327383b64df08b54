"""Time the plant's cooling step: 43,200 calls of step() = a 30-day run at 60 s.

Run: .venv/bin/python benchmarks/bench_cooling.py
Prints the build time (weather load + vectorised precompute), the stepping
time per configuration (one `step` per plant step, as a live plant loop calls
it), the same 43,200 steps through `step_series` (the deferred plant loop's fast
path) and the largest relative difference between the two. Times are CPU
seconds (`time.process_time`): the box is shared.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sim.facility.cooling import build_cooling
from sim.spec.cooling import PlantCoolingConfig

START = pd.Timestamp("2021-07-01T00:00:00Z")
STEP_S = 60.0
DURATION_S = 30 * 86400.0
IT_NAMEPLATE_W = 10e6


def bench(label: str, config: PlantCoolingConfig) -> None:
    t0 = time.process_time()
    zone_cap = [IT_NAMEPLATE_W / config.zones] * config.zones if config.zones > 1 else None
    model = build_cooling(config, START, DURATION_S, STEP_S, IT_NAMEPLATE_W, None, zone_cap)
    t1 = time.process_time()
    twin = build_cooling(config, START, DURATION_S, STEP_S, IT_NAMEPLATE_W, None, zone_cap)
    n = int(DURATION_S / STEP_S)
    loads_j = IT_NAMEPLATE_W * STEP_S * np.random.default_rng(0).uniform(0.3, 1.0, n)
    step = model.step
    zones = config.zones
    # with zones, uneven rows: zone z gets a share growing with z (the plant loop's per-zone read)
    weights = np.arange(1, zones + 1) / (zones * (zones + 1) / 2)
    zone_j = (loads_j[:, None] * weights[None, :]).tolist() if zones > 1 else None
    t2 = time.process_time()
    if zone_j is None:
        out = [step(k * STEP_S, (k + 1) * STEP_S, float(loads_j[k])) for k in range(n)]
    else:
        out = [step(k * STEP_S, (k + 1) * STEP_S, float(loads_j[k]), zone_j[k]) for k in range(n)]
    t3 = time.process_time()
    edges = np.arange(n + 1) * STEP_S
    series = twin.step_series(edges, loads_j, np.asarray(zone_j) if zone_j is not None else None)
    t4 = time.process_time()
    diff = max(float(np.max(np.abs(series.power_w[p] - [s.power_w[p] for s in out])
                            / np.maximum(np.abs([s.power_w[p] for s in out]), 1e-9))) for p in out[0].power_w)
    print(
        f"{label:<40} build {t1 - t0:5.2f} s  {n} x step {t3 - t2:5.2f} s ({(t3 - t2) / n * 1e6:4.1f} us/step)"
        f"  step_series {t4 - t3:5.2f} s ({(t4 - t3) / n * 1e6:4.1f} us/step, rel. diff {diff:.0e})"
    )


if __name__ == "__main__":
    bench("water-cooled + water-side, greensboro", PlantCoolingConfig(weather="tmy3-greensboro-nc"))
    bench(
        "air-cooled, no economizer, miami",
        PlantCoolingConfig(weather="tmy2-miami-fl", chiller="air-cooled", economizer="none"),
    )
    bench(
        "liquid 75 % + water-side, sand point",
        PlantCoolingConfig.model_validate({"weather": "tmy3-sand-point-ak", "liquid": {"fraction": 0.75}}),
    )
    bench("8 thermal zones (rows), greensboro", PlantCoolingConfig(weather="tmy3-greensboro-nc", zones=8))
