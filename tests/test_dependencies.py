"""Job dependencies (`after`): a job queues once submitted and every predecessor has completed.

Jobs give their work as a duration on H100s, so on DGX H100 nodes (8 H100
each) a job runs exactly that long at full speed: the start and end times
below are sums of the durations, derived by hand.
"""

from __future__ import annotations

import math

import pytest
from wattsim_testing import check_invariants, tiny_scenario

from sim import ScenarioError, load_scenario
from sim.catalog import load_catalog
from sim.compute.training import JobState
from sim.engine.world import World

H = 3600.0


def job(name, submit, hours, acc=4, **kw):
    return {"name": name, "submit": submit, "accelerators": acc, "duration": hours * H, **kw}


def doc_for(jobs=(), nodes=1, duration="until-done", generator=None, **sched):
    workload = {"jobs": list(jobs)}
    if generator is not None:
        workload["generator"] = generator
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"}, workload=workload, scheduler=sched)
    doc["duration"] = duration
    return doc


def run(doc):
    world = World(load_scenario(doc) if isinstance(doc, dict) else doc).run()
    result = world.result()
    check_invariants(world, result)
    return world, result, {j.name: j for j in world.jobs}


def test_a_chain_runs_back_to_back_on_a_free_cluster():
    # all three fit at once (3 x 4 <= 8 GPUs) and arrive at 0; C is listed first.
    # A 0-2 h, B 2-3 h, C 3-6 h; each is ready when its predecessor ends and waits 0 in the queue
    w, r, j = run(doc_for([job("C", 0, 3, after=["B"]), job("A", 0, 2), job("B", 0, 1, after=["A"])]))
    assert [j[n].start_s for n in "ABC"] == pytest.approx([0, 2 * H, 3 * H])
    assert [j[n].end_s for n in "ABC"] == pytest.approx([2 * H, 3 * H, 6 * H])
    assert [j[n].ready_s for n in "ABC"] == pytest.approx([0, 2 * H, 3 * H])
    assert w.end_s == pytest.approx(6 * H)  # until-done ends with the last of the chain
    t = r.jobs.set_index("name")
    assert t.loc[["A", "B", "C"], "wait_s"].tolist() == pytest.approx([0, 0, 0])
    assert t.loc[["A", "B", "C"], "submit_s"].tolist() == [0, 0, 0]
    assert t.loc[["A", "B", "C"], "jct_s"].tolist() == pytest.approx([2 * H, 3 * H, 6 * H])  # end - submit


def test_a_dependent_submitted_earlier_waits_for_its_predecessor():
    # B arrives at 0 but A only at 1 h and runs 2 h: B is ready at 3 h, keeps submit_s = 0
    _, r, j = run(doc_for([job("B", 0, 1, after=["A"]), job("A", H, 2), job("X", 0, 1)]))
    assert (j["B"].submit_s, j["B"].ready_s, j["B"].start_s, j["B"].end_s) == pytest.approx((0, 3 * H, 3 * H, 4 * H))
    assert j["X"].start_s == 0  # an independent job is not held up
    t = r.jobs.set_index("name")
    assert t.loc["B", "wait_s"] == pytest.approx(0) and t.loc["B", "ready_s"] == pytest.approx(3 * H)


def test_queueing_after_readiness_counts_as_wait():
    # one node of 8; A (8 GPUs) 0-2 h; B (4, after A) and Y (8, submitted at 1 h, first in FIFO order)
    # Y starts at 2 h when A ends and runs to 4 h; B, ready at 2 h, waits 2 h for room
    _, r, j = run(doc_for([job("A", 0, 2, acc=8), job("Y", H, 2, acc=8), job("B", 1.5 * H, 1, after=["A"])]))
    assert j["Y"].start_s == pytest.approx(2 * H)
    assert (j["B"].ready_s, j["B"].start_s) == pytest.approx((2 * H, 4 * H))
    assert r.jobs.set_index("name").loc["B", "wait_s"] == pytest.approx(2 * H)


def test_a_job_waits_for_all_its_predecessors():
    _, _, j = run(doc_for([job("A", 0, 1), job("B", 0, 3), job("C", 0, 1, after=["A", "B"])]))
    assert j["C"].start_s == pytest.approx(3 * H)


def test_a_failed_predecessor_fails_its_dependents_transitively():
    # A is too big for the cluster: it fails when submitted. B (after A) fails at once, C (after B)
    # with it; D (after A) fails at its own submit time (2 h), never before it.
    s = load_scenario(doc_for([job("A", 0, 1), job("B", 0, 1, after=["A"]), job("C", 0, 1, after=["B"]),
                               job("D", 2 * H, 1, after=["A"]), job("E", 0, 5)]))
    s.workload.jobs[0].accelerators = 64  # bypass the load-time size check: a final failure at submit
    w, r, j = run(s)
    assert j["A"].state is JobState.FAILED and j["A"].reason.startswith("needs 64 accelerators")
    assert (j["B"].state, j["B"].reason, j["B"].end_s) == (JobState.FAILED, "predecessor A failed", 0.0)
    assert (j["C"].state, j["C"].reason) == (JobState.FAILED, "predecessor B failed")
    assert (j["D"].state, j["D"].reason, j["D"].end_s) == (JobState.FAILED, "predecessor A failed", 2 * H)
    assert all(j[n].start_s is None and j[n].ready_s is None for n in "BCD")
    assert r.summary["jobs_failed"] == 4 and r.summary["jobs_completed"] == 1
    assert w.end_s == pytest.approx(5 * H)  # until-done: E's end; the failed dependents are not waited for


def test_a_dependent_of_an_unfinished_job_is_pending_at_the_horizon():
    # a 1-day run: A (30 h) is still running; B (after A) and C (after B) never entered the queue
    _, r, j = run(doc_for([job("A", 0, 30), job("Z", 0, 1), job("B", H, 1, after=["A", "Z"]),
                           job("C", 0, 1, after=["B"])], duration="1d"))
    assert j["A"].state is JobState.RUNNING
    assert (j["B"].state, j["B"].reason) == (JobState.PENDING, "waiting for A")  # Z has completed
    assert (j["C"].state, j["C"].reason) == (JobState.PENDING, "waiting for B")
    t = r.jobs.set_index("name")
    assert math.isnan(t.loc["B", "ready_s"]) and math.isnan(t.loc["B", "start_s"])
    assert r.summary["jobs_submitted"] == 2 and r.summary["jobs_unfinished"] == 1  # A running, Z completed


@pytest.mark.parametrize(("jobs", "where", "message"), [
    ([job("A", 0, 1), job("B", 0, 1, after=["X"])], "workload.jobs.1.after", "no job named 'X'"),
    ([job("A", 0, 1, after=["C"]), job("B", 0, 1, after=["A"]), job("C", 0, 1, after=["B"])],
     "workload.jobs.0.after", "dependency cycle: 'A' -> 'C' -> 'B' -> 'A'"),
    ([job("A", 0, 1, after=["A"])], "workload.jobs.0.after", "dependency cycle: 'A' -> 'A'"),
    ([job("A", 0, 1), job("A", 0, 2), job("B", 0, 1, after=["A"])], "workload.jobs.2.after",
     "names in after must be unique"),
])
def test_bad_dependencies_are_scenario_errors_at_their_path(jobs, where, message):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(doc_for(jobs))
    assert f"{where}: " in str(exc.value) and message in str(exc.value)


def test_unnamed_jobs_are_named_by_position():
    _, _, j = run(doc_for([job(None, 0, 2), job("B", 0, 1, after=["job-0"])]))
    assert j["B"].start_s == pytest.approx(2 * H)


CAMPAIGN = {"kind": "llm-campaign", "model": "llama-7b", "tokens": 1.0e10, "accelerators": 16,
            "eval_every": "4h", "eval_accelerators": 8, "eval_duration": "1h",
            "finetunes": 2, "finetune_accelerators": 8, "finetune_tokens": 1.0e9, "finetune_gap": "10min"}
H100 = load_catalog().accelerator("h100")
#: expected pretraining length: 6 N D / (accelerators x peak x MFU) = 6 x 6.7e9 x 1e10 / (16 x 989e12 x 0.40)
EXPECTED_S = 6 * 6.7e9 * 1.0e10 / (16 * H100.peak_flops * H100.default_mfu)


@pytest.mark.parametrize("sched", [{}, {"queue": "las", "queue_options": {"thresholds": [3600]}}],
                         ids=["fifo", "las-preemptive"])
def test_llm_campaign_finetunes_start_when_pretraining_actually_ends(sched):
    assert EXPECTED_S == pytest.approx(63_528, rel=1e-3)  # 17.6 h
    # 4 nodes (32 GPUs): room for pretraining + an evaluation + both fine-tunes. Under LAS a
    # competing 24-GPU job arrives at 2 h and preempts the pretraining (more attained service)
    other = [{"name": "other", "submit": 2 * H, "accelerators": 24, "duration": H}] if sched else []
    _, r, j = run(doc_for(other, nodes=4, generator=CAMPAIGN, duration="until-done", **sched))
    pre = j["campaign-pretrain"]
    assert pre.state is JobState.COMPLETED
    # checkpoints (120 s every hour) alone make it 3720/3600 longer than expected: > the 10 min gap
    assert pre.end_s >= EXPECTED_S * 3720 / 3600 * (1 - 1e-9)
    for i in (1, 2):
        ft = j[f"campaign-finetune-{i}"]
        assert ft.after == [pre.id]
        assert ft.submit_s == pytest.approx(EXPECTED_S + (i - 1) * 600)  # planned: the expected end + gaps
        assert ft.ready_s == pre.end_s and ft.start_s == pre.end_s  # run: the actual end
        assert ft.state is JobState.COMPLETED
    evals = [x for x in j.values() if "-eval-" in x.name]
    assert [e.submit_s for e in evals] == pytest.approx([4 * H * k for k in range(1, len(evals) + 1)])
    assert all(e.ready_s == e.submit_s for e in evals)  # evaluations keep their schedule
    if sched:
        assert pre.preemptions >= 1


def test_llm_campaign_too_big_pretraining_fails_its_finetunes_and_until_done_ends():
    gen = {**CAMPAIGN, "accelerators": 64}  # 64 > 16 GPUs of 2 nodes
    w, r, j = run(doc_for(nodes=2, generator=gen))
    pre = j["campaign-pretrain"]
    assert pre.state is JobState.FAILED
    expected_s = EXPECTED_S / 4  # 4x the accelerators
    for i in (1, 2):
        ft = j[f"campaign-finetune-{i}"]
        assert (ft.state, ft.reason) == (JobState.FAILED, "predecessor campaign-pretrain failed")
        assert ft.end_s == pytest.approx(expected_s + (i - 1) * 600)  # at its submit time
    evals = [x for x in j.values() if "-eval-" in x.name]
    assert evals and all(e.state is JobState.COMPLETED for e in evals)
    assert w.end_s == pytest.approx(max(x.end_s for x in j.values()))
    assert r.summary["jobs_failed"] == 3


def test_carbon_deferral_counts_slack_from_when_a_dependent_became_ready():
    # B (slack 2 h) waits for A (1 h): its deadline is ready + slack + runtime = 1 + 2 + 1 h,
    # not submit (0) + slack + runtime = 3 h, which would leave it no room to defer
    h100 = load_catalog().accelerator("h100")
    hour8 = 8 * h100.peak_flops * h100.default_mfu * 3600
    doc = tiny_scenario(duration="until-done", max_duration="2d",
                        supply={"grid": {"carbon_intensity": {"trace": "gb-2020"}}},
                        scheduler={"controls": [{"kind": "carbon-defer"}]},
                        workload={"jobs": [{"name": "A", "accelerators": 8, "flops": hour8},
                                           {"name": "B", "accelerators": 8, "flops": hour8, "slack": "2h",
                                            "after": ["A"]}]})
    world = World(load_scenario(doc)).run()
    jobs = {j.name: j for j in world.jobs}
    defer = world.scheduler.controls[0]
    assert jobs["B"].ready_s == pytest.approx(3600.0, rel=1e-9)
    assert defer.deadline_s(jobs["B"]) == pytest.approx(4 * 3600.0, rel=1e-6)
    assert jobs["B"].end_s <= 4 * 3600.0 + 1e-6
