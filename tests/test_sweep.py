"""Sweeps: expansion and ids, local pool vs a real Dask cluster, resume after a kill, failures.

Every run here is tiny (2 DGX H100 nodes, 1 h, two small jobs, 300 s plant
step: ~0.1 s each) so the module stays well under a minute on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from sim.sweep.execute import SweepError, expand_sweep, load_sweep, read_sweep, run_id_of, run_sweep

TINY: dict = {
    "name": "tiny",
    "duration": "1h",
    "seed": 1,
    "cluster": {"nodes": 2, "node_type": "dgx-h100"},
    "workload": {"jobs": [
        {"name": "a", "submit": 0, "accelerators": 8, "model": {"parameters": 1.0e8, "tokens": 1.0e9}},
        {"name": "b", "submit": 60, "accelerators": 8, "model": {"parameters": 1.0e8, "tokens": 2.0e9}},
    ]},
    "cooling": {"model": "constant-pue", "pue": 1.1},
    "plant": {"step": "300s"},
    "output": {"interval": "15min"},
}

#: columns that measure the machine, not the model: excluded when tables are compared
TIMING = ["wall_s", "sim_wall_s", "finished_at"]


def test_expansion_counts_order_and_columns():
    sweep = {
        "base": TINY,
        "grid": {"cluster.nodes": [2, 3, 4], "cluster.power_cap_w": [400, 700]},
        "zip": {"workload.jobs.0.accelerators": [8, 16], "workload.jobs.1.accelerators": [16, 8]},
        "lhs": {"samples": 4, "seed": 7, "ranges": {"supply.pv.capacity_kw": [0, 100]}},
        "replicates": 2,
    }
    specs = expand_sweep(sweep)
    assert len(specs) == 3 * 2 * 2 * 4 * 2
    assert all(s.error is None for s in specs)
    assert len({s.run_id for s in specs}) == len(specs)
    # first grid key outermost, replicates innermost
    assert [s.params["cluster.nodes"] for s in specs[:3]] == [2, 2, 2]
    assert [s.params["seed"] for s in specs[:4]] == [1, 2, 1, 2]
    assert set(specs[0].params) == {"cluster.nodes", "cluster.power_cap_w", "workload.jobs.0.accelerators",
                                    "workload.jobs.1.accelerators", "supply.pv.capacity_kw", "seed"}
    # a Latin hypercube of 4 samples puts exactly one in each quarter of the range
    pv = sorted({s.params["supply.pv.capacity_kw"] for s in specs})
    assert [int(v // 25) for v in pv] == [0, 1, 2, 3]
    # deterministic: the same sweep expands to the same ids, in the same order
    assert [s.run_id for s in expand_sweep(sweep)] == [s.run_id for s in specs]
    # the document each run gets carries its values
    assert specs[-1].doc["cluster"]["nodes"] == 4 and specs[-1].doc["seed"] == 2


def test_random_ranges_are_seeded_and_within_bounds():
    def sweep(seed: int) -> dict:
        return {"base": TINY, "random": {"samples": 6, "seed": seed, "ranges": {
            "cluster.nodes": {"low": 2, "high": 4, "int": True},
            "supply.pv.capacity_kw": {"low": 1, "high": 1000, "log": True, "round": 1},
            "scheduler.placement": {"choices": ["first-fit"]},
        }}}

    a, b, c = expand_sweep(sweep(3)), expand_sweep(sweep(3)), expand_sweep(sweep(4))
    assert [s.run_id for s in a] == [s.run_id for s in b] != [s.run_id for s in c]
    for s in a:
        assert s.params["cluster.nodes"] in (2, 3, 4)
        assert 1 <= s.params["supply.pv.capacity_kw"] <= 1000
        assert s.params["supply.pv.capacity_kw"] == round(s.params["supply.pv.capacity_kw"], 1)


def test_run_id_is_the_hash_of_the_resolved_scenario_in_any_process(tmp_path):
    from sim.spec.scenario import validate_document

    specs = expand_sweep({"base": TINY, "grid": {"cluster.nodes": [2, 3]}})
    resolved = validate_document(specs[0].doc).model_dump(mode="json")
    assert specs[0].run_id == run_id_of(resolved) and len(specs[0].run_id) == 16
    # the same value written explicitly or left to its default is the same run
    same = expand_sweep({"base": TINY, "grid": {"cluster.node_type": ["dgx-h100"], "cluster.nodes": [2]}})
    assert same[0].run_id == specs[0].run_id
    # another interpreter, another hash seed: the same ids
    (tmp_path / "sweep.json").write_text(json.dumps({"base": TINY, "grid": {"cluster.nodes": [2, 3]}}))
    code = f"from sim.sweep.execute import expand_sweep; print(' '.join(s.run_id for s in expand_sweep({str(tmp_path / 'sweep.json')!r})))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == [s.run_id for s in specs]


def test_base_path_is_relative_to_the_sweep_file_and_labelled_axes(tmp_path):
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "tiny.json").write_text(json.dumps(TINY))
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "s.yaml").write_text(textwrap.dedent("""
        base: ../scen/tiny.json
        grid:
          supply.grid.carbon_intensity: {us: 429, fr: {trace: fr-2020}}
    """))
    specs = expand_sweep(tmp_path / "sw" / "s.yaml")
    assert [s.params["supply.grid.carbon_intensity"] for s in specs] == ["us", "fr"]
    assert specs[1].doc["supply"]["grid"]["carbon_intensity"] == {"trace": "fr-2020"}
    assert read_sweep(tmp_path / "sw" / "s.yaml").name == "s"


@pytest.mark.parametrize(("sweep", "needle"), [
    ({"base": TINY, "grdi": {}}, "unknown key(s) grdi"),
    ({"base": TINY, "zip": {"cluster.nodes": [2, 3], "seed": [1]}}, "zip: the value lists differ in length"),
    ({"base": TINY, "lhs": {"samples": 3, "ranges": {"cluster.nodes": [5, 2]}}}, "lhs.ranges.cluster.nodes: high"),
    ({"base": TINY, "grid": {"cluster.nodes": 4}}, "grid.cluster.nodes: 4 is not allowed"),
    ({"base": TINY, "replicates": 0}, "replicates: 0 is not allowed"),
])
def test_bad_sweep_files_name_the_key(sweep, needle):
    with pytest.raises(SweepError) as info:
        expand_sweep(sweep)
    assert needle in str(info.value)


def test_invalid_points_are_failed_rows_naming_the_dotted_path():
    specs = expand_sweep({"base": TINY, "grid": {"cluster.nodes": [2, 0], "workload.jobs.0.accelerators": [8, 24]}})
    errors = [s.error for s in specs]
    assert errors[0] is None
    # 2 nodes x 8 accelerators: a 24-accelerator job does not fit (a catalog check)
    assert errors[1].startswith("invalid scenario: workload.jobs.0.accelerators: 24 is not allowed")
    assert all(e.startswith("invalid scenario: cluster.nodes: 0 is not allowed") for e in errors[2:])
    assert len({s.run_id for s in specs}) == 4


def test_failures_are_recorded_while_the_others_succeed(tmp_path):
    slow = {**TINY, "duration": "30d", "workload": {"generator": {"rate_per_hour": 30, "mean_duration": "2h"}},
            "plant": {"step": "60s"}}
    sweep = {
        "base": TINY,
        "zip": {
            "cluster.nodes": [2, 0, 2, 3],
            "supply.grid.price": [0.1, 0.1, {"csv": str(tmp_path / "missing.csv")}, 0.2],
        },
    }
    table = run_sweep(sweep, tmp_path / "out", workers=2, progress=False)
    assert list(table["status"]) == ["ok", "failed", "failed", "ok"]
    assert "cluster.nodes: 0 is not allowed" in table["error"][1]
    assert "missing.csv" in table["error"][2]
    assert table["jobs_completed"][0] == 2 and table["jobs_completed"][3] == 2
    assert np.isnan(table["facility_energy_kwh"][2])
    # a run past its time limit fails with a message, the quick one still succeeds
    timed = run_sweep({"base": slow, "grid": {"cluster.nodes": [2, 4]}}, None, workers=1, timeout_s=0.3,
                      progress=False)
    assert set(timed["status"]) == {"timeout"}  # its own status since issue 15 (retried by --retry-failed)
    # stopped by the engine's check, or killed 2 s later when building the world took that long
    assert timed["error"].str.startswith(("timeout: run passed its 0.3 s limit", "timeout: killed after 0.3 s")).all()
    # the CLI exits non-zero only when asked
    from sim.cli.main import main

    (tmp_path / "s.json").write_text(json.dumps(sweep))
    args = ["sweep", str(tmp_path / "s.json"), "-o", str(tmp_path / "out"), "--no-progress"]
    assert main(args) == 0
    assert main([*args, "--fail-on-error"]) == 1


def _twenty_runs() -> dict:
    return {"name": "twenty", "base": TINY,
            "grid": {"cluster.nodes": [2, 3], "cluster.power_cap_w": [300, 400, 500, 600, 700]},
            "zip": {"workload.jobs.1.model.tokens": [1.0e9, 3.0e9]}}


def test_dask_cluster_gives_the_same_table_as_the_local_pool(tmp_path):
    from distributed import LocalCluster

    sweep = _twenty_runs()
    local = run_sweep(sweep, tmp_path / "local", workers=2, progress=False)
    assert len(local) == 20 and (local["status"] == "ok").all()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        on_dask = run_sweep(sweep, tmp_path / "dask", dask=cluster.scheduler_address, progress=False)
    # a run lost on the Dask side (seen once on a loaded box) names its error here
    bad = on_dask[on_dask["status"] != "ok"]
    assert bad.empty, bad[["run_id", "status", "error"]].to_string()
    pd.testing.assert_frame_equal(local.drop(columns=TIMING), on_dask.drop(columns=TIMING))
    # and what is on disk is the same table
    disk_local = load_sweep(tmp_path / "local").set_index("run_id").sort_index()
    disk_dask = load_sweep(tmp_path / "dask").set_index("run_id").sort_index()
    pd.testing.assert_frame_equal(disk_local.drop(columns=TIMING), disk_dask.drop(columns=TIMING))


def test_resume_after_killing_a_sweep_midway(tmp_path):
    sweep = {"name": "resume", "base": {**TINY, "duration": "6h"},
             "grid": {"cluster.nodes": [2, 3, 4], "cluster.power_cap_w": [300, 400, 500, 600, 700]},
             "replicates": 2}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(sweep))
    out = tmp_path / "out"
    code = (f"from sim.sweep.execute import run_sweep; run_sweep({str(path)!r}, {str(out)!r}, workers=1, "
            "flush_every=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(list((out / "results").glob("part-*.parquet"))) < 3:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = load_sweep(out, all_rows=True)
    assert 3 <= len(before) < 30, "the sweep was killed after some runs and before the end"
    assert before["run_id"].is_unique

    table = run_sweep(path, out, workers=2, progress=False)
    assert len(table) == 30 and (table["status"] == "ok").all()
    after = load_sweep(out, all_rows=True)
    assert after["run_id"].is_unique, "no run ran twice"
    kept = after.set_index("run_id").loc[before["run_id"], "finished_at"]
    assert (kept.to_numpy() == before["finished_at"].to_numpy()).all(), "finished runs were not rerun"
    # a third call has nothing to do: every row is the one already written (no timing assertion)
    again = run_sweep(path, out, workers=2, progress=False)
    assert len(again) == 30
    rows = load_sweep(out, all_rows=True).set_index("run_id")["finished_at"]
    assert len(rows) == 30 and (rows.loc[after["run_id"]].to_numpy() == after["finished_at"].to_numpy()).all()
