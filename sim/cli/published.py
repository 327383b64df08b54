"""`wattsim published`: the parser here; the comparison (`sim.workload.published`) loads when it runs."""

from __future__ import annotations

from typing import Any


def _cmd_published(args: Any) -> int:
    from sim.workload.published import cmd_published

    return cmd_published(args)


def add_published_command(sub: Any) -> None:
    """Add `wattsim published` to the command line."""
    p = sub.add_parser("published", help="simulate the published training runs and compare",
                       description="Run scenarios/validation/*.yaml (or the given files) and print simulated "
                                   "against published duration, energy and carbon (exit 1 if any is outside "
                                   "its tolerance).")
    p.add_argument("scenarios", nargs="*", help="validation scenarios (default: all bundled)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--csv", help="also write the comparison to this CSV file")
    p.set_defaults(func=_cmd_published)
