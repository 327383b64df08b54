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
