"""`wattsim run` progress: the engine's callback, the bar, the overload warning (issue 14)."""

from __future__ import annotations

import io

from wattsim_testing import tiny_scenario

from sim import load_scenario
from sim.cli.progress import OVERLOAD_MIN_QUEUE, OverloadWatch, run_with_progress
from sim.engine.world import World


def test_overload_watch_warns_once_when_the_queue_keeps_growing():
    lines: list[str] = []
    watch = OverloadWatch(lines.append)
    # 500 waiting at day 0.5, 2,000 at day 1: 1.5x at least, above the floor, +3,000 jobs/day
    watch.sample(0.0, 0)
    watch.sample(43200.0, 500)
    assert lines == []  # under OVERLOAD_MIN_QUEUE
    watch.sample(86400.0, 2000)
    watch.sample(2 * 86400.0, 4000)
    assert len(lines) == 1
    assert "2,000 jobs waiting" in lines[0] and "3,000 jobs/day" in lines[0]


def test_overload_watch_is_quiet_for_a_long_but_steady_queue():
    lines: list[str] = []
    watch = OverloadWatch(lines.append)
    for day in range(10):
        watch.sample(day * 86400.0, 5000)  # long, not growing
    watch.sample(11 * 86400.0, OVERLOAD_MIN_QUEUE - 1)
    assert lines == []


def _busy_scenario():
    # 2 nodes x 8 GPUs; 40 one-hour 8-GPU jobs at t = 0: the queue drains, no warning
    jobs = [{"accelerators": 8, "duration": "1h", "submit": 0} for _ in range(40)]
    return load_scenario(tiny_scenario(workload={"jobs": jobs}, duration="until-done"))


def test_progress_callback_sees_simulated_time_advance():
    # a 1 s plant step: 86,400 steps in the day, polled every 256 (batched or not)
    world = World(load_scenario(tiny_scenario(plant={"step": "1s"}, workload={"jobs": [
        {"accelerators": 8, "duration": "1h", "submit": 3600 * k} for k in range(20)]})))
    seen: list[tuple[float, int]] = []
    world.env.on_progress = lambda now, events: seen.append((now, events))
    world.env.progress_interval_s = 0.0  # every check (every 256 events)
    world.run()
    assert seen, "the callback was never called"
    assert all(b[0] >= a[0] and b[1] >= a[1] for a, b in zip(seen, seen[1:]))
    assert seen[-1][0] > 43200  # it saw the second half of the day
    assert seen[-1][1] <= world.env.events_processed


def test_piped_run_prints_nothing_and_a_terminal_gets_a_bar():
    piped, tty = io.StringIO(), io.StringIO()
    a = run_with_progress(_busy_scenario(), stream=piped)  # StringIO is not a terminal
    b = run_with_progress(_busy_scenario(), stream=tty, bar=True)
    assert piped.getvalue() == ""
    assert "tiny" in tty.getvalue() and "/" in tty.getvalue()
    assert a.summary["jobs_completed"] == b.summary["jobs_completed"] == 40
