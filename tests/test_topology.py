"""Topology builders, the scenario's topology section, bandwidth parsing."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest
from pydantic import ValidationError

from sim.network.topology import build_topology, fat_tree_k, hosts, leaf_uplink_bandwidth, switches
from sim.spec.network import (
    DEFAULT_HOST_LINK_BYTES_PER_S,
    FatTreeTopology,
    FileTopology,
    LeafSpineTopology,
    SingleSwitchTopology,
    TorusTopology,
    parse_bandwidth,
    parse_topology,
)

# --- bandwidth strings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bytes_per_s"),
    [
        ("400Gbps", 50e9),  # NDR: 400 Gb/s = 50 GB/s
        ("400 Gb/s", 50e9),
        ("400Gbit/s", 50e9),
        ("50GB/s", 50e9),
        ("50GBps", 50e9),
        ("100 Mb/s", 12.5e6),
        ("1.6Tbps", 200e9),
        ("1GiB/s", 2.0**30),
        ("2.5e9", 2.5e9),
        ("0", 0.0),
        (1e9, 1e9),
        (7, 7.0),
    ],
)
def test_bandwidth_strings_parse_to_bytes_per_s(text: str | float, bytes_per_s: float) -> None:
    assert parse_bandwidth(text) == pytest.approx(bytes_per_s)


@pytest.mark.parametrize("bad", ["-5Gbps", -1.0, "-1e9"])
def test_negative_bandwidth_is_refused(bad: str | float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        parse_bandwidth(bad)


@pytest.mark.parametrize("bad", ["fast", "400G", "400 Gbps/s", "", "Gbps"])
def test_unknown_bandwidth_strings_name_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a bandwidth.*400Gbps"):
        parse_bandwidth(bad)


def test_bool_is_not_a_bandwidth() -> None:
    with pytest.raises(TypeError):
        parse_bandwidth(True)


def test_scenario_bandwidth_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="host_link_bandwidth") as err:
        parse_topology({"kind": "single-switch", "host_link_bandwidth": "-400Gbps"})
    assert "non-negative" in str(err.value)
    with pytest.raises(ValidationError, match="host_link_bandwidth"):
        parse_topology({"kind": "single-switch", "host_link_bandwidth": 0})


def test_topology_kind_is_a_discriminator_and_unknown_keys_are_refused() -> None:
    cfg = parse_topology({"kind": "leaf-spine", "oversubscription": 2, "host_link_bandwidth": "200Gbps"})
    assert isinstance(cfg, LeafSpineTopology)
    assert cfg.host_link_bandwidth == 25e9
    assert isinstance(parse_topology({"kind": "torus", "dims": [2, 2]}), TorusTopology)
    with pytest.raises(ValidationError, match="kind"):
        parse_topology({"kind": "mesh"})
    with pytest.raises(ValidationError, match="oversubscribe"):
        parse_topology({"kind": "leaf-spine", "oversubscribe": 2})
    with pytest.raises(ValidationError, match="even"):
        parse_topology({"kind": "fat-tree", "k": 5})
    with pytest.raises(ValidationError, match="dims"):
        parse_topology({"kind": "torus", "dims": [2, 2, 2, 2]})


# --- builders ------------------------------------------------------------------


def _check_attributes(g: nx.Graph, n_hosts: int) -> None:
    assert hosts(g) == [f"h{i}" for i in range(n_hosts)]
    for _, data in g.nodes(data=True):
        assert data["kind"] in ("host", "switch")
    for _, _, data in g.edges(data=True):
        assert data["bandwidth_bytes_per_s"] > 0
        assert data["latency_s"] >= 0


def test_default_host_link_is_ndr_400_gbps() -> None:
    # ConnectX-7 / Quantum-2 NDR: 400 Gb/s per port = 50e9 B/s
    assert DEFAULT_HOST_LINK_BYTES_PER_S == 50e9


def test_single_switch_links_every_host_to_one_switch() -> None:
    g = build_topology(SingleSwitchTopology(), 5)
    _check_attributes(g, 5)
    assert switches(g) == ["s0"]
    assert g.degree("s0") == 5


def test_fat_tree_k4_has_16_hosts_and_20_switches() -> None:
    # Al-Fares et al. 2008: k^3/4 hosts, 5k^2/4 switches; links k^3/4 per tier = 3 * 16
    g = build_topology(FatTreeTopology(k=4), 16)
    _check_attributes(g, 16)
    assert len(switches(g)) == 20
    assert g.number_of_edges() == 48
    assert all(g.degree(s) == 4 for s in switches(g))


def test_fat_tree_with_fewer_hosts_uses_the_first_ones() -> None:
    g = build_topology(FatTreeTopology(k=4), 10)
    _check_attributes(g, 10)
    # no empty pod, no edge switch without hosts: pods of k^2/4 = 4 hosts -> 3 pods (4 + 4 + 2 hosts),
    # edges of k/2 = 2 hosts -> 2 + 2 + 1; aggregation 2 per pod; the (k/2)^2 = 4 cores stay
    assert len(switches(g)) == 4 + 3 * 2 + 5
    assert all(g.degree(s) > 0 for s in switches(g))
    assert nx.is_connected(g)


def test_fat_tree_picks_the_smallest_even_k_that_fits() -> None:
    assert fat_tree_k(16) == 4
    assert fat_tree_k(17) == 6  # 6^3/4 = 54
    assert fat_tree_k(8000) == 32  # 32^3/4 = 8192
    g = build_topology(FatTreeTopology(), 17)
    assert g.graph["k"] == 6
    # 17 hosts in pods of 9: 2 pods, edge switches of 3 hosts: 3 + 3; 3 aggregation per pod; 9 cores
    assert len(switches(g)) == 9 + 2 * 3 + 6
    _check_attributes(g, 17)


def test_fat_tree_too_small_for_the_cluster_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"k=4 holds 16 hosts.*k >= 6"):
        build_topology(FatTreeTopology(k=4), 17)


def test_leaf_spine_oversubscription_is_downlink_over_uplink_bandwidth() -> None:
    cfg = LeafSpineTopology(hosts_per_leaf=8, spines=2, oversubscription=3, host_link_bandwidth="400Gbps")
    g = build_topology(cfg, 20)  # 3 leaves, the last one partly filled
    _check_attributes(g, 20)
    leaves = [s for s in switches(g) if s.startswith("leaf")]
    assert len(leaves) == 3
    down = sum(d["bandwidth_bytes_per_s"] for _, v, d in g.edges("leaf0", data=True) if v.startswith("h"))
    up = sum(d["bandwidth_bytes_per_s"] for _, v, d in g.edges("leaf0", data=True) if v.startswith("spine"))
    assert down / up == pytest.approx(3.0)
    # 8 * 50e9 / (3 * 2) per uplink
    assert leaf_uplink_bandwidth(cfg) == pytest.approx(8 * 50e9 / 6)


def test_torus_2d_links_each_host_to_four_neighbours() -> None:
    g = build_topology(TorusTopology(dims=[4, 4]), 16)
    _check_attributes(g, 16)
    assert switches(g) == []
    assert g.number_of_edges() == 32
    assert all(d == 4 for _, d in g.degree())
    assert g.has_edge("h0", "h3")  # wrap-around in the last dimension
    assert g.has_edge("h0", "h12")  # wrap-around in the first dimension


def test_torus_3d_and_size_mismatch() -> None:
    g = build_topology(TorusTopology(dims=[3, 3, 3]), 27)
    assert all(d == 6 for _, d in g.degree())
    assert g.number_of_edges() == 27 * 3
    with pytest.raises(ValueError, match=r"torus dims \[4, 4\] hold 16 hosts, the cluster has 8"):
        build_topology(TorusTopology(dims=[4, 4]), 8)


def test_missing_topology_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.graphml"
    with pytest.raises(FileNotFoundError, match="nope.graphml"):
        build_topology(FileTopology(path=str(missing)), 2)


def test_edge_list_file_with_bandwidth_strings(tmp_path: Path) -> None:
    path = tmp_path / "net.txt"
    path.write_text("# two hosts on a switch\nh0 sw 400Gbps 1e-7\nh1 sw 200Gbps\nh2 sw\n")
    g = build_topology(FileTopology(path=str(path)), 2)  # h2 is beyond the cluster: dropped
    assert hosts(g) == ["h0", "h1"]
    assert g.nodes["sw"]["kind"] == "switch"
    assert g.edges["h0", "sw"]["bandwidth_bytes_per_s"] == 50e9
    assert g.edges["h0", "sw"]["latency_s"] == 1e-7
    assert g.edges["h1", "sw"]["bandwidth_bytes_per_s"] == 25e9
    with pytest.raises(ValueError, match=r"lacks 1 of h0..h3 \(first missing: h3\)"):
        build_topology(FileTopology(path=str(path)), 4)


def test_graphml_file_round_trip(tmp_path: Path) -> None:
    src = build_topology(FatTreeTopology(k=4), 16)
    path = tmp_path / "ft.graphml"
    nx.write_graphml(src, path)
    g = build_topology(FileTopology(path=str(path)), 16)
    _check_attributes(g, 16)
    assert len(switches(g)) == 20
    assert g.number_of_edges() == 48
    assert math.isclose(g.edges["h0", "edge0_0"]["bandwidth_bytes_per_s"], 50e9)


def test_bad_edge_bandwidth_in_file_names_the_edge(tmp_path: Path) -> None:
    path = tmp_path / "net.txt"
    path.write_text("h0 sw -3Gbps\n")
    with pytest.raises(ValueError, match=r"edge h0-sw: bandwidth must be non-negative"):
        build_topology(FileTopology(path=str(path)), 1)
