"""`wattsim report`: added to the `wattsim` command through the `wattsim.commands` entry point.

`sim` never imports `analysis`; pyproject.toml names `register` under
`[project.entry-points."wattsim.commands"]` and `sim.cli.main` calls it with its
subparsers.
"""

from __future__ import annotations

import argparse
import sys


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of a run folder or a sweep and print its path."""
    import matplotlib

    matplotlib.use("Agg")
    from analysis.report import build_report

    try:
        out = build_report(args.source, args.output, title=args.title)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand to the `wattsim` command line."""
    r = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run or a sweep",
        description="Write one HTML file (figures embedded, summary tables, the resolved scenario) "
                    "for RUN_DIR_OR_SWEEP: a run folder from `wattsim run`, a sweep folder from "
                    "`wattsim sweep`, or a sweep table (.parquet/.csv). It opens offline.")
    r.add_argument("source", metavar="RUN_DIR_OR_SWEEP", help="run folder, sweep folder or sweep table")
    r.add_argument("-o", "--output", help="HTML file to write (default: report.html in the folder)")
    r.add_argument("--title", help="title of a sweep report (default: the folder or file name)")
    r.set_defaults(func=cmd_report)
