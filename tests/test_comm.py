"""The network inside the engine (sim/network/fabric.py): collectives as flows, shares, power.

Numbers are derived by hand from the alpha-beta formulas of docs/network.md and
the step model of docs/training.md; the spread-vs-packed figure is compared
with Gavel's measurements (see the test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.engine.world import World
from sim.network.flows import hierarchical_allreduce_time, ring_allreduce_time
from sim.spec.scenario import ScenarioError
from sim.spec.workload import JobSpec
from sim.workload.jobs import job_from_spec

PEAK_H100 = 989e12  # sim/catalog/accelerators.yaml
MODEL = {"parameters": 1e9, "flops_per_sample": 1e12, "gradient_bytes": 4e9}
HOST_LINK = 50e9  # B/s, set in the topology so the figures do not depend on the catalog
INTRA = 450e9


def _two_level(**extra):
    """A leaf-spine with one host per leaf: every inter-node flow crosses leaf -> spine -> leaf."""
    return {"kind": "leaf-spine", "hosts_per_leaf": 1, "spines": 1, "oversubscription": 2,
            "host_link_bandwidth": HOST_LINK, "intra_node_bandwidth": INTRA, **extra}


def test_ring_allreduce_time_matches_alpha_beta_through_the_engine():
    # 16 GPUs on 2 DGX H100 nodes, flat ring; uplink = 1 host x 50e9 / (2 x 1 spine) = 25e9 B/s
    b, samples, mfu = 4, 16 * 4 * 100, 0.5
    doc = tiny_scenario(
        cluster={"nodes": 2, "node_type": "dgx-h100", "topology": _two_level()},
        network={"collective": "ring"},
        workload={"jobs": [{"accelerators": 16, "model": MODEL, "samples": samples,
                            "batch_per_accelerator": b, "mfu": mfu}]},
        duration="until-done",
    )
    r = simulate(load_scenario(doc))
    t_compute = b * 1e12 / (PEAK_H100 * mfu)
    # path h0 -> leaf0 -> spine0 -> leaf1 -> h1: 4 cables of 50 ns + 3 switches of 1 us
    latency = 4 * 50e-9 + 3 * 1e-6
    t_comm = 2 * 15 * latency + 2 * 15 / 16 * 4e9 / 25e9
    assert t_comm == pytest.approx(ring_allreduce_time(16, 4e9, 25e9, latency))
    steps = samples / (16 * b)
    assert r.jobs.end_s[0] == pytest.approx(steps * (t_compute + t_comm), rel=1e-9)
    assert r.jobs.comm_wait_share[0] == pytest.approx(t_comm / (t_compute + t_comm), rel=1e-9)


def _world(nodes: int, topology: dict, **sections) -> World:
    doc = tiny_scenario(cluster={"nodes": nodes, "node_type": "dgx-h100", "topology": topology},
                        duration="2h", **sections)
    return World(load_scenario(doc))


def _job(world: World, jid: int, samples: float, b: int = 4):
    spec = JobSpec(accelerators=8, model=MODEL, samples=samples, batch_per_accelerator=b, mfu=0.5)
    job = job_from_spec(jid, spec, world.catalog, world.nodes[0].accelerator)
    world.jobs.append(job)
    return job


def test_two_jobs_on_one_bottleneck_get_half_each_and_a_disjoint_job_is_unaffected():
    # leaves of 2 hosts, 1 spine, oversubscription 2: each leaf uplink = 2 x 50e9 / 2 = 50e9 B/s.
    # A: h0+h2 and B: h1+h3 both cross leaf0 -> spine -> leaf1 (and back): 25e9 each.
    # C: h4+h5 under leaf2 only: its host links, 50e9.
    topo = {"kind": "leaf-spine", "hosts_per_leaf": 2, "spines": 1, "oversubscription": 2,
            "host_link_bandwidth": HOST_LINK, "intra_node_bandwidth": INTRA}
    w = _world(6, topo)
    n = w.nodes
    a, b_, c = _job(w, 0, 8 * 4 * 200), _job(w, 1, 8 * 4 * 400), _job(w, 2, 8 * 4 * 400)
    w.runtime.start(a, [(n[0], 4), (n[2], 4)])
    w.runtime.start(b_, [(n[1], 4), (n[3], 4)])
    w.runtime.start(c, [(n[4], 4), (n[5], 4)])
    w.env.run(until=1e-9)  # the instant's flow changes are committed once
    assert w.comm.net.bandwidth(0) == pytest.approx(25e9)
    assert w.comm.net.bandwidth(1) == pytest.approx(25e9)
    assert w.comm.net.bandwidth(2) == pytest.approx(50e9)
    w.env.run(until=3600)

    t_c = 4 * 1e12 / (PEAK_H100 * 0.5)
    lat_far = 4 * 50e-9 + 3e-6  # h -> leaf -> spine -> leaf -> h
    lat_near = 2 * 50e-9 + 1e-6  # h -> leaf -> h

    def step(bw, lat):
        return t_c + hierarchical_allreduce_time(2, 4, 4e9, INTRA, bw, 2e-6, lat)

    end_a = 200 * step(25e9, lat_far)
    # B: 200 steps at half the uplink while A runs, then the rest at the whole uplink
    done_b = end_a / step(25e9, lat_far)
    end_b = end_a + (400 - done_b) * step(50e9, lat_far)
    end_c = 400 * step(50e9, lat_near)
    assert a.end_s == pytest.approx(end_a, rel=1e-9)
    assert b_.end_s == pytest.approx(end_b, rel=1e-9)
    assert c.end_s == pytest.approx(end_c, rel=1e-9)
    assert end_b < 400 * step(25e9, lat_far)  # B sped up when A left


def test_energy_balance_holds_with_network_channels():
    doc = tiny_scenario(
        cluster={"nodes": 4, "node_type": "dgx-h100",
                 "topology": {"kind": "leaf-spine", "hosts_per_leaf": 2, "spines": 2}},
        workload={"jobs": [{"accelerators": 16, "model": "bert-large", "samples": 2e7},
                           {"accelerators": 12, "model": "resnet50", "samples": 3e8, "submit": "30min"},
                           {"accelerators": 4, "model": "gpt2-1.5b", "tokens": 2e9, "mode": "async"}]},
        cooling={"model": "constant-pue", "pue": 1.2},
        duration="6h",
        output={"interval": "15min"},
    )
    r = simulate(load_scenario(doc))
    ts = r.timeseries
    assert (ts.network_power_w > 0).all()
    parts = ts.accelerator_power_w + ts.host_power_w + ts.network_power_w
    np.testing.assert_allclose(ts.it_power_w, parts + ts.get("background_power_w", 0.0), rtol=1e-9)
    np.testing.assert_allclose(
        ts.facility_power_w, ts.it_power_w + ts.cooling_power_w + ts.losses_power_w, rtol=1e-9)
    # by hand (sim/spec/network.py NetworkPowerModel defaults; DGX H100 host link 8 x 400G = 8 ports):
    # leaf: 2 hosts x 8 down + 2 spines x 8 up (2 x 400e9 / 2 spines = 400e9 B/s each) = 32 ports;
    # spine: 2 leaves x 8 = 16 ports; all fit one 64-port switch each -> 4 x 400 W chassis;
    # 2 x 32 + 2 x 16 = 96 ports x (11.5 pJ/bit x 400e9 bit/s = 4.6 W electrical + 8.5 W optics);
    # NICs inside host power -> 1,600 + 96 x 13.1 = 2,857.6 W static for 6 h = 17.1456 kWh. The traffic
    # part, 2 pJ/bit x 8 bit/B x ingress, is at most 96 ports x 50e9 B/s -> 76.8 W, 0.4608 kWh over 6 h.
    static_kwh = (4 * 400 + 96 * (4.6 + 8.5)) * 6 / 1000
    assert static_kwh <= r.summary["network_energy_kwh"] <= static_kwh + 96 * 50e9 * 8 * 2e-12 * 6 / 1000
    assert r.summary["network_energy_kwh"] > static_kwh  # the jobs' traffic adds energy per bit
    assert r.summary["jobs_completed"] == 3


def test_network_off_makes_communication_free_and_books_no_power():
    base = {"nodes": 2, "node_type": "dgx-h100", "topology": _two_level()}
    job = {"accelerators": 16, "model": MODEL, "samples": 6400, "batch_per_accelerator": 4, "mfu": 0.5}
    on = simulate(load_scenario(tiny_scenario(cluster=base, workload={"jobs": [job]}, duration="until-done")))
    off = simulate(load_scenario(tiny_scenario(cluster=base, workload={"jobs": [job]}, duration="until-done",
                                               network={"model": "off"})))
    t_compute = 100 * 4 * 1e12 / (PEAK_H100 * 0.5)
    assert off.jobs.end_s[0] == pytest.approx(t_compute)
    assert on.jobs.end_s[0] > t_compute
    assert off.summary["network_energy_kwh"] == 0.0
    assert on.summary["network_energy_kwh"] > 0.0


def test_single_node_job_uses_the_intra_node_fabric_only():
    doc = tiny_scenario(
        cluster={"nodes": 2, "node_type": "dgx-h100", "topology": _two_level()},
        workload={"jobs": [{"accelerators": 8, "model": MODEL, "samples": 3200,
                            "batch_per_accelerator": 4, "mfu": 0.5}]},
        duration="until-done",
    )
    w = World(load_scenario(doc)).run()
    t_c = 4 * 1e12 / (PEAK_H100 * 0.5)
    t_comm = ring_allreduce_time(8, 4e9, INTRA, 2e-6)
    assert w.jobs[0].end_s == pytest.approx(100 * (t_c + t_comm), rel=1e-9)
    assert w.comm.net.owners == []  # no flow ever stayed on the network


def test_spreading_an_8_gpu_job_over_8_nodes_slows_it_like_gavel_unconsolidated():
    """Packed (1 node) vs spread (8 nodes x 1 GPU), Transformer-big on 8x V100 servers.

    Figure matched: Gavel (Narayanan et al., OSDI 2020) measured unconsolidated
    8-GPU V100 jobs at about 0.3-0.5x the throughput of consolidated ones, for
    communication-heavy models such as the Transformer. We model that setup: a
    V100 server (NVLink 2, 150 GB/s) on a 25 Gb/s cloud Ethernet link (AWS
    p3.16xlarge class), the Transformer preset (213M parameters, fp32
    gradients 852 MB, 4,096 tokens per GPU), ring all-reduce, no overlap:
    compute 4096 x 1.278e9 / (125e12 x 0.197) = 0.213 s per step; packed
    all-reduce 2 x 7/8 x 852e6 / 150e9 = 0.010 s; spread 2 x 7/8 x 852e6 /
    3.125e9 = 0.477 s, so throughput 0.223 / 0.690 = 0.32x, inside Gavel's band.
    """
    def run(placement: str):
        doc = tiny_scenario(
            cluster={"nodes": 8, "node_type": "dgx-1-v100",
                     "topology": {"kind": "single-switch", "host_link_bandwidth": "25Gbps"}},
            network={"collective": "ring"},
            scheduler={"placement": placement},
            workload={"jobs": [{"accelerators": 8, "model": "transformer-big", "tokens": 2e9}]},
            duration="until-done",
        )
        return simulate(load_scenario(doc)).jobs.iloc[0]

    packed, spread = run("packed"), run("spread")
    assert len(packed.nodes) == 1 and len(spread.nodes) == 8
    throughput_ratio = packed.end_s / spread.end_s
    assert 0.3 <= throughput_ratio <= 0.5
    assert spread.it_energy_kwh > 1.5 * packed.it_energy_kwh
    # waiting on the network draws less per GPU, for longer
    assert spread.comm_wait_share > 0.6 > packed.comm_wait_share
    assert spread.power_per_accelerator_w < packed.power_per_accelerator_w


def test_scenario_keys_are_checked():
    doc = tiny_scenario(network={"collective": "butterfly"})
    with pytest.raises(ScenarioError, match="network.collective"):
        load_scenario(doc)
    doc = tiny_scenario(cluster={"nodes": 2, "topology": {"kind": "leaf-spine", "oversubscripton": 2}})
    with pytest.raises(ScenarioError, match="oversubscripton"):
        load_scenario(doc)
    assert math.isfinite(load_scenario(tiny_scenario()).network.overlap)


def test_switch_energy_is_charged_to_the_jobs_whose_traffic_crosses_it():
    # one 16-GPU BERT-large job over 2 nodes on one switch, then the fabric idles: while the
    # job runs, the switch's whole draw is the job's; after, it is unattributed overhead
    doc = tiny_scenario(duration="4h", cluster={"nodes": 2, "node_type": "dgx-h100",
                                                "topology": {"kind": "single-switch"}},
                        workload={"jobs": [{"name": "bert", "accelerators": 16, "model": "bert-large",
                                            "samples": 2.0e6}]})
    world = World(load_scenario(doc)).run()
    job = world.jobs[0]
    assert job.state.value == "completed" and job.end_s < 4 * 3600
    m = world.meter
    window = np.array([job.start_s, job.end_s])
    groups = {
        "switch": [c.index for c in m.channels if c.category == "network" and c.name != "net:nics"],
        "nodes": [c.index for c in m.channels if c.category in ("accelerator", "host")],
    }
    assert len(groups["switch"]) == 1
    during = {k: float(v[0]) for k, v in m.binned(window, groups).items()}
    assert during["switch"] > 0
    # both nodes are the job's alone while it runs, and so is the switch: the job is
    # charged exactly their energy over its run, nothing before or after
    # (its own power history on the job, its share of the switch in the ledger)
    assert job.it_energy_j == pytest.approx(during["nodes"], rel=1e-9)
    assert m.attributed_j[job.id] == pytest.approx(during["switch"], rel=1e-9)
