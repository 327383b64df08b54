"""Published training runs: simulate each and set it against the published figures.

`scenarios/validation/<run_id>.yaml` holds one scenario per published run of
`data/reference/training_runs.csv` (Patterson et al. 2021 Tables 1 and 4;
Luccioni et al. 2023 for BLOOM). A scenario gives only what the publication
gives as inputs: accelerator type and count, the model's FLOPs, the achieved
FLOP/s per chip, the site's PUE and grid carbon intensity. Power comes from
the catalog's defaults (chip `busy_w` plus the node's host share), the same
for every run on the same hardware, never from the published watts per chip.

The comparison (`compare()`) reports, per run, simulated and published:

- duration (days): the simulated makespan against `train_days`;
- energy (MWh): facility energy against `energy_mwh` (which includes PUE),
  except where the publication counts something else (`BASIS`);
- carbon (tCO2e): location-based, against `tco2e_gross`.

Tolerances of the project (issue 6): energy and carbon within 20 %,
duration within 5 %.

BLOOM's published 433 MWh is GPU energy only, computed as GPU-hours x 400 W
(the TDP, assumed, not measured) without hosts and without PUE (Luccioni et
al. 2023, Table 1): it is compared with the simulated *accelerator* energy,
and its carbon (433 MWh x 57 g/kWh) with the accelerator share of the
simulated carbon.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.paths import scenarios_path
from sim.spec.traces import data_dir

ENERGY_TOLERANCE = 0.20
CARBON_TOLERANCE = 0.20
DURATION_TOLERANCE = 0.05

#: what the published energy counts, per run: "facility" (IT x PUE, the default)
#: or "accelerator" (chips only, no host, no PUE)
BASIS: dict[str, str] = {"bloom-176b-luccioni": "accelerator"}


def validation_dir() -> Path:
    """`scenarios/validation/` of the project."""
    return scenarios_path("validation")


def published_runs() -> pd.DataFrame:
    """The published table (data/reference/training_runs.csv), indexed by run_id."""
    return pd.read_csv(data_dir() / "reference" / "training_runs.csv").set_index("run_id")


def scenario_paths(folder: str | Path | None = None) -> list[Path]:
    return sorted(Path(folder or validation_dir()).glob("*.yaml"))


def compare(paths: list[str | Path] | None = None) -> pd.DataFrame:
    """Simulate each validation scenario; one row per run, simulated next to published.

    Columns: run_id, model, accelerator, chips, basis, days_sim, days_pub,
    days_err, energy_mwh_sim, energy_mwh_pub, energy_err, tco2e_sim, tco2e_pub,
    tco2e_err, within (all three inside their tolerance), wall_s.
    Errors are relative: sim / published - 1.
    """
    from sim.engine.world import simulate
    from sim.spec.scenario import load_scenario

    table = published_runs()
    rows = []
    for path in paths or scenario_paths():
        scenario = load_scenario(path)
        rid = scenario.name
        if rid not in table.index:
            raise KeyError(f"{path}: scenario name {rid!r} is not a run_id of training_runs.csv")
        pub = table.loc[rid]
        s = simulate(scenario).summary
        basis = BASIS.get(rid, "facility")
        facility_kwh = s["facility_energy_kwh"]
        if basis == "accelerator":
            energy_kwh = s["accelerator_energy_kwh"]
            carbon_kg = s["carbon_kg"] * energy_kwh / facility_kwh if facility_kwh > 0 else 0.0
        else:
            energy_kwh, carbon_kg = facility_kwh, s["carbon_kg"]
        days = s["makespan_s"] / 86400.0
        e_pub, c_pub, d_pub = float(pub["energy_mwh"]), float(pub["tco2e_gross"]), float(pub["train_days"])
        row = {
            "run_id": rid, "model": pub["model"], "accelerator": pub["accelerator"], "chips": int(pub["n_chips"]),
            "basis": basis,
            "days_sim": days, "days_pub": d_pub, "days_err": days / d_pub - 1.0,
            "energy_mwh_sim": energy_kwh / 1000.0, "energy_mwh_pub": e_pub,
            "energy_err": energy_kwh / 1000.0 / e_pub - 1.0,
            "tco2e_sim": carbon_kg / 1000.0, "tco2e_pub": c_pub, "tco2e_err": carbon_kg / 1000.0 / c_pub - 1.0,
            "facility_mwh_sim": facility_kwh / 1000.0, "wall_s": s["wall_s"],
        }
        row["within"] = (abs(row["days_err"]) <= DURATION_TOLERANCE and abs(row["energy_err"]) <= ENERGY_TOLERANCE
                         and abs(row["tco2e_err"]) <= CARBON_TOLERANCE)
        rows.append(row)
    return pd.DataFrame(rows)


def format_table(df: pd.DataFrame, markdown: bool = False) -> str:
    """Simulated against published, one line per run."""
    head = ["run", "chips", "days sim/pub", "err", "MWh sim/pub", "err", "tCO2e sim/pub", "err", "ok"]
    lines = []
    for r in df.itertuples(index=False):
        lines.append([
            r.run_id + (" (GPU only)" if r.basis == "accelerator" else ""),
            f"{r.chips:,} {r.accelerator}",
            f"{r.days_sim:.2f} / {r.days_pub:.2f}", f"{r.days_err:+.1%}",
            f"{r.energy_mwh_sim:,.3g} / {r.energy_mwh_pub:,.3g}", f"{r.energy_err:+.1%}",
            f"{r.tco2e_sim:,.3g} / {r.tco2e_pub:,.3g}", f"{r.tco2e_err:+.1%}",
            "yes" if r.within else "NO",
        ])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(c) for c in lines])


def cmd_published(args) -> int:  # noqa: ANN001 - argparse.Namespace
    """`wattsim published [SCENARIO ...] [--markdown] [--csv FILE]`."""
    df = compare(args.scenarios or None)
    print(format_table(df, markdown=args.markdown))
    print(f"\ntolerances: duration {DURATION_TOLERANCE:.0%}, energy {ENERGY_TOLERANCE:.0%}, "
          f"carbon {CARBON_TOLERANCE:.0%}; {int(df['within'].sum())}/{len(df)} runs within")
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"written: {args.csv}")
    return 0 if bool(df["within"].all()) else 1


__all__ = ["compare", "format_table", "published_runs", "scenario_paths"]
