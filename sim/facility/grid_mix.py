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

Shares of a site's consumption (per plant step ``k`` of length ``dt_k``;
demand ``D``, on-site renewables delivered to the load ``O`` (directly or
through the battery's renewable pool), grid import ``I``, PPA generation
``P``; the grid fractions ``f_k, c_k`` are their exact means over the step):

- location-based (GHG Protocol Scope 2 Guidance, 2015, ch. 6: the grid's
  average mix where the energy is consumed)::

      renewable_share   = sum_k (O_k + I_k f_k) dt_k / sum_k D_k dt_k
      carbon_free_share = sum_k (O_k + I_k c_k) dt_k / sum_k D_k dt_k

- on-site: ``renewable_share_onsite = sum O dt / sum D dt``;
- market-based, hourly (24/7 CFE, Google, "24/7 Carbon-Free Energy:
  Methodologies and Metrics", 2021): per clock hour ``h`` the load left after
  on-site supply ``L'_h`` is matched by contracted clean energy first, and the
  rest by the grid's carbon-free fraction ``c_h`` (that of the energy drawn
  from the grid in the hour, ``sum I c dt / sum I dt``)::

      matched_h   = min(L'_h, P_h)
      cfe_score   = sum_h (O_h + matched_h + c_h (L'_h - matched_h)) / sum_h D_h
      renewable_share_hourly_matched = sum_h (O_h + matched_h) / sum_h D_h

- market-based, annual (volumetric matching of certificates / PPAs, as in
  Google's "100 % renewable" claims since 2017)::

      annual_matched_share = min(1, (onsite generation - curtailed + sum P) / sum D)

A fraction that is not known (a carbon trace without a production mix and no
``renewable_fraction`` set) is NaN, and so is every share that needs it: a
missing figure is reported as missing, never as 0.
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
    order = np.argsort(times[keep].to_numpy(), kind="stable")
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


# ---------------------------------------------------------------- shares


@dataclass(frozen=True)
class ShareInputs:
    """Energies of a run (J) per plant step, or per clock hour: the inputs of every share.

    ``hour`` is the clock hour index (``floor(t0 / 3600)``) of each row;
    ``grid_renewable_j`` and ``grid_carbon_free_j`` are the grid import times
    the grid's renewable / carbon-free fraction of its step (NaN where the
    fraction is unknown). Rows of the same hour may be given apart or summed:
    every share comes out the same."""

    demand_j: np.ndarray
    onsite_to_load_j: np.ndarray
    grid_import_j: np.ndarray
    grid_renewable_j: np.ndarray
    grid_carbon_free_j: np.ndarray
    ppa_j: np.ndarray
    onsite_generated_j: np.ndarray
    curtailed_j: np.ndarray
    hour: np.ndarray


SHARE_DEFINITIONS: dict[str, str] = {
    "renewable_share": "location-based: (on-site renewables to the load + grid import x the grid's"
                       " renewable fraction at each step) / demand",
    "carbon_free_share": "location-based: as renewable_share with the grid's carbon-free fraction"
                         " (renewables without biomass, plus nuclear)",
    "renewable_share_onsite": "on-site PV, wind and battery energy consumed by the load / demand",
    "renewable_share_hourly_matched": "market-based, hourly: (on-site + PPA matched hour by hour) / demand",
    "cfe_score": "market-based 24/7 CFE score (Google 2021): on-site + PPA matched hour by hour + the"
                 " grid's carbon-free fraction of the rest, / demand",
    "annual_matched_share": "market-based, annual: min(1, (on-site generation - curtailed + PPA) / demand)",
}
"""The definition of each share, as the CLI and the report print it."""


def binned_shares(x: ShareInputs, bin_of_row: np.ndarray, nbins: int) -> dict[str, np.ndarray]:
    """Every share of ``SHARE_DEFINITIONS`` per bin (``bin_of_row`` gives each row's bin).

    Hourly matching happens within each (bin, clock hour): a bin shorter than
    an hour matches only its own part of the hour. A bin without demand has
    share 0; a location-based share with an unknown grid fraction is NaN."""
    b = np.asarray(bin_of_row, dtype=np.int64)
    h = np.asarray(x.hour, dtype=np.int64)
    key = b * (int(h.max(initial=0)) - int(h.min(initial=0)) + 1) + (h - int(h.min(initial=0)))
    groups, inverse = np.unique(key, return_inverse=True)
    n = len(groups)
    group_bin = np.zeros(n, dtype=np.int64)
    group_bin[inverse] = b

    def per_group(v: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, np.asarray(v, dtype=float), n)

    def per_bin(v: np.ndarray) -> np.ndarray:
        return np.bincount(group_bin, v, nbins)

    d_h, o_h, p_h = per_group(x.demand_j), per_group(x.onsite_to_load_j), per_group(x.ppa_j)
    i_h, cf_h = per_group(x.grid_import_j), per_group(x.grid_carbon_free_j)
    rest_h = np.maximum(d_h - o_h, 0.0)
    matched_h = np.minimum(rest_h, p_h)
    # the grid's carbon-free fraction of the energy drawn from it in the hour
    c_h = np.divide(cf_h, i_h, out=np.zeros(n), where=i_h > 0)
    demand = per_bin(d_h)
    onsite = per_bin(o_h)
    ren_grid = np.bincount(b, np.asarray(x.grid_renewable_j, dtype=float), nbins)
    cf_grid = np.bincount(b, np.asarray(x.grid_carbon_free_j, dtype=float), nbins)
    onsite_net = np.bincount(b, np.asarray(x.onsite_generated_j, float) - np.asarray(x.curtailed_j, float), nbins)
    ppa = per_bin(p_h)
    has = demand > 0
    den = np.where(has, demand, 1.0)

    def share(num: np.ndarray) -> np.ndarray:
        out = np.where(has, num / den, 0.0)
        return np.where(np.isnan(out), np.nan, np.clip(out, 0.0, 1.0))

    return {
        "renewable_share": share(onsite + ren_grid),
        "carbon_free_share": share(onsite + cf_grid),
        "renewable_share_onsite": share(onsite),
        "renewable_share_hourly_matched": share(per_bin(o_h + matched_h)),
        "cfe_score": share(per_bin(o_h + matched_h + c_h * (rest_h - matched_h))),
        "annual_matched_share": share(np.maximum(onsite_net + ppa, 0.0)),
    }


def compute_shares(x: ShareInputs) -> dict[str, float]:
    """Every share of ``SHARE_DEFINITIONS`` over all the rows given (see module docstring)."""
    if len(np.asarray(x.demand_j)) == 0:
        return {k: 0.0 for k in SHARE_DEFINITIONS}
    one = binned_shares(x, np.zeros(len(np.asarray(x.demand_j)), dtype=np.int64), 1)
    return {k: float(v[0]) for k, v in one.items()}


def generation_weighted_fraction(mix: GenerationMix, start: pd.Timestamp, end: pd.Timestamp,
                                 which: str = RENEWABLE) -> float:
    """The grid's own share over [start, end): sum of renewable (or carbon-free) MWh / sum of MWh."""
    dt = mix.interval_s()
    sel = (mix.times >= start) & (mix.times < end)
    part = mix.renewable_mw if which == RENEWABLE else mix.carbon_free_mw
    den = float(np.sum(mix.generation_mw[sel] * dt[sel]))
    return float(np.sum(part[sel] * dt[sel])) / den if den > 0 else 0.0
