"""The engine: hand-computed latencies, energy credited to requests, no request lost, determinism.

Replica: Llama 3.1 70B on 4 H100 (bf16). Hand figures (see test_serving_perf):
prefill FLOP/s F = 0.5 x 4 x 989e12 = 1.978e15; HBM bytes/s B = 0.8 x 4 x 3.35e12
= 10.72e12; weights W = 141.1e9 B; KV 327,680 B per token; N = 70.55e9.
A decode step of batch b over S cached tokens takes
max((2 N b + 4 x 80 x 8192 x S) / F, (W + 327,680 S) / B).
"""

from __future__ import annotations

import numpy as np
import pytest
from serving_testing import perf, run_requests

from sim.serving.requests import read_trace
from sim.serving.run import simulate_serving
from sim.spec.serving import ServingConfig

N, F, BW, W, KV = 70.55e9, 0.5 * 4 * 989e12, 0.8 * 4 * 3.35e12, 141.1e9, 327_680.0
ATT = 4 * 80 * 8192


def prefill(p: int) -> float:
    flops = 2 * N * p + 2 * 80 * 8192 * p * (p + 1)
    return max(flops / F, (W + KV * p) / BW)


def step(b: int, s: float) -> float:
    return max((2 * N * b + ATT * s) / F, (W + KV * s) / BW)


def test_one_request_ttft_and_end_match_the_hand_computation():
    eng, _ = run_requests(perf(), [1.0], [1000], [5])
    first = 1.0 + prefill(1000)  # 1.0720 s: compute-bound prefill
    end = first + sum(step(1, 1001 + k) for k in range(4))  # 4 more tokens, KV grows by one each step
    assert eng.first_s[0] == pytest.approx(first, abs=1e-9)
    assert eng.end_s[0] == pytest.approx(end, abs=1e-9)
    assert eng.start_s[0] == 1.0


def test_an_arrival_joins_at_the_next_step_boundary_and_pauses_the_batch_for_its_prefill():
    # A at 0 (1000 in, 5 out); B arrives inside A's second decode step (200 in, 4 out)
    a_first = prefill(1000)
    s0, s1 = step(1, 1001), step(1, 1002)
    t_b = a_first + s0 + 0.5 * s1
    eng, meter = run_requests(perf(), [0.0, t_b], [1000, 200], [5, 4])
    boundary = a_first + s0 + s1  # A has 3 tokens; B's prefill starts here
    b_first = boundary + prefill(200)
    # batch {A: 1003 tokens cached, B: 201}: two steps, after which A has its 5 tokens
    a_end = b_first + step(2, 1204) + step(2, 1206)
    # B alone with 200 + 3 tokens: its 4th token
    b_end = a_end + step(1, 203)
    assert eng.start_s[1] == pytest.approx(boundary, abs=1e-9)
    assert eng.first_s[1] == pytest.approx(b_first, abs=1e-9)
    assert eng.end_s[0] == pytest.approx(a_end, abs=1e-9)
    assert eng.end_s[1] == pytest.approx(b_end, abs=1e-9)
    # energy: A alone in its prefill and first two steps, shares the two batch-2 steps, B alone at the end
    p = perf()
    pre = 4 * 675.0  # prefill at u = 0.5 on the phase model: 400 + 220 x 0.5 / 0.4 W per H100
    d1, d2 = 4 * p.decode_power_w(1), 4 * p.decode_power_w(2)
    e_a = pre * a_first + d1 * (s0 + s1) + d2 * (a_end - b_first) / 2
    e_b = pre * (b_first - boundary) + d2 * (a_end - b_first) / 2 + d1 * (b_end - a_end)
    assert eng.energy_j[0] == pytest.approx(e_a, rel=1e-9)
    assert eng.energy_j[1] == pytest.approx(e_b, rel=1e-9)
    # every joule of the accelerators went to a request: the replica was never idle
    assert meter.integral(eng.replicas[0].ch_acc, eng.now) == pytest.approx(e_a + e_b, rel=1e-12)


def test_a_waiting_request_that_does_not_fit_the_batch_limit_waits_for_a_finish():
    # max_batch 1: B arrives during A's decode but joins only when A ends
    a_first = prefill(500)
    a_end = a_first + sum(step(1, 501 + k) for k in range(9))
    eng, _ = run_requests(perf(), [0.0, 0.05], [500, 300], [10, 2], max_batch=1)
    assert eng.start_s[1] == pytest.approx(a_end, abs=1e-9)
    assert eng.end_s[1] == pytest.approx(a_end + prefill(300) + step(1, 301), abs=1e-9)


def test_the_kv_cache_bounds_the_batch_and_requests_queue_when_it_is_full():
    # a user model with a tiny cache: KV for 3,000 tokens, each request reserves 1,000 + 200
    p = perf(tensor_parallel=4, memory_fraction=(141.1e9 + 3000 * KV) / (4 * 85.90e9))
    assert p.kv_capacity_tokens == 3000
    eng, _ = run_requests(p, [0.0] * 4, [1000] * 4, [200] * 4, max_batched_tokens=1000)
    starts = sorted(eng.start_s)
    # two fit (2,400 reserved); the third waits until one of the first two ends
    assert starts[2] >= min(eng.end_s[:2]) - 1e-9
    assert all(np.isfinite(eng.end_s))


def test_no_request_is_lost_and_credited_energy_equals_active_accelerator_energy(azure_hour):
    eng, meter = azure_hour
    assert eng.completed == len(eng.stream)
    assert all(np.isfinite(eng.end_s))
    first, end, arr = (np.asarray(x) for x in (eng.first_s, eng.end_s, eng.stream.arrival_s))
    assert (first >= arr).all() and (end >= first).all()
    active = sum(r.active_j for r in eng.replicas)
    assert sum(eng.energy_j) == pytest.approx(active, rel=1e-9)
    acc = sum(meter.integral(r.ch_acc, eng.now) for r in eng.replicas)
    idle = 32 * 70.0 * eng.now - 0  # upper bound: all 32 GPUs idle the whole run
    assert active < acc < active + idle


@pytest.fixture(scope="module")
def azure_hour():
    s = read_trace("azure-conv").until(600.0)
    return run_requests(perf(), s.arrival_s, s.prompt_tokens, s.output_tokens, replicas=2)


def test_runs_are_deterministic():
    cfg = ServingConfig.model_validate({"requests": {"generator": {"kind": "diurnal", "rate_per_s": 2.0}},
                                        "replicas": 2})
    a = simulate_serving(cfg, 600.0, seed=7)
    b = simulate_serving(cfg, 600.0, seed=7)
    assert a.requests.equals(b.requests)
    assert {k: v for k, v in a.summary.items() if k != "wall_s"} == \
        {k: v for k, v in b.summary.items() if k != "wall_s"}
    c = simulate_serving(cfg, 600.0, seed=8)
    assert not np.array_equal(c.requests["arrival_s"], a.requests["arrival_s"])  # another seed, another stream
