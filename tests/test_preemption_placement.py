"""Preemptive passes that preempt only for a job placement can then place; LAS service counts compute
only; the first-start cost (issue 15, scheduling).

Every job gives its work as a duration on H100s, so on DGX H100 nodes (8 H100 each) it runs exactly
that long at full speed; the start and end times below are derived by hand from the policy's rule and
the placement (packed: a job of 12 needs one whole node and 4 accelerators on another; node order
n0, n1, n2).
"""

from __future__ import annotations

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.engine.world import World

H = 3600.0


def job(name, submit, hours, acc=8, **kw):
    return {"name": name, "submit": submit, "accelerators": acc, "duration": hours * H, **kw}


def run(jobs, nodes=1, **sched):
    sched.setdefault("preemption", {"checkpoint_save": 0, "checkpoint_restore": 0})
    sched.setdefault("placement", "packed")
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"}, workload={"jobs": jobs},
                        scheduler=sched)
    doc["duration"] = "until-done"
    w = World(load_scenario(doc)).run()
    return w, {j.name: j for j in w.jobs}


def test_las_does_not_preempt_for_a_job_that_cannot_be_placed_on_the_freed_accelerators():
    """The issue's 3-node repro. A (6) on n0, B (6) on n1, D (8) on n2 from t = 0; C (12) arrives at
    600 s. Threshold 8 accelerator-hours: D crosses it at 3,600 s (8 x 3,600), A and B would at
    4,800 s but end at 4,500 s. At 3,600 s C outranks D, but preempting D frees n2 only: free would
    be 2 + 2 + 8, with no second node for C's last 4. Before: D was preempted, C stayed unplaced and
    D restarted at once on n2, paying its 30 s restore: it ended at 7,230 s. Now D runs on and ends
    at 7,200 s; C starts when A and B end (4,500 s, n0 whole + 4 on n1) and ends an hour later."""
    _, j = run([job("A", 0, 1.25, acc=6), job("B", 0, 1.25, acc=6), job("D", 0, 2),
                job("C", 600, 1, acc=12)], nodes=3, queue="las",
               queue_options={"thresholds": [8 * H], "starvation_limit": None},
               preemption={"checkpoint_save": 0, "checkpoint_restore": 30})
    assert j["D"].preemptions == 0
    assert j["D"].end_s == pytest.approx(7200.0)
    assert j["D"].node_names == ("n2",)
    assert (j["C"].start_s, j["C"].end_s) == pytest.approx((4500.0, 8100.0))
    assert (j["A"].end_s, j["B"].end_s) == pytest.approx((4500.0, 4500.0))


def test_srtf_preempts_the_jobs_whose_accelerators_let_the_waiting_job_be_placed():
    """A (6, 2 h) on n0, B (6, 3 h) on n1, D (8, 4 h) on n2 from t = 0; C (12, 1 h) arrives at 0.5 h,
    when A has 1.5 h left, B 2.5 h, D 3.5 h: order C, A, B, D. Preempting D alone frees n2 but leaves
    no node with 4 free for the rest of C; with B also preempted, C takes n1 whole and 4 on n2 (D is
    still needed: without it n1 alone is not enough). A is not touched. Before: D was preempted (the
    accelerator count said 8 more would do), C could not be placed, D restarted at once and C waited
    until B ended at 3 h. Now C runs 0.5-1.5 h; then B (2.5 h left) takes n1 and D (3.5 h left) n2."""
    _, j = run([job("A", 0, 2, acc=6), job("B", 0, 3, acc=6), job("D", 0, 4),
                job("C", 0.5 * H, 1, acc=12)], nodes=3, queue="srtf")
    assert (j["C"].start_s, j["C"].end_s) == pytest.approx((0.5 * H, 1.5 * H))
    assert (j["A"].preemptions, j["B"].preemptions, j["D"].preemptions) == (0, 1, 1)
    assert j["A"].end_s == pytest.approx(2 * H)
    assert j["B"].end_s == pytest.approx(1.5 * H + 2.5 * H)
    assert j["D"].end_s == pytest.approx(1.5 * H + 3.5 * H)
    assert j["C"].node_names == ("n1", "n2")


def test_a_job_waiting_for_a_checkpoint_save_keeps_its_place():
    """SRTF, save 60 s: D (8, 1.5 h) on n0, E (4, 5 h) on n1; C (8, 1 h) arrives at 1 h and preempts
    E (n1 is then whole). While E saves, F (4, 2 h) arrives: n1 has 4 accelerators really free, but
    they are C's, so F waits. C starts when the save ends (1 h + 60 s); F and E start on n0 when D
    ends at 1.5 h (E restores for 60 s: its 4 h left end at 1.5 h + 60 s + 4 h)."""
    _, j = run([job("D", 0, 1.5), job("E", 0, 5, acc=4), job("C", H, 1), job("F", H + 30, 2, acc=4)],
               nodes=2, queue="srtf", preemption={"checkpoint_save": 60, "checkpoint_restore": 60})
    assert j["C"].start_s == pytest.approx(H + 60)
    assert j["C"].node_names == ("n1",)
    assert j["F"].start_s == pytest.approx(1.5 * H)
    assert j["E"].end_s == pytest.approx(1.5 * H + 60 + 4 * H)
    assert j["E"].preemptions == 1 and j["D"].preemptions == 0


def test_las_service_counts_compute_only_not_checkpoint_save_or_restore():
    """SRTF preempts a (4 h) for b (1 h) at 1 h with a 60 s save and a 60 s restore: a holds its 8
    accelerators for 4 h + 120 s (what results count as held), but receives 4 h of compute: 8 x 4 h
    accelerator-seconds of service (before: 8 x (4 h + 120 s), the pauses counted as service)."""
    _, j = run([job("a", 0, 4), job("b", H, 1)], queue="srtf",
               preemption={"checkpoint_save": 60, "checkpoint_restore": 60})
    assert j["a"].end_s == pytest.approx(2 * H + 60 + 60 + 3 * H)
    assert j["a"].compute_service_s == pytest.approx(8 * 4 * H)
    assert j["a"].attained_service_s == pytest.approx(8 * (4 * H + 120))  # held, for costs
    assert j["b"].compute_service_s == pytest.approx(8 * H)


@pytest.mark.parametrize("stop_s", [H + 300, 2 * H + 900])
def test_service_does_not_grow_while_a_job_saves_or_restores(stop_s):
    """SRTF, save and restore 600 s each: a (4 h) computes 1 h, saves from 1 h to 1 h + 600 s; b runs
    1 h from 1 h + 600 s; a restores from 2 h + 600 s to 2 h + 1,200 s. Stopped mid-save or mid-restore,
    a has received 1 h of compute: 8 x 1 h accelerator-seconds, in its booked service and in what LAS
    reads through the cluster view (before: 8 x (1 h + 300 s) both times)."""
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100"},
                        workload={"jobs": [job("a", 0, 4), job("b", H, 1)]},
                        scheduler={"queue": "srtf", "placement": "packed",
                                   "preemption": {"checkpoint_save": 600, "checkpoint_restore": 600}})
    doc["duration"] = stop_s
    w = World(load_scenario(doc)).run()
    a = next(x for x in w.jobs if x.name == "a")
    assert a.paused
    assert w.scheduler.view.attained_service(a) == pytest.approx(8 * H)
    w.scheduler.runtime._book(a)
    assert a.compute_service_s == pytest.approx(8 * H)


def test_first_start_cost_is_paid_on_the_first_start_and_a_restore_on_a_resumption():
    """first_start_cost 60 s, restore 30 s, SRTF: a (4 h) loads 60 s, so by 1 h it has done 1 h - 60 s;
    b (1 h) arrives, a (3 h 60 s left) is preempted (save 0); b loads 60 s, ends at 2 h + 60 s; a
    resumes, restores 30 s, and ends at 2 h + 60 s + 30 s + 3 h + 60 s."""
    _, j = run([job("a", 0, 4), job("b", H, 1)], queue="srtf",
               preemption={"checkpoint_save": 0, "checkpoint_restore": 30, "first_start_cost": 60})
    assert j["b"].start_s == pytest.approx(H)
    assert j["b"].end_s == pytest.approx(2 * H + 60)
    assert j["a"].end_s == pytest.approx(2 * H + 60 + 30 + 3 * H + 60)


def test_first_start_cost_energy_is_counted_as_wasted():
    """Two 1 h jobs one after the other on one node (fifo), first_start_cost 60 s: a ends at 1 h + 60 s,
    b at 2 h + 120 s. Each held 8 accelerators at checkpoint power for 60 s: idle + 15 % of (busy - idle)
    = 70 + 0.15 x 550 W each, plus the busy host power of the node's 8 slots (2,400 W), as a restore
    (tests/test_scheduling.py)."""
    _, j = run([job("a", 0, 1), job("b", 0, 1)], queue="fifo",
               preemption={"checkpoint_save": 0, "checkpoint_restore": 0, "first_start_cost": "1min"})
    assert (j["a"].end_s, j["b"].start_s, j["b"].end_s) == pytest.approx((H + 60, H + 60, 2 * H + 120))
    p = 8 * (70 + 0.15 * (620 - 70)) + 2400
    assert j["a"].wasted_energy_j == pytest.approx(60 * p, rel=1e-6)
    assert j["b"].wasted_energy_j == pytest.approx(60 * p, rel=1e-6)
    assert j["a"].compute_service_s == pytest.approx(8 * H)
    assert j["a"].attained_service_s == pytest.approx(8 * (H + 60))  # held: the load included


def test_a_job_preempted_while_restoring_saves_without_computing():
    """SRTF, save and restore 600 s each, one node. a (4 h) is preempted at 1 h by b (1 h): saves until
    1 h + 600 s; b runs to 2 h + 600 s; a restores from 2 h + 600 s. c (30 min) arrives at 2 h + 900 s,
    mid-restore, and preempts a again: a saves until 2 h + 1,500 s (before, its restore timer still
    fired at 2 h + 1,200 s and a computed through the rest of its save, ending 300 s early), c runs
    to 2 h + 3,300 s, a restores 600 s and computes its last 3 h. Its paused time, all wasted: save
    600 + restore 300 + save 600 + restore 600 s; its service: 4 h of compute."""
    _, j = run([job("a", 0, 4), job("b", H, 1), job("c", 2 * H + 900, 0.5)], queue="srtf",
               preemption={"checkpoint_save": 600, "checkpoint_restore": 600})
    assert j["c"].start_s == pytest.approx(2 * H + 1500)
    assert j["a"].end_s == pytest.approx(2 * H + 3300 + 600 + 3 * H)
    assert j["a"].preemptions == 2
    assert j["a"].compute_service_s == pytest.approx(8 * 4 * H)
    p = 8 * (70 + 0.15 * (620 - 70)) + 2400  # a's attributed power while paused (tests/test_scheduling.py)
    assert j["a"].wasted_energy_j == pytest.approx((600 + 300 + 600 + 600) * p, rel=1e-6)
