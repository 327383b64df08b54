"""Renewable and carbon-free shares of a run by the standard definitions (pure accounting).

Used by the Result (per bin and for the run, from the ledger) and by the built-in supply
model's own summary. The grid's fractions come from ``sim.facility.grid_mix``.

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

from dataclasses import dataclass

import numpy as np


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
