"""Stopped runs, loops and numbers a user cannot misread (issue 15)."""

import re
from functools import partial

import pytest
import yaml
from wattsim_testing import tiny_scenario

import sim.engine.environment as environment_mod
import sim.engine.world as world_mod
from sim.cli.main import main
from sim.cli.summary import summary_table
from sim.engine.world import CountingEnvironment, SameInstantLoop, World
from sim.results.result import Result
from sim.spec.scenario import load_scenario

H = 86400.0  # tiny_scenario's duration: 1 d


def _balanced(s: dict) -> None:
    parts = s["it_energy_kwh"] + s["cooling_energy_kwh"] + s["losses_energy_kwh"]
    assert s["facility_energy_kwh"] == pytest.approx(parts, rel=1e-9)


def test_run_timeout_writes_a_partial_run_folder(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(tiny_scenario(duration="30d", plant={"step": "60s"},
                                              workload={"jobs": [{"accelerators": 8, "flops": 1e24}]})))
    code = main(["run", str(f), "-o", str(tmp_path / "out"), "--no-plot", "--timeout", "1ms"])
    out = capsys.readouterr().out
    assert code == 3 and "PARTIAL" in out and "stopped at its --timeout" in out
    r = Result.from_dir(tmp_path / "out")
    assert r.summary["stopped"] == "timeout" and 0 < r.summary["simulated_s"] < 30 * H
    assert r.manifest["partial"]["stopped"] == "timeout"
    _balanced(r.summary)  # the books were closed at the instant it stopped


def test_an_interrupted_run_keeps_what_it_measured():
    w = World(load_scenario(tiny_scenario(workload={"jobs": [{"accelerators": 8, "flops": 1e24}]})))
    w.env.timeout(3600.0).callbacks.append(lambda _e: w.env.interrupt())  # Ctrl-C at t = 1 h
    w.run(partial=True)
    r = w.result()
    assert r.summary["stopped"] == "interrupted"
    assert 3600.0 <= r.summary["simulated_s"] < H  # stops within 256 events of the request
    assert r.jobs.state.iloc[0] == "running"
    _balanced(r.summary)


def test_without_partial_the_limit_still_raises():
    w = World(load_scenario(tiny_scenario(workload={"jobs": [{"accelerators": 8, "flops": 1e24}]})))
    w.env.timeout(3600.0).callbacks.append(lambda _e: w.env.interrupt())
    with pytest.raises(world_mod.RunTimeout, match="was interrupted"):
        w.run()


class _Job:  # what the guard looks for in a callback's arguments
    id, name, remaining_flops = 17, "job-17", 1e-300


class _SliverRuntime:
    """Reschedules a job at the same instant forever (a sliver of work whose ETA rounds to 0)."""

    def __init__(self, env):
        self.env = env

    def _maybe_done(self, job, _event):
        self.env.timeout(0.0).callbacks.append(partial(self._maybe_done, job))


def test_a_same_instant_loop_is_an_error_naming_the_component_and_job(monkeypatch):
    monkeypatch.setattr(environment_mod, "SAME_INSTANT_EVENTS", 1000)
    monkeypatch.setattr(environment_mod, "SAME_INSTANT_REPEATS", 100)
    env = CountingEnvironment()
    env.timeout(5.0).callbacks.append(partial(_SliverRuntime(env)._maybe_done, _Job()))
    with pytest.raises(SameInstantLoop) as exc:
        env.run(until=10.0)
    assert str(exc.value) == ("simulated time stopped at t = 5 s: _SliverRuntime._maybe_done for job 17 ('job-17') "
                              "was rescheduled at the same instant 101 times (1,101 events at this instant)")


def test_waits_count_the_jobs_still_waiting_at_the_end():
    # one node of 8 GPUs, two 8-GPU jobs longer than the day: A runs all day, B waits all day
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100"},
                        workload={"jobs": [{"name": "A", "accelerators": 8, "flops": 1e24},
                                           {"name": "B", "accelerators": 8, "flops": 1e24}]})
    w = World(load_scenario(doc)).run()
    s = w.result().summary
    assert s["jobs_waiting_at_end"] == 1
    assert s["oldest_wait_s"] == pytest.approx(H)
    assert s["mean_wait_s"] == pytest.approx((0.0 + H) / 2)  # was 0.0: only started jobs counted
    assert s["p95_wait_s"] == pytest.approx(0.95 * H)  # numpy's linear interpolation of [0, H]


SUMMARY = {
    "facility_energy_kwh": 5500.0, "it_energy_kwh": 5000.0, "accelerator_energy_kwh": 1500.0,
    "host_energy_kwh": 3000.0, "network_energy_kwh": 0.0, "background_energy_kwh": 500.0,
    "cooling_energy_kwh": 450.0, "losses_energy_kwh": 50.0, "pue": 1.1, "peak_power_kw": 32.7,
    "renewable_share": 0.0, "carbon_kg": 13.7, "cost": 549.96, "jobs_completed": 0, "jobs_submitted": 3,
    "jobs_failed": 0, "jobs_unfinished": 3, "mean_jct_s": float("nan"), "mean_wait_s": 7200.0,
    "p95_wait_s": 9000.0, "jobs_waiting_at_end": 2, "oldest_wait_s": 9000.0, "gpu_utilization": 0.1,
    "simulated_s": 86400.0, "wall_s": 1.0, "events": 100,
}


def test_the_summary_uses_one_unit_parts_that_add_up_currency_and_kg():
    text = summary_table(SUMMARY, currency="EUR")
    lines = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in text.splitlines())
    assert lines["facility energy"] == "5.50 MWh" and lines["IT"] == "5.00 MWh"
    # 1.50 + 3.00 + 0.00 + 0.50 = 5.00: the background load is one of the parts
    assert lines["accelerators + hosts + network + background"] == "1.50 MWh + 3.00 MWh + 0.00 MWh + 0.50 MWh"
    assert lines["cooling + losses"] == "0.50 MWh"
    assert lines["carbon (operational)"] == "13.7 kg CO2e"  # was "0.01 t"
    assert lines["energy cost"] == "549.96 EUR"  # was "550", no currency
    assert lines["still waiting at the end"].startswith("2 (oldest 2.50 h;")
    assert summary_table({**SUMMARY, "carbon_kg": 2350.0}).count("2.35 t CO2e") == 1
