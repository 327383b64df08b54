"""Fair share across virtual clusters (a trace's cluster column), not only users."""

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.catalog import load_catalog

H100 = load_catalog().accelerator("h100")
ONE_HOUR_8 = 8 * H100.peak_flops * H100.default_mfu * 3600  # 8 GPUs busy for exactly 1 h


def jobs():
    # VC "a" floods the queue at t=0; VC "b" asks once, a second later. One node holds one job.
    out = [{"name": f"a{i}", "vc": "a", "accelerators": 8, "flops": ONE_HOUR_8, "submit": 0} for i in range(3)]
    out.append({"name": "b0", "vc": "b", "accelerators": 8, "flops": ONE_HOUR_8, "submit": 1})
    return out


def finish_order(queue, options=None):
    doc = tiny_scenario(duration="until-done", cluster={"nodes": 1, "node_type": "dgx-h100"},
                        workload={"jobs": jobs()},
                        scheduler={"queue": queue, "queue_options": options or {}})
    r = simulate(load_scenario(doc)).jobs.sort_values("end_s")
    return list(r.name), list(r.end_s)


def test_fair_share_by_vc_lets_the_small_vc_in_before_the_flood():
    # FIFO serves a0, a1, a2, then b0. Fair share by vc: when a0 ends (1 h) neither vc
    # holds a GPU, and the tie goes to the vc with less history (b: 0 GPU-s, a: 8 x 3600),
    # so the order is a0, b0, a1, a2, one hour each.
    fifo, _ = finish_order("fifo")
    fair, ends = finish_order("fair", {"by": "vc"})
    assert fifo == ["a0", "a1", "a2", "b0"]
    assert fair == ["a0", "b0", "a1", "a2"]
    assert ends == pytest.approx([3600, 7200, 10800, 14400], rel=1e-9)


def test_fair_share_by_user_ignores_vcs_without_users():
    # no job names a user: by user they are all "default", so fair share is FIFO here
    fair_user, _ = finish_order("fair")
    assert fair_user == ["a0", "a1", "a2", "b0"]


def test_fair_share_by_something_else_is_a_clear_error():
    doc = tiny_scenario(scheduler={"queue": "fair", "queue_options": {"by": "team"}})
    with pytest.raises(Exception, match="allowed are 'user' and 'vc'"):
        simulate(load_scenario(doc))
