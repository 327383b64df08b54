"""A serving deployment run on its own: a ledger, the engine, the tables.

The tests and the benchmark run a deployment this way; inside the World
(a scenario's `serving:` section) the same engine books into the world's
ledger and the facility model (cooling, supply, carbon) adds the rest. Here
the facility overhead is a constant PUE (default 1.09, Google's fleet-wide trailing-twelve-month PUE
that Elsworth et al. 2025 apply to Gemini, M).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.meter import Meter
from sim.results.serving import bins_table, requests_table, summary
from sim.serving.deployment import build_engine
from sim.serving.engine import ServingEngine
from sim.spec.serving import ServingConfig

#: facility PUE of a standalone run (M: Google fleet PUE ~1.09-1.10, as used for Gemini by Elsworth et al. 2025)
DEFAULT_PUE = 1.09


@dataclass
class ServingResult:
    engine: ServingEngine
    meter: Meter
    requests: pd.DataFrame
    bins: pd.DataFrame
    summary: dict[str, float]


def simulate_serving(cfg: ServingConfig, duration_s: float, *, seed: int = 1, pue: float = DEFAULT_PUE,
                     interval_s: float = 300.0, drain: bool = True, start_hour: float = 0.0,
                     start_weekday: int = 0) -> ServingResult:
    """Requests arriving in [0, duration_s); with `drain` the run goes on until the last one ends."""
    t_wall = time.perf_counter()
    clock = [0.0]
    meter = Meter(lambda: clock[0])
    engine = build_engine(cfg, meter, duration_s, seed, start_hour=start_hour, start_weekday=start_weekday)
    engine.run(math.inf if drain else duration_s)
    t_end = max(engine.now, duration_s)
    engine.close(t_end)
    clock[0] = t_end
    meter.close_all(t_end)
    n_bins = max(1, math.ceil(t_end / interval_s - 1e-9))
    edges = np.arange(n_bins + 1) * interval_s
    edges[-1] = max(edges[-1], t_end)
    req = requests_table(engine, cfg.slo.ttft_s, cfg.slo.tbt_s)
    bins = bins_table(engine, meter, edges, req)
    bins.insert(0, "t_start_s", edges[:-1])
    summ = summary(engine, meter, req, t_end, pue - 1.0)
    summ["serving_simulated_s"] = t_end
    summ["serving_events"] = float(engine.events)
    summ["wall_s"] = time.perf_counter() - t_wall
    return ServingResult(engine, meter, req, bins, summ)
