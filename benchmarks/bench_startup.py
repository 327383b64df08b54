"""Start-up cost of the command line: `wattsim --help` and `wattsim validate` (issue 12 target: < 1 s CPU each).

Each command runs in a fresh interpreter, five times; the figure is the median CPU time (user + system) of
the child, read from `resource.getrusage(RUSAGE_CHILDREN)`, and its peak RSS. A bare `python -c pass` in
the same run is the floor no command can go under.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "wattsim --help": [sys.executable, "-m", "sim.cli", "--help"],
    "wattsim validate scenarios/baseline.yaml": [sys.executable, "-m", "sim.cli", "validate",
                                                 "scenarios/baseline.yaml"],
}


def cpu_of(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, after.ru_maxrss / 1024.0


def main() -> None:
    print(f"{'command':<44} {'CPU s (median of 5)':>20} {'peak RSS MiB':>13}")
    for name, cmd in COMMANDS.items():
        runs = [cpu_of(cmd) for _ in range(5)]
        print(f"{name:<44} {statistics.median(r[0] for r in runs):>20.3f} {max(r[1] for r in runs):>13.0f}")


if __name__ == "__main__":
    main()
