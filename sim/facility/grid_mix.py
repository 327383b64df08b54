"""The grid's own generation mix: renewable and carbon-free fractions, and the
renewable / carbon-free shares of a site's consumption by the standard definitions.

What is modelled
----------------
A production file (ENTSO-E "actual generation per production type", one
column per source, MW, one row per interval) gives at each interval ``i``::

    G_i   = sum of the domestic generation columns, each clipped at 0
    f_i   = R_i / G_i      renewable fraction,   R_i the renewable columns
    c_i   = C_i / G_i      carbon-free fraction, C_i the carbon-free columns

Which source counts as what (``SOURCE_CLASSES``):

- *renewable*: the sources of the EU Renewable Energy Directive
  (Directive (EU) 2018/2001, Art. 2(1): wind, solar, geothermal, hydropower,
  biomass, ...): ``Biomass``, ``Geothermal``, ``Hydro Run-of-river and
  poundage``, ``Hydro Water Reservoir``, ``Marine``, ``Other renewable``,
  ``Solar``, ``Wind Offshore``, ``Wind Onshore``.
- *carbon-free*: Google's definition for its 24/7 CFE score ("any type of
  electricity generation that doesn't directly emit carbon dioxide",
  Google, "24/7 by 2030: Realizing a Carbon-free Future", 2020, and its
  Environmental Reports): the renewables above without ``Biomass`` (it burns),
  plus ``Nuclear``.
- neither: fossil columns, ``Waste`` (only its biodegradable part is renewable
  under the Directive and the file does not split it; counted as neither, a
  conservative choice), ``Other``.
- excluded from ``G``: ``Hydro Pumped Storage`` (storage re-delivers energy
  that other sources generated; it is not a source) and imports (columns named
  by a two-letter country code: the file gives the flow but not the
  neighbour's mix). The fractions are those of *domestic generation*.

An unknown column is an error that names it, never silently dropped.

The shares of a site's consumption computed from these fractions are defined
and computed in ``sim.results.shares``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.units import HOUR

RENEWABLE = "renewable"
CARBON_FREE = "carbon-free"

SOURCE_CLASSES: dict[str, frozenset[str]] = {
    "Biomass": frozenset({RENEWABLE}),
    "Geothermal": frozenset({RENEWABLE, CARBON_FREE}),
    "Hydro Run-of-river and poundage": frozenset({RENEWABLE, CARBON_FREE}),
    "Hydro Water Reservoir": frozenset({RENEWABLE, CARBON_FREE}),
    "Marine": frozenset({RENEWABLE, CARBON_FREE}),
    "Other renewable": frozenset({RENEWABLE, CARBON_FREE}),
    "Solar": frozenset({RENEWABLE, CARBON_FREE}),
    "Wind Offshore": frozenset({RENEWABLE, CARBON_FREE}),
    "Wind Onshore": frozenset({RENEWABLE, CARBON_FREE}),
    "Nuclear": frozenset({CARBON_FREE}),
    "Fossil Brown coal/Lignite": frozenset(),
    "Fossil Coal-derived gas": frozenset(),
    "Fossil Gas": frozenset(),
    "Fossil Hard coal": frozenset(),
    "Fossil Oil": frozenset(),
    "Fossil Oil shale": frozenset(),
    "Fossil Peat": frozenset(),
    "Waste": frozenset(),
    "Other": frozenset(),
}
"""ENTSO-E production types (Transparency Platform, B01..B20) -> classes."""

EXCLUDED_SOURCES = frozenset({"Hydro Pumped Storage"})
"""Storage, not a source: left out of the generation total."""

_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class GenerationMix:
    """Fractions of domestic generation per interval, from a production file.

    ``times`` are the interval starts (UTC); each row holds until the next
    (the last for the median interval)."""

    times: pd.DatetimeIndex
    generation_mw: np.ndarray
    renewable_mw: np.ndarray
    carbon_free_mw: np.ndarray
    source: str

    @property
    def renewable_fraction(self) -> np.ndarray:
        return self.renewable_mw / self.generation_mw

    @property
    def carbon_free_fraction(self) -> np.ndarray:
        return self.carbon_free_mw / self.generation_mw

    def interval_s(self) -> np.ndarray:
        """Length of each row's interval, s (the last: the median interval)."""
        t = (self.times - self.times[0]).total_seconds().to_numpy()
        d = np.diff(t)
        last = float(np.median(d)) if len(d) else HOUR
        return np.append(d, last)


def classify_columns(columns: Sequence[str], where: str = "") -> tuple[list[str], list[str], list[str]]:
    """(generation, renewable, carbon-free) columns of a production file; imports and storage left out.

    Raises ValueError naming any column that is neither a known source, storage nor an import."""
    generation: list[str] = []
    unknown: list[str] = []
    for col in columns:
        if col in SOURCE_CLASSES:
            generation.append(col)
        elif col in EXCLUDED_SOURCES or _COUNTRY_CODE.match(col):
            continue
        else:
            unknown.append(col)
    if unknown:
        raise ValueError(
            f"{where}production columns {unknown} are not ENTSO-E production types, storage or"
            f" two-letter import columns; known types: {sorted(SOURCE_CLASSES)}"
        )
    if not generation:
        raise ValueError(f"{where}no generation columns among {list(columns)}")
    renewable = [c for c in generation if RENEWABLE in SOURCE_CLASSES[c]]
    carbon_free = [c for c in generation if CARBON_FREE in SOURCE_CLASSES[c]]
    return generation, renewable, carbon_free


def read_generation_mix(path: str | Path) -> GenerationMix:
    """Read a production file: first column the time (UTC), then one column per source (MW)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"production file not found: {p}")
    stat = p.stat()
    return _read_mix_cached(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_mix_cached(path_text: str, mtime_ns: int, size: int) -> GenerationMix:
    """Parse once per process and file version (a sweep reads it for every run)."""
    df = pd.read_csv(path_text)
    tcol = df.columns[0]
    times = pd.DatetimeIndex(pd.to_datetime(df[tcol], utc=True))
    gen_cols, ren_cols, cf_cols = classify_columns([c for c in df.columns if c != tcol], f"{path_text}: ")
    values = df[gen_cols].to_numpy(float)
    keep = np.all(np.isfinite(values), axis=1) & ~times.duplicated(keep="first")
    order = np.argsort(times[keep].asi8, kind="stable")  # ns since the epoch: no Timestamp per row
    values = np.clip(values[keep][order], 0.0, None)  # net negative readings (own use) are not generation
    times = times[keep][order]
    idx = {c: i for i, c in enumerate(gen_cols)}
    total = values.sum(axis=1)
    ren = values[:, [idx[c] for c in ren_cols]].sum(axis=1) if ren_cols else np.zeros(len(total))
    cf = values[:, [idx[c] for c in cf_cols]].sum(axis=1) if cf_cols else np.zeros(len(total))
    ok = total > 0
    for arr in (total, ren, cf):
        arr.setflags(write=False)
    return GenerationMix(times[ok], total[ok], ren[ok], cf[ok], path_text)


def generation_weighted_fraction(mix: GenerationMix, start: pd.Timestamp, end: pd.Timestamp,
                                 which: str = RENEWABLE) -> float:
    """The grid's own share over [start, end): sum of renewable (or carbon-free) MWh / sum of MWh."""
    dt = mix.interval_s()
    sel = (mix.times >= start) & (mix.times < end)
    part = mix.renewable_mw if which == RENEWABLE else mix.carbon_free_mw
    den = float(np.sum(mix.generation_mw[sel] * dt[sel]))
    return float(np.sum(part[sel] * dt[sel])) / den if den > 0 else 0.0
