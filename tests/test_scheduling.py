"""Scheduling policies on small hand-checkable workloads.

Every job gives its work as a duration on H100s (`duration`), so on the
default DGX H100 nodes (8 H100 each) a job runs exactly that long at full
speed; starts and ends below are derived by hand from the policy's rule.
"""

from __future__ import annotations

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.compute.training import JobState
from sim.engine.world import World

H = 3600.0


def job(name, submit, hours, acc=8, **kw):
    return {"name": name, "submit": submit, "accelerators": acc, "duration": hours * H, **kw}


def run(jobs, nodes=1, duration="until-done", **sched):
    sched.setdefault("preemption", {"checkpoint_save": 0, "checkpoint_restore": 0})
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"},
                        workload={"jobs": jobs}, scheduler=sched)
    doc["duration"] = duration
    w = World(load_scenario(doc)).run()
    return w, {j.name: j for j in w.jobs}


def test_fifo_runs_in_submission_order():
    _, j = run([job("a", 0, 3), job("b", 1, 2), job("c", 2, 1)])
    assert [j[n].start_s for n in "abc"] == pytest.approx([0, 3 * H, 5 * H])


def test_sjf_runs_the_shortest_waiting_job_first():
    # a starts alone at 0; at 3 h c (1 h) goes before b (2 h)
    _, j = run([job("a", 0, 3), job("b", 1, 2), job("c", 2, 1)], queue="sjf")
    assert (j["a"].start_s, j["c"].start_s, j["b"].start_s) == pytest.approx((0, 3 * H, 4 * H))


def test_sjf_uses_the_users_estimate_when_given():
    # b claims 30 min, so it goes before c although it really runs 2 h
    _, j = run([job("a", 0, 3), job("b", 1, 2, runtime_estimate="30min"), job("c", 2, 1)], queue="sjf")
    assert (j["b"].start_s, j["c"].start_s) == pytest.approx((3 * H, 5 * H))


def test_srtf_preempts_a_longer_running_job_and_resumes_it():
    # a (4 h) runs; b (1 h) arrives at 1 h: a has 3 h left > 1 h, so a is preempted
    # and resumes at 2 h with its work kept: ends at 5 h
    _, j = run([job("a", 0, 4), job("b", H, 1)], queue="srtf")
    assert j["b"].start_s == pytest.approx(H)
    assert j["b"].end_s == pytest.approx(2 * H)
    assert j["a"].end_s == pytest.approx(5 * H)
    assert j["a"].preemptions == 1
    assert j["a"].done_flops == pytest.approx(j["a"].work.work_flops)


def test_preemption_costs_save_and_restore_time_and_energy():
    # save 60 s then b starts; a resumes after b, restores 60 s, then runs its last 3 h
    w, j = run([job("a", 0, 4), job("b", H, 1)], queue="srtf",
               preemption={"checkpoint_save": 60, "checkpoint_restore": 60})
    assert j["b"].start_s == pytest.approx(H + 60)
    assert j["a"].end_s == pytest.approx(2 * H + 60 + 60 + 3 * H)
    # 2 x 60 s of 8 accelerators at checkpoint power: idle + 15% of (busy - idle) = 70 + 0.15 x 550
    # plus the busy host power of the node's 8 slots (2,400 W): the job's attributed share
    p = 8 * (70 + 0.15 * (620 - 70)) + 2400
    assert j["a"].wasted_energy_j == pytest.approx(120 * p, rel=1e-6)


def test_las_demotes_by_attained_service_and_keeps_fifo_inside_a_queue():
    # threshold 4 accelerator-hours (30 min on 8 GPUs). a (4 h) is in queue 1 when b
    # (2 h) arrives at 1 h: b preempts a; at 1.5 h b crosses the threshold, both in
    # queue 1, FIFO -> a resumes, ends at 4.5 h; b finishes its last 1.5 h at 6 h.
    _, j = run([job("a", 0, 4), job("b", H, 2)], queue="las",
               queue_options={"thresholds": [4 * H], "starvation_limit": None})
    assert j["b"].start_s == pytest.approx(H)
    assert j["a"].end_s == pytest.approx(4.5 * H)
    assert j["b"].end_s == pytest.approx(6 * H)
    assert j["a"].preemptions == 1 and j["b"].preemptions == 1


def test_las_starvation_guard_promotes_a_waiting_job():
    # without the guard c (8 h, queue 1 after 30 min) waits behind a stream of short
    # jobs; with a 2 h limit it is promoted and runs again by then
    short = [job(f"s{i}", 0.5 * H + i * 0.4 * H, 0.5) for i in range(12)]
    _, j0 = run([job("c", 0, 8), *short], queue="las",
                queue_options={"thresholds": [4 * H], "starvation_limit": None})
    _, j1 = run([job("c", 0, 8), *short], queue="las",
                queue_options={"thresholds": [4 * H], "starvation_limit": "2h"})
    # without the guard c runs once more only after every short job; with it, it is
    # promoted (and demoted again) several times while short jobs still arrive
    assert j0["c"].preemptions == 1
    assert j1["c"].preemptions > 1
    assert j0["c"].end_s == max(x.end_s for x in j0.values())
    assert all(x.state is JobState.COMPLETED for x in j1.values())


def test_easy_backfill_starts_a_short_job_without_delaying_the_head():
    # 2 nodes. a holds node 0 for 2 h; b needs both nodes: reserved at 2 h.
    # c (1 h) ends before 2 h: backfilled at once. d (3 h) would end after 2 h and
    # there are no spare accelerators then: it waits behind b (FIFO).
    w, j = run([job("a", 0, 2), job("b", 1, 1, acc=16), job("c", 2, 1), job("d", 3, 3)],
               nodes=2, queue="easy-backfill")
    assert j["c"].start_s == pytest.approx(2)
    assert j["b"].start_s == pytest.approx(2 * H)
    assert j["d"].start_s == pytest.approx(3 * H)
    res = w.scheduler.queue_policy.reservations
    assert res[j["b"].id] == pytest.approx(2 * H)
    # plain FIFO would have held c behind b
    _, f = run([job("a", 0, 2), job("b", 1, 1, acc=16), job("c", 2, 1), job("d", 3, 3)], nodes=2)
    assert f["c"].start_s == pytest.approx(3 * H)


def test_easy_backfill_never_delays_any_reservation():
    import numpy as np

    rng = np.random.default_rng(3)
    jobs = [job(f"j{i}", float(rng.uniform(0, 6 * H)), float(rng.choice([0.25, 0.5, 1, 3, 6])),
                acc=int(rng.choice([8, 16, 24]))) for i in range(40)]
    w, j = run(jobs, nodes=4, queue="easy-backfill")
    res = w.scheduler.queue_policy.reservations
    assert res  # some head jobs had to wait
    by_id = {x.id: x for x in j.values()}
    for jid, t in res.items():
        assert by_id[jid].start_s <= t + 1e-6
    assert all(x.state is JobState.COMPLETED for x in j.values())


def test_fair_share_lets_a_light_user_in_before_a_heavy_users_backlog():
    jobs = [job(f"a{i}", 0, 1, user="alice") for i in range(4)] + [job("b0", 1, 1, user="bob")]
    _, f = run(jobs, nodes=2)
    _, s = run(jobs, nodes=2, queue="fair")
    assert f["b0"].start_s == pytest.approx(2 * H)  # FIFO: after alice's four jobs
    assert s["b0"].start_s == pytest.approx(H)  # fair: bob's first job with alice's third
    assert s["a3"].start_s == pytest.approx(2 * H)


def test_user_policy_is_loaded_by_dotted_name():
    # a policy defined in this test module: last submitted first
    _, j = run([job("a", 0, 1), job("b", 1, 1), job("c", 2, 1)], queue="test_scheduling:Lifo")
    assert (j["c"].start_s, j["b"].start_s) == pytest.approx((H, 2 * H))


class Lifo:
    blocking = True

    def order(self, queue, view):
        return sorted(queue, key=lambda j: -j.submit_s)


def test_summary_reports_slowdown_fairness_and_wasted_energy():
    # two 1-h jobs on one node: slowdowns 1 and 2 -> Jain (1+2)^2 / (2 (1+4)) = 0.9
    w, _ = run([job("a", 0, 1), job("b", 0, 1)])
    s = w.result().summary
    assert s["mean_slowdown"] == pytest.approx(1.5)
    assert s["jain_fairness_slowdown"] == pytest.approx(0.9)
    assert s["median_jct_s"] == pytest.approx(1.5 * H)
    assert s["wasted_energy_kwh"] == 0.0 and s["preemptions"] == 0
    assert {"wasted_energy_kwh", "preemptions", "restarts"} <= set(w.result().jobs.columns)


def test_a_preemptive_pass_leaves_each_waiting_job_once_in_the_queue():
    """LAS with preemption on an overloaded cluster: the queue holds exactly the queued jobs, once each
    (a started job left in the queue made every later pass sort thousands of stale entries)."""
    from pathlib import Path

    from sim import load_scenario
    from sim.engine.world import World

    path = Path(__file__).resolve().parents[1] / "scenarios" / "policies_philly.yaml"
    w = World(load_scenario(path, overrides={"duration": "6h"}))
    w.run()
    ids = [j.id for j in w.scheduler.queue]
    assert len(ids) == len(set(ids))
    assert all(j.state.value == "queued" for j in w.scheduler.queue)
    assert set(ids) == {j.id for j in w.jobs if j.state.value == "queued"} - set(w.scheduler.held)
