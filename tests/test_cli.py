"""The command line end to end in a temporary folder (real subprocesses)."""

import json
import subprocess
import sys
from pathlib import Path

import yaml
from wattsim_testing import tiny_scenario

from sim import Result

WATTSIM = [sys.executable, "-m", "sim.cli.main"]


def run(*args, cwd):
    return subprocess.run([*WATTSIM, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_writes_a_complete_run_folder(tmp_path: Path):
    doc = tiny_scenario(workload={"jobs": [{"accelerators": 8, "flops": 1e19}]})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    p = run("run", "s.yaml", "-o", "out", "--set", "cluster.nodes=3", "--set", "seed=3", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out"
    for f in ("summary.json", "timeseries.parquet", "jobs.parquet", "nodes.parquet", "manifest.yaml",
              "power.png"):
        assert (out / f).is_file(), f
    assert "facility energy" in p.stdout and "PUE" in p.stdout and "mean JCT" in p.stdout
    summary = json.loads((out / "summary.json").read_text())
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["scenario"]["cluster"]["nodes"] == 3 and manifest["seed"] == 3
    assert "git_revision" in manifest and manifest["versions"]["simpy"]
    r = Result.from_dir(out)
    # JSON has no NaN: summary.json holds null, and from_dir gives the NaN back (issue 15)
    assert summary["max_inlet_temp_c"] is None and r.summary["max_inlet_temp_c"] != r.summary["max_inlet_temp_c"]
    assert {k: v for k, v in r.summary.items() if v == v} == {k: v for k, v in summary.items() if v is not None}
    assert len(r.nodes) == 3 and r.jobs.state.iloc[0] == "completed"


def test_validate_ok_and_bad(tmp_path: Path):
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    p = run("validate", "ok.yaml", cwd=tmp_path)
    assert p.returncode == 0 and "valid" in p.stdout
    bad = tiny_scenario(cluster={"nodes": -1, "nodetype": "x"})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    p = run("validate", "bad.yaml", cwd=tmp_path)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "cluster.nodes: -1 is not allowed" in p.stderr
    assert "cluster.nodetype: unknown key" in p.stderr


def test_catalog_lists_hardware_with_figures(tmp_path: Path):
    p = run("catalog", cwd=tmp_path)
    assert p.returncode == 0
    for key in ("v100", "a100-40gb", "a100-80gb", "h100", "h200", "b200", "tpu-v3", "tpu-v4", "tpu-v5e",
                "dgx-1-v100", "dgx-a100", "dgx-h100", "tpu-v4-host"):
        assert key in p.stdout
    assert "989" in p.stdout  # H100 dense BF16 TFLOP/s (NVIDIA H100 datasheet)


def test_help_is_useful(tmp_path: Path):
    for cmd in ("run", "validate", "catalog"):
        p = run(cmd, "--help", cwd=tmp_path)
        assert p.returncode == 0 and "usage:" in p.stdout
    assert "--set" in run("run", "--help", cwd=tmp_path).stdout
