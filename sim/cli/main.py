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
from pathlib import Path

from sim.cli.published import add_published_command
from sim.cli.sweep import add_sweep_command
from sim.spec.errors import ScenarioError

#: ASHRAE TC 9.9 (2021) class A4 allowable inlet upper limit, 45 C (data/reference/cooling_and_grid.md 2.1)
INLET_WARNING_C = 45.0


def _overrides(items: list[str] | None) -> dict[str, object]:
    from sim.spec.scenario import parse_override

    out: dict[str, object] = {}
    for item in items or []:
        key, value = parse_override(item)
        out[key] = value
    return out


def _fmt_energy(kwh: float) -> str:
    return f"{kwh / 1000:,.2f} MWh" if abs(kwh) >= 1000 else f"{kwh:,.1f} kWh"


def _fmt_duration(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds >= 86400:
        return f"{seconds / 86400:.2f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds:.0f} s"


def _pct(value: float | None) -> str:
    return "unknown" if value is None or value != value else f"{value:.1%}"


def _share_rows(summary: dict) -> list[tuple[str, str]]:
    """Each renewable / carbon-free share with its definition (``SHARE_DEFINITIONS``)."""
    from sim.results.shares import SHARE_DEFINITIONS

    labels = {"renewable_share": "renewable share", "carbon_free_share": "carbon-free share",
              "renewable_share_onsite": "  on-site renewables",
              "renewable_share_hourly_matched": "  hourly matched (market)",
              "cfe_score": "  24/7 CFE score", "annual_matched_share": "  annual matched (market)"}
    rows = []
    for key, label in labels.items():
        if key not in summary:
            continue
        value = summary[key]
        hint = " (set supply.grid.renewable_fraction)" if value != value else ""
        rows.append((label, f"{_pct(value)}{hint}  [{SHARE_DEFINITIONS[key]}]"))
    return rows


def _cost_rows(summary: dict) -> list[tuple[str, str]]:
    cur = summary.get("currency", "")
    if "cost_total" not in summary:
        return [("energy cost", f"{summary['cost']:,.0f} {cur}")]
    capex = sum(v for k, v in summary.items() if k.startswith("cost_capex_"))
    water = summary.get("water_onsite_l", float("nan"))
    return [
        ("cost (capital / energy / PPA+demand)", f"{summary['cost_total']:,.0f} {cur} ({capex:,.0f} / "
         f"{summary['cost_energy']:,.0f} / {summary['cost_ppa'] + summary['cost_demand_charges']:,.0f})"),
        ("cost per accelerator-hour", f"{summary['cost_per_accelerator_hour']:,.2f} {cur}"),
        ("water on site", f"{water / 1000:,.1f} m3"),
    ]


def summary_table(summary: dict) -> str:
    """The short table `wattsim run` prints."""
    rows = [
        ("facility energy", _fmt_energy(summary["facility_energy_kwh"])),
        ("  IT (accelerators / hosts / network)",
         f"{_fmt_energy(summary['it_energy_kwh'])} ({_fmt_energy(summary['accelerator_energy_kwh'])}"
         f" / {_fmt_energy(summary['host_energy_kwh'])} / {_fmt_energy(summary['network_energy_kwh'])})"),
        ("  cooling + losses", _fmt_energy(summary["cooling_energy_kwh"] + summary["losses_energy_kwh"])),
        ("PUE", f"{summary['pue']:.3f}"),
        ("peak power", f"{summary['peak_power_kw']:,.1f} kW"),
        *_share_rows(summary),
        ("carbon (operational / embodied)", f"{summary['carbon_kg'] / 1000:,.2f} / "
         f"{summary.get('embodied_carbon_kg', 0.0) / 1000:,.2f} t CO2e"),
        *_cost_rows(summary),
        ("jobs completed / submitted", f"{summary['jobs_completed']} / {summary['jobs_submitted']}"
         f" (failed {summary['jobs_failed']}, unfinished {summary['jobs_unfinished']})"),
        ("mean JCT / mean wait", f"{_fmt_duration(summary['mean_jct_s'])} / {_fmt_duration(summary['mean_wait_s'])}"),
        ("accelerator utilization", f"{summary['gpu_utilization']:.1%}"),
        ("simulated / wall time", f"{_fmt_duration(summary['simulated_s'])} / {summary['wall_s']:.2f} s"
         f" ({summary['events']:,} events)"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.cli.progress import run_with_progress
    from sim.engine.checks import load_scenario

    scenario = load_scenario(args.scenario, overrides=_overrides(args.set))
    result = run_with_progress(scenario)
    out = Path(args.output or Path("runs") / scenario.name)
    result.to_dir(out)
    print(f"scenario {scenario.name!r} -> {out}/")
    print(summary_table(result.summary))
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
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.engine.checks import load_scenario

    scenario = load_scenario(args.scenario, overrides=_overrides(args.set))
    pools = ", ".join(f"{p.nodes} x {p.node_type}" for p in scenario.cluster.node_pools())
    horizon = scenario.duration if scenario.duration == "until-done" else _fmt_duration(scenario.horizon_s)
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
