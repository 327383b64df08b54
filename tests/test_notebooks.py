"""The notebooks in analysis/notebooks/ execute without error against fresh small results.

Each notebook is run by nbclient in a kernel of this very interpreter (a
kernel spec written to a temporary JUPYTER_PATH points at sys.executable, so
the venv's packages are the ones used). The run folder and the sweep are
simulated here and passed through WATTSIM_RUN / WATTSIM_SWEEP.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sim import load_scenario, simulate

NOTEBOOKS = Path(__file__).resolve().parents[1] / "analysis" / "notebooks"
KERNEL = "wattsim-test-python"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "wattsim test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def _execute(name: str, kernel: str, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    return nb


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has stored outputs"


def test_explore_run_notebook(tmp_path, kernel, monkeypatch):
    doc = {"name": "nb-run", "duration": "6h", "cluster": {"nodes": 2, "node_type": "dgx-h100"},
           "workload": {"jobs": [{"submit": 0, "accelerators": 8, "duration": "2h"}]},
           "supply": {"weather": "tmy3-greensboro-nc", "pv": {"capacity_kw": 20}}, "plant": {"step": "300s"}, "output": {"interval": "30min"}}
    run_dir = simulate(load_scenario(doc)).to_dir(tmp_path / "run")
    monkeypatch.setenv("WATTSIM_RUN", str(run_dir))
    nb = _execute("explore_run.ipynb", kernel, tmp_path)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 6  # one per figure cell


def test_compare_policies_notebook(tmp_path, kernel, monkeypatch):
    from sim.sweep.execute import run_sweep

    base = {"name": "nb-sweep", "duration": "4h", "cluster": {"nodes": 2, "node_type": "dgx-h100"},
            "workload": {"generator": {"kind": "poisson", "rate_per_hour": 3, "mean_duration": "1h"}},
            "plant": {"step": "300s"}, "output": {"interval": "1h"}}
    definition = {"name": "nb", "base": base,
                  "grid": {"cluster.nodes": [2, 3], "scheduler.placement": ["first-fit", "spread"]},
                  "replicates": 2}
    run_sweep(definition, tmp_path / "sweep", workers=1, progress=False)
    monkeypatch.setenv("WATTSIM_SWEEP", str(tmp_path / "sweep"))
    nb = _execute("compare_policies.ipynb", kernel, tmp_path)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 3
