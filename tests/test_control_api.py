"""The documented control API: the example in docs/scheduling.md runs as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from sim import load_scenario, simulate
from sim.scheduling.control_api import ControlContext, JobView

DOC = Path(__file__).resolve().parents[1] / "docs" / "scheduling.md"
H100_FLOPS_1H = 8 * 989e12 * 0.4 * 3600.0  # 8 H100 at the catalog's default MFU 0.4 for one hour


@pytest.fixture
def doc_control(tmp_path, monkeypatch):
    """The docs' `mypackage/controls.py`, written to a package on sys.path."""
    text = DOC.read_text()
    code = re.search(r"```python\n# mypackage/controls.py\n(.*?)```", text, re.S).group(1)
    pkg = tmp_path / "mypackage_doc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "controls.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "mypackage_doc.controls:NightOnly"
    for m in [m for m in sys.modules if m.startswith("mypackage_doc")]:
        del sys.modules[m]


def test_the_documented_control_uses_only_the_api(doc_control):
    code = (DOC.read_text().split("# mypackage/controls.py", 1)[1]).split("```", 1)[0]
    # only the documented names: options, context (now_s, start) and JobView fields
    assert re.findall(r"self\.ctx\.(\w+)", code) and set(re.findall(r"self\.ctx\.(\w+)", code)) <= {
        n for n in dir(ControlContext) if not n.startswith("_")}
    assert set(re.findall(r"job\.(\w+)", code)) <= set(JobView.__dataclass_fields__)


def test_the_documented_control_holds_large_jobs_until_night(doc_control):
    # start 2020-06-01 12:00 UTC: a 16-GPU job waits 10 h until 22:00; an 8-GPU job starts at once
    doc = {
        "name": "night", "start": "2020-06-01T12:00:00Z", "duration": "until-done", "max_duration": "3d",
        "cluster": {"nodes": 2, "node_type": "dgx-h100"},
        "workload": {"jobs": [
            {"name": "big", "accelerators": 16, "flops": 2 * H100_FLOPS_1H},
            {"name": "small", "accelerators": 8, "submit": 60, "flops": H100_FLOPS_1H},
        ]},
        "scheduler": {"controls": [{"kind": doc_control, "min_accelerators": 16}]},
    }
    jobs = simulate(load_scenario(doc)).jobs.set_index("name")
    assert jobs.loc["small", "start_s"] == pytest.approx(60.0)
    assert jobs.loc["big", "start_s"] == pytest.approx(10 * 3600.0)
    assert jobs.loc["big", "end_s"] - jobs.loc["big", "start_s"] == pytest.approx(3600.0, rel=1e-6)


def _it_job_by_job_w(world, running, f):
    """IT power (W) at the common cap fraction f, summed accelerator by accelerator with no memo:
    each running job's accelerators at its power under the caps, idle slots, hosts."""
    rt = world.runtime

    def cap_of(n, j):
        return world.caps.cap_w(n, j, site_fraction=f)

    total = 0.0
    for n in world.nodes:
        used = sum(c for c, _ in n.jobs.values())
        acc = sum(c * rt._power_each_w(j, n, cap_of, rt._rates(j, cap_of)[1])
                  for j in running for m, c in j.placement if m is n)
        total += acc + (n.slots - used) * n.curve.idle_w + n.node_type.host_idle_w \
            + (n.node_type.host_busy_w - n.node_type.host_idle_w) * used / n.slots
    return total


def test_it_power_at_a_common_cap_is_the_same_with_the_placement_free_memo():
    """ControlContext.it_power_w(f) answers jobs whose compute share no placement can change from a
    memo keyed by every input; the answer must equal the unmemoised sum over every accelerator:
    idle slots + hosts + each job's accelerators at the cap f x TDP (checkpointing and plain jobs,
    a job paused for a restore, several caps). Hand check: with nothing running on 2 DGX H100
    nodes IT is the idle power of 16 GPUs and 2 hosts whatever f."""
    from wattsim_testing import tiny_scenario

    from sim.engine.world import World

    jobs = [{"name": "plain", "submit": 0, "accelerators": 8, "flops": 1e21},
            {"name": "ckpt", "submit": 0, "accelerators": 4, "flops": 1e21, "checkpoint_interval": "1h",
             "checkpoint_time": "5min"},
            {"name": "capped", "submit": 0, "accelerators": 2, "flops": 1e21, "power_cap_w": 450}]
    world = World(load_scenario(tiny_scenario(workload={"jobs": jobs})))
    ctx = world.scheduler.control_context
    idle = ctx.it_power_w(0.5)
    node = world.nodes[0]
    nt = node.node_type
    assert idle == pytest.approx(2 * (8 * node.curve.idle_w + nt.host_idle_w))
    world.start_arrivals()  # what World.run starts, then stop at 600 s
    world.env.run(until=600.0)
    rt = world.runtime
    running = list(rt.running.values())
    assert len(running) == 3
    running[1].paused = True  # as during a restore: compute share 0
    for f in (0.0, 0.3, 0.55, 0.8, 1.0):
        assert ctx.it_power_w(f) == pytest.approx(_it_job_by_job_w(world, running, f), rel=1e-12)


def test_it_power_curve_groups_jobs_and_equal_nodes_and_gives_the_unmemoised_sum():
    """`it_power_curve` reads the state once, groups jobs whose power depends only on the cap and
    sums equal nodes once; each fraction's answer must still be the sum over every accelerator
    computed job by job. 4 DGX H100 nodes: two identical 8-GPU jobs (two equal nodes, one group),
    a checkpointing and a capped job on the third node, the fourth idle. Hand check at f = 0: the
    full nodes' GPUs at the lowest settable cap and busy hosts, the idle node at idle power."""
    from wattsim_testing import tiny_scenario

    from sim.engine.world import World

    jobs = [{"name": "a", "submit": 0, "accelerators": 8, "flops": 1e21},
            {"name": "b", "submit": 0, "accelerators": 8, "flops": 1e21},
            {"name": "ckpt", "submit": 0, "accelerators": 4, "flops": 1e21, "checkpoint_interval": "1h",
             "checkpoint_time": "5min"},
            {"name": "capped", "submit": 0, "accelerators": 2, "flops": 1e21, "power_cap_w": 450}]
    world = World(load_scenario(tiny_scenario(cluster={"nodes": 4, "node_type": "dgx-h100"},
                                              workload={"jobs": jobs})))
    world.start_arrivals()
    world.env.run(until=600.0)
    rt = world.runtime
    running = list(rt.running.values())
    assert len(running) == 4
    curve = world.scheduler.control_context.it_power_curve()
    for f in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0):
        assert curve(f) == pytest.approx(_it_job_by_job_w(world, running, f), rel=1e-12)
    # by hand, the two full nodes at f = 0: 8 GPUs each at the lowest settable cap, hosts busy
    node = world.nodes[0]
    full = 8 * node.curve.power_w(1.0, 0.0) + node.node_type.host_busy_w
    rest = sum(n.node_type.host_idle_w + 8 * n.curve.idle_w for n in world.nodes[3:])
    part2 = curve(0.0) - 2 * full - rest  # the third node, job by job above
    assert 0.0 < part2 < full


# -- the power envelope's solve and the state read it uses ------------------------------------

def _bisect_40(it, limit):
    """The plain solve the envelope's search must match: it(1), then 40 bisections of [0, 1]."""
    if it(1.0) <= limit:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if it(mid) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def _two_full_h100_nodes(limit_kw=100):
    """2 DGX H100 nodes, each running one 8-GPU job (synchronous, no network model: compute share 1),
    with a power envelope; stopped at 600 s."""
    from wattsim_testing import tiny_scenario

    from sim.engine.world import World

    jobs = [{"name": f"j{i}", "submit": 0, "accelerators": 8, "flops": 1e21} for i in range(2)]
    world = World(load_scenario(tiny_scenario(
        workload={"jobs": jobs}, scheduler={"controls": [{"kind": "power-envelope", "limit_kw": limit_kw}]})))
    world.start_arrivals()
    world.env.run(until=600.0)
    assert len(world.runtime.running) == 2
    return world, world.scheduler.controls[0]


def test_envelope_cap_fraction_by_hand_on_two_full_h100_nodes():
    """IT(f) of 2 DGX H100 nodes with 8 busy GPUs each, by hand (catalog: TDP 700 W, busy 620 W,
    lowest cap 200 W; hosts 2,400 W busy): each GPU draws its cap 700 f clipped to [200, 620], so
    IT(f) = 2 x 2,400 + 16 x min(max(700 f, 200), 620) W: 8,000 W up to f = 2/7, 14,720 W from
    f = 620/700. The answer is the highest f on the 2^-40 grid with IT(f) <= limit."""
    from fractions import Fraction

    _, env = _two_full_h100_nodes()
    grid = 2 ** 40

    def on_grid(f: Fraction) -> float:  # the highest grid point at or under f
        return (f.numerator * grid // f.denominator) / grid

    # 11.8 kW: 16 GPUs at 437.5 W = 700 x 5/8, a grid point, IT exactly at the limit
    assert env.highest_fraction(11_800.0) == 0.625
    # 12 kW: 16 x 700 f = 7,200 W, f = 9/14, not on the grid
    assert env.highest_fraction(12_000.0) == on_grid(Fraction(9, 14))
    # 1 mW under 11.8 kW: f = 5/8 - 0.001 / (16 x 700)
    assert env.highest_fraction(11_800.0 - 1e-3) == on_grid(Fraction(5, 8) - Fraction(1, 16 * 700 * 1000))
    # at the lowest caps IT is 8,000 W up to f = 2/7: flat at a limit of 8 kW, the answer is its end
    assert env.highest_fraction(8_000.0) == on_grid(Fraction(2, 7))
    assert env.highest_fraction(7_999.0) == 0.0  # not even the lowest caps hold it
    assert env.highest_fraction(14_720.0) == 1.0  # all GPUs at their busy power fit
    it = env.ctx.it_power_curve()
    for limit in (8_000.0, 9_123.456, 11_800.0 - 1e-3, 11_800.0, 12_000.0, 14_719.0):
        assert env.highest_fraction(limit) == _bisect_40(it, limit)


def test_envelope_search_equals_40_bisections_on_any_non_decreasing_curve():
    """`highest_on_grid` returns what 40 bisections return for a non-decreasing IT(f): seeded
    curves with several kinks (a group of jobs each: flat to its lowest cap, linear to its demand,
    flat above), curved ones, limits anywhere, on a kink, on a flat at the limit, on a grid point;
    with and without a hint (the last answer), on or off the grid. It asks IT at most 3 times per
    halving of its bracket (plus the hint, it(0) and it(1)), only at grid points, and on piecewise-
    linear curves a handful of times against the bisections' 41."""
    import math
    import random

    from sim.scheduling.controls import highest_on_grid

    rng = random.Random(14)
    linear_calls = []
    for trial in range(3000):
        curved = trial % 3 == 1
        groups = [(rng.randint(1, 64), rng.choice([300.0, 400.0, 700.0]), rng.uniform(0.15, 0.5),
                   rng.uniform(0.5, 1.0)) for _ in range(rng.randint(1, 5))]
        base = rng.uniform(1e3, 3e4)

        def it(f, groups=groups, base=base, curved=curved):
            total = base
            for count, tdp, lowest, demand in groups:
                w = min(max(tdp * f, lowest * tdp), demand * tdp)
                total += count * (w ** 1.5 / 20.0 if curved else w)
            return total

        pick = trial % 5
        if pick == 0:
            limit = it(0.0)  # flat at the limit up to the first kink
        elif pick == 1:
            limit = it(rng.randrange(1, 2 ** 40) / 2 ** 40)  # exactly IT at a grid point
        else:
            lo, hi = it(0.0), it(1.0)
            limit = rng.uniform(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
        calls = []

        def counted(f, it=it, calls=calls):
            calls.append(f)
            return it(f)

        hint = None if trial % 4 == 0 else rng.choice([rng.random(), rng.randrange(1, 2 ** 40) / 2 ** 40, 1.0])
        assert highest_on_grid(counted, limit, hint) == _bisect_40(it, limit), (trial, limit, hint)
        assert len(calls) <= 3 + 3 * 40
        assert all(f == math.ldexp(round(math.ldexp(f, 40)), -40) for f in calls)  # grid points only
        if not curved:
            linear_calls.append(len(calls))
    assert sum(linear_calls) / len(linear_calls) < 12  # 40 bisections ask 41 times


def test_the_state_read_is_kept_only_while_the_state_holds():
    """The read behind `it_power_curve` is reused while no job starts, stops or pauses: a pause
    must be seen at once, a re-cap must not change IT at a given fraction, and IT at the caps in
    force must be the ledger's IT now. By hand, one more idle node's 8 GPUs at the lowest cap
    (200 W) with a busy host: 8 x (200 - 70) + (2,400 - 1,300) = 2,140 W more."""
    from wattsim_testing import tiny_scenario

    from sim.engine.world import World

    jobs = [{"name": "a", "submit": 0, "accelerators": 8, "flops": 1e21},
            {"name": "b", "submit": 0, "accelerators": 8, "flops": 1e21},
            {"name": "ckpt", "submit": 0, "accelerators": 4, "flops": 1e21, "checkpoint_interval": "1h",
             "checkpoint_time": "5min"}]
    world = World(load_scenario(tiny_scenario(cluster={"nodes": 4, "node_type": "dgx-h100"},
                                              workload={"jobs": jobs})))
    world.start_arrivals()
    world.env.run(until=600.0)
    ctx = world.scheduler.control_context
    running = list(world.runtime.running.values())
    fractions = (0.0, 0.3, 0.5, 0.8, 1.0)
    before = [ctx.it_power_w(f) for f in fractions]
    assert before == [pytest.approx(_it_job_by_job_w(world, running, f), rel=1e-12) for f in fractions]
    # a re-cap re-rates every job: IT at each fraction is unchanged (the same floats), IT at the caps
    # in force is IT at the new fraction and the ledger's
    owner = object()
    ctx.set_cap_fraction(owner, 0.5)
    assert [ctx.it_power_w(f) for f in fractions] == before
    ledger = sum(world.meter.category_value(c) for c in ("accelerator", "host", "network"))
    assert ctx.it_power_w() == pytest.approx(before[2], rel=1e-12)
    assert ctx.it_power_w() == pytest.approx(ledger, rel=1e-12)
    assert ctx.it_power_w(0.0, {3: 8}) - before[0] == pytest.approx(8 * (200 - 70) + (2400 - 1300), rel=1e-9)
    # a job paused (as during a restore) draws less at once, whatever the read kept
    running[0].paused = True
    paused = [ctx.it_power_w(f) for f in fractions]
    assert paused == [pytest.approx(_it_job_by_job_w(world, running, f), rel=1e-12) for f in fractions]
    assert all(p < b for p, b in zip(paused[1:], before[1:], strict=True))


def test_an_incremental_state_read_gives_the_fresh_read_to_the_bit():
    """After each start, stop or pause the read keeps the nodes whose jobs did not change and the
    groups it had; IT at any fraction (with and without extra accelerators) must be exactly the
    float a read from scratch gives. 4 DGX H100 nodes under a 20 kW envelope, 12 jobs of 1-8 GPUs
    arriving every 5 minutes (some checkpointing, so some restore paused), checked every 2 minutes
    over 3 hours; some reads must have kept nodes (the incremental path ran)."""
    from wattsim_testing import tiny_scenario

    from sim.engine.world import World

    jobs = [{"name": f"j{i}", "submit": 300 * i, "accelerators": 1 + (5 * i) % 8, "flops": 3e18 * (1 + i % 4),
             **({"checkpoint_interval": "20min", "checkpoint_time": "1min"} if i % 3 == 0 else {})}
            for i in range(12)]
    world = World(load_scenario(tiny_scenario(
        cluster={"nodes": 4, "node_type": "dgx-h100"}, workload={"jobs": jobs},
        scheduler={"controls": [{"kind": "power-envelope", "limit_kw": 20}]})))
    world.start_arrivals()
    ctx = world.scheduler.control_context
    fractions = (0.0, 0.2, 0.45, 0.7, 1.0)
    kept = 0
    last = None  # the read seen at the last check
    for step in range(1, 91):
        world.env.run(until=120.0 * step)
        curve = ctx.it_power_curve()
        read = ctx._last_read
        if last is not None and read is not last and read.group_of is last.group_of:
            kept += 1  # read since the last check, building on it
        last = read
        incremental = [curve(f) for f in fractions] + [ctx.it_power_w(0.0, {1: 2, 3: 1})]
        ctx._last_read = None  # read from scratch
        fresh_curve = ctx.it_power_curve()
        fresh = [fresh_curve(f) for f in fractions] + [ctx.it_power_w(0.0, {1: 2, 3: 1})]
        assert incremental == fresh
        ctx._last_read = read  # the next read builds on the incremental one
    assert kept > 0
