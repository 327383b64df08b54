"""The docs and the ready scenarios stay true to the code.

- every scenario in scenarios/ validates and runs (shrunk to a few hours);
- every sweep in scenarios/sweeps/ expands with no invalid point;
- every ```yaml block of README.md and docs/*.md validates (a section is merged
  into a tiny scenario; a sweep block is read and each of its axis values
  validated; the signal examples are validated one by one);
- docs/output-columns.md is what `python -m sim.results.result` prints;
- every column a run with the cooling plant, PV, wind, a PPA, a battery and a
  network produces is documented in sim/results/result.py with its unit, and every
  documented column is produced (so the table cannot drift either way).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.results.result import COLUMNS, JOB_COLUMNS, NODE_COLUMNS, SUMMARY_KEYS, columns_markdown
from sim.spec.scenario import Scenario, apply_overrides, validate_document
from sim.sweep.execute import expand_sweep, read_sweep

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
SWEEPS = SCENARIOS / "sweeps"
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TINY = {"duration": "6h", "output.interval": "1h"}
SCENARIO_KEYS = set(Scenario.model_fields)


def _scenario_files() -> list[Path]:
    return sorted(p for p in SCENARIOS.rglob("*.y*ml") if SWEEPS not in p.parents)


def _id(p: Path) -> str:
    return str(p.relative_to(REPO))


# -- (a) ready scenarios -------------------------------------------------------


def test_there_are_ready_scenarios_and_sweeps():
    assert len(_scenario_files()) >= 5
    assert len(list(SWEEPS.glob("*.y*ml"))) >= 1


@pytest.mark.parametrize("path", _scenario_files(), ids=_id)
def test_scenario_validates_and_runs_tiny(path: Path):
    assert load_scenario(path).name != "scenario", f"{_id(path)}: give the scenario a name"
    s = load_scenario(path, overrides=TINY)
    r = simulate(s)
    assert r.summary["simulated_s"] == pytest.approx(6 * 3600.0)  # the 6 h override
    assert len(r.timeseries) == 6  # 6 h / 1 h bins
    assert r.summary["facility_energy_kwh"] > 0.0


@pytest.mark.parametrize("path", _scenario_files(), ids=_id)
def test_scenario_says_its_question_first(path: Path):
    """README: each ready scenario says in its first lines which question it answers."""
    head = path.read_text().lstrip().splitlines()[:3]
    assert head and head[0].startswith("#"), f"{_id(path)}: start with a comment stating the question"


# -- (b) sweeps -----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.y*ml")), ids=_id)
def test_sweep_expands_with_no_invalid_point(path: Path):
    sw = read_sweep(path)
    specs = expand_sweep(path)
    bad = [(s.params, s.error) for s in specs if s.error]
    assert not bad, bad[:3]
    # no axis value repeats what another already gives (a repeated point is dropped silently)
    assert len(specs) == sw.size


# -- (c) yaml blocks in the docs ----------------------------------------------


def _blocks(lang: str) -> list[tuple[str, str]]:
    out = []
    for f in DOC_FILES:
        text = f.read_text()
        for m in re.finditer(rf"^```{lang}[^\n]*\n(.*?)^```", text, re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            out.append((f"{f.relative_to(REPO)}:{line}", m.group(1)))
    return out


YAML_BLOCKS = _blocks("ya?ml")


def test_docs_have_yaml_examples():
    assert len(YAML_BLOCKS) >= 8


def _doc_modules(tmp_path: Path) -> None:
    """Python blocks that open with `# pkg/mod.py` are example modules: write them out."""
    for _, body in _blocks("python"):
        first = body.splitlines()[0] if body else ""
        m = re.fullmatch(r"#\s*([\w/]+\.py)\s*", first)
        if m:
            target = tmp_path / m.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body)


def _validate_sweep_doc(doc: dict[str, Any]) -> int:
    """Read a sweep block as if it sat in scenarios/sweeps/; validate every value of every axis."""
    doc = dict(doc)
    base = doc.get("base", "../baseline.yaml")
    doc["base"] = str(SWEEPS / base) if isinstance(base, str) else base
    sw = read_sweep(doc)
    base_doc = apply_overrides(sw.base, sw.fixed) if sw.fixed else sw.base
    checked = 0
    for axis in sw.axes:
        for point in axis:
            validate_document(apply_overrides(base_doc, {p: v for p, (_, v) in point.items()}))
            checked += 1
    return checked


def _signal_entries(body: str) -> list[tuple[str, Any]]:
    """A block of alternative `key: value` lines (docs/signals.md): each entry on its own."""
    entries: list[str] = []
    for line in body.splitlines():
        if re.match(r"^[a-z_]+:", line):
            entries.append(line)
        elif entries and line.strip():
            entries[-1] += "\n" + line
    return [next(iter(yaml.safe_load(e).items())) for e in entries if "..." not in e]


SIGNAL_HOME = {"carbon_intensity": "supply.grid.carbon_intensity", "price": "supply.grid.price",
               "export_price": "supply.grid.export_price", "background_load": "supply.background_load"}


@pytest.mark.parametrize("where,body", YAML_BLOCKS, ids=[w for w, _ in YAML_BLOCKS])
def test_docs_yaml_block_validates(where: str, body: str, tmp_path: Path, monkeypatch):
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError:
        doc = None
    keys = set(doc) if isinstance(doc, dict) else set()
    if keys and keys <= {"name", "description", "base", "set", "grid", "zip", "random", "lhs", "replicates"} \
            and keys & {"base", "grid", "zip", "random", "lhs"}:
        assert _validate_sweep_doc(doc) >= 1
        return
    if keys and keys <= set(SIGNAL_HOME):
        entries = _signal_entries(body)
        assert len(entries) >= 4, entries
        for key, value in entries:
            validate_document(apply_overrides(tiny_scenario(), {SIGNAL_HOME[key]: value}))
        return
    assert keys and keys <= SCENARIO_KEYS, f"{where}: not a scenario, a scenario section or a sweep: {keys}"
    _doc_modules(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    try:
        if "name" in keys and len(keys) > 4:  # a whole scenario: as written
            load_scenario(doc)
        else:  # a section: merged into a tiny scenario
            merged = tiny_scenario(duration="6h")
            merged.update(doc)
            load_scenario(merged)
    finally:
        for mod in set(sys.modules) - before:
            if mod.split(".")[0] in {p.name for p in tmp_path.iterdir()}:
                del sys.modules[mod]


def test_readme_scenario_runs_tiny():
    """The README's full scenario example runs, shrunk to a few hours."""
    where, body = next((w, b) for w, b in YAML_BLOCKS if w.startswith("README") and "name:" in b)
    r = simulate(load_scenario(yaml.safe_load(body), overrides=TINY))
    assert r.summary["simulated_s"] == pytest.approx(6 * 3600.0), where


# -- (d) the columns page -------------------------------------------------------


def test_output_columns_page_is_generated_from_the_code():
    page = REPO / "docs" / "output-columns.md"
    assert page.is_file(), "run `make docs`"
    assert page.read_text() == columns_markdown(), "docs/output-columns.md is stale: run `make docs`"


# -- (e) every produced column is documented, with its unit in its name --------


@pytest.fixture(scope="module")
def full_run():
    """Cooling plant (+ liquid loop), PV, wind, PPA, battery, export and a leaf-spine network."""
    s = load_scenario(SCENARIOS / "baseline.yaml", overrides={
        **TINY,
        "cluster.nodes": 8,
        "cooling": {"model": "plant", "weather": "tmy3-greensboro-nc", "chiller": "water-cooled",
                    "economizer": "water-side", "liquid": {"fraction": 0.5}},
        "supply": {"weather": "tmy3-greensboro-nc",
                   "grid": {"carbon_intensity": {"trace": "gb-2020"}, "price": 0.1, "export": True},
                   "pv": {"capacity_kw": 300}, "battery": {"capacity_kwh": 400, "power_kw": 100},
                   "wind": {"turbines": 1, "turbine_type": "E-126/4200", "hub_height_m": 135},
                   "ppa": {"capacity_kw": 100, "profile": "wind"}},
    })
    assert s.cluster.topology is not None  # the network is on
    return simulate(s)


def _documented(column: str, table: dict[str, tuple[str, str]]) -> bool:
    """By name, or by a `<pattern>_suffix` entry whose meaning names it."""
    if column in table:
        return True
    for key, (_, meaning) in table.items():
        m = re.fullmatch(r"<\w+>(.*)", key)
        stem = column[: len(column) - len(m.group(1))] if m and column.endswith(m.group(1)) else ""
        if stem and re.search(rf"(?<![\w]){re.escape(stem)}(?![\w])", meaning):
            return True
    return False


def test_every_produced_column_is_documented_and_vice_versa(full_run):
    r = full_run
    for name, produced, table in (
        ("timeseries", list(r.timeseries.columns), COLUMNS),
        ("jobs", list(r.jobs.columns), JOB_COLUMNS),
        ("nodes", list(r.nodes.columns), NODE_COLUMNS),
        ("summary", list(r.summary), SUMMARY_KEYS),
    ):
        undocumented = [c for c in produced if not _documented(c, table)]
        assert not undocumented, f"{name}: add to sim/results/result.py with unit and meaning: {undocumented}"
        stale = [k for k in table if not k.startswith("<") and k not in produced]
        assert not stale, f"{name}: documented but not produced: {stale}"


UNIT_SUFFIX = {"W": ("_w",), "kW": ("_kw",), "kWh": ("_kwh",), "s": ("_s",), "h": ("_h", "_hours"),
               "degC": ("_c",), "kg CO2e": ("_kg",), "FLOP": ("_flops",)}


@pytest.mark.parametrize("table", [SUMMARY_KEYS, COLUMNS, JOB_COLUMNS, NODE_COLUMNS],
                         ids=["summary", "timeseries", "jobs", "nodes"])
def test_column_names_carry_their_unit(table):
    """DESIGN invariant 6: a column in W ends in _w, in kWh in _kwh, in degC in _c, ..."""
    wrong = [(k, u) for k, (u, _) in table.items() if u in UNIT_SUFFIX and not k.endswith(UNIT_SUFFIX[u])]
    assert not wrong, f"name these with their unit's suffix ({UNIT_SUFFIX}): {wrong}"
