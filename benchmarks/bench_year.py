"""Scale: a year of a 16,384-GPU cluster fed by the Philly-fitted generator (issue 14).

2,048 DGX-1 (V100) servers, `philly` generator at 114 jobs/h (about a million
jobs in 365 d: the Philly size shares and duration mixture, docs/workloads.md),
FIFO + first-fit, the cooling plant on Greensboro weather, 10 MWp PV + a 20 MWh
battery + the GB 2020 carbon trace (wrapped onto the year), 60 s plant step.
Target (issue 14): under 2 minutes and 2 GB. `python benchmarks/bench_year.py`
(`--days N` for a shorter slice).
"""

from __future__ import annotations

import sys

from bench_philly import measure

DAYS = 365
YEAR = {
    "name": "bench-year-16k",
    "start": "2021-01-01T00:00:00Z",
    "duration": f"{DAYS}d",
    "seed": 3,
    "cluster": {"nodes": 2048, "node_type": "dgx-1-v100"},
    "workload": {"generator": {"kind": "philly", "rate_per_hour": 114}},
    "scheduler": {"queue": "fifo", "placement": "first-fit"},
    "cooling": {"model": "plant", "weather": "tmy3-greensboro-nc", "chiller": "water-cooled",
                "economizer": "water-side"},
    "supply": {"weather": "tmy3-greensboro-nc",
               "grid": {"carbon_intensity": {"trace": "gb-2020", "wrap": True}},
               "pv": {"capacity_kw": 10000}, "battery": {"capacity_kwh": 20000, "power_kw": 5000}},
    "plant": {"step": "60s"},
    "output": {"interval": "1h"},
}


def main() -> None:
    days = float(sys.argv[sys.argv.index("--days") + 1]) if "--days" in sys.argv else DAYS
    doc = dict(YEAR, duration=f"{days:g}d")
    measure(doc, label=f"{days:g} d of 2,048 x DGX-1 V100 (16,384 GPUs), philly generator at 114 jobs/h, "
            "cooling plant, PV + battery + carbon trace, 60 s plant step")


if __name__ == "__main__":
    main()
