"""The engine end to end on hand-checkable scenarios, and the DESIGN invariants."""

import numpy as np
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.catalog import load_catalog
from sim.units import J_PER_KWH

H100 = load_catalog().accelerator("h100")
DGX = load_catalog().node_type("dgx-h100")


def one_hour_job_flops(accelerators=8):
    # runs exactly 1 h at the catalog's default MFU on H100s
    return accelerators * H100.peak_flops * H100.default_mfu * 3600.0


def test_one_job_on_one_node_energy_by_hand():
    doc = tiny_scenario(workload={"jobs": [{"name": "a", "accelerators": 8, "flops": one_hour_job_flops()}]})
    r = simulate(load_scenario(doc))
    day, hour = 86400.0, 3600.0
    idle_node_w = 8 * H100.idle_w + DGX.host_idle_w
    busy_node_w = 8 * H100.busy_w + DGX.host_busy_w
    # node 0 busy for an hour then idle; node 1 idle all day
    it_j = hour * busy_node_w + (day - hour) * idle_node_w + day * idle_node_w
    assert r.summary["it_energy_kwh"] == pytest.approx(it_j / J_PER_KWH, rel=1e-9)
    assert r.summary["facility_energy_kwh"] == pytest.approx(1.1 * it_j / J_PER_KWH, rel=1e-9)
    assert r.summary["accelerator_energy_kwh"] == pytest.approx(
        (hour * 8 * H100.busy_w + (2 * day - hour) * 8 * H100.idle_w) / J_PER_KWH, rel=1e-9)
    job = r.jobs.iloc[0]
    assert job.state == "completed"
    assert job.jct_s == pytest.approx(3600.0, rel=1e-9)
    # the job is charged its 8 busy accelerators and its node's busy host power
    assert job.it_energy_kwh == pytest.approx(hour * busy_node_w / J_PER_KWH, rel=1e-9)


def test_per_job_attributed_plus_unattributed_equals_metered_total():
    doc = tiny_scenario(workload={"jobs": [
        {"accelerators": 4, "flops": one_hour_job_flops(4)},
        {"accelerators": 2, "flops": one_hour_job_flops(2) * 3, "submit": "30min"},
        {"accelerators": 16, "flops": one_hour_job_flops(16), "submit": "5h"},
    ]})
    r = simulate(load_scenario(doc))
    # by hand (sim/compute/node.py Node.refresh): a job is charged busy_w per accelerator plus host_busy_w / 8
    # per slot it holds; a free slot costs idle_w plus host_idle_w / 8, unattributed. Busy slot-hours:
    # 4 x 1 h + 2 x 3 h + 16 x 1 h = 26 of 16 x 24 = 384.
    busy_slot_s, all_slot_s = 26 * 3600.0, 16 * 86400.0
    attributed_j = busy_slot_s * (H100.busy_w + DGX.host_busy_w / 8)
    idle_j = (all_slot_s - busy_slot_s) * (H100.idle_w + DGX.host_idle_w / 8)
    assert r.jobs.it_energy_kwh.sum() == pytest.approx(attributed_j / J_PER_KWH, rel=1e-9)
    assert r.summary["it_energy_kwh"] - r.jobs.it_energy_kwh.sum() == pytest.approx(idle_j / J_PER_KWH, rel=1e-9)
    assert r.summary["it_energy_kwh"] == pytest.approx((attributed_j + idle_j) / J_PER_KWH, rel=1e-9)


def test_energy_balance_at_every_bin():
    doc = tiny_scenario(workload={"generator": {"rate_per_hour": 4, "mean_duration": "2h"}})
    r = simulate(load_scenario(doc))
    ts = r.timeseries
    cats = ["accelerator_power_w", "host_power_w", "network_power_w", "background_power_w",
            "cooling_power_w", "losses_power_w"]
    np.testing.assert_allclose(ts[cats].sum(axis=1), ts.facility_power_w, rtol=1e-12)
    it = ts[["accelerator_power_w", "host_power_w", "network_power_w", "background_power_w"]].sum(axis=1)
    np.testing.assert_allclose(it, ts.it_power_w, rtol=1e-12)
    np.testing.assert_allclose(ts.it_power_w + ts.cooling_power_w + ts.losses_power_w,
                               ts.facility_power_w, rtol=1e-12)
    # supply side: grid import + renewables used + battery discharge = demand + battery charge
    supplied = ts.grid_import_w + ts.get("renewable_used_w", 0) + ts.get("battery_discharge_w", 0)
    np.testing.assert_allclose(supplied, ts.facility_power_w + ts.get("battery_charge_w", 0), rtol=1e-9)
    # bins add up to the totals
    assert ts.facility_energy_kwh.sum() == pytest.approx(r.summary["facility_energy_kwh"], rel=1e-9)


def test_no_job_lost_and_every_state_reported():
    doc = tiny_scenario(workload={
        "generator": {"rate_per_hour": 10, "mean_duration": "3h", "sizes": [
            {"accelerators": 1, "weight": 5}, {"accelerators": 8, "weight": 2},
            {"accelerators": 64, "weight": 1}]}})  # 64 > the 16 accelerators of the cluster
    r = simulate(load_scenario(doc))
    jobs = r.jobs
    s = r.summary
    assert jobs.job_id.is_unique
    assert set(jobs.state) <= {"completed", "failed", "queued", "running", "pending"}
    assert s["jobs_completed"] + s["jobs_failed"] + s["jobs_unfinished"] == s["jobs_submitted"]
    too_big = jobs[jobs.accelerators == 64]
    assert len(too_big) > 0 and (too_big.state == "failed").all()
    assert too_big.reason.str.contains("needs 64 accelerators; the cluster has 16").all()
    assert s["jobs_unfinished"] > 0  # a 3 h mean with 10/h on 16 GPUs leaves a queue at the horizon


def test_same_seed_same_results_different_seed_different():
    doc = tiny_scenario(workload={"generator": {"rate_per_hour": 5, "mean_duration": "2h"}})
    a = simulate(load_scenario(doc))
    b = simulate(load_scenario(doc))
    c = simulate(load_scenario(doc, overrides={"seed": 2}))
    # NaN marks a capability a run does not use (e.g. max_inlet_temp_c without a cooling plant):
    # compare it as a value, since NaN != NaN
    def strip(s):
        return {k: ("nan" if isinstance(v, float) and v != v else v) for k, v in s.items() if k != "wall_s"}

    assert strip(a.summary) == strip(b.summary)
    assert a.jobs.equals(b.jobs)
    assert a.timeseries.equals(b.timeseries)
    assert strip(a.summary) != strip(c.summary)


def test_until_done_stops_when_the_last_job_ends():
    doc = tiny_scenario(duration="until-done",
                        workload={"jobs": [{"accelerators": 8, "flops": one_hour_job_flops()},
                                           {"accelerators": 8, "flops": one_hour_job_flops(), "submit": "2h"}]})
    r = simulate(load_scenario(doc))
    assert r.summary["simulated_s"] == pytest.approx(3 * 3600.0, rel=1e-9)
    assert r.summary["jobs_completed"] == 2


def test_power_cap_slows_a_job_and_lowers_its_power():
    base = tiny_scenario(duration="until-done",
                         workload={"jobs": [{"accelerators": 8, "flops": one_hour_job_flops()}]})
    free = simulate(load_scenario(base))
    capped = simulate(load_scenario(base, overrides={"cluster.power_cap_w": 400}))
    # phase model (sim/compute/power.py): at the default MFU the demand is busy_w; the cube law gives
    # f = ((400 - idle) / (busy - idle))^(1/3) = 0.6^(1/3) and the job's speed is f^gamma, gamma = 0.3
    f = ((400 - H100.idle_w) / (H100.busy_w - H100.idle_w)) ** (1 / 3)
    assert capped.jobs.jct_s.iloc[0] == pytest.approx(3600.0 / f ** 0.3, rel=1e-9)
    # a job declared fully compute-bound (gamma 1) slows with the clock itself
    doc = tiny_scenario(duration="until-done", cluster={"nodes": 2, "power_cap_w": 400},
                        workload={"jobs": [{"accelerators": 8, "flops": one_hour_job_flops(), "gamma": 1.0}]})
    assert simulate(load_scenario(doc)).jobs.jct_s.iloc[0] == pytest.approx(3600.0 / f, rel=1e-9)
    assert capped.jobs.it_energy_kwh.iloc[0] < free.jobs.it_energy_kwh.iloc[0] * 1.5
    assert capped.timeseries.accelerator_power_w.max() < free.timeseries.accelerator_power_w.max()


def test_checkpoints_cost_time_at_low_power():
    doc = tiny_scenario(duration="until-done", workload={"jobs": [
        {"accelerators": 8, "flops": one_hour_job_flops(), "checkpoint_interval": "10min",
         "checkpoint_time": "1min"}]})
    r = simulate(load_scenario(doc))
    # one minute every ten: duty cycle 10/11
    assert r.jobs.jct_s.iloc[0] == pytest.approx(3600.0 * 11 / 10, rel=1e-9)


def test_a_job_fits_the_cluster_or_waits_fifo():
    doc = tiny_scenario(duration="until-done", workload={"jobs": [
        {"name": "big", "accelerators": 16, "flops": one_hour_job_flops(16)},
        {"name": "small", "accelerators": 1, "flops": one_hour_job_flops(1), "submit": 1}]})
    r = simulate(load_scenario(doc)).jobs.set_index("name")
    assert r.loc["big", "start_s"] == 0
    assert r.loc["small", "start_s"] == pytest.approx(3600.0, rel=1e-9)  # waits for the whole cluster


def test_a_wall_clock_limit_stops_a_run_with_a_clear_error():
    from sim.engine.world import RunTimeout, World

    # a month at a 1 s plant step is millions of events: a 0.2 s limit must stop it early
    doc = tiny_scenario(duration="30d", plant={"step": "1s"})
    world = World(load_scenario(doc))
    with pytest.raises(RunTimeout, match="wall-clock limit at simulated t = "):
        world.run(wall_limit_s=0.2)
    assert world.env.now < 30 * 86400
