"""`make bench`: run every benchmarks/bench_*.py in turn and print its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent))
import sim.compiled  # noqa: E402  (the status of this checkout's hot path)

print(f"hot path: {sim.compiled.STATUS} (sim/compiled.py)", flush=True)
failed = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    rc = subprocess.call([sys.executable, str(script)], cwd=here.parent)
    failed += rc != 0
sys.exit(1 if failed else 0)
