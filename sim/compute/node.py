"""Accelerators and nodes: power as a function of activity, power caps, off.

Power of one accelerator while a job runs on it (time-averaged over a step):

    P = P_idle + (P_compute(cap) - P_idle) * a

where `a` is the compute share of the step (compute time over step time;
waiting on the network draws idle power plus a little) and
`P_compute(cap) = min(P_busy, cap)`.

Power caps (DVFS). Dynamic power scales with f * V^2 and V roughly with f, so
P_compute - P_idle ~ f^3 (the classic CMOS cube law, as used by Zeus, NSDI'23,
to explain its power-limit curves). A cap below P_busy lowers the clock to

    f / f_max = ((cap - P_idle) / (P_busy - P_idle)) ** (1/3)

and a compute-bound job's speed by (f / f_max) ** gamma, gamma the job's
compute-boundedness (1 = fully compute-bound; memory-bound work slows less).
Energy per unit of work of the accelerator alone, P / speed, then has its
minimum at cap = 1.5 P_idle for gamma = 1; host power shared by the node moves
the optimum up. Zeus measured 15-76% energy-efficiency gains from power limit
and batch size together; Samsi et al. (2024) cut A100 inference energy 23% for
+6.7% time at 175 W vs 250 W.

Power models. The default is "phase" (`sim.compute.power.PhasePower`): power
by phase of the step (compute at the job's MFU, communication wait, idle) and
a cube law with a voltage floor under a cap; see that module for the
equations and their sources. The cube law above is the registered power
model "cube-law" (`PowerCurve`, the default before issue 13). An accelerator may name another in the catalog
(`power_model:`), and a scenario may override every accelerator's with
`cluster.power_model`: a registered name or a user's "package.module:Class".
A `PowerModel` is built by `Class.of(accelerator)`; built-ins:

- "cube-law": as above;
- "linear": the clock falls in proportion to the power above idle,
  f / f_max = (cap - P_idle) / (P_busy - P_idle): dynamic power P = C V^2 f
  with the voltage held (M: the textbook CMOS relation, e.g. Weste & Harris,
  CMOS VLSI Design, 4th ed., section 5.1, at the voltage floor of DVFS). It
  is the pessimistic bound: a cap costs more speed than under the cube law.

Nodes: host power (CPUs, memory, fans, NICs) goes linearly from idle to busy
with the share of busy accelerators (Fan, Weber and Barroso 2007 use such a
linear-in-utilisation model for servers). An off node draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.catalog import Accelerator, NodeType
from sim.compute.power import WAIT_SHARE
from sim.compute.power_api import PowerModel
from sim.registry import REGISTRIES

#: power of an accelerator waiting on communication, as a share of the way
#: from idle to busy. OLMo 2 on H100 drew ~15% of TDP during checkpoint saves
#: (Morrison et al. 2025, Fig. 2), close to idle; NCCL kernels keep SMs partly
#: busy during collectives, so we take a bit more than idle (M).
WAIT_ACTIVITY = WAIT_SHARE


POWER_MODELS = REGISTRIES["power_model"]
register_power_model = POWER_MODELS.register
resolve_power_model = POWER_MODELS.resolve



def make_power_model(acc: Accelerator, name: str | None = None) -> PowerModel:
    """The power model of one accelerator: `name`, else the catalog's `power_model`."""
    return resolve_power_model(name or acc.power_model).of(acc)


@dataclass(frozen=True)
class PowerCurve:
    """Busy/idle power of one accelerator type and its DVFS response."""

    idle_w: float
    busy_w: float
    min_cap_w: float

    @classmethod
    def of(cls, acc: Accelerator) -> PowerCurve:
        busy = getattr(acc, "busy_w", None) or acc.tdp_w
        return cls(idle_w=acc.idle_w, busy_w=float(busy), min_cap_w=acc.min_cap_w)

    def compute_power_w(self, cap_w: float | None) -> float:
        """Power while computing under a cap (the cap is clipped to the settable range)."""
        if cap_w is None or cap_w >= self.busy_w:
            return self.busy_w
        return max(cap_w, self.min_cap_w, self.idle_w)

    def clock_fraction(self, cap_w: float | None) -> float:
        """f / f_max under a cap, from the cube law."""
        p = self.compute_power_w(cap_w)
        if p >= self.busy_w:
            return 1.0
        span = self.busy_w - self.idle_w
        return ((p - self.idle_w) / span) ** (1.0 / 3.0) if span > 0 else 1.0

    def speed(self, cap_w: float | None, gamma: float = 1.0) -> float:
        """Relative compute throughput under a cap."""
        return self.clock_fraction(cap_w) ** gamma

    def power_w(self, compute_share: float, cap_w: float | None) -> float:
        """Mean power with the given share of time computing; the rest waiting."""
        p_c = self.compute_power_w(cap_w)
        p_wait = self.idle_w + (p_c - self.idle_w) * WAIT_ACTIVITY
        return p_wait + (p_c - p_wait) * compute_share


@dataclass(frozen=True)
class LinearPowerCurve(PowerCurve):
    """Clock proportional to the power above idle (voltage held): f / f_max = (P - P_idle) / (P_busy - P_idle)."""

    def clock_fraction(self, cap_w: float | None) -> float:
        p = self.compute_power_w(cap_w)
        if p >= self.busy_w:
            return 1.0
        span = self.busy_w - self.idle_w
        return (p - self.idle_w) / span if span > 0 else 1.0


class Node:
    """One server: its accelerators (as counts) and its host.

    Power books: one ledger channel for the node's accelerators (the sum over
    them) and one for its host. Jobs on the node register their per-accelerator
    power; the node recomputes its channels (a job's share is charged from its own power history).
    """

    __slots__ = (
        "index", "name", "pool", "node_type", "accelerator", "curve", "slots",
        "free", "jobs", "on", "acc_channel", "host_channel", "busy_channel", "_meter", "zone", "_levels",
    )

    def __init__(self, index: int, pool: int, node_type: NodeType, accelerator: Accelerator, meter,
                 zone: int | None = None, power_model: str | None = None, curve: PowerModel | None = None):
        self.index = index
        self.name = f"n{index}"
        self.pool = pool
        self.node_type = node_type
        self.accelerator = accelerator
        # one model per node type is enough (models are pure): pass `curve` to share it
        self.curve = curve if curve is not None else make_power_model(accelerator, power_model)
        self.slots = node_type.accelerators_per_node
        self.free = self.slots
        self.jobs: dict[object, tuple[int, float]] = {}  # job id -> (accelerators, W each)
        self.on = True
        self._meter = meter
        # thermal zone of the plant (None: one hall); tagged so the ledger keeps per-zone integrals
        self.zone = zone
        tags = {"node": self.name, "node_type": node_type.key, "pool": pool}
        if zone is not None:
            tags["zone"] = zone
        self.acc_channel = meter.channel(f"acc:{self.name}", "accelerator", tags=tags)
        self.host_channel = meter.channel(f"host:{self.name}", "host", tags=tags)
        self.busy_channel = meter.channel(f"busy:{self.name}", "node_busy", quantity="level", tags=tags)
        # with `used` accelerators busy: (idle power of the free ones, host power, busy count), as
        # `refresh` would compute them (the same floats), once per count rather than per change
        nt = node_type
        self._levels = [((self.slots - used) * self.curve.idle_w,
                         nt.host_idle_w + (nt.host_busy_w - nt.host_idle_w) * used / self.slots,
                         float(used)) for used in range(self.slots + 1)]
        self.refresh()

    @property
    def busy(self) -> int:
        return self.slots - self.free

    def set_job(self, job_id: object, count: int, watts_each: float, refresh: bool = True) -> None:
        """A job holds `count` accelerators at `watts_each`; `refresh=False` leaves the booking to
        a later `refresh` (one per node after re-rating many jobs)."""
        self.jobs[job_id] = (count, watts_each)
        if refresh:
            self.refresh()

    def remove_job(self, job_id: object) -> None:
        self.jobs.pop(job_id, None)
        self.refresh()

    def power_off(self) -> None:
        self.on = False
        self.refresh()

    def power_on(self) -> None:
        self.on = True
        self.refresh()

    def job_power_w(self, count: int, watts_each: float) -> float:
        """IT power charged to a job holding `count` accelerators at `watts_each`: its accelerators
        plus the busy host power of its share of the slots (the idle host power of free slots
        stays unattributed overhead)."""
        return count * (watts_each + self.node_type.host_busy_w / self.slots)

    def refresh(self) -> None:
        """Recompute the node's channels (accelerators, host, busy slots).

        Attribution to jobs is not booked here: a job is charged its own power
        history (`job_power_w` over the time it holds; sim.compute.training), which
        is what the node's channels would attribute to it, without re-splitting
        the node's segments on every change.
        """
        meter = self._meter
        now = meter.now()
        book = meter.set
        if not self.on:
            book(self.acc_channel, 0.0, now)
            book(self.host_channel, 0.0, now)
            book(self.busy_channel, 0.0, now)
            return
        used = 0
        acc_w = 0.0
        for count, w in self.jobs.values():
            used += count
            acc_w += count * w
        idle_w, host_w, busy = self._levels[used]
        book(self.acc_channel, acc_w + idle_w, now)
        book(self.host_channel, host_w, now)
        book(self.busy_channel, busy, now)
