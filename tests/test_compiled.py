"""The compiled hot path (sim/compiled.py, tools/compile_hot_path.py; docs/engine.md).

A compiled copy runs only while it matches its source; `WATTSIM_PURE=1` runs the sources;
compiled and pure runs of one scenario give identical results to the bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.compiled as compiled
from sim import load_scenario, simulate
from sim.paths import scenarios_path

ROOT = Path(__file__).resolve().parents[1]


def _fake_package(tmp_path: Path) -> Path:
    pkg = tmp_path / "sim"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "engine" / "meter.py").write_text("X = 1\n")
    (pkg / "engine" / "caps.py").write_text("Y = 2\n")
    return pkg


def test_a_manifest_matches_its_sources_until_one_changes(tmp_path):
    pkg = _fake_package(tmp_path)
    mods = ("sim.engine.meter", "sim.engine.caps")
    manifest = compiled.manifest_for(mods, pkg)
    assert compiled.stale(manifest, mods, pkg) == []
    (pkg / "engine" / "caps.py").write_text("Y = 3\n")
    assert compiled.stale(manifest, mods, pkg) == [f"sim{os.sep}engine{os.sep}caps.py changed"]
    assert compiled.stale(None, mods, pkg) == ["no build manifest"]
    other = dict(manifest, cache_tag="cpython-399")
    assert compiled.stale(other, mods, pkg)[0].startswith("built for cpython-399")
    # a round trip through the file the build writes
    path = tmp_path / "_compiled.json"
    path.write_text(json.dumps(manifest))
    assert compiled.read_manifest(path) == manifest
    path.write_text("{not json")
    assert compiled.read_manifest(path) is None


def test_source_and_extension_paths(tmp_path):
    pkg = _fake_package(tmp_path)
    assert compiled.source_path("sim.engine.meter", pkg) == pkg / "engine" / "meter.py"
    assert compiled.extension_paths("sim.engine.meter", pkg) == []
    so = pkg / "engine" / "meter.cpython-311-x86_64-linux-gnu.so"
    so.write_bytes(b"")
    (pkg / "engine" / "meter_old.py").write_text("")
    assert compiled.extension_paths("sim.engine.meter", pkg) == [so]
    with pytest.raises(ValueError, match="not in the package"):
        compiled.source_path("other.engine.meter", pkg)


def _run(code: str, **env: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_wattsim_pure_runs_every_hot_path_module_from_its_source():
    out = _run("import importlib, sim.compiled as c\n"
               "print(c.STATUS)\n"
               "for m in c.HOT_PATH: print(importlib.import_module(m).__file__)", WATTSIM_PURE="1")
    status, *files = out.splitlines()
    assert status.startswith("pure")
    assert len(files) == len(compiled.HOT_PATH)
    assert all(f.endswith(".py") for f in files)


def _digest_of_run() -> str:
    """30 days of the full Philly replay (8,749 jobs done): fat-tree flows, cooling plant, PV, battery, carbon."""
    r = simulate(load_scenario(scenarios_path("philly_full.yaml"), overrides={"duration": "30d"}))
    assert r.summary["jobs_completed"] > 8_000
    parts = [pd.util.hash_pandas_object(t, index=True).sum() for t in (r.timeseries, r.jobs)]
    summary = sorted((k, v) for k, v in r.summary.items() if k != "wall_s")
    return repr((summary, [int(p) for p in parts]))


@pytest.mark.skipif(compiled.STATUS != "compiled", reason=f"the hot path is not compiled here ({compiled.STATUS})")
def test_compiled_and_pure_runs_are_identical_to_the_bit():
    here = _digest_of_run()  # compiled, in this process
    code = ("import sim.compiled as c\nassert c.STATUS.startswith('pure'), c.STATUS\n"
            "from tests.test_compiled import _digest_of_run\nprint(_digest_of_run())")
    assert _run(code, WATTSIM_PURE="1").strip() == here
