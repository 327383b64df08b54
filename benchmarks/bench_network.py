"""Time per flow-set change of the network model at scale.

1,000 concurrent 8-host ring all-reduce jobs on a k-ary fat-tree (8,000 busy
hosts, k = 32 by default: 8,192 hosts, 1,280 switches). The benchmark fills
the fabric job by job, then churns: each change removes one job and starts a
new one on 8 random free hosts (two flow-set changes), as job completions and
arrivals do in a run. Prints the mean and percentiles of the time per
``Network.set_flows`` / ``Network.remove`` call, which includes routing the new
flows and recomputing the max-min fair allocation of all ~8,000 flows.

    .venv/bin/python benchmarks/bench_network.py [--jobs 1000] [--hosts-per-job 8]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from sim.network.flows import Network, Router, collective_flows
from sim.network.power import network_power_w
from sim.network.topology import build_topology, host_name
from sim.spec.network import FatTreeTopology, NetworkPowerModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--hosts-per-job", type=int, default=8)
    ap.add_argument("--churn", type=int, default=200, help="remove+add changes after filling")
    ap.add_argument("--no-ecmp", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    n_hosts = args.jobs * args.hosts_per_job
    t0 = time.perf_counter()
    graph = build_topology(FatTreeTopology(), n_hosts)
    router = Router(graph, ecmp=not args.no_ecmp)
    net = Network(graph, router)
    build_s = time.perf_counter() - t0
    k = graph.graph["k"]
    print(f"fat-tree k={k}: {n_hosts} hosts, {graph.number_of_nodes() - n_hosts} switches, "
          f"{len(router.links)} directed links; built in {build_s:.2f} s")

    free = [host_name(i) for i in range(n_hosts)]
    rng.shuffle(free)
    jobs: dict[int, list[str]] = {}

    def start(job: int) -> float:
        hosts = [free.pop() for _ in range(args.hosts_per_job)]
        jobs[job] = hosts
        t = time.perf_counter()
        net.set_flows(job, collective_flows(hosts, "ring"))
        return time.perf_counter() - t

    fill_s = [start(j) for j in range(args.jobs)]
    churn_s: list[float] = []
    next_job = args.jobs
    for _ in range(args.churn):
        victim = rng.choice(list(jobs))
        t = time.perf_counter()
        net.remove(victim)
        churn_s.append(time.perf_counter() - t)
        free.extend(jobs.pop(victim))
        rng.shuffle(free)
        churn_s.append(start(next_job))
        next_job += 1

    def report(name: str, xs: list[float]) -> None:
        a = np.asarray(xs) * 1e3
        print(f"{name:<34} n={a.size:5d}  mean {a.mean():7.2f} ms  p50 {np.percentile(a, 50):7.2f} ms"
              f"  p95 {np.percentile(a, 95):7.2f} ms  max {a.max():7.2f} ms")

    report("fill (1..N jobs, incl. routing)", fill_s)
    report(f"churn at {args.jobs} jobs", churn_s)
    bws = np.asarray([net.bandwidth(j) for j in jobs])
    print(f"{len(jobs)} jobs, {sum(len(collective_flows(h)) for h in jobs.values())} flows; "
          f"job bandwidth min/median/max {bws.min() / 1e9:.1f}/{np.median(bws) / 1e9:.1f}/"
          f"{bws.max() / 1e9:.1f} GB/s")
    t = time.perf_counter()
    power = network_power_w(NetworkPowerModel(), net)
    print(f"network power {power['total'] / 1e3:.1f} kW (computed in {(time.perf_counter() - t) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
