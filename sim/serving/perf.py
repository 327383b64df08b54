"""Speed and power of one serving replica: prefill, decode steps, KV cache.

A replica is one copy of the model on `tp` accelerators of one node (tensor
parallelism inside the node). Its figures, all SI:

KV cache. Bytes per cached token `kv = 2 L h_kv d_h b_kv` (see
`architectures.py`); the cache holds what HBM leaves after the weights:

    kv_capacity_tokens = floor((mem_fraction x tp x HBM - W) / kv)

with `W = N b_w` the weight bytes and `mem_fraction` vLLM's
``gpu_memory_utilization`` (0.9 by default; the rest is activations and the
CUDA context). A model whose weights do not fit is refused.

Prefill (compute-bound). A group of prompts p_j runs as one iteration:

    FLOPs = sum_j (2 N p_j + 2 L w p_j (p_j + 1))
    t_prefill = max(FLOPs / (f_pre x eta_pre x tp x F), (W + kv sum p_j) / (eta_mem x tp x B_hbm))

2 N per token for the matrix products (Kaplan et al. 2020, forward pass), and
causal attention: token i attends to i tokens, QK^T and AV cost 2 i w FLOPs
each per layer (w = heads x head_dim), summed over i = 1..p. F is the
accelerator's dense 16-bit peak, eta_pre the achieved fraction (MFU) in
prefill, f_pre the clock fraction under a prefill power cap.

Decode (memory-bound). One step produces one token for each of the B
requests of the batch, which hold S KV tokens together:

    t_step = max((2 N B + 4 L w S) / (f_dec x eta_dec x tp x F), (W + kv S) / (eta_mem x tp x B_hbm))

(Roofline: each step reads all weights and the whole cache once; Pope et al.
2022 section 2; Splitwise, Patel et al. ISCA'24, section III.) S grows by B
each step, so within a run of constant batch the step time is the maximum of
two lines in the step index k; `DecodeRun` sums it and inverts the sum in
closed form (integer steps, no approximation beyond the step-time model).

Power per accelerator: the training physics' phase model
(`sim.compute.power.PhasePower`, one model for training and serving). A
compute phase at tensor-core utilisation u draws
``D(u) = P_floor + (P_busy - P_floor) u / u_ref`` (clipped to TDP), with
``P_floor`` the draw of memory-bound kernels with the clocks up and
``(u_ref, P_busy)`` the catalog's training point; a power limit lowers the
core clock f (cube law, linear below the voltage floor) until the demand fits.

- prefill: u = eta_pre (compute-bound): an H100 at u = 0.5 draws D = 675 W of
  700 (Splitwise, ISCA'24, section III: the prompt phase runs near the power
  limit). A prefill cap lowers the clock and the prefill FLOP rate with it.
- decode at batch B: u = eta_dec x u_c(B), u_c = min(1, t_compute / t_weights)
  the compute share of a step (weights-only terms, so power depends on the
  batch only and is constant between events): from ``P_floor`` (400 W on an
  H100) at small batch up to D(eta_dec) when decode turns compute-bound
  (Splitwise: the token phase draws well below TDP; DynamoLLM, HPCA'25, and
  the ML.ENERGY leaderboard: power rises with batch).
- a decode clock (``decode_clock_fraction``, clock locking as in DynamoLLM and
  Ma et al. 2026) or a decode power cap (met by the clock that brings the
  demand to the cap; a cap above the demand does nothing) sets f; the power
  is then ``P_idle + (D - P_idle) x h(f)`` with h the cube law (f^3 above the
  voltage floor F_VMIN, f F_VMIN^2 below), the inverse of the phase model's
  cap-to-clock law. Only the compute term of the step slows (1 / f); HBM has
  its own clock, so a memory-bound step keeps its time.
- idle replica: P_i; booting: P_i; off: 0.

The phase model's floor (FLOOR_SHARE, M) puts small-batch decode at 400 W on
an H100; Ma et al. 2026 (arXiv 2605.11999, abstract, S) measured 137-300 W
for decode on a 700 W H200, and up to 32 % of decode energy recovered by
clock locking, where the cube law on the whole above-idle power gives more
(HBM power does not follow the SM clock). See docs/serving.md, Limits.

Host (CPUs, DRAM, NICs, fans): the node type's host power shared by the
replicas of a node, tp / accelerators_per_node of it: host_busy_w while the
replica holds requests, host_idle_w while it is empty, 0 while off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim.catalog import Accelerator, NodeType
from sim.compute.power import F_VMIN, PhasePower
from sim.serving.architectures import ServingModel


class DeploymentError(ValueError):
    """A deployment that cannot serve (model does not fit, bad parallelism); names the dotted path."""


@dataclass(frozen=True)
class Efficiency:
    """Achieved fractions of peak (defaults in `sim.spec.serving`, with their sources)."""

    prefill_mfu: float
    decode_mfu: float
    memory_bandwidth: float
    memory_fraction: float


@dataclass(frozen=True)
class ReplicaPerf:
    model: ServingModel
    accelerator: Accelerator
    node_type: NodeType
    tp: int
    weight_bytes: float  # whole replica
    kv_bytes_per_token: float
    kv_capacity_tokens: int
    flops_prefill: float  # achieved FLOP/s of the replica in prefill (at the prefill clock)
    flops_decode: float  # achieved FLOP/s in decode at full clock
    bandwidth: float  # achieved HBM bytes/s of the replica
    prefill_w: float  # per accelerator, while prefilling
    idle_w: float  # per accelerator
    curve: PhasePower  # the accelerator's phase power model
    decode_mfu: float  # achieved tensor-core utilisation of a compute-bound decode step
    host_idle_w: float  # this replica's share of its node's host
    host_busy_w: float
    decode_cap_w: float | None
    decode_clock: float  # SM clock fraction set for decode (1 = default clocks)
    # memo of the per-batch figures (a frozen dataclass may hold mutable dicts)
    _power_cache: dict[int, float] = field(default_factory=dict, repr=False, compare=False)
    _run_cache: dict[int, tuple[float, float, float, float]] = field(default_factory=dict, repr=False,
                                                                      compare=False)

    @classmethod
    def build(cls, model: ServingModel, acc: Accelerator, node: NodeType, tp: int, weight_bytes: float,
              kv_bytes: float, eff: Efficiency, prefill_cap_w: float | None = None,
              decode_cap_w: float | None = None, decode_clock: float = 1.0,
              where: str = "serving") -> ReplicaPerf:
        if tp > node.accelerators_per_node:
            raise DeploymentError(
                f"{where}.tensor_parallel: {tp} is not allowed: a replica lives inside one node and "
                f"{node.key} has {node.accelerators_per_node} accelerators")
        if model.heads % tp:
            raise DeploymentError(
                f"{where}.tensor_parallel: {tp} is not allowed: must divide the {model.heads} attention "
                f"heads of {model.key}")
        w = model.weight_bytes(weight_bytes)
        kv = model.kv_bytes_per_token(kv_bytes)
        usable = eff.memory_fraction * tp * acc.memory_bytes
        capacity = math.floor((usable - w) / kv) if usable > w else 0
        if capacity < 1:
            raise DeploymentError(
                f"{where}.tensor_parallel: {tp} is not allowed: {model.key} needs {w / 1e9:.1f} GB of weights "
                f"but {tp} x {acc.key} leave {usable / 1e9:.1f} GB ({eff.memory_fraction:g} of "
                f"{tp} x {acc.memory_bytes / 1e9:.1f} GB HBM); use more accelerators per replica or a smaller "
                "precision")
        curve = PhasePower.of(acc)
        f_pre = curve.clock_fraction(prefill_cap_w, eff.prefill_mfu)  # compute-bound: speed = clock
        return cls(
            model=model, accelerator=acc, node_type=node, tp=tp, weight_bytes=w,
            kv_bytes_per_token=kv, kv_capacity_tokens=int(capacity),
            flops_prefill=f_pre * eff.prefill_mfu * tp * acc.peak_flops,
            flops_decode=eff.decode_mfu * tp * acc.peak_flops,
            bandwidth=eff.memory_bandwidth * tp * acc.memory_bandwidth_bytes_per_s,
            prefill_w=curve.compute_power_w(prefill_cap_w, eff.prefill_mfu), idle_w=curve.idle_w, curve=curve,
            decode_mfu=eff.decode_mfu,
            host_idle_w=node.host_idle_w * tp / node.accelerators_per_node,
            host_busy_w=node.host_busy_w * tp / node.accelerators_per_node,
            decode_cap_w=decode_cap_w, decode_clock=decode_clock,
        )

    # -- prefill ---------------------------------------------------------------
    def prefill_flops(self, prompt: int) -> float:
        m = self.model
        return 2.0 * m.parameters * prompt + 2.0 * m.layers * m.attention_width * prompt * (prompt + 1)

    def prefill_time(self, flops: float, tokens: int) -> float:
        return max(flops / self.flops_prefill, (self.weight_bytes + self.kv_bytes_per_token * tokens) / self.bandwidth)

    # -- decode ------------------------------------------------------------------
    def decode_utilisation(self, batch: int) -> float:
        """Tensor-core utilisation of a decode step at full clock: eta_dec x u_c(B)."""
        u_c = min(1.0, (2.0 * self.model.parameters * batch / self.flops_decode)
                  / (self.weight_bytes / self.bandwidth))
        return self.decode_mfu * u_c

    def decode_clock_for(self, batch: int) -> float:
        """SM clock fraction in decode at this batch: the set clock, lowered further to meet a cap."""
        f = self.decode_clock
        if self.decode_cap_w is not None:
            f = min(f, self.curve.clock_fraction(self.decode_cap_w, self.decode_utilisation(batch)))
        return f

    def decode_power_at(self, batch: int, clock: float) -> float:
        """Decode power per accelerator at SM clock fraction `clock` (the inverse of the cap-to-clock law)."""
        idle = self.curve.idle_w
        demand = self.curve.demand_w(self.decode_utilisation(batch))
        h = clock ** 3 if clock >= F_VMIN else clock * F_VMIN * F_VMIN
        return idle + (demand - idle) * h

    def decode_power_w(self, batch: int) -> float:
        """Power per accelerator while decoding a batch (constant while the batch is)."""
        cache = self._power_cache
        w = cache.get(batch)
        if w is None:
            w = cache[batch] = self.decode_power_at(batch, self.decode_clock_for(batch))
        return w

    def decode_run(self, batch: int, kv_tokens: float) -> DecodeRun:
        """Step-time lines of a run of constant batch starting with `kv_tokens` cached."""
        k = self._run_cache.get(batch)
        if k is None:
            m = self.model
            flops = self.flops_decode * self.decode_clock_for(batch)
            attn = 4.0 * m.layers * m.attention_width
            # c = (c_w + c_s S) for compute, m = (m_w + m_s S) for memory; S grows by `batch` a step
            k = self._run_cache[batch] = (2.0 * m.parameters * batch / flops, attn / flops,
                                          self.weight_bytes / self.bandwidth, self.kv_bytes_per_token / self.bandwidth)
        c_w, c_s, m_w, m_s = k
        return DecodeRun.of(c_w + c_s * kv_tokens, c_s * batch, m_w + m_s * kv_tokens, m_s * batch)

    def step_time(self, batch: int, kv_tokens: float) -> float:
        """Time of one decode step (the first of a run)."""
        return self.decode_run(batch, kv_tokens).time(1)


@dataclass(frozen=True)
class DecodeRun:
    """Steps k = 0, 1, ... take max(c0 + c1 k, m0 + m1 k): piece A for k < ks, piece B after.

    `time(n)` is the exact time of the first n steps (sums of arithmetic
    series); `steps_within(dt)` the largest n with time(n) <= dt (roots of
    the quadratics, then corrected by at most a step either way).
    """

    a0: float
    a1: float
    ks: float  # first step index where piece B dominates (inf: never)
    b0: float
    b1: float

    @classmethod
    def of(cls, c0: float, c1: float, m0: float, m1: float) -> DecodeRun:
        # piece A: the larger at k = 0; B takes over from the first k where it is larger
        (a0, a1), (b0, b1) = ((c0, c1), (m0, m1)) if c0 >= m0 else ((m0, m1), (c0, c1))
        if b1 <= a1:
            return cls(a0, a1, math.inf, b0, b1)
        ks = math.ceil((a0 - b0) / (b1 - a1))
        return cls(a0, a1, float(max(ks, 0)), b0, b1)

    @staticmethod
    def _sum(x0: float, x1: float, k1: float, k2: float) -> float:
        return x0 * (k2 - k1) + x1 * (k2 * (k2 - 1.0) - k1 * (k1 - 1.0)) * 0.5

    def time(self, n: float) -> float:
        if n <= self.ks:
            return self._sum(self.a0, self.a1, 0.0, n)
        return self._sum(self.a0, self.a1, 0.0, self.ks) + self._sum(self.b0, self.b1, self.ks, n)

    @staticmethod
    def _solve(x0: float, x1: float, k1: float, dt: float) -> float:
        """Real n >= k1 with sum_{k=k1}^{n-1} (x0 + x1 k) = dt (increasing in n)."""
        # sum = x0 (n - k1) + x1 (n(n-1) - k1(k1-1)) / 2 ; write n = k1 + j
        b = x0 + x1 * (k1 - 0.5)
        a = 0.5 * x1
        if a <= 0.0:
            return k1 + dt / b
        return k1 + 2.0 * dt / (b + math.sqrt(b * b + 4.0 * a * dt))

    def steps_within(self, dt: float) -> int:
        if dt <= 0.0:
            return 0
        t_ks = self.time(self.ks) if self.ks < math.inf else math.inf
        n_real = self._solve(self.a0, self.a1, 0.0, dt) if dt <= t_ks else \
            self._solve(self.b0, self.b1, self.ks, dt - t_ks)
        n = max(int(n_real), 0)
        while self.time(n + 1) <= dt:
            n += 1
        while n > 0 and self.time(n) > dt:
            n -= 1
        return n
