"""Tests of analysis/report.py and `wattsim report`: one self-contained HTML file.

The report must reference nothing outside itself (figures as data: URIs, inline
style, no script) and must render: headless Chromium (Debian's `chromium`,
installed by .ci/run) takes a screenshot that must not be blank.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.report import build_report, is_run_dir
from sim import load_scenario, simulate
from sim.cli.main import main as wattsim

SCENARIO = {"name": "report-run", "duration": "6h", "cluster": {"nodes": 2, "node_type": "dgx-h100"},
            "workload": {"jobs": [{"name": "a", "submit": 0, "accelerators": 8, "duration": "2h"},
                                  {"name": "b", "submit": "1h", "accelerators": 16, "duration": "1h"}]},
            "supply": {"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 20}},
            "plant": {"step": "300s"}, "output": {"interval": "30min"}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(load_scenario(SCENARIO)).to_dir(tmp_path_factory.mktemp("r") / "run")


def _assert_self_contained(text: str) -> None:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"'#][^"']*)["']""", text)
    assert refs and all(r.startswith("data:") for r in refs), [r[:40] for r in refs if not r.startswith("data:")]
    assert "<script" not in text and "@import" not in text and "url(" not in text


def test_run_report_is_one_self_contained_file(run_dir, tmp_path):
    out = build_report(run_dir, tmp_path / "r.html")
    text = out.read_text()
    _assert_self_contained(text)
    assert text.count("data:image/png;base64,") == 6  # all run figures but temperatures (constant PUE)
    # the report leads with the renewables figure, states the currency, and lists what differs from
    # the defaults before the whole resolved scenario
    assert text.index("renewables and carbon") < text.index("power by component")
    assert "Money is in USD" in text and "USD</b>" in text
    assert "what differs from the defaults" in text and "<td>supply.pv.capacity_kw</td>" in text
    assert "temperatures</b>: no temperature readings" in text
    for section in ("Summary", "Figures", "Jobs", "Nodes", "Resolved scenario", "Provenance"):
        assert f">{section}</h2>" in text
    assert "facility_energy_kwh" in text and "node_type: dgx-h100" in text  # summary + resolved scenario


def test_wattsim_report_command(run_dir, capsys):
    assert is_run_dir(run_dir)
    assert wattsim(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {run_dir / 'report.html'}"
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert wattsim(["report", str(run_dir / "nope")]) == 2


def test_sweep_report(tmp_path):
    rows = [{"run_id": f"{q}-{n}", "cluster.nodes": n, "scheduler.queue": q, "seed": 1,
             "facility_energy_kwh": 10.0 * n, "mean_jct_s": 3600.0 / n, "makespan_s": 7200.0 / n,
             "carbon_kg": 2.0 * n, "status": "ok", "error": None}
            for q in ("fifo", "sjf") for n in (2, 4)]
    rows.append({"run_id": "bad", "cluster.nodes": 8, "scheduler.queue": "fifo", "seed": 1,
                 "status": "failed", "error": "scenario invalid: cluster.nodes"})
    pd.DataFrame(rows).to_parquet(tmp_path / "sweep.parquet")
    out = build_report(tmp_path / "sweep.parquet")
    assert out == tmp_path / "sweep.html"
    text = out.read_text()
    _assert_self_contained(text)
    assert text.count("data:image/png;base64,") == 4  # 3 metrics vs cluster.nodes + Pareto front
    assert "scenario invalid: cluster.nodes" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (apt-get install chromium; "
                                                 ".ci/run installs it)")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    from matplotlib import image

    report = build_report(run_dir, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
           report.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    pixels = image.imread(shot)[..., :3].astype(float)
    assert pixels.shape[:2] == (2000, 1200)
    gray = pixels.mean(axis=2)
    assert gray.std() > 0.05, "the screenshot is blank"
    assert (gray < 0.9).mean() > 0.05, "almost nothing drawn on the page"
    # the header bar (dark blue) is at the top: the style sheet was applied
    assert np.allclose(pixels[10, 10], [0x1F / 255, 0x3A / 255, 0x5F / 255], atol=0.05)
