"""One self-contained HTML report of a run folder or a sweep.

The file has no outside references: figures are embedded as base64 PNG,
the style sheet is inline, there is no script. It opens offline in any
browser and can be mailed as one attachment.

A run report: the summary (value, unit, meaning), every standard figure that
has data (a note names the ones skipped and why), jobs by state and the
most energy-hungry jobs, the node table, the resolved scenario from
manifest.yaml and the provenance (git revision, package versions).

A sweep report: counts by status, each metric against each swept parameter
(a line per policy, bands over seeds), the energy-time Pareto front, the
table of runs, the runs that finished nothing (0 jobs completed: no
completion time, marked × in the figures, never silently left out) and the
failed runs with their errors. A run report says so when the run finished
nothing.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure

import analysis
from analysis import Run
from analysis import figures as F

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px 0;font-size:24px} header p{margin:0;opacity:.85;font-size:13px}
nav{padding:8px 32px;background:#e8edf3;font-size:13px} nav a{margin-right:14px;color:#1f3a5f}
main{padding:8px 32px 40px 32px;max-width:1200px}
h2{border-bottom:2px solid #1f3a5f;padding-bottom:4px;margin-top:32px;font-size:19px}
h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0;background:#fff}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:14px 0;background:#fff;border:1px solid #d0d7de;padding:8px}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:12px;color:#555;margin-top:4px}
pre{background:#fff;border:1px solid #d0d7de;padding:10px;font-size:12px;overflow-x:auto}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;font-size:13px;margin:6px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:20px;color:#1f3a5f} .card span{font-size:12px;color:#555}
"""

#: the headline numbers of a run: summary key, label, scale, unit shown ("{currency}": the run's)
CARDS: tuple[tuple[str, str, float, str], ...] = (
    ("renewable_share", "renewable share (location-based)", 100.0, "%"),
    ("renewable_share_onsite", "on-site renewables", 100.0, "%"),
    ("cfe_score", "24/7 CFE score", 100.0, "%"),
    ("carbon_kg", "operational carbon", 1.0, "kg CO2e"),
    ("embodied_carbon_kg", "embodied carbon", 1.0, "kg CO2e"),
    ("cost_total", "total cost", 1.0, "{currency}"),
    ("cost_per_accelerator_hour", "cost per accelerator-hour", 1.0, "{currency}"),
    ("water_onsite_l", "water on site", 1.0, "L"),
    ("facility_energy_kwh", "facility energy", 1.0, "kWh"),
    ("pue", "PUE", 1.0, ""),
    ("peak_power_kw", "peak power", 1.0, "kW"),
    ("jobs_completed", "jobs completed", 1.0, ""),
    ("gpu_utilization", "accelerator utilisation", 100.0, "%"),
)


def scenario_differences(resolved: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted path, value, default) for every leaf of a resolved scenario that differs from
    the defaults of ``sim.spec.scenario.Scenario`` (a whole section, e.g. a list, counts as a leaf)."""
    from sim.spec.scenario import Scenario

    default = Scenario().model_dump(mode="json")
    out: list[tuple[str, Any, Any]] = []

    def walk(value: Any, base: Any, path: str) -> None:
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            for key in value:
                walk(value[key], base.get(key), f"{path}.{key}" if path else str(key))
        elif value != base:
            out.append((path, value, base))

    walk(resolved, default, "")
    return out


# -- small HTML helpers ---------------------------------------------------------------


def figure_to_data_uri(fig: Figure, dpi: int = 90) -> str:
    """A Figure as a `data:image/png;base64,...` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    if hasattr(value, "item"):  # numpy scalar
        return _fmt(value.item())
    return str(value)


def _short(value: Any, limit: int = 120) -> str:
    """A value on one line, cut at ``limit`` characters."""
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or hasattr(value, "dtype")


def html_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    """A DataFrame as an HTML table (escaped; numbers right-aligned, formatted)."""
    if df.empty:
        return '<p class="note">(empty)</p>'
    shown = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for rec in shown.itertuples(index=False):
        cells = []
        for v in rec:
            cls = ' class="num"' if _is_num(v) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(df) - max_rows} more rows not shown</p>' if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _figure_block(title: str, fig: Figure, caption: str = "") -> str:
    uri = figure_to_data_uri(fig)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img alt="{html.escape(title)}" src="{uri}">{cap}</figure>')


def _page(title: str, subtitle: str, sections: Iterable[tuple[str, str, str]]) -> str:
    sections = list(sections)
    nav = "".join(f'<a href="#{sid}">{html.escape(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{html.escape(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
            f"<nav>{nav}</nav><main>{body}</main></body></html>\n")


def _first_doc(text: str) -> str:
    doc = (text or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


# -- run report -----------------------------------------------------------------------


def run_report_html(run: Run | str | Path) -> str:
    """The HTML text of a run report (see the module doc)."""
    run = F.as_run(run)
    s = run.summary
    cards = []
    currency = str(s.get("currency", ""))
    for key, label, scale, unit in CARDS:
        v = s.get(key)
        unit = unit.format(currency=currency)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if key == "renewable_share" and key in s:  # say it is unknown, never hide it as 0
                cards.append('<div class="card"><b>unknown</b><span>renewable share (the grid\'s mix'
                             ' was not given: supply.grid.renewable_fraction)</span></div>')
            continue
        cards.append(f'<div class="card"><b>{html.escape(_fmt(v * scale))} {unit}</b>'
                     f"<span>{html.escape(label)}</span></div>")
    money = (f'<p class="note">Money is in {html.escape(currency)} (supply.grid.currency); the cost defaults'
             " and their sources are in docs/supply.md.</p>") if currency else ""
    nothing = ""
    if s.get("jobs_completed") == 0 and (s.get("jobs_submitted") or 0) > 0:
        waiting = int(s.get("jobs_waiting_at_end") or 0)
        counts = ((waiting, "still waiting"), (int(s.get("jobs_unfinished") or 0) - waiting, "still running"),
                  (int(s.get("jobs_failed") or 0), "failed"))
        left = ", ".join(f"{n:,} {w}" for n, w in counts if n > 0)
        nothing = (f'<p class="note">This run finished nothing: 0 of {s["jobs_submitted"]:,} jobs completed'
                   f"{' (' + html.escape(left) + ')' if left else ''}, so the completion-time metrics "
                   "(mean_jct_s, makespan_s, ...) have no value (–).</p>")
    overview = f'<div class="cards">{"".join(cards)}</div>' + nothing + money + html_table(run.summary_table())

    figs: list[str] = []
    skipped: list[str] = []
    for name, fn in F.RUN_FIGURES.items():
        reason = F.missing(run, name)
        if reason:
            skipped.append(f"<li><b>{html.escape(name)}</b>: {html.escape(reason)}</li>")
            continue
        figs.append(f"<h3>{html.escape(name.replace('_', ' '))}</h3>"
                    + _figure_block(name, fn(run), _first_doc(fn.__doc__ or "")))
    if skipped:
        figs.append(f'<div class="note">Not drawn (no data in this run):<ul>{"".join(skipped)}</ul></div>')

    jobs = run.jobs
    job_parts = []
    if "state" in jobs and len(jobs):
        counts = jobs.groupby("state").size().rename("jobs").reset_index()
        job_parts.append(html_table(counts))
    cols = [c for c in ("job_id", "name", "state", "accelerators", "submit_h", "start_h", "end_h", "wait_s",
                        "jct_s", "energy_kwh", "carbon_kg", "reason") if c in jobs]
    if len(jobs):
        top = jobs.sort_values("energy_kwh", ascending=False) if "energy_kwh" in jobs else jobs
        job_parts.append(f"<h3>jobs by energy (top 50 of {len(jobs)})</h3>" + html_table(top[cols], 50))
    else:
        job_parts.append('<p class="note">no jobs in this run</p>')

    scenario = yaml.safe_dump(run.scenario, sort_keys=False) if run.scenario else "(no manifest.yaml)"
    if run.scenario:
        diffs = scenario_differences(run.scenario)
        diff_rows = pd.DataFrame({"key": [d[0] for d in diffs],
                                  "value": [_short(d[1]) for d in diffs],
                                  "default": [_short(d[2]) for d in diffs]})
        scenario_html = ("<h3>what differs from the defaults</h3>" + html_table(diff_rows)
                         + f"<details><summary>the whole resolved scenario</summary>"
                           f"<pre>{html.escape(scenario)}</pre></details>")
    else:
        scenario_html = f"<pre>{html.escape(scenario)}</pre>"
    prov = {k: v for k, v in run.manifest.items() if k not in ("scenario", "versions", "components")}
    prov_rows = pd.DataFrame({"key": list(prov), "value": [str(v) for v in prov.values()]})
    versions = run.manifest.get("versions") or {}
    version_rows = pd.DataFrame({"package": list(versions), "version": [str(v) for v in versions.values()]})
    components = run.manifest.get("components")
    comp = (f"<h3>components</h3><pre>{html.escape(yaml.safe_dump(components, sort_keys=False))}</pre>"
            if components else "")

    where = str(run.path) if run.path is not None else "in memory"
    subtitle = (f"run folder {where} · simulated {_fmt(run.simulated_s / 3600.0)} h · "
                f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    sections = [
        ("summary", "Summary", overview),
        ("figures", "Figures", "".join(figs)),
        ("jobs", "Jobs", "".join(job_parts)),
        ("nodes", "Nodes", html_table(run.nodes, 100)),
        ("scenario", "Resolved scenario", f"{scenario_html}{comp}"),
        ("provenance", "Provenance", html_table(prov_rows) + html_table(version_rows)),
    ]
    return _page(f"wattsim report: {run.name}", subtitle, sections)


# -- sweep report -----------------------------------------------------------------------


def sweep_report_html(sweep: pd.DataFrame, title: str = "sweep",
                      metrics: Iterable[str] = ("facility_energy_kwh", "mean_jct_s", "carbon_kg")) -> str:
    """The HTML text of a sweep report (see the module doc)."""
    df = sweep
    params = analysis.sweep_parameters(df)
    status = df.groupby("status").size().rename("runs").reset_index() if "status" in df else pd.DataFrame()
    policy = F.policy_column(df)
    nothing = F.finished_nothing(df)
    nothing_note = (f'<p class="note">{len(nothing)} run{"s" if len(nothing) != 1 else ""} finished nothing '
                    "(0 jobs completed): completion-time metrics have no value (– in the tables, × in the "
                    'figures); see <a href="#nothing">Runs that finished nothing</a>.</p>') if len(nothing) else ""
    overview = (f"<p>{len(df)} runs; swept parameters: "
                f"{html.escape(', '.join(params) or 'none found')}; policy column: "
                f"{html.escape(policy or 'none')}.</p>" + html_table(status) + nothing_note)
    figs = [f"<h3>{html.escape(name)}</h3>" + _figure_block(name, fig)
            for name, fig in F.sweep_figures(df, metrics=tuple(metrics)).items()]
    metric_cols = [m for m in ("facility_energy_kwh", "pue", "renewable_share", "carbon_kg", "cost",
                               "jobs_completed", "mean_jct_s", "makespan_s", "gpu_utilization") if m in df]
    table_cols = [c for c in ["run_id", *params, *metric_cols, "status"] if c in df]
    runs = html_table(df[table_cols], 300)
    waiting_cols = [c for c in ("run_id", *params, "jobs_submitted", "jobs_completed", "jobs_unfinished",
                                "jobs_waiting_at_end", "oldest_wait_s", "mean_wait_s", "stopped") if c in nothing]
    nothing_html = html_table(nothing[waiting_cols], 300) if len(nothing) else "<p>none</p>"
    failed = df[df["status"].astype(str) != "ok"] if "status" in df else df.iloc[0:0]
    err_cols = [c for c in ("run_id", *params, "status", "error") if c in failed]
    failed_html = html_table(failed[err_cols], 100) if len(failed) else "<p>none</p>"
    subtitle = f"{len(df)} runs · report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    sections = [
        ("overview", "Overview", overview),
        ("figures", "Figures", "".join(figs)),
        ("runs", "Runs", runs),
        ("nothing", "Runs that finished nothing", nothing_html),
        ("failed", "Failed runs", failed_html),
    ]
    return _page(f"wattsim sweep report: {title}", subtitle, sections)


# -- entry point -----------------------------------------------------------------------


def is_run_dir(path: str | Path) -> bool:
    """True when `path` is a run folder (has summary.json and the tables)."""
    p = Path(path)
    return p.is_dir() and all((p / f).is_file() for f in analysis.RUN_FILES)


def build_report(source: str | Path | Run | pd.DataFrame, output: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write the HTML report of a run folder, a sweep (folder or table) or an in-memory Run/DataFrame.

    Default output: `<run folder>/report.html`, `<sweep folder>/report.html`,
    or the sweep table's path with `.html`. Returns the path written.
    """
    if isinstance(source, Run):
        text = run_report_html(source)
        default = (source.path / "report.html") if source.path else Path("report.html")
    elif isinstance(source, pd.DataFrame):
        text = sweep_report_html(source, title or "sweep")
        default = Path("report.html")
    elif is_run_dir(source):
        text = run_report_html(analysis.load(source))
        default = Path(source) / "report.html"
    else:
        p = Path(source)
        table = analysis.load_sweep(p)
        text = sweep_report_html(table, title or (p.stem if p.is_file() else p.name))
        default = p.with_suffix(".html") if p.is_file() else p / "report.html"
    out = Path(output) if output is not None else default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def summary_rows(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The summary as key/value/unit/meaning rows (same as `Run.summary_table`)."""
    return analysis.summary_table(summary)
