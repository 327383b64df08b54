"""Model state, activations, layouts and the step roofline (sim/compute/memory.py, parallelism.py)."""

import pytest

from sim.catalog import load_catalog
from sim.compute.memory import TransformerShape, activation_bytes_per_layer, state_bytes
from sim.compute.parallelism import LayoutError, build_layout, plan, step_time_s

CAT = load_catalog()
LLAMA7 = TransformerShape(layers=32, hidden=4096, heads=32, sequence_length=4096)
GB = 1e9


def test_zero_stages_match_the_zero_paper_figure_1():
    """Rajbhandari et al. 2020 Fig. 1: 7.5B parameters on 64 GPUs, K = 12: 120 / 31.4 / 16.6 / 1.88 GB."""
    psi, d = 7.5e9, 64
    assert state_bytes(psi, 0, d) / GB == pytest.approx(120.0)
    assert state_bytes(psi, 1, d) / GB == pytest.approx(31.4, abs=0.05)
    assert state_bytes(psi, 2, d) / GB == pytest.approx(16.6, abs=0.05)
    assert state_bytes(psi, 3, d) / GB == pytest.approx(1.875)


def test_activations_per_layer_follow_korthikanti_2022():
    """Korthikanti et al. 2022 eq. (2): s b h (34 + 5 a s / h) without parallelism; 2 s b h with full recompute."""
    s, b, h, a = 4096, 1, 4096, 32
    assert activation_bytes_per_layer(LLAMA7, 1, flash_attention=False) == pytest.approx(s * b * h * (34 + 5 * a * s / h))
    assert activation_bytes_per_layer(LLAMA7, 1) == pytest.approx(34 * s * b * h)
    assert activation_bytes_per_layer(LLAMA7, 1, tp=8) == pytest.approx(34 * s * b * h / 8)
    assert activation_bytes_per_layer(LLAMA7, 1, recompute=True) == pytest.approx(2 * s * b * h)


def test_inferred_shapes_match_llama_7b_and_gpt3():
    assert TransformerShape.infer(6.7e9) == TransformerShape(layers=32, hidden=4096, heads=32, sequence_length=2048)
    gpt3 = TransformerShape.infer(175e9)
    assert (gpt3.layers, gpt3.hidden) == (96, 12288)


def test_175b_on_8_h100_is_refused_with_the_arithmetic():
    h100 = CAT.accelerator("h100")
    with pytest.raises(LayoutError) as e:
        plan(175e9, 8, 8, h100.memory_bytes, 1536, TransformerShape.infer(175e9), what="workload.jobs.0")
    msg = str(e.value)
    assert "workload.jobs.0" in msg
    assert "2,800 GB of model state" in msg  # 175e9 x 16 B
    assert "618 GB" in msg  # 8 x 0.9 x 85.9 GB


def test_175b_on_128_nodes_is_laid_out_with_tensor_parallelism_inside_a_node():
    h100 = CAT.accelerator("h100")
    lay = plan(175e9, 1024, 8, h100.memory_bytes, 1536, TransformerShape.infer(175e9))
    assert lay.fits and lay.tp == 8 and lay.tp * lay.pp * lay.dp == 1024
    assert lay.memory_bytes <= 0.9 * h100.memory_bytes


def test_a_given_pipeline_has_the_gpipe_bubble_and_its_own_traffic():
    h100 = CAT.accelerator("h100")
    lay = plan(70e9, 64, 8, h100.memory_bytes, 512, TransformerShape.infer(70e9, 4096), tp=8, pp=4)
    assert (lay.tp, lay.pp, lay.dp) == (8, 4, 2)
    m = lay.micro_batches  # 512 / 2 replicas, micro-batch 1 -> 256
    assert m == 256
    assert lay.bubble == pytest.approx(3 / (256 + 3))
    kinds = {(c.group, c.kind) for c in lay.collectives}
    assert {("data", "reduce-scatter") if lay.zero_stage else ("data", "all-reduce"),
            ("tensor", "all-reduce"), ("pipeline", "send-recv")} <= kinds
    pipe = next(c for c in lay.collectives if c.group == "pipeline")
    shape = TransformerShape.infer(70e9, 4096)
    assert pipe.bytes_per_step == pytest.approx(2 * m * 4096 * shape.hidden * 2 / 8)


def test_data_parallel_bytes_are_the_fp16_gradients_and_zero3_moves_half_again():
    """ZeRO paper Sec. 7: stages 1-2 move what an all-reduce moves (2 Psi); stage 3 moves 3 Psi."""
    h100 = CAT.accelerator("h100")
    base = build_layout(7e9, LLAMA7, 64, h100.memory_bytes, 4, 1, 1, 0, 1, False)
    z1 = build_layout(7e9, LLAMA7, 64, h100.memory_bytes, 4, 1, 1, 1, 1, False)
    z3 = build_layout(7e9, LLAMA7, 64, h100.memory_bytes, 4, 1, 1, 3, 1, False)
    assert base.bytes_per_step("data") == pytest.approx(2 * 7e9)
    assert z1.bytes_per_step("data") == pytest.approx(2 * 2 * 7e9)  # reduce-scatter + all-gather buffers
    assert z3.bytes_per_step("data") == pytest.approx(1.5 * z1.bytes_per_step("data"))


def test_a_layout_that_cannot_exist_is_refused_with_its_numbers():
    h100 = CAT.accelerator("h100")
    with pytest.raises(LayoutError, match="pp 3 does not divide 8"):
        plan(7e9, 8, 8, h100.memory_bytes, 8, LLAMA7, tp=1, pp=3)
    with pytest.raises(LayoutError, match="exceeds the 8 accelerators of a node"):
        plan(7e9, 16, 8, h100.memory_bytes, 8, LLAMA7, tp=16)


@pytest.mark.parametrize("key", ["h100", "h200", "b200"])
def test_memory_bound_step_time_is_bytes_over_bandwidth(key):
    """A 7B model, ZeRO-0, one 128-token sequence per GPU: HBM traffic (weights, Adam state) bounds the step."""
    acc = CAT.accelerator(key)
    shape = TransformerShape(32, 4096, 32, 128)
    lay = build_layout(7e9, shape, 8, 1e12, 1, 1, 1, 0, 1, False)  # capacity not the point here
    flops = 6 * 7e9 * 128
    t, mem_share = step_time_s(lay, flops, acc.peak_flops, acc.default_mfu, acc.memory_bandwidth_bytes_per_s)
    fb = 3 * 2 * 7e9 + 2 * 7e9 + 2 * lay.activation_bytes
    opt = (24 + 2 + 2) * 7e9
    bw = acc.memory_bandwidth_bytes_per_s * 0.8
    assert t == pytest.approx(max((fb + opt) / bw, flops / (acc.peak_flops * acc.default_mfu)))
    assert mem_share > 0.5


def test_h200_beats_h100_on_a_memory_bound_job_and_not_on_a_compute_bound_one():
    h100, h200, b200 = (CAT.accelerator(k) for k in ("h100", "h200", "b200"))
    small = build_layout(7e9, TransformerShape(32, 4096, 32, 128), 8, 1e12, 1, 1, 1, 0, 1, False)
    big = build_layout(7e9, TransformerShape(32, 4096, 32, 4096), 8, 1e12, 16, 1, 1, 0, 16, False)

    def t(acc, lay, tokens):
        return step_time_s(lay, 6 * 7e9 * tokens, acc.peak_flops, 0.4, acc.memory_bandwidth_bytes_per_s)[0]

    # memory-bound: time ~ bytes / bandwidth, so H200 is ~3.35/4.8 of H100
    assert t(h200, small, 128) / t(h100, small, 128) == pytest.approx(3.35 / 4.8, rel=0.05)
    assert t(b200, small, 128) < t(h200, small, 128)
    # compute-bound (16 x 4096 tokens per GPU): same peak, nearly the same time
    assert t(h200, big, 65536) / t(h100, big, 65536) == pytest.approx(1.0, abs=0.1)
