"""Accelerator power that follows the work: phases, utilisation and caps.

What is modelled. Over one training step an accelerator spends its time in
three phases, each with its own board power:

* **compute** (its kernels run): the power *demanded* grows with the
  tensor-core utilisation u (the achieved MFU while computing),

      D(u) = P_floor + (P_busy - P_floor) * u / u_ref          (clipped to P_tdp)

  a straight line through two points: (u_ref, P_busy), the catalog's
  measured large-model training power at the accelerator's `default_mfu`
  (e.g. OLMo 2 on H100, >600 W at ~0.4 MFU, Morrison et al. 2025 Fig. 2), and
  (0, P_floor), kernels that keep the clocks up and stream memory but leave
  the tensor cores idle (memory-bound layers, small batches, decode):

      P_floor = P_idle + FLOOR_SHARE * (P_busy - P_idle)

  Dynamic energy per operation is constant at a fixed voltage and clock, so
  the tensor-core term is linear in the FLOP rate (the activity-times-energy
  form of GPUWattch/AccelWattch-style power models). Splitwise (Patel et al.,
  ISCA'24, Sec. III) measured that the memory-bound token phase of LLM
  inference draws well below TDP and is almost insensitive to a power cap,
  while the compute-bound prompt phase runs near TDP: the floor is well
  above idle and well below busy.

* **communication wait** (the step waits on a collective, a checkpoint, a
  straggler): the SMs run only NCCL kernels and the board draws near idle,

      P_wait = P_idle + WAIT_SHARE * (P_busy - P_idle)

  Choukse et al. 2025 ("Power stabilization for AI training datacenters",
  Microsoft/OpenAI/NVIDIA, arXiv 2508.14318, Sec. 2) report the
  communication phases of large synchronous jobs near idle power and the
  compute phases near TDP; OLMo 2 drew ~15 % of TDP while saving checkpoints
  (Morrison et al. 2025, Fig. 2).

* **idle** (no job): P_idle, from the catalog.

The mean power of one accelerator over a step with compute share a is
a * D + (1 - a) * P_wait: power falls as a job waits more on the network
(scale-out), as its MFU falls (small batch, memory-bound work) and under a cap.

Power caps (DVFS). A limit L below the demand D lowers the core clock f until
the demand fits. Dynamic power goes as f V^2; above the voltage floor V
scales with f (the CMOS cube law Zeus, NSDI'23, uses for its power-limit
curves), below it the voltage is held and power is linear in f:

    x = (L - P_idle) / (D - P_idle)
    f = x^(1/3)              if x >= F_VMIN^3
    f = x / F_VMIN^2         below (continuous at f = F_VMIN)

Throughput goes as f^gamma: gamma is the job's compute-boundedness, the
exponent of its speed in the core clock (1: every kernel scales with the
clock; 0: memory-bound, HBM has its own clock). The default gamma is
*calibrated* on McDonald et al. 2022 (MIT Lincoln Laboratory, "Great power,
great responsibility", NAACL Findings, Sec. 4): capping V100 GPUs from the
default 250 W to 150 W lengthened the training of large NLP models by 6.8 %
on average. On the catalog V100 (idle 40 W, busy 270 W) f(250) = 0.970 and
f(150) = 0.782, so (0.970 / 0.782)^gamma = 1.068 gives gamma = 0.305
(`DEFAULT_GAMMA` = 0.3, +6.7 %). Transformers spend much of a step in
memory-bound normalisation and element-wise kernels (37 % of BERT-large's
runtime in PyTorch, Ivanov et al., "Data movement is all you need", MLSys
2021, Table 2), which is why gamma is well below 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.catalog import Accelerator

#: compute-phase power at zero tensor-core utilisation (memory-bound kernels,
#: clocks up), as a share of the way from idle to busy. M: between the
#: wait power (0.15) and busy; Splitwise (Patel et al. ISCA'24) shows the
#: memory-bound token phase well under TDP; 0.6 puts an H100 running such
#: kernels at 400 W of 700 W.
FLOOR_SHARE = 0.6

#: power while waiting on communication, as a share of idle-to-busy (Morrison
#: et al. 2025, ~15 % of TDP during checkpoint saves; Choukse et al. 2025:
#: communication phases near idle). Same value the engine used before.
WAIT_SHARE = 0.15

#: clock fraction at which the voltage reaches its floor (M: NVIDIA V100/A100
#: DVFS tables hold the minimum voltage over roughly the lower 40 % of the
#: clock range); below it power is linear in the clock.
F_VMIN = 0.6

#: default compute-boundedness: calibrated on McDonald et al. 2022 (see above)
DEFAULT_GAMMA = 0.3


def clock_fraction(limit_w: float, demand_w: float, idle_w: float, f_vmin: float = F_VMIN) -> float:
    """f / f_max under a power limit for a demand `demand_w` at full clock (see module doc)."""
    if limit_w >= demand_w or demand_w <= idle_w:
        return 1.0
    x = max(limit_w - idle_w, 0.0) / (demand_w - idle_w)
    if x >= f_vmin ** 3:
        return x ** (1.0 / 3.0)
    return x / (f_vmin * f_vmin)


@dataclass(frozen=True)
class PhasePower:
    """Per-phase power of one accelerator type (W) and its response to a power limit.

    `ref_mfu`: the utilisation at which the compute phase draws `busy_w`
    (the catalog's `default_mfu`, the figure `busy_w` was measured at).
    """

    idle_w: float
    busy_w: float
    tdp_w: float
    min_cap_w: float
    ref_mfu: float

    #: the engine passes the job's MFU to the methods below (sim.compute.node.PowerModel)
    follows_utilisation = True

    @classmethod
    def of(cls, acc: Accelerator) -> PhasePower:
        return cls(idle_w=acc.idle_w, busy_w=acc.busy_w, tdp_w=acc.tdp_w, min_cap_w=acc.min_cap_w,
                   ref_mfu=acc.default_mfu)

    # -- phases -----------------------------------------------------------
    @property
    def wait_w(self) -> float:
        """Power while waiting on communication or a checkpoint."""
        return self.idle_w + WAIT_SHARE * (self.busy_w - self.idle_w)

    @property
    def floor_w(self) -> float:
        """Compute-phase power with the tensor cores idle (memory-bound kernels)."""
        return self.idle_w + FLOOR_SHARE * (self.busy_w - self.idle_w)

    def demand_w(self, mfu: float | None = None) -> float:
        """Compute-phase power at utilisation `mfu` at full clock (None: the reference)."""
        if mfu is None:
            return self.busy_w
        d = self.floor_w + (self.busy_w - self.floor_w) * max(mfu, 0.0) / self.ref_mfu
        return min(d, self.tdp_w)

    def limit_w(self, cap_w: float | None) -> float:
        """The power limit in force: the cap clipped to [min_cap_w, tdp_w]."""
        if cap_w is None:
            return self.tdp_w
        return min(max(cap_w, self.min_cap_w), self.tdp_w)

    # -- the PowerModel protocol (engine) ----------------------------------
    def compute_power_w(self, cap_w: float | None, mfu: float | None = None) -> float:
        """Power while computing under a cap."""
        return min(self.demand_w(mfu), self.limit_w(cap_w))

    def clock_fraction(self, cap_w: float | None, mfu: float | None = None) -> float:
        return clock_fraction(self.limit_w(cap_w), self.demand_w(mfu), self.idle_w)

    def speed(self, cap_w: float | None, gamma: float = DEFAULT_GAMMA, mfu: float | None = None) -> float:
        """Relative compute throughput under a cap: f^gamma."""
        return self.clock_fraction(cap_w, mfu) ** gamma

    def power_w(self, compute_share: float, cap_w: float | None, mfu: float | None = None) -> float:
        """Mean power with `compute_share` of the time computing, the rest waiting."""
        p_c = self.compute_power_w(cap_w, mfu)
        p_w = min(self.wait_w, p_c)
        return p_w + (p_c - p_w) * compute_share


def gamma_for_slowdown(curve: PhasePower, cap_hi_w: float, cap_lo_w: float, slowdown: float,
                       mfu: float | None = None) -> float:
    """The gamma at which capping from `cap_hi_w` to `cap_lo_w` lengthens compute by `slowdown` (1.068 = +6.8 %)."""
    f_hi = curve.clock_fraction(cap_hi_w, mfu)
    f_lo = curve.clock_fraction(cap_lo_w, mfu)
    if f_lo >= f_hi:
        raise ValueError(f"a cap of {cap_lo_w} W does not slow the clock below that at {cap_hi_w} W")
    return math.log(slowdown) / math.log(f_hi / f_lo)


__all__ = ["DEFAULT_GAMMA", "FLOOR_SHARE", "F_VMIN", "PhasePower", "WAIT_SHARE", "clock_fraction",
           "gamma_for_slowdown"]
