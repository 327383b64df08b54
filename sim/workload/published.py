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

Calibration and validation. `data/reference/calibration.csv` declares which
published figure set which catalog constant (with the derivation). A run
named there is a **calibration** row: agreement is expected, by
construction or nearly. Every other run is a **validation** row: nothing in
the catalog was fitted to it. The validation runs are Meta's LLaMA-1
(Touvron et al. 2023, Table 15: LLaMA 7B-65B and OPT-175B recomputed in one
data centre) and Llama 2 (Touvron et al. 2023b, Table 2). Their energy is
the publisher's estimate GPU-hours x 400 W (TDP) x PUE 1.1 with no host, so
they are compared on that boundary, simulated accelerator energy x PUE
(basis "accelerator-pue"): the test is the power the model gives an A100 at
each run's utilisation against the TDP the publisher assumed. Their
duration is an identity (the mean FLOP/s per GPU is derived from the
published GPU-hours); it checks that the engine adds no time of its own.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.paths import scenarios_path
from sim.spec.traces import data_dir

ENERGY_TOLERANCE = 0.20
CARBON_TOLERANCE = 0.20
DURATION_TOLERANCE = 0.05

#: what the published energy counts, per run: "facility" (IT x PUE, the default),
#: "accelerator" (chips only, no host, no PUE) or "accelerator-pue" (chips x PUE, no host)
BASIS: dict[str, str] = {
    "bloom-176b-luccioni": "accelerator",
    **{rid: "accelerator-pue" for rid in (
        "llama1-7b-t15", "llama1-13b-t15", "llama1-33b-t15", "llama1-65b-t15", "opt-175b-t15",
        "llama2-7b", "llama2-13b", "llama2-70b")},
}


def calibration_table() -> pd.DataFrame:
    """data/reference/calibration.csv: constant, value, set_from (run ids or sources), derivation."""
    return pd.read_csv(data_dir() / "reference" / "calibration.csv")


def calibration_runs() -> set[str]:
    """Run ids of training_runs.csv that set a catalog constant (the calibration set)."""
    runs: set[str] = set()
    for cell in calibration_table()["set_from"].astype(str):
        runs.update(cell.split())
    return runs


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
    tco2e_err, within (all three inside their tolerance), wall_s; role "calibration"
    (the run set a catalog constant) or "validation" (it did not).
    Errors are relative: sim / published - 1.
    """
    from sim.engine.checks import load_scenario
    from sim.engine.world import simulate
    from sim.spec.errors import ScenarioError

    table = published_runs()
    calibration = calibration_runs()
    rows = []
    for path in paths or scenario_paths():
        scenario = load_scenario(path)
        rid = scenario.name
        if rid not in table.index:
            raise ScenarioError(f"{path}: name {rid!r} is not a published run (a run_id of "
                                f"data/reference/training_runs.csv: {', '.join(sorted(table.index))})")
        pub = table.loc[rid]
        s = simulate(scenario).summary
        basis = BASIS.get(rid, "facility")
        facility_kwh = s["facility_energy_kwh"]
        if basis in ("accelerator", "accelerator-pue"):
            energy_kwh = s["accelerator_energy_kwh"] * (float(pub["pue"]) if basis == "accelerator-pue" else 1.0)
            carbon_kg = s["carbon_kg"] * energy_kwh / facility_kwh if facility_kwh > 0 else 0.0
        else:
            energy_kwh, carbon_kg = facility_kwh, s["carbon_kg"]
        days = s["makespan_s"] / 86400.0
        e_pub, c_pub, d_pub = float(pub["energy_mwh"]), float(pub["tco2e_gross"]), float(pub["train_days"])
        row = {
            "run_id": rid, "model": pub["model"], "accelerator": pub["accelerator"], "chips": int(pub["n_chips"]),
            "role": "calibration" if rid in calibration else "validation", "basis": basis,
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


_BASIS_NOTE = {"accelerator": " (GPU only)", "accelerator-pue": " (GPU x PUE)", "facility": ""}


def validation_mae(df: pd.DataFrame) -> dict[str, float]:
    """Mean absolute relative error of the validation rows: days, energy, carbon."""
    v = df[df["role"] == "validation"]
    if v.empty:
        return {"days": float("nan"), "energy": float("nan"), "tco2e": float("nan")}
    return {"days": float(v["days_err"].abs().mean()), "energy": float(v["energy_err"].abs().mean()),
            "tco2e": float(v["tco2e_err"].abs().mean())}


def format_table(df: pd.DataFrame, markdown: bool = False) -> str:
    """Simulated against published: the calibration rows, then the validation rows, each marked."""
    if "role" in df.columns and df["role"].nunique() > 1:
        parts = []
        for role in ("calibration", "validation"):
            sub = df[df["role"] == role]
            if not sub.empty:
                title = (f"{role} rows (a catalog constant was set from each; see data/reference/calibration.csv)"
                         if role == "calibration" else f"{role} rows (never used to set anything)")
                parts.append(title + "\n" + _format_rows(sub, markdown))
        return "\n\n".join(parts)
    return _format_rows(df, markdown)


def _format_rows(df: pd.DataFrame, markdown: bool) -> str:
    head = ["run", "role", "chips", "days sim/pub", "err", "MWh sim/pub", "err", "tCO2e sim/pub", "err", "ok"]
    lines = []
    for r in df.itertuples(index=False):
        lines.append([
            r.run_id + _BASIS_NOTE.get(r.basis, ""), getattr(r, "role", ""),
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
    if (df["role"] == "validation").any():
        mae = validation_mae(df)
        print(f"validation mean absolute error ({int((df['role'] == 'validation').sum())} runs): "
              f"duration {mae['days']:.1%}, energy {mae['energy']:.1%}, carbon {mae['tco2e']:.1%}")
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"written: {args.csv}")
    return 0 if bool(df["within"].all()) else 1


__all__ = ["calibration_runs", "calibration_table", "compare", "format_table", "published_runs",
           "scenario_paths", "validation_mae"]
