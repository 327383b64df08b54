"""Replica figures: KV cache, memory fit, prefill FLOPs, decode steps in closed form, power per phase.

Numbers derived by hand from the catalog (H100: 989e12 FLOP/s dense BF16,
80 GiB = 85.90e9 B HBM at 3.35e12 B/s, idle 70 W, busy 620 W; DGX H100 host
1,300 W idle / 2,400 W busy for 8 GPUs) and sim/serving/architectures.yaml
(Llama 3.1 70B: 70.55e9 parameters, 80 layers, 8 KV heads of 128).
"""

from __future__ import annotations

import math

import pytest
from serving_testing import perf

from sim.serving.architectures import find_model
from sim.serving.perf import DecodeRun, DeploymentError


def test_kv_bytes_per_token_of_a_70b_gqa_model_is_320_kib():
    # 2 (K, V) x 80 layers x 8 KV heads x 128 head dim x 2 bytes = 327,680 B (vLLM paper, section 2)
    assert find_model("llama-3.1-70b").kv_bytes_per_token(2.0) == 327_680.0
    # GPT-3 175B, multi-head: 2 x 96 x 96 x 128 x 2 = 4,718,592 B = 4.5 MiB per token
    assert find_model("gpt3-175b").kv_bytes_per_token(2.0) == 4_718_592.0


def test_kv_capacity_is_the_hbm_left_after_the_weights():
    p = perf(tensor_parallel=4)
    # 0.9 x 4 x 85.90e9 = 309.24e9 B; weights 70.55e9 x 2 = 141.1e9 B; (309.24 - 141.1)e9 / 327,680 = 513,122.6
    assert p.weight_bytes == pytest.approx(141.1e9)
    assert p.kv_capacity_tokens == math.floor((0.9 * 4 * 85.90e9 - 141.1e9) / 327_680)
    assert p.kv_capacity_tokens == 513_122


def test_a_model_that_does_not_fit_is_refused_with_the_dotted_path():
    # 405B in bf16 = 811.8 GB of weights; 8 x H100 at 0.9 hold 618.5 GB
    with pytest.raises(DeploymentError, match=r"^serving\.tensor_parallel: 8 is not allowed: llama-3\.1-405b needs 811\.8 GB"):
        perf(model="llama-3.1-405b", tensor_parallel=8)
    with pytest.raises(DeploymentError, match=r"serving\.tensor_parallel: 16 .* dgx-h100 has 8 accelerators"):
        perf(tensor_parallel=16)


def test_prefill_flops_count_matmuls_and_causal_attention():
    p = perf()
    # 2 N p + 2 L w p (p + 1), w = 64 x 128 = 8192
    assert p.prefill_flops(1000) == pytest.approx(2 * 70.55e9 * 1000 + 2 * 80 * 8192 * 1000 * 1001)
    # a long prompt is compute-bound: time = FLOPs / (0.5 x 4 x 989e12)
    fl = p.prefill_flops(4000)
    assert p.prefill_time(fl, 4000) == pytest.approx(fl / (0.5 * 4 * 989e12))
    # a one-token prompt is bound by reading the weights: 141.1e9 B / (0.8 x 4 x 3.35e12 B/s) = 13.16 ms
    assert p.prefill_time(p.prefill_flops(1), 1) == pytest.approx((141.1e9 + 327_680) / (0.8 * 4 * 3.35e12))


def _brute(c0, c1, m0, m1, n):
    return sum(max(c0 + c1 * k, m0 + m1 * k) for k in range(n))


@pytest.mark.parametrize("lines", [
    (1.0, 0.01, 2.0, 0.001),   # memory first, compute overtakes at k = 112
    (3.0, 0.0, 2.0, 0.02),     # compute first, memory overtakes at k = 50
    (1.0, 0.001, 2.0, 0.001),  # parallel: memory always
    (2.0, 0.002, 1.0, 0.001),  # compute always
])
def test_decode_run_time_is_the_exact_sum_of_step_times_and_inverts(lines):
    run = DecodeRun.of(*lines)
    for n in (0, 1, 7, 49, 50, 51, 111, 112, 113, 400):
        assert run.time(n) == pytest.approx(_brute(*lines, n), rel=1e-12, abs=1e-12)
    for dt in (0.0, 0.5, 1.0, 1.9999, 2.0, 57.3, 123.456, 1000.0):
        n = run.steps_within(dt)
        assert run.time(n) <= dt + 1e-12 < run.time(n + 1)


def test_decode_step_reads_weights_and_the_batch_kv_cache():
    p = perf()
    # batch 8 holding 8 x 1,500 tokens: memory (141.1e9 + 327,680 x 12,000) / 10.72e12 B/s
    mem = (141.1e9 + 327_680 * 12_000) / (0.8 * 4 * 3.35e12)
    comp = (2 * 70.55e9 * 8 + 4 * 80 * 8192 * 12_000) / (0.5 * 4 * 989e12)
    assert p.step_time(8, 12_000) == pytest.approx(max(mem, comp))
    assert mem > comp  # decode is memory-bound at small batch (Splitwise, ISCA'24, section III)


def test_power_per_phase_prefill_near_busy_decode_lower_and_rising_with_batch():
    # the training physics' phase model (sim.compute.power): D(u) = P_floor + (P_busy - P_floor) u / u_ref,
    # H100: P_floor = 70 + 0.6 x 550 = 400 W, P_busy = 620 W at u_ref = 0.4 (the catalog's default_mfu)
    p = perf()
    assert p.prefill_w == pytest.approx(400 + 220 * 0.5 / 0.4)  # 675 W of 700: near the limit (Splitwise)
    # decode at batch 1: u = 0.5 x (2 N / F_dec) / (W / B) = 0.5 x 7.134e-5 s / 13.16 ms = 0.00271
    u = 0.5 * (2 * 70.55e9 / (0.5 * 4 * 989e12)) / (141.1e9 / (0.8 * 4 * 3.35e12))
    assert p.decode_utilisation(1) == pytest.approx(u, rel=1e-12)
    assert p.decode_power_w(1) == pytest.approx(400 + 220 * u / 0.4, rel=1e-12)  # 401.5 W: well below TDP
    w = [p.decode_power_w(b) for b in (1, 16, 64, 256, 1024)]
    assert w == sorted(w) and w[-1] == pytest.approx(675.0)  # compute-bound at a large batch: as prefill
    assert p.host_busy_w == 2400 / 2 and p.host_idle_w == 1300 / 2  # TP=4: half a DGX H100 host


def test_a_decode_power_cap_above_the_decode_draw_does_nothing_and_below_it_lowers_the_clock():
    free = perf()
    high = perf(decode_power_cap_w=450)
    assert high.decode_power_w(1) == free.decode_power_w(1)  # Ma et al. 2026: in decode no cap ever triggers
    low = perf(decode_power_cap_w=300)
    assert low.decode_power_w(1) == pytest.approx(300.0)
    # cube law: f = ((300 - 70) / (401.5 - 70))^(1/3) = 0.885
    assert low.decode_clock_for(1) == pytest.approx(((300 - 70) / (free.decode_power_w(1) - 70)) ** (1 / 3))
    # memory-bound step: a lower SM clock does not slow it (DynamoLLM; Maliakel et al. 2025: decode
    # "largely insensitive to GPU frequency")
    assert low.step_time(1, 2000) == pytest.approx(free.step_time(1, 2000))
    # compute-bound step at a large batch slows by 1 / clock
    f = low.decode_clock_for(1024)
    assert f < 0.8
    assert low.step_time(1024, 0) == pytest.approx(free.step_time(1024, 0) / f)


def test_clock_locking_saves_decode_power_at_unchanged_step_time():
    # SM clock 0.7 (above the voltage floor 0.6): 70 + (401.5 - 70) x 0.343 = 183.7 W, -54 % at small batch.
    # Ma et al. 2026 measured up to 32 % of decode energy: the phase model's cube law on all of the
    # above-idle power overstates the saving (HBM power does not follow the SM clock; docs/serving.md).
    free, locked = perf(), perf(decode_clock_fraction=0.7)
    assert locked.decode_power_w(1) == pytest.approx(70 + (free.decode_power_w(1) - 70) * 0.7 ** 3)
    # below the voltage floor power is linear in the clock: 0.5 -> (0.5 x 0.36) of the above-idle power
    assert perf(decode_clock_fraction=0.5).decode_power_w(1) == pytest.approx(
        70 + (free.decode_power_w(1) - 70) * 0.5 * 0.36)
    assert locked.step_time(4, 8000) == pytest.approx(free.step_time(4, 8000))
