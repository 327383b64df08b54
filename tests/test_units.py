"""Units: SI inside, kWh at the edges, durations from strings."""

import pytest

from sim.units import J_PER_KWH, j_to_kwh, parse_duration


def test_five_kilowatts_for_five_hours_is_25_kwh_not_25000():
    # A widely read article on AI energy wrote "5000 W x 5 h = 25000 kWh";
    # it is 5 kW x 5 h = 25 kWh.
    energy_j = 5000.0 * 5 * 3600
    assert j_to_kwh(energy_j) == pytest.approx(25.0, rel=1e-12)
    assert J_PER_KWH == 3.6e6


@pytest.mark.parametrize(
    "text,seconds",
    [("7d", 604800), ("90min", 5400), ("3600s", 3600), ("1h30min", 5400), ("2.5h", 9000), (120, 120),
     ("1w", 604800), ("250ms", 0.25)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["7x", "", "h", "-3s", "1d2q"])
def test_bad_durations_say_what_is_allowed(bad):
    with pytest.raises(ValueError, match="duration|non-negative"):
        parse_duration(bad)
