"""Network power from radix, ports and bandwidth; switch counts; one NIC per accelerator.

Figures are derived by hand from `sim.spec.network.NetworkPowerModel` (calibrated on the
NVIDIA Quantum-2 QM9700 datasheet: 64 x 400 Gb/s, 747 W typical with passive cables,
1,720 W maximum) and the radix arithmetic of `sim.network.topology`; the switch count of a
128-node cluster is the NVIDIA DGX SuperPOD (DGX H100) reference architecture's.
"""

from __future__ import annotations

import math

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.compute.parallelism import DEFAULT_TOKENS_PER_ACCELERATOR
from sim.engine.world import World
from sim.network.flows import Network, Router, hierarchical_allreduce_time, ring_allreduce_time
from sim.network.power import network_power_w
from sim.network.topology import build_topology, switches
from sim.spec.network import NetworkPowerModel, parse_topology

NDR = 50e9  # B/s: one 400 Gb/s port (ConnectX-7, QM9700)
DGX_H100_LINK = 8 * NDR  # sim/catalog/node_types.yaml: 8 x ConnectX-7 400G
PORT_W = 11.5e-12 * 400e9 + 8.5  # electrical (SerDes, MAC) + optics per 400G port, W


def _units(g) -> dict[str, int]:
    return {s: g.nodes[s]["units"] for s in switches(g)}


def _leaf_spine(nodes: int, **cfg):
    return build_topology(parse_topology({"kind": "leaf-spine", "host_link_bandwidth": DGX_H100_LINK,
                                          "port_bandwidth": NDR, **cfg}), nodes)


def test_one_node_cluster_gets_one_switch_and_its_network_is_a_small_share_of_it():
    """One DGX H100 on the default leaf-spine: one leaf, no spine (it was 1 leaf + 4 spines, 35 % of IT).

    By hand: 8 NIC ports -> 8 switch ports -> 1 physical switch: 400 W chassis + 8 x (4.6 W
    electrical + 8.5 W optics) = 504.8 W; an 8-GPU job on one node sends nothing over the
    network, so no traffic term. The node draws ~7-8 kW training, so the network is ~6-7 %.
    """
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100", "topology": {"kind": "leaf-spine"}},
                        workload={"jobs": [{"accelerators": 8, "model": "llama-7b", "tokens": 1e12}]},
                        duration="2h", output={"interval": "1h"}, plant={"step": "60s"})
    world = World(load_scenario(doc)).run()
    assert switches(world.topology) == ["leaf0"]
    r = simulate(load_scenario(doc))
    ts = r.timeseries
    assert ts.network_power_w.to_numpy() == pytest.approx(400 + 8 * PORT_W)
    share = (ts.network_power_w / ts.it_power_w).to_numpy()
    assert (share < 0.08).all() and (share > 0.04).all()


def test_switch_counts_follow_the_radix_arithmetic():
    # DGX SuperPOD (DGX H100) reference architecture, compute fabric of 4 scalable units
    # (127-128 nodes, 8 x NDR per node, non-blocking): 32 leaf + 16 spine QM9700 (64 ports).
    # Here: a leaf of 32 hosts has 32 x 8 = 256 down + 256 up ports -> 8 switches; 4 leaves -> 32;
    # spines: 4 x 256 uplink ports / 64 = 16.
    g = _leaf_spine(128)
    units = _units(g)
    assert sum(v for s, v in units.items() if s.startswith("leaf")) == 32
    assert sum(v for s, v in units.items() if s.startswith("spine")) == 16
    # 2:1 oversubscribed: 256 down + 128 up = 384 ports -> 6 per leaf (24); 512 uplinks -> 8 spines
    g2 = _leaf_spine(128, oversubscription=2)
    assert sum(_units(g2).values()) == 24 + 8
    # 33 nodes: leaf0 full (8 switches), leaf1 one host (8 down + 8 up -> 1); uplinks 264 -> 5 spines
    assert sum(_units(_leaf_spine(33)).values()) == 8 + 1 + 5
    # one node, one leaf, no spine; 32 nodes still one leaf (4 physical switches for 256 ports)
    assert _units(_leaf_spine(1)) == {"leaf0": 1}
    assert _units(_leaf_spine(32)) == {"leaf0": 4}


@pytest.mark.parametrize("nodes", [1, 7, 33, 128, 300])
def test_no_modelled_switch_carries_more_than_its_physical_switches_can(nodes):
    g = _leaf_spine(nodes, oversubscription=2)
    for s in switches(g):
        carried = sum(d["bandwidth_bytes_per_s"] for _, _, d in g.edges(s, data=True))
        assert carried <= g.nodes[s]["units"] * 64 * NDR * (1 + 1e-9)
        assert carried > (g.nodes[s]["units"] - 1) * 64 * NDR  # and no spare (phantom) switch


def test_fat_tree_switches_are_one_physical_switch_each_when_a_link_is_one_port():
    g = build_topology(parse_topology({"kind": "fat-tree", "k": 4, "host_link_bandwidth": NDR,
                                       "port_bandwidth": NDR}), 16)
    assert set(_units(g).values()) == {1}
    power = network_power_w(NetworkPowerModel(), Network(g, Router(g)))
    # 20 switches x (400 W + 4 ports x 13.1 W), no traffic
    assert power["total"] == pytest.approx(20 * (400 + 4 * PORT_W))


def test_switch_power_scales_with_port_speed():
    """An 800 Gb/s port (Spectrum-4 SN5600, 64 x 800G) draws twice a 400 Gb/s port's electrical and optics."""
    def idle_switch_w(port_gbps: float) -> float:
        port = port_gbps * 1e9 / 8
        g = build_topology(parse_topology({"kind": "single-switch", "host_link_bandwidth": port,
                                           "port_bandwidth": port}), 64)
        return network_power_w(NetworkPowerModel(), Network(g, Router(g)))["s0"]

    assert idle_switch_w(400) == pytest.approx(400 + 64 * PORT_W)
    assert idle_switch_w(800) - 400 == pytest.approx(2 * (idle_switch_w(400) - 400))


def _job_bandwidth(placement: str, accelerators: int) -> float:
    doc = tiny_scenario(cluster={"nodes": 8, "node_type": "dgx-h100", "topology": {"kind": "leaf-spine"}},
                        scheduler={"placement": placement}, duration="1h",
                        workload={"jobs": [{"accelerators": accelerators, "model": "llama-7b", "tokens": 1e12}]})
    world = World(load_scenario(doc)).run()
    return world.comm.net.bandwidth(0)


def test_a_lone_gpu_of_a_spread_job_gets_one_nic_not_the_whole_node():
    # 8 GPUs spread over 8 DGX H100 (8 ConnectX-7 each): one GPU per node holds one NIC, 400 Gb/s
    assert _job_bandwidth("spread", 8) == pytest.approx(NDR)
    # 16 GPUs packed on 2 nodes: every NIC of both nodes, 8 x 400 Gb/s
    assert _job_bandwidth("packed", 16) == pytest.approx(DGX_H100_LINK)


PEAK_H100 = 989e12  # sim/catalog/accelerators.yaml
LLAMA_7B = {"parameters": 6.7e9, "flops_per_sample": 4.02e10, "gradient_bytes": 13.4e9}  # models.yaml


@pytest.mark.parametrize(("form", "batch"), [
    ({"model": "llama-7b", "tokens": 8 * 8192 * 200}, 8192),  # the preset's reference batch
    # the README's form: default batch DEFAULT_TOKENS_PER_ACCELERATOR (sim/workload/jobs.py)
    ({"model": {"parameters": 6.7e9, "tokens": 8 * 2048 * 200}}, DEFAULT_TOKENS_PER_ACCELERATOR),
])
def test_spreading_a_7b_job_slows_it_by_the_alpha_beta_figure_in_any_job_form(form, batch):
    """LLaMA-7B data parallel on 8 H100s: one DGX H100 (NVLink) vs one GPU on each of 8 (one NIC each).

    By hand (docs/training.md step model, no overlap, MFU 0.4), b tokens per GPU per step:
    compute b x 4.02e10 / (989e12 x 0.4) (0.833 s at b = 8,192, 0.208 s at 2,048); packed ring
    over NVLink 2 x 7/8 x 13.4e9 / 450e9 = 0.052 s; spread ring over one 400G NIC per GPU
    2 x 7/8 x 13.4e9 / 50e9 = 0.469 s -> spread takes 1.47x (b = 8,192) or 2.60x (b = 2,048)
    as long. Published range: Gavel (Narayanan et al., OSDI 2020) measured unconsolidated
    multi-GPU jobs at 0.3-1.0x the throughput of consolidated ones (slowdown 1-3.3x), and NCCL's
    inter-node bus bandwidth per GPU on 400G InfiniBand (~50 GB/s) is about 1/9 of NVLink 4's
    450 GB/s, the ratio used here. With the node's whole 3.2 Tb/s per GPU (the old model) spread
    would be ~1.00x.
    """
    def end_s(placement: str) -> float:
        doc = tiny_scenario(cluster={"nodes": 8, "node_type": "dgx-h100", "topology": {"kind": "leaf-spine"}},
                            scheduler={"placement": placement}, duration="until-done",
                            workload={"jobs": [{"accelerators": 8, "mfu": 0.4, **form}]})
        return float(simulate(load_scenario(doc)).jobs.end_s[0])

    assert batch in (8192, 2048)
    t_c = batch * 4.02e10 / (PEAK_H100 * 0.4)
    packed = t_c + ring_allreduce_time(8, 13.4e9, 450e9, 2e-6)
    a_out = 2 * 50e-9 + 1e-6  # h -> leaf -> h
    spread = t_c + hierarchical_allreduce_time(8, 1, 13.4e9, 450e9, NDR, 2e-6, a_out)
    ratio = end_s("spread") / end_s("packed")
    assert ratio == pytest.approx(spread / packed, rel=1e-6)
    assert 1.0 < ratio < 3.3
    assert math.isclose(spread / packed, {8192: 1.47, 2048: 2.60}[batch], rel_tol=0.01)
