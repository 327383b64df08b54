"""`wattsim sweep`: the parser here; the sweep machinery (`sim.sweep`) loads when the command runs."""

from __future__ import annotations

from typing import Any


def _cmd_sweep(args: Any) -> int:
    from sim.sweep.execute import cmd_sweep

    return cmd_sweep(args)


def add_sweep_command(sub: Any) -> None:
    """Add `wattsim sweep` to the CLI's subparsers."""
    s = sub.add_parser(
        "sweep", help="run a parameter sweep on a process pool or a Dask cluster",
        description="Expand SWEEP (a base scenario plus grid/zip/random/lhs/replicates axes over dotted "
                    "paths), run every scenario and write one table, a row per run, to OUT/results/*.parquet "
                    "as runs finish. Running it again skips finished runs. See docs/sweeps.md.")
    s.add_argument("sweep", help="sweep file (YAML or JSON)")
    s.add_argument("-o", "--output", help="sweep folder (default sweeps/<sweep name>)")
    s.add_argument("-w", "--workers", type=int, help="local processes or LocalCluster workers (default: cores)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--dask", metavar="local", help="run on Dask: 'local' starts a LocalCluster")
    where.add_argument("--scheduler", metavar="tcp://HOST:8786", help="run on an existing Dask cluster")
    s.add_argument("--timeout", metavar="DURATION", help="wall-clock limit per run, e.g. 10min (a longer run is stopped, killed if need be, and "
                   "recorded as timed out)")
    s.add_argument("--keep-runs", action="store_true", help="also write each run's folder to OUT/runs/<run_id>")
    s.add_argument("--runs-interval", metavar="DURATION",
                   help="time-series bin width of the kept run folders, e.g. 1h (default: the scenario's)")
    s.add_argument("--retry-failed", action="store_true", help="rerun runs recorded as failed or timed out")
    s.add_argument("--fail-on-error", action="store_true", help="exit with status 1 if any run failed")
    s.add_argument("--dry-run", action="store_true", help="expand and validate, print the plan, run nothing")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_sweep)
