"""`wattsim run | validate | catalog | sweep | published | report`: the command line.

Errors in a scenario print one line per problem (dotted path, value, what is
allowed) and exit with status 2; no traceback.

Start-up cost: `wattsim --help` builds the parsers only. Each command imports
what it runs inside its own function (the one deliberate use of function-level
imports in `sim`: the CLI loads only what the command uses; nothing imports
`sim.cli`, so this can hide no cycle).
"""

from __future__ import annotations

import argparse
import sys

from sim.cli.published import add_published_command
from sim.cli.summary import fmt_duration, summary_table
from sim.cli.sweep import add_sweep_command
from sim.spec.errors import ScenarioError

__all__ = ["build_parser", "main", "summary_table"]


def _overrides(items: list[str] | None) -> dict[str, object]:
    from sim.spec.scenario import parse_override

    out: dict[str, object] = {}
    for item in items or []:
        key, value = parse_override(item)
        out[key] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from sim.cli.run import cmd_run as run

    return run(args, _overrides(args.set))


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.cli.run import print_warnings
    from sim.engine.checks import load_scenario

    scenario = load_scenario(args.scenario, overrides=_overrides(args.set))
    print_warnings(scenario)
    pools = ", ".join(f"{p.nodes} x {p.node_type}" for p in scenario.cluster.node_pools())
    horizon = scenario.duration if scenario.duration == "until-done" else fmt_duration(scenario.horizon_s)
    print(f"{args.scenario}: valid — {scenario.name!r}, {pools}, {horizon}, "
          f"{len(scenario.workload.jobs)} listed jobs"
          f"{', a generator' if scenario.workload.generator else ''}")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from sim.catalog import load_catalog

    cat = load_catalog()
    if args.what in ("all", "accelerators"):
        print("Accelerators (peak dense 16-bit, power, memory):")
        print(f"  {'key':<12} {'TFLOP/s':>8} {'TDP W':>7} {'busy W':>7} {'idle W':>7} {'min cap':>8} "
              f"{'HBM GB':>7} {'MFU':>5}  name")
        for a in cat.accelerators.values():
            print(f"  {a.key:<12} {a.peak_flops / 1e12:>8.0f} {a.tdp_w:>7.0f} {a.busy_w:>7.0f} {a.idle_w:>7.0f} "
                  f"{a.min_cap_w:>8.0f} {a.memory_bytes / 1e9:>7.0f} {a.default_mfu:>5.2f}  {a.name}")
    if args.what in ("all", "nodes"):
        print("Node types (accelerators, host power idle/busy, links):")
        for n in cat.node_types.values():
            print(f"  {n.key:<14} {n.accelerators_per_node} x {n.accelerator:<10} host {n.host_idle_w:>5.0f}/"
                  f"{n.host_busy_w:>5.0f} W  intra {n.intra_node_bandwidth_bytes_per_s / 1e9:>5.0f} GB/s  "
                  f"NIC {n.nic_bandwidth_bytes_per_s / 1e9:>5.0f} GB/s  {n.name}")
    if args.what in ("all", "models"):
        print("Model presets (parameters, training FLOPs per sample):")
        for m in cat.models.values():
            print(f"  {m.key:<14} {m.parameters:>10.3g} params  {m.flops_per_sample:>10.3g} FLOP/{m.sample_unit}"
                  f"  MFU {m.typical_mfu:.2f}  {m.name}")
    if args.what in ("all", "grids"):
        from sim.facility.signals import BUNDLED_TRACES, grid_catalog

        print("Grids (supply.grid.carbon_intensity: {trace: NAME}; mean over the whole file):")
        for g in grid_catalog():
            mix = "generation mix" if g["generation_mix"] else "no mix"
            print(f"  {g['name']:<14} {g['region']:<14} {g['first']:%Y-%m-%d} .. {g['last']:%Y-%m-%d}  "
                  f"{g['resolution_s'] / 60:>4.0f} min  mean {g['mean_g_per_kwh']:>5.0f} g/kWh  {mix}")
        if args.sources:
            for name in (g["name"] for g in grid_catalog()):
                print(f"    {name}: {BUNDLED_TRACES[name].description}")
    if args.sources:
        print("\nSources:")
        for group in (cat.accelerators, cat.node_types, cat.models):
            for key, entry in group.items():
                print(f"  {key}: {entry.source}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wattsim",
        description="Discrete-event simulator of AI datacenters: energy, carbon, cost, PUE and job times.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario and write a run folder",
                       description="Run SCENARIO (YAML/JSON) and write summary.json, timeseries.parquet, "
                                   "jobs.parquet, nodes.parquet, manifest.yaml and power.png to -o DIR.")
    r.add_argument("scenario", help="scenario file (YAML or JSON)")
    r.add_argument("-o", "--output", help="run folder (default runs/<scenario name>)")
    r.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a value by dotted path, e.g. --set cluster.nodes=128 (repeatable)")
    r.add_argument("--no-plot", action="store_true", help="do not draw power.png")
    r.add_argument("--timeout", metavar="DURATION",
                   help="wall-clock limit, e.g. 10min: the run stops there and writes a partial run folder")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check a scenario without running it",
                       description="Validate SCENARIO: unknown keys, bad values and unknown catalog names "
                                   "are reported by dotted path; exit status 2 if invalid.")
    v.add_argument("scenario")
    v.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a value by dotted path")
    v.set_defaults(func=cmd_validate)
    c = sub.add_parser("catalog", help="list accelerators, node types and model presets",
                       description="Print the bundled hardware and model catalog with power and speed figures.")
    c.add_argument("what", nargs="?", default="all", choices=["all", "accelerators", "nodes", "models", "grids"])
    c.add_argument("--sources", action="store_true", help="also print where each figure comes from")
    c.set_defaults(func=cmd_catalog)
    add_sweep_command(sub)
    add_published_command(sub)
    _register_plugins(sub)
    return p


def _register_plugins(sub: argparse._SubParsersAction) -> None:
    """Subcommands other packages add through the `wattsim.commands` entry-point group.

    This is how `analysis` adds `wattsim report` without `sim` importing it:
    an entry point names a function `register(subparsers)`.
    """
    from importlib.metadata import entry_points

    for ep in entry_points(group="wattsim.commands"):
        try:
            ep.load()(sub)
        except (ImportError, AttributeError) as exc:  # a broken plugin must not break the CLI
            print(f"warning: wattsim command plugin {ep.name!r} not loaded: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as exc:
        print(f"error: {exc}".replace("\n", "\nerror: "), file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
