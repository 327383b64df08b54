"""`wattsim run`: run a scenario, write its folder, print the summary; stop cleanly.

A run stopped by ``--timeout`` or by Ctrl-C closes its books at the instant it
stopped (between two events, so every ledger is consistent) and writes a run
folder whose summary says ``stopped: timeout`` or ``interrupted`` (its
manifest too): everything measured up to that instant, marked partial. A
second Ctrl-C aborts at once without writing.

Input problems that only show when the run reads its inputs (a trace's
content, a weather or signal file, a number out of range deep in a model) are
reported as one line naming the scenario path where it is known, never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.engine.checks import load_scenario
from sim.spec.errors import ScenarioError
from sim.spec.scenario import Scenario, scenario_warnings
from sim.spec.traces import TraceError
from sim.units import parse_duration

#: ASHRAE TC 9.9 (2021) class A4 allowable inlet upper limit, 45 C (data/reference/cooling_and_grid.md 2.1)
INLET_WARNING_C = 45.0
#: Longest error message printed (characters); the rest is cut with an ellipsis
MAX_ERROR_CHARS = 400


class RunFailed(ScenarioError):
    """A run stopped by bad input found while running; one line, exit status 2."""


def print_warnings(scenario: Scenario) -> None:
    for line in scenario_warnings(scenario):
        print(f"warning: {line}", file=sys.stderr)


def cmd_run(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    from sim.cli.progress import watching
    from sim.cli.summary import summary_table
    from sim.engine.world import SameInstantLoop, World

    scenario = load_scenario(args.scenario, overrides=overrides)
    print_warnings(scenario)
    timeout_s = _timeout(getattr(args, "timeout", None))
    try:
        world = World(scenario)
        with _ctrl_c_stops(world), watching(world):
            world.run(wall_limit_s=timeout_s, partial=True)
        result = world.result()
    except SameInstantLoop as exc:
        raise RunFailed(f"the simulation stopped advancing: {_cut(str(exc))}") from None
    except ScenarioError:
        raise
    except TraceError as exc:
        raise RunFailed(f"workload.trace: {_cut(str(exc))}") from None
    except (ValueError, OverflowError, ArithmeticError, RecursionError, UnicodeError, OSError, MemoryError) as exc:
        raise RunFailed(f"the run stopped on its input: {_describe(exc)}") from None
    out = Path(args.output or Path("runs") / scenario.name)
    if result.summary.get("stopped"):
        result.manifest["partial"] = {"stopped": result.summary["stopped"], "at_s": result.summary["simulated_s"]}
    result.to_dir(out)
    partial = " (PARTIAL)" if result.summary.get("stopped") else ""
    print(f"scenario {scenario.name!r} -> {out}/{partial}")
    print(summary_table(result.summary, currency=_currency(scenario)))
    inlet = result.summary.get("max_inlet_temp_c", float("nan"))
    if inlet == inlet and inlet > INLET_WARNING_C:
        print(f"warning: server inlet air reached {inlet:.0f} C, above the {INLET_WARNING_C:.0f} C ASHRAE A4 "
              "allowable limit: the cooling plant cannot carry this load even with the accelerators "
              "throttled (real servers would trip); give it more capacity", file=sys.stderr)
    if not args.no_plot:
        try:
            from sim.results.plot import plot_power

            png = plot_power(result, out / "power.png")
            print(f"plot: {png}")
        except ImportError as exc:  # matplotlib missing: results are still written
            print(f"(no plot: {exc})", file=sys.stderr)
    return 3 if result.summary.get("stopped") else 0


def _timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ScenarioError(f"--timeout: {exc}") from None
    if seconds <= 0:
        raise ScenarioError(f"--timeout: {text!r} is not allowed: give a positive duration, e.g. 10min")
    return seconds


@contextlib.contextmanager
def _ctrl_c_stops(world: Any) -> Iterator[None]:
    """First Ctrl-C: stop between two events and keep what was measured; second: abort."""
    if not hasattr(signal, "SIGINT"):
        yield
        return

    def stop(signum: int, frame: Any) -> None:  # noqa: ARG001 - a signal handler's signature
        print("\ninterrupted: closing the books at this instant (Ctrl-C again to abort)", file=sys.stderr)
        world.env.interrupt()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _currency(scenario: Scenario) -> str | None:
    supply = scenario.supply
    return None if supply.model is not None else supply.grid.currency


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def _describe(exc: BaseException) -> str:
    """'TypeName: message (in module:line)', one line, cut."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        where = f" (in {Path(f.filename).name}:{f.lineno})"
    return _cut(f"{type(exc).__name__}: {exc}") + where


__all__ = ["INLET_WARNING_C", "RunFailed", "cmd_run", "print_warnings"]
