"""Per-phase accelerator power and the power-cap response (sim/compute/power.py)."""

import math

import pytest

from sim.catalog import load_catalog
from sim.compute.power import (
    DEFAULT_GAMMA,
    F_VMIN,
    PhasePower,
    clock_fraction,
    gamma_for_slowdown,
)

CAT = load_catalog()


def curve(key: str) -> PhasePower:
    return PhasePower.of(CAT.accelerator(key))


def test_compute_power_is_busy_at_the_reference_mfu_and_falls_linearly_with_mfu():
    h = curve("h100")  # idle 70, busy 620, default_mfu 0.40
    floor = 70 + 0.6 * 550  # 400 W
    assert h.demand_w(0.40) == pytest.approx(620.0)
    assert h.demand_w(0.0) == pytest.approx(floor)
    assert h.demand_w(0.06) == pytest.approx(floor + 220 * 0.06 / 0.40)  # 433 W: small batch draws 0.70 x busy
    assert h.demand_w(0.9) == pytest.approx(700.0)  # never above the board limit


def test_waiting_on_communication_draws_near_idle_and_mean_power_falls_with_the_wait_share():
    h = curve("h100")
    assert h.wait_w == pytest.approx(70 + 0.15 * 550)  # 152.5 W (Morrison 2025: ~15 % of TDP while saving)
    full = h.power_w(1.0, None)
    half = h.power_w(0.5, None)
    assert full == pytest.approx(620.0)
    assert half == pytest.approx((620.0 + 152.5) / 2)
    assert h.power_w(0.0, None) == pytest.approx(152.5)


def test_default_gamma_reproduces_the_mcdonald_2022_v100_cap_slowdown():
    """Calibration: McDonald et al. 2022 (MIT LL), V100 250 W -> 150 W: +6.8 % training time (mean)."""
    v = curve("v100")
    # by hand: f = ((cap - 40) / (270 - 40))^(1/3): 0.9703 at 250 W, 0.7823 at 150 W
    assert v.clock_fraction(250) == pytest.approx((210 / 230) ** (1 / 3))
    assert v.clock_fraction(150) == pytest.approx((110 / 230) ** (1 / 3))
    assert gamma_for_slowdown(v, 250, 150, 1.068) == pytest.approx(0.305, abs=0.002)
    slowdown = v.speed(250, DEFAULT_GAMMA) / v.speed(150, DEFAULT_GAMMA)
    assert slowdown == pytest.approx(1.068, abs=0.003)


def test_cap_slowdown_curve_stays_inside_published_ranges():
    """V100 cap sweep against published points (time ratio to the uncapped run).

    McDonald et al. 2022: 150 W of 250 W -> +6.8 % (calibration point above).
    Zhao et al. 2024 (MIT LL, arXiv 2402.18593): a 60 % cap fleet-wide had
    "minimal impact on job performance". Zeus (NSDI'23, Fig. 2): V100 time
    grows monotonically as the limit falls, steeply only near 100 W.
    """
    v = curve("v100")
    caps = [300, 250, 200, 175, 150, 125, 100]
    t = [1.0 / v.speed(c) for c in caps]
    assert all(b >= a for a, b in zip(t, t[1:]))  # monotone
    assert t[caps.index(180 if 180 in caps else 175)] < 1.06  # 60 % of 300 W: a few percent
    assert 1.05 < t[caps.index(150)] < 1.12
    # below the voltage floor the clock falls linearly with power: the curve steepens
    assert (t[-1] - t[-2]) > (t[-3] - t[-4])


def test_clock_is_continuous_at_the_voltage_floor():
    x_v = F_VMIN ** 3
    idle, demand = 50.0, 300.0
    at = idle + x_v * (demand - idle)
    assert clock_fraction(at + 1e-9, demand, idle) == pytest.approx(F_VMIN, rel=1e-6)
    assert clock_fraction(at - 1e-9, demand, idle) == pytest.approx(F_VMIN, rel=1e-6)
    assert clock_fraction(demand + 1, demand, idle) == 1.0


def test_a_cap_above_the_demand_of_a_low_mfu_job_does_not_bind():
    """A memory-bound job (MFU 0.05) on an H100 demands ~427 W: a 500 W cap costs it nothing."""
    h = curve("h100")
    assert h.demand_w(0.05) < 500
    assert h.speed(500, mfu=0.05) == 1.0
    assert h.speed(500) < 1.0  # the reference job at 620 W is slowed


def test_energy_per_work_of_gpu_plus_host_is_lowest_at_an_interior_or_floor_cap():
    """Energy per unit of work (GPU + host share) over the H100 cap range has a minimum below 700 W."""
    h = curve("h100")
    host = 300.0  # dgx-h100: 2,400 W / 8
    caps = range(200, 701, 10)
    e = {c: (h.compute_power_w(c) + host) / h.speed(c) for c in caps}
    best = min(e, key=e.get)
    assert best < 700
    assert e[700] / e[best] > 1.05
    assert math.isfinite(e[best])
