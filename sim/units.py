"""Units: SI inside (W, J, s, B, FLOP), kWh/MWh only at the edges.

Every conversion the project needs lives here so that a factor of 1000 is
written once. Durations in scenario files may be strings ("7d", "90min",
"3600s", "1h30min") or plain seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import math
import re
import reprlib

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY

J_PER_KWH = 3.6e6
J_PER_MWH = 3.6e9
W_PER_KW = 1e3
W_PER_MW = 1e6

#: Longest duration a scenario may give: 100 years (pandas timestamps end in 2262, and
#: no datacenter scenario runs longer). Every duration is finite and within [0, this].
MAX_DURATION_S = 100 * 365 * DAY

_DURATION_UNITS = {
    "ms": 1e-3,
    "s": SECOND,
    "sec": SECOND,
    "min": MINUTE,
    "h": HOUR,
    "hr": HOUR,
    "d": DAY,
    "day": DAY,
    "days": DAY,
    "w": WEEK,
    "week": WEEK,
    "weeks": WEEK,
}
#: Units refused because they are ambiguous: "m"/"M" reads as minutes or months.
_AMBIGUOUS_UNITS = {"m": "minutes ('min') or months (not a duration unit: give days, e.g. '30d')"}
_DURATION_TOKEN = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)")


def parse_duration(value: str | float | int) -> float:
    """Return seconds from "7d", "90min", "3600s", "1h30min", "2.5h" or a number.

    Units are case-insensitive except that "m"/"M" is refused (minutes or months?):
    minutes are "min". The result is finite and at most `MAX_DURATION_S`.
    Raises ValueError with the list of accepted units for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value) if not isinstance(value, int) or value.bit_length() < 1000 else math.inf
    else:
        text = value.strip()
        pos, seconds, matched = 0, 0.0, False
        while pos < len(text):
            m = _DURATION_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(_duration_help(value))
            number, unit = m.groups()
            unit = unit.lower() or "s"
            if unit in _AMBIGUOUS_UNITS:
                raise ValueError(f"{short_repr(value)} is ambiguous: {unit!r} could mean {_AMBIGUOUS_UNITS[unit]}")
            if unit not in _DURATION_UNITS:
                raise ValueError(_duration_help(value))
            seconds += float(number) * _DURATION_UNITS[unit]
            pos, matched = m.end(), True
        if not matched:
            raise ValueError(_duration_help(value))
    if seconds != seconds or seconds < 0 or seconds > MAX_DURATION_S:
        raise ValueError(f"duration must be a number of seconds in [0, {MAX_DURATION_S:.4g}] (100 years), "
                         f"got {short_repr(value)}")
    return seconds


def short_repr(value: object, limit: int = 60) -> str:
    """repr(value) for an error message, at most about `limit` characters, cut with an ellipsis.

    Bounded work too: containers are shown two levels deep and four items wide
    (reprlib), so a value built by a YAML alias bomb is never expanded.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 2, 4, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 50, 50, 40


def _duration_help(value: object) -> str:
    units = ", ".join(sorted(set(_DURATION_UNITS)))
    return f"{short_repr(value)} is not a duration; use a number of seconds or e.g. '7d', '90min', '3600s' (units: {units})"


def j_to_kwh(energy_j: float) -> float:
    return energy_j / J_PER_KWH


def j_to_mwh(energy_j: float) -> float:
    return energy_j / J_PER_MWH


def kwh_to_j(energy_kwh: float) -> float:
    return energy_kwh * J_PER_KWH


def kw_to_w(power_kw: float) -> float:
    return power_kw * W_PER_KW


def g_per_kwh_to_g_per_j(intensity_g_per_kwh: float) -> float:
    return intensity_g_per_kwh / J_PER_KWH


def per_kwh_to_per_j(price_per_kwh: float) -> float:
    return price_per_kwh / J_PER_KWH


def as_utc(when: pd.Timestamp | str) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is read as UTC (as scenario start times are)."""
    import pandas as pd  # pandas loads on first use: `wattsim validate` stays light

    ts = pd.Timestamp(when)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

BITS_PER_BYTE = 8.0
"""Bits in a byte (links are quoted in bit/s, the engine works in bytes/s)."""
