"""Flow-level network: routing, max-min fair bandwidth sharing, collectives, power.

What is modelled
----------------
The network is fluid: a job's communication is a set of long-lived flows
between hosts (the host pairs of its ring all-reduce, or the worker-server
pairs of a parameter server). Each flow follows one routed path of directed
links (links are full duplex: an undirected edge of bandwidth B is two directed
links of capacity B each). Bandwidth is shared **max-min fairly with demand
caps**, computed by progressive filling (Bertsekas & Gallager, *Data Networks*,
2nd ed. 1992, sec. 6.5.2): all unfrozen flows rise together; a flow freezes
when it reaches its demand or when a link it crosses saturates. The allocation
is recomputed only when the set of flows changes; owners (jobs) whose
bandwidth changed are returned so the engine can change their rate at once.

Packets, congestion control, queueing delay and incast are not modelled: a
flow gets its max-min share instantly (the usual flow-level approximation, as
in SimGrid's LV08 model, Velho & Legrand 2009).

Collectives are costed with the alpha-beta (latency-bandwidth) model of
Thakur, Rabenseifner & Gropp, "Optimization of collective communication
operations in MPICH", IJHPCA 2005, and Patarasuk & Yuan, "Bandwidth optimal
all-reduce algorithms for clusters of workstations", JPDC 2009. A synchronous
collective moves at the speed of its slowest flow, so ``Network.bandwidth``
returns the minimum rate over an owner's flows.

Power of the fabric: each switch draws a fixed chassis power, each port-end a
per-port power (transceiver or active cable), plus an energy per bit switched;
each host NIC a fixed power. Defaults and sources: ``NetworkPowerModel``.

This module knows nothing of SimPy: the engine calls these plain classes at
its events.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

BITS_PER_BYTE = 8.0
_REL_TOL = 1e-9

# --- routing ---------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _stable_hash(*parts: object) -> int:
    """64-bit hash that is identical across runs and processes (unlike hash())."""
    text = "\x1f".join(repr(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _mix(h: int) -> int:
    """One splitmix64 step: a fresh pseudo-random 64-bit value from h."""
    h = (h + 0x9E3779B97F4A7C15) & _MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
    return h ^ (h >> 31)


class Router:
    """Shortest paths (fewest hops) as lists of directed link ids, cached.

    Link ids: undirected edge number e of ``graph.edges()`` gives link ``2e``
    in the edge's stored direction (u -> v) and ``2e + 1`` back (v -> u);
    ``links[i]`` is the (tail, head) pair and ``capacity_bytes_per_s[i]`` its
    capacity.

    With ``ecmp=True`` each flow takes one of the equal-cost shortest paths,
    chosen hop by hop (as switches do) by a stable hash of (src, dst, flow
    key): deterministic across runs, spread across flows. With ``ecmp=False``
    every flow between a pair of hosts takes the same path, chosen by a hash
    of (src, dst) only (static routing, e.g. InfiniBand's destination-based
    tables): flows of different jobs between the same pair collide.
    """

    distance_cache_size = 4096
    """Distance arrays kept (one per destination switch or multi-homed host)."""

    def __init__(self, graph: nx.Graph, ecmp: bool = True) -> None:
        self.graph = graph
        self.ecmp = ecmp
        self.nodes: list[Hashable] = list(graph.nodes)
        self.node_index: dict[Hashable, int] = {n: i for i, n in enumerate(self.nodes)}
        links: list[tuple[Hashable, Hashable]] = []
        capacity: list[float] = []
        latency: list[float] = []
        for u, v, data in graph.edges(data=True):
            bw = float(data["bandwidth_bytes_per_s"])
            lat = float(data.get("latency_s", 0.0))
            links += [(u, v), (v, u)]
            capacity += [bw, bw]
            latency += [lat, lat]
        self.links = links
        self.link_id: dict[tuple[Hashable, Hashable], int] = {lk: i for i, lk in enumerate(links)}
        self.capacity_bytes_per_s = np.asarray(capacity, dtype=float)
        n = len(self.nodes)
        self.link_tail = np.asarray([self.node_index[u] for u, _ in links], dtype=np.int64)
        self.link_head = np.asarray([self.node_index[v] for _, v in links], dtype=np.int64)
        node_latency_s = np.asarray(
            [float(d.get("latency_s", 0.0)) if d.get("kind") == "switch" else 0.0
             for _, d in graph.nodes(data=True)]
        )
        # latency of a link plus the forwarding latency of the switch at its head
        self._hop_latency_s = np.asarray(latency, dtype=float) + node_latency_s[self.link_head]
        order = np.lexsort((self.link_head, self.link_tail))
        self._adj_ptr = np.searchsorted(self.link_tail[order], np.arange(n + 1))
        self._adj_node = self.link_head[order]
        self._adj_link = order
        self._csgraph = scipy.sparse.csr_matrix(
            (np.ones(len(links)), (self.link_tail, self.link_head)), shape=(n, n)
        )
        self._dist: dict[int, np.ndarray] = {}
        self._paths: dict[tuple[Hashable, ...], list[int]] = {}

    def _distances_to(self, t: int) -> np.ndarray:
        """Hop counts from every node to node t (-1: unreachable), cached.

        A host with a single link (the common case) shares the array of its
        switch plus one hop, so the cache holds about one array per switch.
        """
        a, b = self._adj_ptr[t], self._adj_ptr[t + 1]
        if b - a == 1:
            base = self._distances_to_node(int(self._adj_node[a]))
            dist = np.where(base >= 0, base + 1, -1)
            dist[t] = 0
            return dist
        return self._distances_to_node(t)

    def _distances_to_node(self, t: int) -> np.ndarray:
        dist = self._dist.get(t)
        if dist is None:
            d = scipy.sparse.csgraph.shortest_path(
                self._csgraph, directed=True, unweighted=True, indices=t
            )  # from t; the graph is symmetric, so also to t
            dist = np.where(np.isfinite(d), d, -1).astype(np.int32)
            if len(self._dist) >= self.distance_cache_size:
                self._dist.pop(next(iter(self._dist)))
            self._dist[t] = dist
        return dist

    def path(self, src: Hashable, dst: Hashable, flow_key: object = 0) -> list[int]:
        """Directed link ids from src to dst ([] when src == dst)."""
        key = (src, dst, flow_key) if self.ecmp else (src, dst)
        cached = self._paths.get(key)
        if cached is not None:
            return cached
        s, t = self.node_index[src], self.node_index[dst]
        path: list[int] = []
        if s != t:
            dist = self._distances_to(t)
            if dist[s] < 0:
                raise ValueError(f"no route from {src!r} to {dst!r}: the topology is disconnected")
            h = _stable_hash(*key)
            u = s
            while u != t:
                a, b = self._adj_ptr[u], self._adj_ptr[u + 1]
                nbrs = self._adj_node[a:b]
                cand = np.flatnonzero(dist[nbrs] == dist[u] - 1)
                pick = int(cand[h % cand.size]) if cand.size > 1 else int(cand[0])
                h = _mix(h)
                path.append(int(self._adj_link[a + pick]))
                u = int(nbrs[pick])
        if len(self._paths) > 2_000_000:
            self._paths.clear()
        self._paths[key] = path
        return path

    def latency_s(self, src: Hashable, dst: Hashable, flow_key: object = 0) -> float:
        """One-way latency: cable latency of every link + every switch on the path."""
        return float(self._hop_latency_s[self.path(src, dst, flow_key)].sum())

    def path_nodes(self, src: Hashable, dst: Hashable, flow_key: object = 0) -> list[Hashable]:
        return [src] + [self.links[i][1] for i in self.path(src, dst, flow_key)]


# --- max-min fair sharing ------------------------------------------------------------


def _progressive_fill(
    flow_of_nnz: np.ndarray, link_of_nnz: np.ndarray, demand: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Max-min fair rates with demand caps, on (flow, link) incidence pairs.

    flow_of_nnz[i] crosses link link_of_nnz[i] (indices into demand and
    capacity); flow_of_nnz must be sorted (each flow's links contiguous) and a
    flow must not list a link twice. A flow crossing no link gets its demand.

    Gives the allocation of progressive filling (Bertsekas & Gallager 1992,
    sec. 6.5.2) but freezes many bottlenecks per round instead of one level at
    a time, as in the parallel bottleneck identification of Ros-Giralt et al.,
    "On the bottleneck structure of congestion-controlled networks",
    SIGMETRICS 2020. With s_l = (remaining capacity of l) / (unfrozen flows
    on l), and m_f = min of s_l over the links of flow f, a round

    * freezes every flow with demand <= m_f at its demand (no link it crosses
      can saturate below m_f, since s_l only grows as other flows freeze);
    * freezes, at s_l, every flow on a link l that is the tightest link of
      each of its flows (s_l == m_f) and whose flows all demand >= s_l.

    The globally tightest link, or a flow on it below its demand, always
    qualifies, so each round freezes something; a round is O(unfrozen flows x
    longest path) of numpy work, and rounds number the depth of the bottleneck
    structure (a handful to tens), not the number of distinct rates.
    """
    n_flows = demand.size
    rate = np.zeros(n_flows)
    lengths = np.bincount(flow_of_nnz, minlength=n_flows)
    on_path = lengths > 0
    rate[~on_path] = demand[~on_path]
    if flow_of_nnz.size == 0:
        return rate
    # compact the links to those crossed (bincount + cumsum: O(links), no sort);
    # index n_links is a sentinel "link" that pads short paths
    crossed = np.bincount(link_of_nnz, minlength=capacity.size) > 0
    compact = np.cumsum(crossed) - 1
    n_links = int(crossed.sum())
    remaining = np.append(capacity[crossed].astype(float), 0.0)
    # paths as columns of a (max hops x flows) matrix: row reductions are fast
    flows = np.flatnonzero(on_path)
    width = int(lengths.max())
    col = (np.cumsum(on_path) - 1)[flow_of_nnz]
    row = np.arange(flow_of_nnz.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    paths = np.full((width, flows.size), n_links, dtype=np.int64)
    paths[row, col] = compact[link_of_nnz]
    wanted = demand[flows]
    while flows.size:
        counts = np.bincount(paths.ravel(), minlength=n_links + 1)
        counts[n_links] = 0
        busy = counts > 0
        share = np.full(n_links + 1, np.inf)  # fair share left on each link
        share[busy] = np.maximum(remaining[busy], 0.0) / counts[busy]
        tightest = share[paths].min(axis=0)
        offer = np.minimum(tightest, wanted)
        # a link is a bottleneck if none of its flows is tighter elsewhere or wants less
        least_offer = np.full(n_links + 1, np.inf)
        np.minimum.at(least_offer, paths.ravel(), np.tile(offer, width))
        bottleneck = busy & (least_offer >= share)
        freeze = bottleneck[paths].any(axis=0) | (wanted <= tightest)
        rate[flows[freeze]] = offer[freeze]
        remaining -= np.bincount(paths[:, freeze].ravel(), weights=np.tile(offer[freeze], width),
                                 minlength=n_links + 1)
        keep = ~freeze
        paths, flows, wanted = paths[:, keep], flows[keep], wanted[keep]
    return rate


def max_min_fair(
    flows: Sequence[tuple[Sequence[Hashable], float]], capacity: dict[Hashable, float]
) -> np.ndarray:
    """Max-min fair rates (bytes/s) of flows given as (links crossed, demand cap).

    ``capacity`` maps each link id to its capacity in bytes/s. A demand cap of
    ``math.inf`` means "as fast as the network allows". A flow that crosses no
    link gets its demand. Progressive filling (Bertsekas & Gallager 1992,
    sec. 6.5.2), vectorised with numpy: one round per distinct rate level.
    """
    link_ids = list(capacity)
    index = {lk: i for i, lk in enumerate(link_ids)}
    cap = np.asarray([capacity[lk] for lk in link_ids], dtype=float)
    lengths = np.fromiter((len(p) for p, _ in flows), dtype=np.int64, count=len(flows))
    link_of_nnz = np.fromiter(
        (index[lk] for p, _ in flows for lk in p), dtype=np.int64, count=int(lengths.sum())
    )
    flow_of_nnz = np.repeat(np.arange(len(flows)), lengths)
    demand = np.asarray([d for _, d in flows], dtype=float)
    return _progressive_fill(flow_of_nnz, link_of_nnz, demand, cap)


# --- the network -------------------------------------------------------------------

Flow = tuple[Hashable, Hashable, float]
"""(source host, destination host, demand cap in bytes/s; math.inf = unbounded)."""


@dataclass
class _OwnerFlows:
    specs: tuple[Flow, ...]
    link_ids: np.ndarray  # concatenated paths
    path_len: np.ndarray
    demand_bytes_per_s: np.ndarray
    latency_s: float
    first_flow: int = 0  # index of the owner's first flow in Network._rates
    bandwidth_bytes_per_s: float = math.inf


class Network:
    """The shared fabric: owners' flows, their max-min fair rates, link loads.

    An owner is whatever the engine groups flows by (a job). ``set_flows`` and
    ``remove`` recompute the allocation only when the set of flows changed and
    return the owners whose bandwidth changed (the caller's own owner included
    when its bandwidth changed or it is new).
    """

    def __init__(self, graph: nx.Graph, router: Router | None = None) -> None:
        self.graph = graph
        self.router = router if router is not None else Router(graph)
        self._owners: dict[Hashable, _OwnerFlows] = {}
        n_links = len(self.router.links)
        self.link_load_bytes_per_s = np.zeros(n_links)
        self._rates = np.zeros(0)
        self.recomputations = 0
        kinds = [d.get("kind", "switch") for _, d in graph.nodes(data=True)]
        self._is_switch = np.asarray([k == "switch" for k in kinds])
        self._degree = np.bincount(self.router.link_tail, minlength=len(kinds))

    # -- flows --

    def set_flows(self, owner: Hashable, flows: Iterable[Flow]) -> set[Hashable]:
        """Replace owner's flows; return the owners whose bandwidth changed."""
        specs = tuple((s, d, float(c)) for s, d, c in flows)
        old = self._owners.get(owner)
        if old is not None and sorted(old.specs, key=repr) == sorted(specs, key=repr):
            return set()
        self._owners[owner] = self._route(owner, specs)
        if not specs and (old is None or not old.specs):
            return {owner} if old is None else set()
        changed = self._recompute()
        if old is None:
            changed.add(owner)
        return changed

    def remove(self, owner: Hashable) -> set[Hashable]:
        """Drop owner's flows; return the other owners whose bandwidth changed."""
        old = self._owners.pop(owner, None)
        if old is None:
            return set()
        if old.specs:
            return self._recompute()
        return set()

    def _route(self, owner: Hashable, specs: tuple[Flow, ...]) -> _OwnerFlows:
        seen: dict[tuple[Hashable, Hashable], int] = {}
        paths: list[list[int]] = []
        latency_s = 0.0
        for src, dst, _ in specs:
            nth = seen.get((src, dst), 0)
            seen[(src, dst)] = nth + 1
            key = (repr(owner), nth)
            paths.append(self.router.path(src, dst, key))
            latency_s = max(latency_s, self.router.latency_s(src, dst, key))
        lengths = np.asarray([len(p) for p in paths], dtype=np.int64)
        link_ids = np.asarray([lk for p in paths for lk in p], dtype=np.int64)
        demand = np.asarray([c for _, _, c in specs], dtype=float)
        return _OwnerFlows(specs, link_ids, lengths, demand, latency_s)

    def _recompute(self) -> set[Hashable]:
        self.recomputations += 1
        owners = list(self._owners.values())
        keys = list(self._owners)
        n_flows = np.asarray([o.path_len.size for o in owners], dtype=np.int64)
        if owners:
            lengths = np.concatenate([o.path_len for o in owners])
            link_of_nnz = np.concatenate([o.link_ids for o in owners])
            demand = np.concatenate([o.demand_bytes_per_s for o in owners])
        else:
            lengths = np.zeros(0, dtype=np.int64)
            link_of_nnz = np.zeros(0, dtype=np.int64)
            demand = np.zeros(0)
        flow_of_nnz = np.repeat(np.arange(lengths.size), lengths)
        rates = _progressive_fill(flow_of_nnz, link_of_nnz, demand, self.router.capacity_bytes_per_s)
        self.link_load_bytes_per_s = np.bincount(  # type: ignore[assignment]  # float64 with weights
            link_of_nnz, weights=rates[flow_of_nnz], minlength=len(self.router.links)
        )
        starts = np.cumsum(n_flows) - n_flows
        bandwidth = np.full(len(owners), np.inf)
        has_flows = n_flows > 0
        if has_flows.any():
            bandwidth[has_flows] = np.minimum.reduceat(rates, starts[has_flows])
        previous = np.asarray([o.bandwidth_bytes_per_s for o in owners], dtype=float)
        same = (bandwidth == previous) | (
            np.abs(bandwidth - previous) <= _REL_TOL * np.maximum(np.abs(bandwidth), np.abs(previous))
        )
        self._rates = rates
        for o, start, bw in zip(owners, starts.tolist(), bandwidth.tolist()):
            o.first_flow = start
            o.bandwidth_bytes_per_s = bw
        changed = {keys[i] for i in np.flatnonzero(~same)}
        return changed

    # -- queries --

    @property
    def owners(self) -> list[Hashable]:
        return list(self._owners)

    def bandwidth(self, owner: Hashable) -> float:
        """Bytes/s of the owner's slowest flow (what a synchronous collective sees).

        math.inf for an owner without flows (nothing crosses the network).
        """
        return self._owners[owner].bandwidth_bytes_per_s

    def flow_rates(self, owner: Hashable) -> np.ndarray:
        """Bytes/s of each of the owner's flows, in the order they were given."""
        o = self._owners[owner]
        return self._rates[o.first_flow:o.first_flow + o.path_len.size].copy()

    def latency_s(self, owner: Hashable) -> float:
        """Largest one-way path latency among the owner's flows (0 without flows)."""
        return self._owners[owner].latency_s

    def link_utilization(self) -> dict[tuple[Hashable, Hashable], float]:
        """Load / capacity of every directed link that carries traffic."""
        cap = self.router.capacity_bytes_per_s
        busy = np.flatnonzero(self.link_load_bytes_per_s > 0)
        return {self.router.links[i]: float(self.link_load_bytes_per_s[i] / cap[i]) for i in busy}

    def _active_ports_per_node(self) -> np.ndarray:
        load = self.link_load_bytes_per_s
        edge_active = (load[0::2] + load[1::2]) > 0
        n = len(self.router.nodes)
        tail = self.router.link_tail[0::2][edge_active]
        head = self.router.link_head[0::2][edge_active]
        return np.bincount(tail, minlength=n) + np.bincount(head, minlength=n)

    def active_ports(self, node: Hashable | None = None) -> int:
        """Port-ends (on switches and hosts) whose link carries traffic either way.

        With ``node``, only that node's ports.
        """
        per_node = self._active_ports_per_node()
        if node is None:
            return int(per_node.sum())
        return int(per_node[self.router.node_index[node]])

    def owner_node_traffic(self) -> tuple[list[Hashable], scipy.sparse.csc_matrix]:
        """(owners, matrix): bytes/s each owner sends into each node, owners x nodes.

        Column j lists who loads node j (a switch's ingress), so a switch's
        power can be shared among the owners whose traffic crosses it.
        """
        owners = list(self._owners)
        n_nodes = len(self.router.nodes)
        if not owners or self._rates.size == 0:
            return owners, scipy.sparse.csc_matrix((len(owners), n_nodes))
        flows = self._owners.values()
        n_flows = np.fromiter((o.path_len.size for o in flows), dtype=np.int64, count=len(owners))
        lengths = np.concatenate([o.path_len for o in flows])
        link_of_nnz = np.concatenate([o.link_ids for o in flows])
        flow_of_nnz = np.repeat(np.arange(lengths.size), lengths)
        owner_of_flow = np.repeat(np.arange(len(owners)), n_flows)
        m = scipy.sparse.coo_matrix(
            (self._rates[flow_of_nnz], (owner_of_flow[flow_of_nnz], self.router.link_head[link_of_nnz])),
            shape=(len(owners), n_nodes),
        )
        return owners, m.tocsc()

    def switch_throughput_bytes_per_s(self) -> np.ndarray:
        """Bytes/s entering each node (indexed like ``router.nodes``)."""
        return np.bincount(self.router.link_head, weights=self.link_load_bytes_per_s,
                           minlength=len(self.router.nodes))


# --- collectives (alpha-beta) --------------------------------------------------------


def ring_allreduce_time(p: int, size_bytes: float, bandwidth_bytes_per_s: float,
                        latency_s: float) -> float:
    """Ring all-reduce of S bytes over p ranks: 2(p-1) a + 2(p-1)/p * S/B.

    Reduce-scatter then all-gather, each p-1 steps moving S/p bytes per rank
    (Patarasuk & Yuan, JPDC 2009; Thakur et al., IJHPCA 2005, sec. 4.5).
    B is the bandwidth of the slowest ring link, a the per-step latency.
    """
    if p <= 1 or size_bytes <= 0:
        return 0.0
    return 2 * (p - 1) * latency_s + 2 * (p - 1) / p * size_bytes / bandwidth_bytes_per_s


def tree_allreduce_time(p: int, size_bytes: float, bandwidth_bytes_per_s: float,
                        latency_s: float) -> float:
    """Binomial-tree reduce then broadcast: 2 ceil(log2 p) (a + S/B).

    Thakur et al., IJHPCA 2005, sec. 4 (reduce and broadcast by binomial
    trees, whole message at each step, no pipelining): latency-optimal for
    small messages, 2 log2 p times the bandwidth term of a ring otherwise.
    """
    if p <= 1 or size_bytes <= 0:
        return 0.0
    return 2 * math.ceil(math.log2(p)) * (latency_s + size_bytes / bandwidth_bytes_per_s)


def hierarchical_allreduce_time(
    nodes: int, per_node: int, size_bytes: float, intra_bandwidth_bytes_per_s: float,
    inter_bandwidth_bytes_per_s: float, intra_latency_s: float, inter_latency_s: float,
) -> float:
    """Two-level all-reduce as NCCL runs it across multi-GPU nodes.

    With g = per_node ranks per node and n = nodes:
    1. reduce-scatter inside each node: (g-1) a_in + (g-1)/g * S/B_in;
    2. all-reduce across nodes: each of the g ranks runs a ring over the n nodes
       on its S/g shard, the g rings sharing the node's network bandwidth B_out
       (sum of the node's NICs): 2(n-1) a_out + 2(n-1)/n * S/B_out;
    3. all-gather inside each node: (g-1) a_in + (g-1)/g * S/B_in.
    Reduces to the ring formula when n = 1 or g = 1. (Thakur et al. 2005 for
    the ring phases; Sergeev & Del Balso, "Horovod", 2018, and NCCL's
    hierarchical/ring-of-rings design for the composition.)
    """
    g, n = per_node, nodes
    if size_bytes <= 0 or g * n <= 1:
        return 0.0
    t = 0.0
    if g > 1:
        t += 2 * ((g - 1) * intra_latency_s + (g - 1) / g * size_bytes / intra_bandwidth_bytes_per_s)
    if n > 1:
        t += 2 * (n - 1) * inter_latency_s + 2 * (n - 1) / n * size_bytes / inter_bandwidth_bytes_per_s
    return t


def parameter_server_time(workers: int, size_bytes: float, server_bandwidth_bytes_per_s: float,
                          worker_bandwidth_bytes_per_s: float, latency_s: float) -> float:
    """One synchronous push + pull of S bytes by every worker: 2(a + max(W S/B_s, S/B_w)).

    Each of W workers pushes its S-byte gradient to the server and pulls S
    bytes of parameters back; the server's link carries W*S bytes each way
    (full duplex), so it is the bottleneck once W*B_w > B_s (Li et al.,
    "Scaling distributed machine learning with the parameter server", OSDI
    2014; the bottleneck analysis of Jiang et al., "BytePS", OSDI 2020, sec. 2).
    """
    if workers <= 0 or size_bytes <= 0:
        return 0.0
    transfer_s = max(workers * size_bytes / server_bandwidth_bytes_per_s,
                     size_bytes / worker_bandwidth_bytes_per_s)
    return 2 * (latency_s + transfer_s)


CollectiveKind = Literal["ring", "ps", "tree"]


def collective_flows(hosts: Sequence[Hashable], kind: CollectiveKind = "ring",
                     demand_bytes_per_s: float = math.inf) -> list[Flow]:
    """Host-pair flows a collective keeps on the network, for ``Network.set_flows``.

    * ``ring``: hosts[i] -> hosts[i+1 mod p], one flow per ring edge (both
      directions for p = 2). Consecutive duplicates (ranks on the same host)
      are merged: their traffic stays on the intra-node fabric.
    * ``ps``: hosts[0] is the server; each worker pushes to it and pulls from it.
    * ``tree``: a binary tree over hosts in order; each edge both ways.
    """
    ring: list[Hashable] = []
    for h in hosts:
        if not ring or ring[-1] != h:
            ring.append(h)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    p = len(ring)
    if p <= 1:
        return []
    if kind == "ring":
        pairs = [(ring[i], ring[(i + 1) % p]) for i in range(p)]
        if p == 2:
            pairs = [(ring[0], ring[1]), (ring[1], ring[0])]
    elif kind == "ps":
        server = ring[0]
        pairs = [(w, server) for w in ring[1:]] + [(server, w) for w in ring[1:]]
    elif kind == "tree":
        pairs = []
        for i in range(1, p):
            parent = ring[(i - 1) // 2]
            pairs += [(ring[i], parent), (parent, ring[i])]
    else:
        raise ValueError(f"unknown collective {kind!r}; use 'ring', 'ps' or 'tree'")
    return [(s, d, demand_bytes_per_s) for s, d in pairs]


# --- power ------------------------------------------------------------------------------


