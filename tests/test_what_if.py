"""Every figure of docs/what-if.md, recomputed from its scenario (issue 13: documented answers pinned).

Each table row is simulated with the overrides its command gives
(tests/whatif_rows.py) and its cells are compared, as printed, with the page;
the percentages of the prose are recomputed from the same runs. A change of
any constant that moves a documented answer fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whatif_rows import GB_ROWS, HALL_ROWS, SOLAR_ROWS, carbon_table, gb_figures, hall_figures, solar_figures

PAGE = Path(__file__).resolve().parent.parent / "docs" / "what-if.md"


def _table_rows(text: str, first_header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header starts with `| first_header |`."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip().strip("|").split("|")])
    return rows


@pytest.fixture(scope="module")
def hall() -> dict[str, list[str]]:
    return {label: hall_figures(path, o) for label, (path, o) in HALL_ROWS.items()}


def test_hall_table_matches_the_simulations(hall):
    rows = _table_rows(PAGE.read_text(), "question")
    assert [r[0] for r in rows] == list(HALL_ROWS)
    for r in rows:
        assert r[2:] == hall[r[0]], r[0]


def test_carbon_and_solar_tables_match_the_simulations():
    # the carbon-aware table: under the default (persistence) forecast and a perfect one
    text = PAGE.read_text()
    carbon = _table_rows(text, "run | forecast | kg CO2e")
    assert [r[2:] for r in carbon] == carbon_table()
    assert [r[1] for r in carbon] == ["–", "day-ahead persistence (default)", "perfect (upper bound)"]
    solar = _table_rows(text, "run | renewable (location)")
    assert [r[1:] for r in solar] == [solar_figures(p, o) for p, o in SOLAR_ROWS.values()]
    gb = _table_rows(text, "run (GB grid)")
    assert [r[2:] for r in gb] == [gb_figures(p, o) for p, o in GB_ROWS.values()]


def test_the_prose_compares_equal_work(hall):
    """The percentages of "What the figures say", from the same runs (kWh per EFLOP done, run vs JCT)."""
    text = " ".join(PAGE.read_text().split())

    def f(label: str, col: int) -> float:
        return float(hall[label][col].replace(",", ""))

    base, cap, more = "the hall as it is", "a 500 W power cap on every GPU", "512 more GPUs"
    down, hot, small = ("512 more GPUs, idle nodes powered down", "a hotter, humid climate and an older plant",
                        "an undersized plant")
    per_work, work, jct, run = 4, 3, 5, 6

    def pct(a: float, b: float) -> str:
        return f"{abs(a / b - 1):.0%}".replace("%", " %")

    claims = [
        f"cost {pct(f(more, per_work), f(base, per_work))} more energy for the same work",
        f"saves {pct(f(cap, per_work), f(base, per_work))} of the energy per unit of work",
        f"runs {pct(f(cap, run), f(base, run))} longer",
        f"mean JCT grows by {pct(f(cap, jct), f(base, jct))} and {pct(f(cap, work), f(base, work))} less work",
        f"energy for the same work by {pct(f(hot, per_work), f(base, per_work))}",
        f"runs only {pct(f(small, run), f(base, run))} longer",
        f"mean JCT grows by {pct(f(small, jct), f(base, jct))} and {pct(f(small, work), f(base, work))} less work",
        f"work falls by {pct(f(small, per_work), f(base, per_work))}",
    ]
    for claim in claims:
        assert claim in text, claim
    assert f"{abs(f(down, per_work) / f(base, per_work) - 1):.1%}".replace("%", " %") == "1.6 %"
    assert "1.6 % more energy per unit of work" in text
