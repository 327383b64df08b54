"""Training physics through the engine (issue 13): memory, layouts, power by phase, scale-out.

Sources of each expectation are named in the tests; the formulas are those of
sim/compute/power.py, memory.py and parallelism.py, checked by hand here.
"""

from __future__ import annotations

import pytest
from wattsim_testing import tiny_scenario

from sim import load_scenario, simulate
from sim.catalog import load_catalog
from sim.spec.scenario import ScenarioError

CAT = load_catalog()
SINGLE_SWITCH = {"kind": "single-switch"}


def _run(cluster: dict, job: dict, **sections):
    doc = tiny_scenario(cluster=cluster, workload={"jobs": [job]}, duration="until-done", **sections)
    return simulate(load_scenario(doc)).jobs.iloc[0]


def test_175b_on_8_h100_is_refused_at_load_with_the_memory_arithmetic():
    doc = tiny_scenario(cluster={"nodes": 1, "node_type": "dgx-h100"},
                        workload={"jobs": [{"accelerators": 8, "model": "gpt3-175b", "tokens": 1e9}]})
    with pytest.raises(ScenarioError) as e:
        load_scenario(doc)
    msg = str(e.value)
    assert msg.startswith("workload.jobs.0: does not fit in memory.")
    assert "2,800 GB of model state" in msg and "618 GB" in msg and "\n" not in msg


def test_175b_on_128_h100_nodes_loads_with_tensor_parallelism():
    doc = tiny_scenario(cluster={"nodes": 128, "node_type": "dgx-h100"},
                        workload={"jobs": [{"accelerators": 1024, "model": "gpt3-175b", "tokens": 1e9}]})
    load_scenario(doc)  # no error: TP 8 inside each node, ZeRO over the 128 replicas


def test_a_given_layout_is_checked_with_its_dotted_path():
    doc = tiny_scenario(workload={"jobs": [{"accelerators": 16, "model": "llama-7b", "tokens": 1e9,
                                            "parallelism": {"tensor": 16}}]})
    with pytest.raises(ScenarioError, match=r"workload.jobs.0: tp 16 exceeds the 8 accelerators of a node"):
        load_scenario(doc)
    doc["workload"]["jobs"][0]["parallelism"] = {"tensor": 8, "pipeline": 2, "zero_stage": 1}
    load_scenario(doc)


@pytest.mark.parametrize("bad", [{"zero_stage": 4}, {"tensor": 0}, {"tp": 2}])
def test_bad_parallelism_keys_are_refused(bad):
    doc = tiny_scenario(workload={"jobs": [{"accelerators": 8, "model": "llama-7b", "tokens": 1e9,
                                            "parallelism": bad}]})
    with pytest.raises(ScenarioError, match=r"workload.jobs.0.parallelism"):
        load_scenario(doc)


def test_h200_and_b200_beat_h100_on_a_memory_bound_job():
    """LLaMA-7B with 256 tokens per GPU per step: the bytes of a step outweigh its FLOPs on an H100.

    By hand (ZeRO-1 over 8 GPUs): FLOPs/step = 256 x 6 x 6.7e9 = 1.03e13 -> 26.0 ms at 0.40 x 989 TFLOP/s;
    HBM bytes = 8 x 6.7e9 (weights x3, gradients) + activations + 28 x 6.7e9 / 8 (Adam) -> ~ 77 GB:
    28.7 ms at 0.8 x 3.35 TB/s (memory-bound), 20.0 ms at 0.8 x 4.8 TB/s (H200: compute-bound).
    """
    t = {}
    e = {}
    for nt in ("dgx-h100", "dgx-h200", "dgx-b200"):
        j = _run({"nodes": 1, "node_type": nt},
                 {"accelerators": 8, "model": "llama-7b", "tokens": 1e9, "batch_per_accelerator": 256})
        t[nt], e[nt] = j.jct_s, j.it_energy_kwh
    assert t["dgx-h100"] / t["dgx-h200"] == pytest.approx(1.37, abs=0.02)
    assert t["dgx-b200"] < t["dgx-h200"] < t["dgx-h100"]
    assert e["dgx-h200"] < e["dgx-h100"]
    # the same job at a large batch is compute-bound: H200 = H100 (same die, same peak)
    big = {nt: _run({"nodes": 1, "node_type": nt},
                    {"accelerators": 8, "model": "llama-7b", "tokens": 1e9, "batch_per_accelerator": 8192}).jct_s
           for nt in ("dgx-h100", "dgx-h200")}
    assert big["dgx-h200"] == pytest.approx(big["dgx-h100"], rel=1e-9)


def test_scale_out_at_a_fixed_global_batch_lowers_power_per_accelerator():
    """LLaMA-7B, 2^20-token global batch, on 1, 8 and 64 DGX H100 behind one switch.

    Per-accelerator power follows the compute share a (Choukse et al. 2025:
    compute phases near TDP, communication phases near idle):
    P = a x 620 + (1 - a) x 152.5 + 300 W host share (+ the switch share).
    As the per-GPU batch shrinks from 131,072 to 2,048 tokens the all-reduce
    of 13.4 GB of gradients is amortised over less compute: a falls, power per
    GPU falls, and energy per token rises.
    """
    g = 2 ** 20
    rows = []
    for nodes in (1, 8, 64):
        n = 8 * nodes
        rows.append(_run({"nodes": nodes, "node_type": "dgx-h100", "topology": SINGLE_SWITCH},
                         {"accelerators": n, "model": "llama-7b", "tokens": 2e10, "batch_per_accelerator": g // n},
                         plant={"step": "3600s"}))
    power = [r.power_per_accelerator_w for r in rows]
    wait = [r.comm_wait_share for r in rows]
    energy = [r.it_energy_kwh for r in rows]
    assert power[0] > power[1] > power[2]
    assert wait[0] < wait[1] < wait[2]
    assert energy[0] < energy[1] < energy[2]
    for r in rows:  # the phase formula, the switch's share aside (< 3 %: at 8 nodes one 64-port
        # switch, 400 W + 64 ports x 13.1 W, over 64 GPUs is ~20 W each; sim/spec/network.py)
        a = 1.0 - r.comm_wait_share
        assert r.power_per_accelerator_w == pytest.approx(a * 620 + (1 - a) * 152.5 + 300, rel=0.03)
    assert power[2] / power[0] == pytest.approx(0.82, abs=0.02)
    assert [round(e, 1) for e in energy] == [520.4, 548.5, 682.3]  # docs/training.md, scale-out table
    assert [round(p) for p in power] == [918, 911, 771]


def test_a_job_written_as_parameters_and_tokens_models_communication():
    """The README's `model: {parameters, tokens}` form gets the default batch (2,048 tokens per GPU),
    so its step has communication (before issue 13 it had none: spread = packed to 1.000x).

    By hand, packed on one DGX H100: a ring all-reduce of 2 x 7e9 B of bf16 gradients on NVLink,
    2 x 7/8 x 14e9 / 450e9 = 54 ms, against 2,048 x 6 x 7e9 / (0.40 x 989e12) = 217 ms of compute:
    a compute share of 0.80. (How much slower the spread job is depends on the bandwidth a lone GPU
    gets from its node's NICs: the network model's business.)
    """
    job = {"accelerators": 8, "model": {"parameters": 7e9, "tokens": 2e9}}
    packed = _run({"nodes": 8, "node_type": "dgx-h100", "topology": SINGLE_SWITCH}, job)
    spread = _run({"nodes": 8, "node_type": "dgx-h100", "topology": SINGLE_SWITCH},
                  job, scheduler={"placement": "spread"})
    t_c = 2048 * 6 * 7e9 / (0.40 * 989e12)
    t_comm = 2 * 7 / 8 * 14e9 / 450e9
    assert packed.comm_wait_share == pytest.approx(t_comm / (t_c + t_comm), rel=0.02)
    assert spread.jct_s > packed.jct_s
    assert spread.comm_wait_share > packed.comm_wait_share


def test_gamma_is_settable_per_preset_and_per_job():
    base = {"accelerators": 8, "model": "llama-7b", "tokens": 1e9}
    cluster = {"nodes": 1, "node_type": "dgx-h100", "power_cap_w": 400}
    f = ((400 - 70) / 550) ** (1 / 3)
    free = _run({"nodes": 1, "node_type": "dgx-h100"}, base).jct_s
    assert _run(cluster, base).jct_s / free == pytest.approx(f ** -0.3, rel=1e-6)
    assert _run(cluster, {**base, "gamma": 0.8}).jct_s / free == pytest.approx(f ** -0.8, rel=1e-6)
    doc_catalog = {"models": {"llama-7b-cb": {"based_on": "llama-7b", "name": "compute-bound", "gamma": 1.0}}}
    j = _run(cluster, {**base, "model": "llama-7b-cb"}, catalog=doc_catalog)
    assert j.jct_s / free == pytest.approx(1 / f, rel=1e-6)


def test_useful_work_efficiency_prefers_the_energy_optimal_batch():
    """ResNet-50 with batch_scaling: samples_per_kwh counts the samples the job needs (S_min), so
    batch 4,096 no longer beats batch 256 by processing the extra samples a large batch costs."""
    eff = {}
    for b in (256, 4096):
        j = _run({"nodes": 1, "node_type": "dgx-h100", "topology": SINGLE_SWITCH},
                 {"accelerators": 8, "model": "resnet50", "samples": 1e8, "batch_per_accelerator": b,
                  "batch_scaling": True}, plant={"step": "3600s"})
        eff[b] = j.samples_per_kwh
        assert j.samples_per_kwh == pytest.approx(1e8 / j.it_energy_kwh, rel=1e-9)  # S_min per kWh
    assert eff[256] > 2 * eff[4096]
