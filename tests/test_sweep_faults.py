"""Sweep fault semantics (issue 15): a run that crashes, hangs or kills its process costs that run only.

Each case asserts the exact outcome: which run ids are ok, failed or timed out,
what the error says, and that no process the sweep started is left behind.
The faults come from tests/fault_models.py (a cooling model that crashes, hangs
in a C-level sleep, or SIGKILLs its own process at its first plant step).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from wattsim_testing import tiny_scenario

from sim.sweep.execute import STATUS_FAILED, STATUS_OK, expand_sweep, load_sweep, run_sweep
from sim.sweep.isolate import STATUS_TIMEOUT

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TIMEOUT_S = 30.0  # wall limit per run: far above a 1 h, 1-node run, even on a loaded machine


def _sweep(pid_dir: Path, faults: list[str]) -> dict:
    base = tiny_scenario(duration="1h", cluster={"nodes": 1, "node_type": "dgx-h100"},
                         cooling={"model": "fault_models:Faulty", "options": {"fault": "ok", "pid_dir": str(pid_dir)}},
                         workload={"jobs": [{"accelerators": 8, "flops": 1e18}]})
    return {"name": "faults", "base": base, "grid": {"cooling.options.fault": faults}}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _pids(pid_dir: Path) -> list[int]:
    return [int(p.stem) for p in pid_dir.glob("*.pid")]


def _wait_gone(pids: list[int], within_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


TWELVE = ["crash", "hang", "kill"] + [f"ok-{i}" for i in range(9)]


def _check_twelve(table, pid_dir: Path, min_processes: int) -> None:
    by_fault = dict(zip(table["cooling.options.fault"], zip(table["status"], table["error"])))
    assert len(table) == 12
    assert {f for f, (st, _) in by_fault.items() if st == STATUS_OK} == {f"ok-{i}" for i in range(9)}
    assert by_fault["crash"][0] == STATUS_FAILED and "injected crash" in by_fault["crash"][1]
    assert by_fault["kill"][0] == STATUS_FAILED and "SIGKILL" in by_fault["kill"][1]
    assert by_fault["hang"][0] == STATUS_TIMEOUT and by_fault["hang"][1].startswith("timeout")
    pids = _pids(pid_dir)
    assert len(pids) >= min_processes
    assert _wait_gone(pids) == []  # no worker left behind


@pytest.mark.slow
def test_pool_records_exactly_the_crashing_hanging_and_killing_runs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    table = run_sweep(_sweep(pid_dir, TWELVE), tmp_path / "out", workers=2, timeout_s=TIMEOUT_S, progress=False)
    # two workers, and a fresh one for the worker `kill` took down while runs were left (a third,
    # for the hung one killed at its limit, only if runs were still left then: timing)
    _check_twelve(table, pid_dir, min_processes=3)


@pytest.mark.slow
def test_dask_records_exactly_the_crashing_hanging_and_killing_runs(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    table = run_sweep(_sweep(pid_dir, TWELVE), tmp_path / "out", workers=2, dask="local", timeout_s=TIMEOUT_S,
                      progress=False)
    _check_twelve(table, pid_dir, min_processes=3)  # as on the pool, within each Dask worker


@pytest.mark.slow
def test_retry_failed_reruns_only_the_failed_runs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    sweep = _sweep(pid_dir, ["ok-0", "ok-1", "kill", "crash"])
    out = tmp_path / "out"
    first = run_sweep(sweep, out, workers=2, progress=False)
    assert sorted(first["status"]) == [STATUS_FAILED, STATUS_FAILED, STATUS_OK, STATUS_OK]
    second = run_sweep(sweep, out, workers=2, retry_failed=True, progress=False)
    rows = load_sweep(out, all_rows=True)
    runs_per_fault = rows.groupby("cooling.options.fault").size().to_dict()
    # the innocent runs ran once; the failed ones twice (and failed again: their fault is deterministic)
    assert runs_per_fault == {"ok-0": 1, "ok-1": 1, "kill": 2, "crash": 2}
    assert dict(zip(second["cooling.options.fault"], second["status"])) == {
        "ok-0": STATUS_OK, "ok-1": STATUS_OK, "kill": STATUS_FAILED, "crash": STATUS_FAILED}
    # two workers per sweep; the one killed by `kill` was replaced only if a run was left for it
    assert _wait_gone(_pids(pid_dir)) == []


@pytest.mark.slow
def test_killing_the_sweep_kills_its_runs(tmp_path):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump(_sweep(pid_dir, ["hang", "ok-0", "ok-1"]) | {
        "grid": {"cooling.options.fault": ["hang"], "seed": [1, 2]}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(REPO)]))
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(sweep_file), "-o", str(tmp_path / "out"),
                             "--workers", "2", "--no-progress"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_pids(pid_dir)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        pids = _pids(pid_dir)
        assert len(pids) == 2 and all(_alive(p) for p in pids)  # both runs hang in their own process
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _wait_gone(pids) == []  # the kernel killed them with their parent (PR_SET_PDEATHSIG)


def test_a_sweep_expands_the_fault_grid(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    specs = expand_sweep(_sweep(tmp_path, TWELVE))
    assert len({s.run_id for s in specs}) == 12 and all(s.error is None for s in specs)
