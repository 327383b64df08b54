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
  of a leaf), i.e. ``B_up = hosts on the leaf * B_host / (r * spines)``. Each
  leaf-spine pair is one aggregated link (a bundle of cables at flow level).
  One leaf needs no spine; otherwise the spines follow from the uplink ports
  and the switch radix (`leaf_spine_spines`).

Every builder ends with `annotate_ports`: each link is a bundle of physical
ports (ceil(bandwidth / port speed)), and each modelled switch stands for
ceil(ports / radix) physical switches (``units``), which is what its power
scales with (`sim.network.power`).
* ``fat-tree``: the k-ary three-tier fat-tree of Al-Fares, Loukissas & Vahdat,
  "A scalable, commodity data center network architecture", SIGCOMM 2008:
  k pods of k/2 edge + k/2 aggregation switches, (k/2)^2 core switches,
  k^3/4 hosts, 5k^2/4 switches, all links of equal bandwidth. A smaller
  cluster gets only the pods and edge switches that hold its hosts (the
  core stays whole), so no switch stands empty.
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
    annotate_ports(g, config.port_bandwidth, config.switch_radix)
    return g


def annotate_ports(graph: nx.Graph, port_bytes_per_s: float, radix: int) -> None:
    """Physical ports and switches behind the modelled graph (in place).

    A link of bandwidth B is a bundle of B / (port speed) cables, each taking
    one port at either end (a DGX H100 host link of 8 x 400 Gb/s is 8 ports at
    the leaf and 8 NIC ports at the host). The link keeps that share as
    ``ports`` (a bundle aggregated over several spines may hold a fraction);
    each node gets ``ports`` = ceil(the sum over its links), a switch
    ``units`` = ceil(ports / radix), the physical switches it stands for, and
    a host ``nics`` = its ports. `sim.network.power` books power from these.
    """
    graph.graph["port_bandwidth_bytes_per_s"] = float(port_bytes_per_s)
    graph.graph["switch_radix"] = int(radix)
    totals: dict[str, float] = {n: 0.0 for n in graph.nodes}
    for u, v, data in graph.edges(data=True):
        ports = float(data["bandwidth_bytes_per_s"]) / port_bytes_per_s
        data["ports"] = ports
        totals[u] += ports
        totals[v] += ports
    for n, data in graph.nodes(data=True):
        ports = math.ceil(totals[n] - 1e-6) if totals[n] > 0 else 0
        data["ports"] = ports
        if data["kind"] == "switch":
            data["units"] = math.ceil(ports / radix)
        else:
            data["nics"] = ports


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


def leaf_uplink_bandwidth(cfg: LeafSpineTopology, hosts_on_leaf: int | None = None,
                          spines: int | None = None) -> float:
    """Bandwidth of one leaf-to-spine link: hosts on the leaf * B_host / (r * spines).

    ``hosts_on_leaf`` defaults to a full leaf (``hosts_per_leaf``), ``spines``
    to the configured count (1 when derived and not given).
    """
    n = cfg.hosts_per_leaf if hosts_on_leaf is None else hosts_on_leaf
    planes = spines if spines is not None else (cfg.spines or 1)
    return n * cfg.host_link_bandwidth / (cfg.oversubscription * planes)


#: most spine planes modelled when ``spines`` is derived (each then stands for several switches)
MAX_DERIVED_SPINES = 16


def leaf_spine_spines(cfg: LeafSpineTopology, n_hosts: int) -> int:
    """Modelled spines of a leaf-spine of ``n_hosts`` hosts (0 with a single leaf).

    Derived (``spines`` unset): the physical spines the leaves' uplink ports
    need, ceil(sum of uplink ports / radix), at most `MAX_DERIVED_SPINES`.
    A leaf's uplink ports: ceil(hosts on it * B_host / (r * port speed)).
    """
    n_leaves = math.ceil(n_hosts / cfg.hosts_per_leaf)
    if n_leaves <= 1:
        return 0
    if cfg.spines is not None:
        return cfg.spines
    up_ports = 0
    for leaf_i in range(n_leaves):
        on_leaf = min(cfg.hosts_per_leaf, n_hosts - leaf_i * cfg.hosts_per_leaf)
        up_ports += on_leaf * cfg.host_link_bandwidth / (cfg.oversubscription * cfg.port_bandwidth)
    return max(1, min(MAX_DERIVED_SPINES, math.ceil(up_ports / cfg.switch_radix - 1e-9)))


def _leaf_spine(cfg: LeafSpineTopology, n_hosts: int) -> nx.Graph:
    g = nx.Graph()
    n_leaves = math.ceil(n_hosts / cfg.hosts_per_leaf)
    n_spines = leaf_spine_spines(cfg, n_hosts)
    spines = [_add_switch(g, f"spine{j}", cfg, "spine") for j in range(n_spines)]
    for leaf_i in range(n_leaves):
        leaf = _add_switch(g, f"leaf{leaf_i}", cfg, "leaf")
        first = leaf_i * cfg.hosts_per_leaf
        on_leaf = min(cfg.hosts_per_leaf, n_hosts - first)
        if spines:
            up_bw = leaf_uplink_bandwidth(cfg, on_leaf, n_spines)
            for spine in spines:
                _link(g, leaf, spine, up_bw, cfg.link_latency_s)
        for i in range(first, first + on_leaf):
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
    pods = math.ceil(n_hosts / (half * half))  # no empty pods, no edge switch without hosts
    for pod in range(pods):
        aggs = [_add_switch(g, f"agg{pod}_{j}", cfg, "aggregation") for j in range(half)]
        n_edges = min(half, math.ceil((n_hosts - host) / half))
        edges = [_add_switch(g, f"edge{pod}_{i}", cfg, "edge") for i in range(n_edges)]
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
