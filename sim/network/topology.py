"""Cluster topologies: networkx graphs of hosts, switches and full-duplex links.

What is modelled
----------------
A cluster network is an undirected ``networkx.Graph``. Every node has
``kind="host"`` or ``kind="switch"``; hosts are named ``"h0" .. "h{n-1}"`` (the
engine maps cluster node *i* to ``"h{i}"``). Every edge is a full-duplex link
with ``bandwidth_bytes_per_s`` (capacity in *each* direction) and
``latency_s`` (propagation + serialisation of the cable). Switches carry their
own forwarding latency as the node attribute ``latency_s``; hosts carry the
intra-node fabric (NVLink/NVSwitch, TPU ICI inside a board) as
``intra_bandwidth_bytes_per_s`` and their NIC count as ``nics``.

Builders (``kind`` in the scenario):

* ``single-switch``: every host on one non-blocking switch.
* ``leaf-spine``: two tiers; ``hosts_per_leaf`` hosts per leaf, every leaf
  linked to every spine. The leaf-to-spine link bandwidth follows from the
  oversubscription ratio r = (downlink bandwidth of a leaf) / (uplink bandwidth
  of a leaf), i.e. ``B_up = hosts_per_leaf * B_host / (r * spines)``. Each
  leaf-spine pair is one aggregated link (a bundle of cables at flow level).
* ``fat-tree``: the k-ary three-tier fat-tree of Al-Fares, Loukissas & Vahdat,
  "A scalable, commodity data center network architecture", SIGCOMM 2008:
  k pods of k/2 edge + k/2 aggregation switches, (k/2)^2 core switches,
  k^3/4 hosts, 5k^2/4 switches, all links of equal bandwidth.
* ``torus``: 2-D or 3-D torus with wrap-around links between hosts and no
  switches (TPU-pod style: Jouppi et al., "TPU v4", ISCA 2023).
* ``file``: a user's graph from GraphML or an edge list.

Defaults (sources; M = modelling assumption, not a measured figure):

* host link 400 Gb/s = 50e9 B/s: NVIDIA ConnectX-7 NDR InfiniBand adapter and
  the Quantum-2 QM9700 switch ports run at 400 Gb/s (NDR), docs.nvidia.com
  "QM97XX 1U NDR 400Gbps InfiniBand Switch Systems User Manual".
* switch latency 1 us (M): cut-through InfiniBand switches forward in
  ~0.1-0.3 us, datacenter Ethernet switches in ~0.5-1 us; 1 us is a
  conservative round figure.
* cable latency 50 ns (M): ~10 m of fibre at ~5 ns/m.
* intra-node fabric 450e9 B/s per direction: NVLink 4 on H100 SXM, 900 GB/s
  total bidirectional per GPU (NVIDIA H100 datasheet).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import networkx as nx

from sim.spec.network import (
    FatTreeTopology,
    FileTopology,
    LeafSpineTopology,
    SingleSwitchTopology,
    TopologyConfig,
    TorusTopology,
    _TopologyBase,
    parse_bandwidth,
)

# --- bandwidth parsing -------------------------------------------------------

BITS_PER_BYTE = 8.0










# --- defaults ------------------------------------------------------------------




















# --- builders -------------------------------------------------------------------


def host_name(i: int) -> str:
    return f"h{i}"


def build_topology(config: TopologyConfig, n_hosts: int) -> nx.Graph:
    """Build the network graph of ``n_hosts`` hosts for a topology config."""
    if n_hosts < 1:
        raise ValueError(f"a topology needs at least one host, got {n_hosts}")
    builders = {
        "single-switch": _single_switch,
        "leaf-spine": _leaf_spine,
        "fat-tree": _fat_tree,
        "torus": _torus,
        "file": _from_file,
    }
    g = builders[config.kind](config, n_hosts)
    g.graph["topology"] = config.kind
    return g


def _add_host(g: nx.Graph, i: int, cfg: _TopologyBase) -> str:
    name = host_name(i)
    g.add_node(name, kind="host", index=i, intra_bandwidth_bytes_per_s=cfg.intra_node_bandwidth)
    return name


def _add_switch(g: nx.Graph, name: str, cfg: _TopologyBase, tier: str) -> str:
    g.add_node(name, kind="switch", tier=tier, latency_s=cfg.switch_latency_s)
    return name


def _link(g: nx.Graph, u: str, v: str, bandwidth_bytes_per_s: float, latency_s: float) -> None:
    g.add_edge(u, v, bandwidth_bytes_per_s=float(bandwidth_bytes_per_s), latency_s=float(latency_s))


def _single_switch(cfg: SingleSwitchTopology, n_hosts: int) -> nx.Graph:
    g = nx.Graph()
    sw = _add_switch(g, "s0", cfg, "leaf")
    for i in range(n_hosts):
        _link(g, _add_host(g, i, cfg), sw, cfg.host_link_bandwidth, cfg.link_latency_s)
    return g


def leaf_uplink_bandwidth(cfg: LeafSpineTopology) -> float:
    """Bandwidth of one leaf-to-spine link: hosts_per_leaf * B_host / (r * spines)."""
    return cfg.hosts_per_leaf * cfg.host_link_bandwidth / (cfg.oversubscription * cfg.spines)


def _leaf_spine(cfg: LeafSpineTopology, n_hosts: int) -> nx.Graph:
    g = nx.Graph()
    n_leaves = math.ceil(n_hosts / cfg.hosts_per_leaf)
    spines = [_add_switch(g, f"spine{j}", cfg, "spine") for j in range(cfg.spines)]
    up_bw = leaf_uplink_bandwidth(cfg)
    for leaf_i in range(n_leaves):
        leaf = _add_switch(g, f"leaf{leaf_i}", cfg, "leaf")
        for spine in spines:
            _link(g, leaf, spine, up_bw, cfg.link_latency_s)
        first = leaf_i * cfg.hosts_per_leaf
        for i in range(first, min(first + cfg.hosts_per_leaf, n_hosts)):
            _link(g, _add_host(g, i, cfg), leaf, cfg.host_link_bandwidth, cfg.link_latency_s)
    return g


def fat_tree_k(n_hosts: int) -> int:
    """Smallest even k whose k-ary fat-tree holds n_hosts (k^3/4 >= n)."""
    k = 2
    while k**3 // 4 < n_hosts:
        k += 2
    return k


def _fat_tree(cfg: FatTreeTopology, n_hosts: int) -> nx.Graph:
    k = cfg.k if cfg.k is not None else fat_tree_k(n_hosts)
    if k**3 // 4 < n_hosts:
        raise ValueError(
            f"a fat-tree with k={k} holds {k**3 // 4} hosts, the cluster has {n_hosts}; "
            f"use k >= {fat_tree_k(n_hosts)} or leave k unset"
        )
    half = k // 2
    fabric_bw = cfg.link_bandwidth if cfg.link_bandwidth is not None else cfg.host_link_bandwidth
    lat = cfg.link_latency_s
    g = nx.Graph()
    g.graph["k"] = k
    cores = [[_add_switch(g, f"core{j}_{m}", cfg, "core") for m in range(half)] for j in range(half)]
    host = 0
    for pod in range(k):
        aggs = [_add_switch(g, f"agg{pod}_{j}", cfg, "aggregation") for j in range(half)]
        edges = [_add_switch(g, f"edge{pod}_{i}", cfg, "edge") for i in range(half)]
        for j, agg in enumerate(aggs):
            for core in cores[j]:
                _link(g, agg, core, fabric_bw, lat)
            for edge in edges:
                _link(g, edge, agg, fabric_bw, lat)
        for edge in edges:
            for _ in range(half):
                if host < n_hosts:
                    _link(g, _add_host(g, host, cfg), edge, cfg.host_link_bandwidth, lat)
                host += 1
    return g


def _torus(cfg: TorusTopology, n_hosts: int) -> nx.Graph:
    dims = list(cfg.dims)
    size = math.prod(dims)
    if size != n_hosts:
        raise ValueError(f"torus dims {dims} hold {size} hosts, the cluster has {n_hosts}")
    g = nx.Graph()
    g.graph["dims"] = dims
    for i in range(n_hosts):
        _add_host(g, i, cfg)
    strides = [math.prod(dims[d + 1 :]) for d in range(len(dims))]
    for i in range(n_hosts):
        coords = [(i // strides[d]) % dims[d] for d in range(len(dims))]
        for d, n_d in enumerate(dims):
            if n_d == 1:
                continue
            j = i + (((coords[d] + 1) % n_d) - coords[d]) * strides[d]
            _link(g, host_name(i), host_name(j), cfg.host_link_bandwidth, cfg.link_latency_s)
    return g


_HOST_NAME = re.compile(r"^h([0-9]+)$")


def _from_file(cfg: FileTopology, n_hosts: int) -> nx.Graph:
    path = Path(cfg.path)
    if not path.is_file():
        raise FileNotFoundError(f"topology file not found: {str(path)!r} (cluster.topology.path)")
    fmt = cfg.format or ("graphml" if path.suffix.lower() in {".graphml", ".xml"} else "edgelist")
    raw = nx.read_graphml(path) if fmt == "graphml" else _read_edgelist(path)
    g = nx.Graph()
    for node, data in raw.nodes(data=True):
        name = str(node)
        kind = data.get("kind") or ("host" if _HOST_NAME.match(name) else "switch")
        if kind not in ("host", "switch"):
            raise ValueError(f"{path}: node {name!r} has kind={kind!r}; use 'host' or 'switch'")
        if kind == "host":
            m = _HOST_NAME.match(name)
            if not m:
                raise ValueError(f"{path}: host {name!r} must be named 'h<index>' (h0, h1, ...)")
            intra = data.get("intra_bandwidth_bytes_per_s", cfg.intra_node_bandwidth)
            g.add_node(name, kind="host", index=int(m.group(1)),
                       intra_bandwidth_bytes_per_s=parse_bandwidth(intra))
        else:
            g.add_node(name, kind="switch", tier=data.get("tier", "switch"),
                       latency_s=float(data.get("latency_s", cfg.switch_latency_s)))
    for u, v, data in raw.edges(data=True):
        bw = data.get("bandwidth_bytes_per_s", data.get("bandwidth", cfg.host_link_bandwidth))
        try:
            bw_bytes_per_s = parse_bandwidth(bw)
        except ValueError as err:
            raise ValueError(f"{path}: edge {u}-{v}: {err}") from None
        _link(g, str(u), str(v), bw_bytes_per_s, float(data.get("latency_s", cfg.link_latency_s)))
    missing = [host_name(i) for i in range(n_hosts) if host_name(i) not in g]
    if missing:
        raise ValueError(
            f"{path}: the cluster has {n_hosts} hosts but the file lacks {len(missing)} of "
            f"h0..h{n_hosts - 1} (first missing: {missing[0]})"
        )
    extra = [n for n, d in g.nodes(data=True) if d["kind"] == "host" and d["index"] >= n_hosts]
    g.remove_nodes_from(extra)
    return g


def _read_edgelist(path: Path) -> nx.Graph:
    """Lines ``u v [bandwidth] [latency_s]``; '#' starts a comment."""
    g = nx.Graph()
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 2 or len(fields) > 4:
            raise ValueError(f"{path}:{lineno}: expected 'u v [bandwidth] [latency_s]', got {line!r}")
        data: dict[str, object] = {}
        if len(fields) >= 3:
            data["bandwidth"] = fields[2]
        if len(fields) == 4:
            data["latency_s"] = float(fields[3])
        g.add_edge(fields[0], fields[1], **data)
    return g


def hosts(graph: nx.Graph) -> list[str]:
    """Host names of a topology, in index order."""
    return sorted((n for n, d in graph.nodes(data=True) if d["kind"] == "host"),
                  key=lambda n: graph.nodes[n]["index"])


def switches(graph: nx.Graph) -> list[str]:
    return [n for n, d in graph.nodes(data=True) if d["kind"] == "switch"]
