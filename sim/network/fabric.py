"""The engine side of the network: jobs' collectives on the routed fabric.

What is modelled
----------------
`NetworkComm` implements the training runtime's `CommModel`. When a job starts
it puts the flows of its collective on the shared `sim.network.flows.Network`; when
it stops it takes them off. Max-min fair shares (progressive filling, see
`sim/network/flows.py`) are recomputed once per simulated instant in which the set
of flows changed, and every running job whose bandwidth changed gets its new
rate at once through `TrainingRuntime.update` (fluid progress: one
completion event per rate change, no per-iteration events).

Communication time of one training step, alpha-beta model (Thakur,
Rabenseifner & Gropp, IJHPCA 2005; Patarasuk & Yuan, JPDC 2009), with S the
gradient bytes, p the job's accelerators on n nodes, g the most on one node,
B_in the intra-node fabric (NVLink, per accelerator and direction), B_out the
bandwidth of the job's slowest network flow (its max-min share) and a the
per-step latencies:

* one node: ring over the p ranks on the intra-node fabric,
  ``2(p-1) a_in + 2(p-1)/p S/B_in``; no network flows.
* ``ring`` (flat): one ring over all p ranks, paced by its slowest hop,
  ``2(p-1) a_out + 2(p-1)/p S/min(B_in, B_out)``.
* ``hierarchical`` (NCCL across multi-GPU nodes): reduce-scatter inside each
  node, g parallel rings across the n nodes each on an S/g shard sharing the
  node's network bandwidth, all-gather inside:
  ``2[(g-1) a_in + (g-1)/g S/B_in] + 2(n-1) a_out + 2(n-1)/n S/B_out``.
* ``tree``: the intra-node phases of ``hierarchical`` plus a binomial tree
  over the nodes, ``2 ceil(log2 n) (a_out + S/B_out)``.

On the network a ring (flat or hierarchical) is one flow per consecutive
pair of the job's hosts; a tree one flow each way per tree edge. Flows are
long-lived at the job's share for the whole run (the usual flow-level
approximation: a job that overlaps communication with compute keeps its links
busy; one that does not competes for less time than modelled, so contention is
an upper bound).

NICs: a node type with ``nics`` scale-out NICs (DGX H100: 8 ConnectX-7, one
per GPU) gives a job holding c of its A accelerators ceil(c nics / A) of them:
its flows from and to that host are capped at that share of the host link
(split evenly over the job's flows leaving or entering the host), so the lone
GPU of a spread job gets one NIC's 400 Gb/s, not the node's 3.2 Tb/s.

Asynchronous jobs (``mode: async``, `sim.compute.async_training` has the step
and staleness model): a worker is the job's accelerators on one host (a model
replica, as in DistBelief; its gradients are all-reduced over NVLink first, as
BytePS aggregates inside a machine before pushing). The parameters are sharded
over K servers on the job's first K hosts (``network.parameter_servers``;
default one per host, at most `MAX_AUTO_SHARDS`). Every host pushes S/K bytes
to each shard and pulls as much back (one flow each way per host and shard),
so the servers' traffic spreads over K links instead of one: with K = 1 the
server link carries W S each way, the parameter-server bottleneck of Li et al.
(OSDI 2014) and BytePS (Jiang et al., OSDI 2020); with a shard on every host
each host sends about 2 S per step, like an all-reduce.

Power: every switch is a ledger channel in category ``network`` (tag
``switch``), and the host NICs one more (``network:nics``); values come from
`sim.network.power.FabricPower` (physical switches x chassis + ports at their
speed + optics + energy per bit) and are re-booked only when they change. Network energy is not attributed to jobs
(it stays facility overhead in the per-job books).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import networkx as nx
import numpy as np

from sim.network.flows import (
    Flow,
    Network,
    Router,
    collective_flows,
    hierarchical_allreduce_time,
    ring_allreduce_time,
    tree_allreduce_time,
)
from sim.network.power import FabricPower
from sim.network.topology import build_topology, host_name
from sim.spec.network import (
    NetworkConfig,
    TopologyConfig,
)

if TYPE_CHECKING:
    import simpy

    from sim.compute.node import Node
    from sim.compute.training import Job, TrainingRuntime
    from sim.engine.meter import Meter

#: per-step latency of a collective on the intra-node fabric (M: NCCL over
#: NVLink runs a ring step in a few microseconds; 2 us is a round figure)
INTRA_NODE_LATENCY_S = 2e-6

#: parameter-server shards of an async job when ``network.parameter_servers`` is unset: one per
#: host of the job, at most this many (flows grow as hosts x shards: 2 x 128 x 64 = 16k flows for
#: 1,024 GPUs, a few seconds per recompute on a busy 2-core box, M)
MAX_AUTO_SHARDS = 64




class BatchedNetwork(Network):
    """A `Network` that stages many flow changes and recomputes the shares once.

    `Network.set_flows` recomputes the max-min allocation at every call; when a
    scheduler pass starts a hundred jobs at one instant that is a hundred full
    recomputations of which only the last matters. Here changes are staged and
    `commit` recomputes once.
    """

    def stage(self, owner: Hashable, flows: Iterable[Flow]) -> None:
        specs = tuple((s, d, float(c)) for s, d, c in flows)
        self._owners[owner] = self._route(owner, specs)

    def unstage(self, owner: Hashable) -> None:
        self._owners.pop(owner, None)

    def commit(self) -> set[Hashable]:
        """Recompute the shares; the owners whose bandwidth changed (new ones included)."""
        return self._recompute()


@dataclass(slots=True)
class _Placed:
    """A job's footprint on the fabric, fixed while it holds its placement."""

    hosts: list[str]  # distinct hosts, in placement order (the ring order)
    counts: list[int]  # the job's accelerators on each host
    intra_bytes_per_s: float  # slowest intra-node fabric among its nodes
    on_network: bool  # has flows (more than one host)
    servers: list[str] = field(default_factory=list)  # async: hosts of the parameter-server shards
    flow_index: dict[tuple[str, str, str], int] = field(default_factory=dict)  # async: (push|pull, worker, server)


def _host_link_default(config: TopologyConfig, nodes: list[Node]) -> TopologyConfig:
    """Host links and intra-node fabric from the node type unless the scenario set them."""
    update: dict[str, float] = {}
    if "host_link_bandwidth" not in config.model_fields_set and config.kind != "torus":
        update["host_link_bandwidth"] = min(n.node_type.nic_bandwidth_bytes_per_s for n in nodes)
        if "port_bandwidth" not in config.model_fields_set:  # one switch port per NIC (ConnectX-7: 400G)
            update["port_bandwidth"] = min(n.node_type.nic_bandwidth_bytes_per_s / (n.node_type.nics or 1)
                                           for n in nodes)
    if "intra_node_bandwidth" not in config.model_fields_set:
        update["intra_node_bandwidth"] = min(n.node_type.intra_node_bandwidth_bytes_per_s for n in nodes)
    return config.model_copy(update=update) if update else config


class NetworkComm:
    """The `CommModel` of the runtime backed by a flow-level network.

    `place(job)` and `release(job)` are called by the runtime when a job takes
    and leaves its accelerators; `comm_time_s(job)` (synchronous step) and
    `worker_comm_time_s(job, node)` (asynchronous worker) read the job's current
    max-min share.
    """

    def __init__(
        self,
        env: simpy.Environment,
        meter: Meter,
        graph: nx.Graph,
        config: NetworkConfig,
        runtime: TrainingRuntime,
        intra_override_bytes_per_s: float | None = None,
        nic_caps: bool = True,
    ) -> None:
        self.env = env
        self.meter = meter
        self.graph = graph
        self.config = config
        self.runtime = runtime
        self.net = BatchedNetwork(graph, Router(graph, ecmp=config.ecmp))
        self._intra_override = intra_override_bytes_per_s
        self._nic_caps_on = nic_caps  # host links from the node type's NICs (not set by the scenario)
        self._placed: dict[int, _Placed] = {}
        self._host_names: list[str] = []
        self._dirty = False
        self._pending: set[int] = set()  # staged this instant, shares not yet computed
        self.flow_set_changes = 0  # recomputations of the shares
        self.flush_wall_s = 0.0
        self.after_flush: Callable[[], None] | None = None  # called when a flush changed network power
        nodes = self.net.router.nodes
        self._switch_idx = np.flatnonzero(self.net._is_switch)
        self._switch_ch = [
            meter.channel(f"net:{nodes[i]}", "network", tags={"switch": str(nodes[i])}) for i in self._switch_idx
        ]
        self._nic_ch = meter.channel("net:nics", "network", tags={"switch": "nics"})
        self._switch_w = np.full(self._switch_idx.size, -1.0)
        self._switch_owners: list[tuple] = [()] * self._switch_idx.size  # (job id, share) per switch
        self._switch_fp = np.zeros(self._switch_idx.size)  # fingerprint of each switch's traffic mix
        self._nic_w = -1.0
        self._power = FabricPower(config.power, self.net)
        self._book_power()

    @property
    def nameplate_w(self) -> float:
        """Most power the fabric can draw (`FabricPower.nameplate_w`): part of the IT nameplate."""
        return self._power.nameplate_w()

    def _host(self, i: int) -> str:
        """`host_name(i)`, made once per node (asked at every placement and step-time read)."""
        names = self._host_names
        while len(names) <= i:
            names.append(host_name(len(names)))
        return names[i]

    # -- lifecycle (called by the runtime) ---------------------------------------
    def place(self, job: Job) -> None:
        """Put the job's collective on the network (shares recomputed at the end of the instant)."""
        if len(job.placement) == 1:  # one node: no flows (most jobs of a cluster trace)
            node, c = job.placement[0]
            intra = self._intra_override if self._intra_override is not None \
                else node.node_type.intra_node_bandwidth_bytes_per_s
            self._placed[job.id] = _Placed([self._host(node.index)], [c], intra, False)
            return
        hosts: list[str] = []
        counts: list[int] = []
        for node, c in job.placement:
            h = self._host(node.index)
            if hosts and hosts[-1] == h:
                counts[-1] += c
            elif h in hosts:
                counts[hosts.index(h)] += c
            else:
                hosts.append(h)
                counts.append(c)
        intra = min(n.node_type.intra_node_bandwidth_bytes_per_s for n, _ in job.placement)
        if self._intra_override is not None:
            intra = self._intra_override
        needs_net = len(hosts) > 1 and bool(job.work.gradient_bytes) and bool(job.work.flops_per_sample)
        placed = _Placed(hosts, counts, intra, needs_net)
        self._placed[job.id] = placed
        if needs_net:
            if job.mode == "async":
                k = self.config.parameter_servers or MAX_AUTO_SHARDS
                placed.servers = hosts[:max(1, min(k, len(hosts)))]
                pushes = [(w, s) for w in hosts for s in placed.servers if w != s]
                pairs = pushes + [(s, w) for w, s in pushes]
                placed.flow_index = {("push", w, s): i for i, (w, s) in enumerate(pushes)}
                placed.flow_index.update({("pull", w, s): len(pushes) + i for i, (w, s) in enumerate(pushes)})
            else:
                pairs = [(str(s), str(d)) for s, d, _ in collective_flows(hosts, self._flow_kind(job))]
            caps = self._nic_caps(job)
            out: dict[str, int] = {}
            inn: dict[str, int] = {}
            for s_, d in pairs:
                out[s_] = out.get(s_, 0) + 1
                inn[d] = inn.get(d, 0) + 1
            flows = [(s_, d, min(caps.get(s_, math.inf) / out[s_], caps.get(d, math.inf) / inn[d]))
                     for s_, d in pairs]
            self.net.stage(job.id, flows)
            self._pending.add(job.id)
            self._mark_dirty()

    def _nic_caps(self, job: Job) -> dict[str, float]:
        """Bytes/s of the NICs the job holds on each host where it holds fewer than all of them.

        A node type with ``nics`` scale-out NICs (DGX H100: 8 ConnectX-7, one per
        GPU) gives a job holding c of its A accelerators ceil(c nics / A) of
        them, so a lone GPU of a spread job gets one NIC's bandwidth, not the
        node's (sim/catalog/node_types.yaml ``nics``). Not applied where the
        scenario sets ``host_link_bandwidth`` itself (its link is then not the
        node type's NICs) nor on a torus (its links are the chips' own).
        """
        held_by_node: dict[int, tuple[Node, int]] = {}
        for node, c in job.placement:
            prev = held_by_node.get(node.index)
            held_by_node[node.index] = (node, c + (prev[1] if prev else 0))
        caps: dict[str, float] = {}
        if not self._nic_caps_on:
            return caps
        for node, c in held_by_node.values():
            nics = node.node_type.nics or 1
            h = self._host(node.index)
            if nics <= 1 or self.graph.degree(h) != 1:
                continue
            held = min(nics, math.ceil(c * nics / node.node_type.accelerators_per_node - 1e-9))
            if held < nics:
                caps[h] = self._host_link(h) * held / nics
        return caps

    def _host_link(self, h: str) -> float:
        (link,) = self.graph.edges(h, data="bandwidth_bytes_per_s")
        return float(link[2])

    def release(self, job: Job) -> None:
        """Take the job's flows off the network."""
        placed = self._placed.pop(job.id, None)
        if placed is not None and placed.on_network:
            self.net.unstage(job.id)
            self._mark_dirty()

    def _flow_kind(self, job: Job) -> Literal["ring", "tree"]:
        return "tree" if self.config.collective == "tree" else "ring"

    def _mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.env.timeout(0).callbacks.append(self._flush)

    def _flush(self, _event: object = None) -> None:
        """Recompute the shares once for all changes of this instant; re-rate changed jobs."""
        import time

        t0 = time.perf_counter()
        self._dirty = False
        net_before = self.meter.category_value("network")
        changed = self.net.commit() | self._pending  # new jobs were rated without their share
        self._pending.clear()
        self.flow_set_changes += 1
        running = self.runtime.running
        for owner in sorted(changed, key=repr):
            job = running.get(owner)  # type: ignore[call-overload]
            if job is not None:
                self.runtime.update(job)
        self._book_power()
        self.flush_wall_s += time.perf_counter() - t0
        if self.after_flush is not None and self.meter.category_value("network") != net_before:
            self.after_flush()  # e.g. a power envelope that counted the network before these flows

    def _book_power(self) -> None:
        """Book switch and NIC power where it changed (`sim.network.power.FabricPower`)."""
        sw = self._power.switch_w()
        for k in np.flatnonzero(sw != self._switch_w):
            self.meter.set(self._switch_ch[k], float(sw[k]))
        self._switch_w = sw
        self._attribute_switches()
        nic = self._power.nics_w()
        if nic != self._nic_w:
            self.meter.set(self._nic_ch, nic)
            self._nic_w = nic

    def _attribute_switches(self) -> None:
        """Charge each switch's power to the jobs whose traffic enters it, by their share.

        A switch nobody sends through stays unattributed overhead (like an
        idle node); an active switch's whole draw (chassis, ports, bits) is
        split by ingress bytes/s, so the jobs' network energy plus the idle
        switches' add up to the metered network energy.
        """
        owners, traffic = self.net.owner_node_traffic()
        # only switches whose (owner, bytes/s) mix changed need new shares: compare a
        # fingerprint per switch (traffic weighted by a pseudo-random weight per job id)
        weight = np.asarray([(hash(o) * 2654435761) % 2147483647 + 1.0 for o in owners])
        fingerprint = np.asarray(traffic.T @ weight).ravel()[self._switch_idx] if owners else \
            np.zeros(self._switch_idx.size)
        changed = np.flatnonzero(fingerprint != self._switch_fp)
        self._switch_fp = fingerprint
        switch_nodes = self._switch_idx
        for k in changed.tolist():
            node = int(switch_nodes[k])
            lo, hi = traffic.indptr[node], traffic.indptr[node + 1]
            rows, vals = traffic.indices[lo:hi], traffic.data[lo:hi]
            total = float(vals.sum())
            share = tuple((owners[r], float(v) / total) for r, v in zip(rows.tolist(), vals.tolist())
                          if v > 0) if total > 0 else ()
            if share != self._switch_owners[k]:
                self.meter.assign(self._switch_ch[k], share)
                self._switch_owners[k] = share

    # -- the step model -------------------------------------------------------------
    def _network_share(self, job: Job) -> tuple[float, float]:
        """(bandwidth B/s of the job's slowest flow, its path latency s)."""
        if job.id in self._pending:  # shares not yet computed: no time passes before they are
            return math.inf, 0.0
        return self.net.bandwidth(job.id), self.net.latency_s(job.id)

    def comm_time_s(self, job: Job) -> float:
        """Communication time of one synchronous step (s), as the module docstring gives."""
        placed = self._placed.get(job.id)
        size = job.work.gradient_bytes or 0.0
        if placed is None or size <= 0 or job.accelerators <= 1:
            return 0.0
        p = job.accelerators
        b_in, a_in = placed.intra_bytes_per_s, INTRA_NODE_LATENCY_S
        if not placed.on_network:
            return ring_allreduce_time(p, size, b_in, a_in)
        b_out, a_out = self._network_share(job)
        if not math.isfinite(b_out):
            return 0.0
        n, g = len(placed.hosts), max(placed.counts)
        kind = self.config.collective
        if kind == "ring":
            return ring_allreduce_time(p, size, min(b_in, b_out), max(a_in, a_out))
        if kind == "hierarchical":
            return hierarchical_allreduce_time(n, g, size, b_in, b_out, a_in, a_out)
        intra = hierarchical_allreduce_time(1, g, size, b_in, b_out, a_in, a_out)
        return intra + tree_allreduce_time(n, size, b_out, a_out)

    def worker_comm_time_s(self, job: Job, node: Node) -> float:
        """Communication of one step of the asynchronous worker (replica) on `node` (s).

        The job's c accelerators on the node all-reduce their gradients over
        the intra-node fabric (ring), then the node pushes S/K bytes to each of
        the K shards and pulls as much back over the job's flows (a shard on
        the same host: the intra-node fabric):
        ``ring(c, S, B_in) + 2 a + max_k S/K / r(h->k) + max_k S/K / r(k->h)``.
        """
        placed = self._placed.get(job.id)
        size = job.work.gradient_bytes or 0.0
        if placed is None or size <= 0:
            return 0.0
        h = self._host(node.index)
        c = placed.counts[placed.hosts.index(h)] if h in placed.hosts else 1
        local = ring_allreduce_time(c, size, placed.intra_bytes_per_s, INTRA_NODE_LATENCY_S)
        if not placed.on_network:
            return local
        if job.id in self._pending:
            return 0.0
        rates = self.net.flow_rates(job.id)
        shard = size / len(placed.servers)
        push = pull = 0.0
        for k in placed.servers:
            if k == h:
                push = max(push, shard / placed.intra_bytes_per_s)
                pull = max(pull, shard / placed.intra_bytes_per_s)
            else:
                push = max(push, shard / rates[placed.flow_index[("push", h, k)]])
                pull = max(pull, shard / rates[placed.flow_index[("pull", h, k)]])
        return local + 2.0 * self.net.latency_s(job.id) + push + pull


def build_network(
    topology: TopologyConfig | None,
    config: NetworkConfig,
    env: simpy.Environment,
    meter: Meter,
    nodes: list[Node],
    runtime: TrainingRuntime,
) -> tuple[nx.Graph | None, NetworkComm | None]:
    """The topology graph (None without ``cluster.topology``) and the comm model.

    Host links default to the node type's scale-out bandwidth
    (``nic_bandwidth_bytes_per_s``, the whole node) and the intra-node fabric
    to its ``intra_node_bandwidth_bytes_per_s``, unless the topology sets them.
    With ``network.model: off`` the graph is still built (placement and racks
    use it) but communication is free and no network power is booked.
    """
    if topology is None:
        return None, None
    cfg = _host_link_default(topology, nodes)
    graph = build_topology(cfg, len(nodes))
    runtime.overlap = config.overlap
    runtime.async_staleness = (config.staleness_penalty, config.staleness_max_factor, config.staleness_bound)
    if config.model == "off":
        return graph, None
    override = cfg.intra_node_bandwidth if "intra_node_bandwidth" in topology.model_fields_set else None
    nic_caps = "host_link_bandwidth" not in topology.model_fields_set and topology.kind != "torus"
    comm = NetworkComm(env, meter, graph, config, runtime, override, nic_caps)
    runtime.comm = comm
    return graph, comm


__all__ = ["BatchedNetwork", "NetworkComm", "NetworkConfig", "build_network"]
