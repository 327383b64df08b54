"""The ledger: exact energy of piecewise-constant power, exact binning."""

import numpy as np
import pytest

from sim.engine.meter import Meter, MeterError


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def make():
    clock = Clock()
    return clock, Meter(clock)


def test_step_profile_energy_by_hand():
    clock, m = make()
    a = m.channel("a", "gpu")
    m.set(a, 100.0)          # 100 W on [0, 10)
    clock.t = 10.0
    m.set(a, 250.0)          # 250 W on [10, 25)
    clock.t = 25.0
    m.set(a, 0.0)            # 0 W on [25, 40)
    clock.t = 40.0
    # 100*10 + 250*15 = 4750 J
    assert m.integral(a) == pytest.approx(4750.0, rel=1e-15)
    assert m.category_integral("gpu") == pytest.approx(4750.0, rel=1e-15)


def test_two_channels_sum_equals_category_total():
    clock, m = make()
    a = m.channel("a", "it")
    b = m.channel("b", "it")
    m.set(a, 3.0)
    clock.t = 2.0
    m.set(b, 7.0)
    clock.t = 5.0
    m.set(a, 1.0)
    clock.t = 9.0
    # a: 3*5 + 1*4 = 19; b: 7*7 = 49
    assert m.integral(a) + m.integral(b) == pytest.approx(68.0)
    assert m.category_integral("it") == pytest.approx(68.0)


def test_binning_exact_at_awkward_edges():
    clock, m = make()
    a = m.channel("a", "gpu")
    m.set(a, 10.0)
    clock.t = 3.3
    m.set(a, 20.0)
    clock.t = 7.7
    m.set(a, 5.0)
    clock.t = 10.0
    edges = np.array([0.0, 1.1, 3.3, 5.0, 7.75, 10.0])
    got = m.binned(edges, {"a": [a]})["a"]
    # by hand: [0,1.1): 11; [1.1,3.3): 22; [3.3,5): 34; [5,7.75): 2.7*20 + 0.05*5 = 54.25;
    # [7.75,10): 2.25*5 = 11.25
    assert got == pytest.approx([11.0, 22.0, 34.0, 54.25, 11.25], rel=1e-12)
    assert got.sum() == pytest.approx(m.integral(a, 10.0), rel=1e-12)


def test_backdated_booking_keeps_category_integral_exact():
    clock, m = make()
    it = m.channel("it", "cooling")
    clock.t = 60.0
    m.set(it, 50.0, t=0.0)   # the plant books [0, 60) at 60
    clock.t = 120.0
    m.set(it, 80.0, t=60.0)  # and [60, 120) at 120
    assert m.category_integral("cooling", 120.0) == pytest.approx(50 * 60 + 80 * 60)
    assert m.integral(it, 120.0) == pytest.approx(50 * 60 + 80 * 60)


def test_time_going_backwards_is_refused():
    clock, m = make()
    a = m.channel("a", "gpu")
    clock.t = 5.0
    m.set(a, 1.0)
    with pytest.raises(MeterError, match="before its last change"):
        m.set(a, 2.0, t=4.0)


def test_attribution_plus_unattributed_equals_total():
    clock, m = make()
    a = m.channel("a", "gpu")
    m.set(a, 100.0)
    m.assign(a, (("job1", 0.75), ("job2", 0.25)))
    clock.t = 10.0
    m.assign(a, ())
    clock.t = 20.0
    m.close_all(20.0)
    assert m.attributed_j["job1"] == pytest.approx(750.0)
    assert m.attributed_j["job2"] == pytest.approx(250.0)
    assert m.integral(a) - sum(m.attributed_j.values()) == pytest.approx(1000.0)


def test_log_is_compact_not_one_object_per_change():
    clock, m = make()
    a = m.channel("a", "gpu")
    for i in range(10_000):
        clock.t = float(i)
        m.set(a, float(i % 7))
    t, ch, delta = m.log()
    assert len(t) == m.changes and t.dtype == np.float64 and ch.dtype == np.int16
    # 18 bytes per change in three flat arrays (channel indices in 2 bytes below 32,768 channels)
    assert t.nbytes + ch.nbytes + delta.nbytes == 18 * m.changes


def test_log_channels_widen_to_int32_past_32767_channels_and_keep_every_change():
    clock = type("C", (), {"t": 0.0})()
    m = Meter(lambda: clock.t)
    first = m.channel("first", "it")
    m.set(first, 5.0)
    for i in range(32_768):  # channel indices 1 .. 32,768: the last no longer fits in int16
        m.channel(f"c{i}", "it")
    last = m.index("c32767")
    assert last == 32_768
    clock.t = 2.0
    m.set(last, 3.0)
    t, ch, delta = m.log()
    assert ch.dtype == np.int32 and ch.tolist() == [first, last]
    assert t.tolist() == [0.0, 2.0] and delta.tolist() == [5.0, 3.0]
    assert m.cumulative([first, last], np.array([0.0, 4.0])).tolist() == [0.0, 5.0 * 4 + 3.0 * 2]


def test_binned_gives_the_same_integrals_for_disjoint_and_overlapping_groups():
    """Disjoint and overlapping groups (read in one pass, `Meter.cumulative_many`) are exact
    integrals either way: a channel at 2 W on [0, 10) and 6 W on [10, 30), another at 1 W from
    5 s on, over bins [0, 10), [10, 20), [20, 30)."""

    t = [0.0]
    m = Meter(lambda: t[0])
    a = m.channel("a", "accelerator")
    b = m.channel("b", "host")
    m.set(a, 2.0)
    t[0] = 5.0
    m.set(b, 1.0)
    t[0] = 10.0
    m.set(a, 6.0)
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    disjoint = m.binned(edges, {"a": [a], "b": [b]})
    overlapping = m.binned(edges, {"a": [a], "b": [b], "both": [a, b]})
    assert disjoint["a"].tolist() == [20.0, 60.0, 60.0]
    assert disjoint["b"].tolist() == [5.0, 10.0, 10.0]
    assert overlapping["both"].tolist() == [25.0, 70.0, 70.0]
    for k in ("a", "b"):
        assert np.array_equal(disjoint[k], overlapping[k])


def test_counters_book_the_same_ledger_as_set_in_bulk(monkeypatch):
    """A counter (`Meter.counter` / `bump`) is booked in bulk when read: its integral, its
    category's, its value, the log and the binned series are those of the same changes made
    with `set`. By hand: +1 at 0, +2 at 10, -1 at 30 and, after a read at 35, +4 at 35 and
    -6 at 50: level 1 on [0, 10), 3 on [10, 30), 2 on [30, 35), 6 on [35, 50), 0 after, so
    the integral to 60 is 10 + 60 + 10 + 90 = 170 level-seconds; the bins [0, 20) and
    [20, 60) hold 10 + 30 = 40 and 30 + 10 + 90 = 130."""
    clock, m = make()
    c = m.counter("queued", "jobs")
    ref = m.channel("queued_ref", "ref", quantity="level")
    changes = [(0.0, 1), (10.0, 2), (30.0, -1), (35.0, 4), (50.0, -6)]
    for t, d in changes[:3]:
        clock.t = t
        m.bump(c, d, t)
        m.add(ref, d)
    clock.t = 35.0
    assert m.value(c) == 2.0
    assert m.integral(c) == 10.0 + 60.0 + 10.0  # a read books the bumps so far
    for t, d in changes[3:]:
        clock.t = t
        m.bump(c, d, t)
        m.add(ref, d)
    clock.t = 60.0
    m.close_all(60.0)
    assert m.integral(c) == m.integral(ref) == 170.0
    assert m.category_integral("jobs") == 170.0
    binned = m.binned(np.array([0.0, 20.0, 60.0]), {"c": [c], "ref": [ref]})
    np.testing.assert_array_equal(binned["c"], [40.0, 130.0])
    np.testing.assert_array_equal(binned["ref"], binned["c"])
    # the bounded buffer: with room for 2 bumps, they are booked as they come, same answer
    monkeypatch.setattr("sim.engine.meter.PENDING_MAX", 2)
    clock2, m2 = make()
    c2 = m2.counter("queued", "jobs")
    for t, d in changes:
        clock2.t = t
        m2.bump(c2, d, t)
    m2.close_all(60.0)
    assert m2.integral(c2) == 170.0


def test_counter_bumps_at_one_instant_book_one_change():
    """Bumps at one instant hold for no time: a job ends (-1) and the next starts (+1) at t = 5
    leaves no change in the log; -1 then +3 at t = 8 leaves one of +2. By hand: level 1 on
    [0, 8), 3 on [8, 20): the integral to 20 is 8 + 36 = 44 level-seconds."""
    clock, m = make()
    c = m.counter("running", "jobs")
    for t, d in [(0.0, 1), (5.0, -1), (5.0, 1), (8.0, -1), (8.0, 3)]:
        clock.t = t
        m.bump(c, d, t)
    clock.t = 20.0
    assert m.integral(c) == 44.0
    t, ch, delta = m.log()
    mine = ch == c
    assert t[mine].tolist() == [0.0, 8.0] and delta[mine].tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(m.binned(np.array([0.0, 6.0, 20.0]), {"c": [c]})["c"], [6.0, 38.0])
