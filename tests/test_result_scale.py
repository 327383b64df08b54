"""The result phase at scale (issue 14): the same figures, read in bulk.

`Meter.cumulative_many` picks many channel groups out of the change log in one
pass; `Estimator.true_totals` works out every completed job's runtime alone in
one call; the run record keeps the jobs as columns. Each must give, to the bit,
what the one-at-a-time reads give.
"""

from __future__ import annotations

import numpy as np
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.compute.training import JobState, JobWork
from sim.engine.meter import Meter, cumulative_at
from sim.engine.record import _WORK_FLOATS, _rows, _shared_rows
from sim.engine.world import World

H = 3600.0


def _reference_cumulative_at(t, delta, edges):
    """`cumulative_at` as it was before issue 14, written out: the figures must not move by a bit."""
    if len(t) == 0:
        return np.zeros(len(edges))
    if len(t) > 1 and bool((t[1:] < t[:-1]).any()):
        order = np.argsort(t, kind="stable")
        t, delta = t[order], delta[order]
    value = np.cumsum(delta)
    seg = np.empty(len(t))
    seg[:-1] = value[:-1] * np.diff(t)
    seg[-1] = 0.0
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    j = np.searchsorted(t, edges, side="right") - 1
    res = np.zeros(len(edges))
    ok = j >= 0
    jj = j[ok]
    res[ok] = cum[jj] + value[jj] * (edges[ok] - t[jj])
    return res


def _mask_read(m: Meter, chans, edges):
    """The reference read: a mask of the whole log, in log order (what `cumulative` did before)."""
    t, ch, delta = m.log()
    member = np.zeros(len(m.channels), dtype=bool)
    member[list(chans)] = True
    mask = member[ch]
    return _reference_cumulative_at(t[mask], delta[mask], edges)


def _busy_meter(n_channels: int, seed: int = 7) -> tuple[Meter, list[int]]:
    """Channels in 5 categories with random bookings on a 5 s grid (many at one instant, as in a run),
    a tenth of them back-dated (the plant's way)."""
    rng = np.random.default_rng(seed)
    now = [0.0]
    m = Meter(lambda: now[0])
    chans = [m.channel(f"c{i}", f"cat{i % 5}") for i in range(n_channels)]
    last = np.zeros(n_channels)
    for _ in range(4000):
        now[0] += 5.0 * float(rng.integers(0, 3))
        c = int(rng.integers(n_channels))
        t = now[0]
        if rng.random() < 0.1:  # back-dated, never before the channel's own last change
            t = max(last[c], now[0] - 5.0 * float(rng.integers(0, 10)))
        m.set(chans[c], float(rng.uniform(0.0, 700.0)), t)
        last[c] = t
    return m, chans


@pytest.mark.parametrize("n_channels", [40, 300])  # int8 keys (under 128 atoms), int16 keys
def test_cumulative_many_equals_one_masked_read_per_group_to_the_bit(n_channels):
    m, chans = _busy_meter(n_channels)
    by_cat = m.groups_by("category")
    edges_a = np.array([0.0, 1000.0, 7777.7, 20000.0, 40000.0])
    edges_b = np.linspace(0.0, 30000.0, 61)
    groups = [
        by_cat["cat0"], by_cat["cat1"], by_cat["cat0"] + by_cat["cat1"],  # a union of two others
        [chans[3]], [chans[3], chans[3]],  # a channel twice counts once
        chans[::7], [],  # overlapping across categories; empty
        [c for c in chans if c % 5 != 2],
    ]
    queries = [(g, e) for g in groups for e in (edges_a, edges_b)]
    got = m.cumulative_many(queries)
    for (g, e), cum in zip(queries, got, strict=True):
        assert np.array_equal(cum, _mask_read(m, g, e)), (g[:5], len(e))
        assert np.array_equal(cum, m.cumulative(g, e))
    binned = m.binned(edges_b, {"a": by_cat["cat0"], "ab": by_cat["cat0"] + by_cat["cat1"]})
    assert np.array_equal(binned["ab"], np.diff(_mask_read(m, by_cat["cat0"] + by_cat["cat1"], edges_b)))
    t, ch, delta = m.log()
    for n in (0, 1, 2, 500):  # `cumulative_at` itself (the plant reads it): short and long, back-dated runs
        assert np.array_equal(cumulative_at(t[:n], delta[:n], edges_b), _reference_cumulative_at(t[:n], delta[:n], edges_b))


def test_cumulative_many_by_hand():
    """a: 2 W on [0, 10), 6 W from 10 s; b: 1 W from 5 s, booked late (back-dated) at 12 s.
    To 10 s: a 20 J, b 5 J; to 20 s: a 80 J, b 15 J."""
    now = [0.0]
    m = Meter(lambda: now[0])
    a = m.channel("a", "accelerator")
    b = m.channel("b", "cooling")
    m.set(a, 2.0)
    now[0] = 10.0
    m.set(a, 6.0)
    now[0] = 12.0
    m.set(b, 1.0, t=5.0)
    e1, e2 = np.array([0.0, 10.0]), np.array([0.0, 10.0, 20.0])
    ra, rb, rab, rab2 = m.cumulative_many([([a], e2), ([b], e2), ([a, b], e1), ([a, b], e2)])
    assert ra.tolist() == [0.0, 20.0, 80.0]
    assert rb.tolist() == [0.0, 5.0, 15.0]
    assert rab.tolist() == [0.0, 25.0]
    assert rab2.tolist() == [0.0, 25.0, 95.0]


def _job(name, submit, hours, acc=8, **kw):
    return {"name": name, "submit": submit, "accelerators": acc, "duration": hours * H, **kw}


def _world(jobs, queue="fifo", nodes=2):
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100"}, workload={"jobs": jobs},
                        scheduler={"queue": queue,
                                   "preemption": {"checkpoint_save": 0, "checkpoint_restore": 0}})
    doc["duration"] = "until-done"
    return World(load_scenario(doc)).run()


def test_true_totals_equal_true_total_of_each_job_and_keep_memoised_figures():
    """A job given as 2 h on H100s runs 2 h alone at full speed; with checkpoints of 6 min every
    hour, 2 h / (60 / 66) = 2.2 h. Capped, checkpointed and plain jobs with several sizes share
    or split the speed memo; each figure equals `true_total` of the job to the bit."""
    jobs = [_job("plain", 0, 2), _job("ckpt", 0, 2, checkpoint_interval=H, checkpoint_time=360.0),
            _job("capped", 0, 1, power_cap_w=400.0), _job("small", 0, 1.5, acc=2),
            _job("small-capped", 0, 1.5, acc=2, power_cap_w=400.0), _job("plain2", 0, 3)]
    w = _world(jobs)
    done = [j for j in w.jobs if j.state is JobState.COMPLETED]
    assert len(done) == len(jobs)
    est = w.scheduler.estimator
    bulk = est.true_totals(done)
    one = [est.true_total(j) for j in done]
    assert bulk.tolist() == one
    by_name = dict(zip([j.name for j in done], bulk, strict=True))
    assert by_name["plain"] == pytest.approx(2 * H, rel=1e-12)
    assert by_name["ckpt"] == pytest.approx(2 * H * 66 / 60, rel=1e-12)
    assert by_name["capped"] > 1 * H  # a 400 W cap on a 700 W H100 slows it
    est._true[done[0].id] = 123.0  # a figure the scheduler memoised during the run stands
    assert est.true_totals(done)[0] == 123.0


def test_jobs_table_from_columns_keeps_every_job_and_its_missing_times():
    """Two 8-GPU jobs on one node: b waits for a; c is never submitted before the horizon.
    The table has one row per job, in order, NaN where a job has no such time."""
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100"},
                        workload={"jobs": [_job("a", 0, 2), _job("b", 0, 2), _job("c", 30 * H, 1)]},
                        scheduler={"preemption": {"checkpoint_save": 0, "checkpoint_restore": 0}})
    w = World(load_scenario(doc)).run()
    rec = w.record().jobs
    assert len(rec) == 3
    jobs = w.result().jobs
    assert jobs["name"].tolist() == ["a", "b", "c"]
    assert jobs["state"].tolist() == ["completed", "completed", "pending"]
    assert jobs["start_s"].tolist()[:2] == pytest.approx([0.0, 2 * H])
    assert np.isnan(jobs["start_s"].iloc[2]) and np.isnan(jobs["ready_s"].iloc[2])
    assert jobs["wait_s"].tolist()[:2] == pytest.approx([0.0, 2 * H])
    assert jobs["slowdown"].tolist()[:2] == pytest.approx([1.0, 2.0])
    assert np.isnan(jobs["slowdown"].iloc[2])
    assert jobs["nodes"].tolist() == [("n0",), ("n0",), ()]
    assert jobs["job_id"].dtype == np.int64 and jobs["preemptions"].dtype == np.int64


def test_work_columns_read_each_shared_jobwork_once_with_the_same_figures():
    """Jobs share their `JobWork` (a trace repeats its (duration, size) pairs); the work columns
    read each distinct object once and spread it back: the same rows as one read per job."""
    a = JobWork(1e15, flops_per_sample=6e9, useful_flops=5e14)
    b = JobWork(2e15)  # flops_per_sample and useful_flops unknown: NaN
    c = JobWork(1e15, flops_per_sample=6e9, useful_flops=5e14)  # equal to a, not the same object
    works = [a, b, a, c, b, a]
    shared = _shared_rows(_WORK_FLOATS, works)
    np.testing.assert_array_equal(shared, _rows(_WORK_FLOATS, works, float))  # NaN equals NaN
    assert shared[0].tolist() == [1e15, 2e15, 1e15, 1e15, 2e15, 1e15]
    assert shared.shape == (3, 6) and shared.flags["C_CONTIGUOUS"]
    assert _shared_rows(_WORK_FLOATS, []).shape == (3, 0)
