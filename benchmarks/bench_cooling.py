"""Time the plant's cooling step: 43,200 calls of step() = a 30-day run at 60 s.

Run: .venv/bin/python benchmarks/bench_cooling.py
Prints the build time (weather load + vectorised precompute) and the stepping
time per configuration.
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
    t0 = time.perf_counter()
    model = build_cooling(config, START, DURATION_S, STEP_S, IT_NAMEPLATE_W, None)
    t1 = time.perf_counter()
    n = int(DURATION_S / STEP_S)
    loads_j = IT_NAMEPLATE_W * STEP_S * np.random.default_rng(0).uniform(0.3, 1.0, n)
    step = model.step
    zones = config.zones
    # with zones, uneven rows: zone z gets a share growing with z (the plant loop's per-zone read)
    weights = np.arange(1, zones + 1) / (zones * (zones + 1) / 2)
    zone_j = (loads_j[:, None] * weights[None, :]).tolist() if zones > 1 else None
    t2 = time.perf_counter()
    if zone_j is None:
        for k in range(n):
            step(k * STEP_S, (k + 1) * STEP_S, float(loads_j[k]))
    else:
        for k in range(n):
            step(k * STEP_S, (k + 1) * STEP_S, float(loads_j[k]), zone_j[k])
    t3 = time.perf_counter()
    print(
        f"{label:<44} build {t1 - t0:6.3f} s  {n} steps {t3 - t2:6.3f} s  "
        f"({(t3 - t2) / n * 1e6:5.1f} us/step)"
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
