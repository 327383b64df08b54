"""Routing, max-min fair sharing, collectives (alpha-beta) and network power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.network.flows import (
    Network,
    Router,
    collective_flows,
    hierarchical_allreduce_time,
    max_min_fair,
    parameter_server_time,
    ring_allreduce_time,
    tree_allreduce_time,
)
from sim.network.power import network_power_w
from sim.network.topology import build_topology
from sim.spec.network import (
    FatTreeTopology,
    LeafSpineTopology,
    NetworkPowerModel,
    SingleSwitchTopology,
    TorusTopology,
)

GB = 1e9
INF = math.inf


def _two_leaves(oversubscription: float) -> Network:
    """2 leaves x 2 hosts, one spine, 400 Gb/s host links (50e9 B/s)."""
    cfg = LeafSpineTopology(hosts_per_leaf=2, spines=1, oversubscription=oversubscription)
    g = build_topology(cfg, 4)
    return Network(g, Router(g, ecmp=True))


# --- collectives on a two-level topology ------------------------------------------


def test_ring_allreduce_matches_alpha_beta_on_two_level_topology() -> None:
    # Uplink = hosts_per_leaf * B_host / (r * spines) = 2 * 50e9 / (4 * 1) = 25e9 B/s, so
    # the two ring edges that cross the spine (h1->h2, h3->h0) are the bottleneck.
    net = _two_leaves(oversubscription=4)
    net.set_flows("job", collective_flows(["h0", "h1", "h2", "h3"], "ring"))
    assert net.bandwidth("job") == pytest.approx(25 * GB)
    assert sorted(net.flow_rates("job")) == pytest.approx([25 * GB, 25 * GB, 50 * GB, 50 * GB])
    # Crossing path h1-leaf0-spine0-leaf1-h2: 4 cables x 50 ns + 3 switches x 1 us
    alpha_s = 4 * 50e-9 + 3 * 1e-6
    assert net.latency_s("job") == pytest.approx(alpha_s)
    size_bytes = 1e9
    # 2(p-1) a + 2(p-1)/p S/B with p = 4: 6 a + 1.5 * 1e9 / 25e9 = 6 a + 0.06 s
    expected_s = 6 * alpha_s + 0.06
    t = ring_allreduce_time(4, size_bytes, net.bandwidth("job"), net.latency_s("job"))
    assert t == pytest.approx(expected_s, rel=1e-12)


def test_ring_allreduce_degenerate_cases() -> None:
    assert ring_allreduce_time(1, 1e9, 1e9, 1e-6) == 0.0
    assert ring_allreduce_time(8, 0.0, 1e9, 1e-6) == 0.0
    # p = 2: 2 a + S/B
    assert ring_allreduce_time(2, 1e9, 1e9, 1e-3) == pytest.approx(2e-3 + 1.0)


def test_tree_allreduce_is_two_log_p_steps() -> None:
    # Thakur et al. 2005: binomial reduce + broadcast, 2 ceil(log2 p) (a + S/B)
    assert tree_allreduce_time(8, 1e6, 1e9, 1e-6) == pytest.approx(6 * (1e-6 + 1e-3))
    assert tree_allreduce_time(5, 1e6, 1e9, 0.0) == pytest.approx(6 * 1e-3)
    assert tree_allreduce_time(1, 1e6, 1e9, 1e-6) == 0.0


def test_hierarchical_allreduce_by_hand() -> None:
    # 2 DGX-like nodes x 8 GPUs, 1 GB, NVLink 450e9 B/s, 8 x 400G NICs = 400e9 B/s per node
    g, n, s = 8, 2, 1e9
    intra, inter, a_in, a_out = 450e9, 400e9, 1e-6, 5e-6
    by_hand = (2 * (7 * a_in + 7 / 8 * s / intra)  # reduce-scatter + all-gather in the node
               + 2 * 1 * a_out + 2 * 1 / 2 * s / inter)  # ring over 2 nodes
    assert hierarchical_allreduce_time(n, g, s, intra, inter, a_in, a_out) == pytest.approx(by_hand)


def test_hierarchical_allreduce_reduces_to_ring() -> None:
    assert hierarchical_allreduce_time(1, 8, 1e9, 450e9, 50e9, 1e-6, 5e-6) == pytest.approx(
        ring_allreduce_time(8, 1e9, 450e9, 1e-6))
    assert hierarchical_allreduce_time(16, 1, 1e9, 450e9, 50e9, 1e-6, 5e-6) == pytest.approx(
        ring_allreduce_time(16, 1e9, 50e9, 5e-6))


def test_parameter_server_bottleneck_is_the_server_link() -> None:
    # 4 workers x 100 MB through a 50e9 B/s server link: 4e8 / 50e9 = 8 ms per direction
    assert parameter_server_time(4, 1e8, 50e9, 50e9, 1e-5) == pytest.approx(2 * (1e-5 + 8e-3))
    # one worker on a slower link than the server: the worker's link limits
    assert parameter_server_time(1, 1e8, 50e9, 10e9, 0.0) == pytest.approx(2 * 1e-2)


def test_collective_flows() -> None:
    assert collective_flows(["a", "b", "c"]) == [("a", "b", INF), ("b", "c", INF), ("c", "a", INF)]
    assert collective_flows(["a", "b"]) == [("a", "b", INF), ("b", "a", INF)]
    assert collective_flows(["a", "a", "b", "b"]) == [("a", "b", INF), ("b", "a", INF)]
    assert collective_flows(["a", "a"]) == []
    assert collective_flows(["a"]) == []
    ps = collective_flows(["s", "w1", "w2"], "ps", demand_bytes_per_s=5.0)
    assert sorted(ps) == sorted([("w1", "s", 5.0), ("w2", "s", 5.0), ("s", "w1", 5.0), ("s", "w2", 5.0)])
    tree = collective_flows(["r", "x", "y", "z"], "tree")
    assert len(tree) == 6 and ("z", "x", INF) in tree
    with pytest.raises(ValueError, match="unknown collective"):
        collective_flows(["a", "b"], "butterfly")  # type: ignore[arg-type]


# --- sharing ---------------------------------------------------------------------------


def test_two_jobs_share_a_bottleneck_a_third_on_a_disjoint_path_is_unaffected() -> None:
    # oversubscription 2: uplink = 2 * 50e9 / 2 = 50e9 B/s, one per direction (full duplex)
    net = _two_leaves(oversubscription=2)
    assert net.set_flows("a", [("h0", "h2", INF)]) == {"a"}
    assert net.bandwidth("a") == pytest.approx(50 * GB)
    assert net.set_flows("b", [("h1", "h3", INF)]) == {"a", "b"}
    assert net.bandwidth("a") == pytest.approx(25 * GB)
    assert net.bandwidth("b") == pytest.approx(25 * GB)
    # the reverse direction of the same cables is a disjoint set of directed links
    assert net.set_flows("c", [("h3", "h1", INF)]) == {"c"}
    assert net.bandwidth("c") == pytest.approx(50 * GB)
    assert net.bandwidth("a") == pytest.approx(25 * GB)
    util = net.link_utilization()
    assert util[("leaf0", "spine0")] == pytest.approx(1.0)
    assert util[("h0", "leaf0")] == pytest.approx(0.5)
    # b leaves: a gets the whole uplink again, c is unaffected
    assert net.remove("b") == {"a"}
    assert net.bandwidth("a") == pytest.approx(50 * GB)
    assert net.remove("b") == set()


def test_unchanged_flow_set_does_not_recompute() -> None:
    net = _two_leaves(oversubscription=2)
    flows = collective_flows(["h0", "h1", "h2", "h3"])
    net.set_flows("j", flows)
    n = net.recomputations
    assert net.set_flows("j", list(reversed(flows))) == set()
    assert net.recomputations == n
    assert net.set_flows("idle", []) == {"idle"}
    assert net.bandwidth("idle") == math.inf
    assert net.recomputations == n


def test_demand_caps_leave_the_rest_to_others() -> None:
    net = _two_leaves(oversubscription=2)
    net.set_flows("slow", [("h0", "h2", 10 * GB)])
    net.set_flows("fast", [("h1", "h3", INF)])
    assert net.bandwidth("slow") == pytest.approx(10 * GB)
    assert net.bandwidth("fast") == pytest.approx(40 * GB)


def test_max_min_fair_textbook_example() -> None:
    # Bertsekas & Gallager sec. 6.5.2 style: links A (cap 1) and B (cap 2);
    # f0 on A and B, f1 on A, f2 and f3 on B. A saturates first: f0 = f1 = 0.5,
    # then f2 = f3 share the rest of B: (2 - 0.5) / 2 = 0.75.
    rates = max_min_fair([(["A", "B"], INF), (["A"], INF), (["B"], INF), (["B"], INF)],
                         {"A": 1.0, "B": 2.0})
    assert rates == pytest.approx([0.5, 0.5, 0.75, 0.75])
    assert max_min_fair([([], 3.0)], {"A": 1.0}) == pytest.approx([3.0])
    assert max_min_fair([(["A"], INF)], {"A": 0.0}) == pytest.approx([0.0])


@st.composite
def _flow_sets(draw: st.DrawFn) -> tuple[list[tuple[list[int], float]], dict[int, float]]:
    n_links = draw(st.integers(1, 8))
    caps = draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0, 10.0]), st.floats(0.01, 100.0)),
                         min_size=n_links, max_size=n_links))
    flows = draw(st.lists(
        st.tuples(st.sets(st.integers(0, n_links - 1), max_size=4).map(sorted),
                  st.one_of(st.just(INF), st.floats(0.0, 50.0), st.sampled_from([1.0, 2.0]))),
        max_size=25))
    return [(list(p), d) for p, d in flows], dict(enumerate(caps))


@settings(max_examples=400, deadline=None)
@given(_flow_sets())
def test_allocation_is_max_min_fair_and_within_capacity(
    case: tuple[list[tuple[list[int], float]], dict[int, float]],
) -> None:
    flows, capacity = case
    rates = max_min_fair(flows, capacity)
    tol = 1e-9
    load = dict.fromkeys(capacity, 0.0)
    for (path, _), r in zip(flows, rates):
        for lk in path:
            load[lk] += r
    for lk, cap in capacity.items():
        assert load[lk] <= cap * (1 + tol) + 1e-12, "a link is over capacity"
    for i, ((path, demand), r) in enumerate(zip(flows, rates)):
        assert 0 <= r <= demand * (1 + tol) + 1e-12
        if r >= demand * (1 - tol):
            continue  # demand-capped
        # otherwise some link on its path is saturated and r is the largest rate there
        assert any(
            load[lk] >= capacity[lk] * (1 - tol) - 1e-12
            and all(r >= rates[j] * (1 - tol) - 1e-12
                    for j, (p, _) in enumerate(flows) if lk in p)
            for lk in path
        ), f"flow {i} is neither demand-capped nor bottlenecked"


# --- routing ---------------------------------------------------------------------------


def test_ecmp_spreads_flows_deterministically_over_equal_cost_paths() -> None:
    g = build_topology(FatTreeTopology(k=4), 16)
    router = Router(g, ecmp=True)
    paths = {tuple(router.path("h0", "h15", key)) for key in range(64)}
    assert len(paths) == 4  # (k/2)^2 = 4 cores between pods
    assert all(len(p) == 6 for p in paths)  # host-edge-agg-core-agg-edge-host
    again = Router(build_topology(FatTreeTopology(k=4), 16), ecmp=True)
    assert again.path("h0", "h15", "job-7") == router.path("h0", "h15", "job-7")
    static = Router(g, ecmp=False)
    assert len({tuple(static.path("h0", "h15", key)) for key in range(64)}) == 1
    assert router.path("h3", "h3") == []
    nodes = router.path_nodes("h0", "h1")
    assert nodes == ["h0", "edge0_0", "h1"]


def test_torus_routes_take_the_wrap_around() -> None:
    g = build_topology(TorusTopology(dims=[4, 4]), 16)
    router = Router(g)
    assert len(router.path("h0", "h3")) == 1
    assert len(router.path("h0", "h2")) == 2
    assert len(router.path("h0", "h10")) == 4
    assert router.latency_s("h0", "h3") == pytest.approx(50e-9)  # one cable, no switch


def test_ring_on_a_fat_tree_shares_by_ecmp_collisions_only() -> None:
    g = build_topology(FatTreeTopology(k=4), 16)
    net = Network(g, Router(g))
    net.set_flows("a", collective_flows(["h0", "h4", "h8", "h12"]))
    rates = net.flow_rates("a")
    assert len(rates) == 4
    assert np.all(rates <= 50 * GB * (1 + 1e-12))
    assert net.bandwidth("a") == pytest.approx(rates.min())


# --- power ------------------------------------------------------------------------------


def test_network_power_by_hand() -> None:
    g = build_topology(SingleSwitchTopology(), 4)
    net = Network(g, Router(g))
    net.set_flows("j", [("h0", "h1", INF)])  # 50e9 B/s through s0
    assert net.active_ports() == 4  # h0 and h1 NIC ports + their two switch ports
    assert net.active_ports("s0") == 2
    power = network_power_w(NetworkPowerModel(), net)
    # sim/spec/network.py NetworkPowerModel defaults: 4 ports (400G) -> 1 physical switch, 400 W chassis
    # + 4 ports x 11.5 pJ/bit x 400e9 bit/s (4.6 W each) + 4 optics x 8.5 W + 2 pJ/bit x 400e9 bit/s ingress
    assert power["s0"] == pytest.approx(400 + 4 * 4.6 + 4 * 8.5 + 0.8)
    # NICs and their optics are inside the node types' host power by default
    assert power["nics"] == 0.0
    assert power["total"] == pytest.approx(453.2)
    with_nics = network_power_w(NetworkPowerModel(nic_w=20, host_port_w=8.5), net)
    assert with_nics["nics"] == pytest.approx(4 * (20 + 8.5))  # one 400G NIC port per host
    sleepy = network_power_w(NetworkPowerModel(port_idle_w=0.0), net)
    assert sleepy["s0"] == pytest.approx(400 + 4 * 4.6 + 2 * 8.5 + 0.8)
    net.remove("j")
    assert net.active_ports() == 0
    assert network_power_w(NetworkPowerModel(), net)["s0"] == pytest.approx(400 + 4 * 4.6 + 4 * 8.5)
