"""How soon preempted jobs start again, on a scenario with a preemptive queue policy (issue 15).

A preemptive pass that preempts a job for a waiting job that placement then
cannot place restarts the victim at once, often on the same accelerators. This
counts, for every preemption, the time from the preemption (the start of the
checkpoint save) to the job's next start, and how many of those restarts come
within 60 s after the job gave its accelerators back (so the save time is not
counted as the gap), and how many preemptions were useless: the job started
again on the nodes it left without any other job having started on any of them
in between. Prints one line of figures; the scenario's own run time (CPU) too.
Run:

    PYTHONPATH=. python benchmarks/preemption_restarts.py scenarios/policies_philly.yaml --duration 1d
    PYTHONPATH=. python benchmarks/preemption_restarts.py scenarios/philly_full.yaml \
        --set scheduler.queue=las --set cluster.nodes=8 --set start=2017-10-01T00:00:00Z \
        --set 'workload.trace.filter={start: 2017-10-01, end: 2017-10-03}' --duration 2d
"""

from __future__ import annotations

import argparse
import time

from sim import load_scenario
from sim.engine.world import World
from sim.scheduling.scheduler import Scheduler
from sim.spec.scenario import parse_override


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--duration", default=None, help="override the scenario's duration (e.g. 1d)")
    ap.add_argument("--within", type=float, default=60.0, help="a restart this soon (s) counts as immediate")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a scenario value, e.g. scheduler.queue=las (repeatable)")
    args = ap.parse_args()
    overrides = dict(parse_override(o) for o in args.set)
    if args.duration:
        overrides["duration"] = args.duration
    preempted_at: dict[int, float] = {}
    released_at: dict[int, float] = {}
    gaps: list[tuple[float, float, bool]] = []  # (from preemption, from release, useless)
    last_nodes: dict[int, list[int]] = {}
    starts_on: dict[int, list[float]] = {}  # node -> times a job started on it

    orig_preempt, orig_requeue, orig_start = Scheduler.preempt, Scheduler._requeue, Scheduler._start

    def preempt(self, job):
        preempted_at[job.id] = self.env.now
        last_nodes[job.id] = list(self._placed.get(job.id, []))
        orig_preempt(self, job)

    def requeue(self, job):
        if job.id in preempted_at:
            released_at[job.id] = self.env.now
        orig_requeue(self, job)

    def start(self, job, placement):
        t0 = preempted_at.pop(job.id, None)
        if t0 is not None:
            t1 = released_at.pop(job.id, t0)
            left = last_nodes.get(job.id, [])
            same = sorted(i for i, _ in placement) == sorted(left)
            used = any(t1 <= t for i in left for t in starts_on.get(i, ()))
            gaps.append((self.env.now - t0, self.env.now - t1, same and not used))
        for i, _ in placement:
            starts_on.setdefault(i, []).append(self.env.now)
        orig_start(self, job, placement)

    Scheduler.preempt, Scheduler._requeue, Scheduler._start = preempt, requeue, start
    t = time.process_time()
    world = World(load_scenario(args.scenario, overrides=overrides)).run()
    cpu = time.process_time() - t
    s = world.result().summary
    soon = sum(1 for _, g, _ in gaps if g <= args.within)
    useless = sum(1 for _, _, u in gaps if u)
    print(f"preemptions {sum(j.preemptions for j in world.jobs):,}; restarts {len(gaps):,}; "
          f"within {args.within:g} s of giving the accelerators back {soon:,}; useless (back on the same "
          f"nodes, no other job started there in between) {useless:,}; jobs completed {s['jobs_completed']:,}; "
          f"mean JCT {s['mean_jct_s'] / 3600:.2f} h; CPU {cpu:.1f} s")


if __name__ == "__main__":
    main()
