"""Placement policies: which accelerators a job gets.

Each returns [(node index, accelerators), ...] or None, reading only the
`ClusterView` and its `FreeIndex` (buckets of nodes by free count), so a
placement that cannot succeed costs O(slots) and one that succeeds costs
O(groups + nodes of the chosen group), never a scan per queued job.

- first-fit: lowest-numbered nodes with room (in `policies.py`).
- packed: fewest nodes; a job that fits one node goes to the fullest node that
  holds it (best fit); a larger job takes whole nodes from one rack/leaf if one
  has enough (the rack with the fewest spare whole nodes: best fit over racks),
  else from the racks with most whole nodes first.
- spread: as many nodes as possible, the emptiest first, round robin.
- topology: like packed, but among racks that can hold the job it picks the
  one whose placement keeps the highest bottleneck bandwidth on the networkx
  graph (min link bandwidth on the paths between its hosts); across racks it
  uses as few racks as possible. Without a graph it is packed.
- random: uniformly random nodes with room (seeded from the scenario seed).
- thermal: the coolest zone that holds the job. With a plant of several
  thermal zones (`cooling.zones`) racks are ranked by the inlet temperature of
  their zone (`view.zone_temp_c` of their first and last node, the hotter;
  zones are blocks of node indices, so a rack spans at most those), then by
  the share of their accelerators that are busy; with one hall by that share
  alone (heat released in the rack). Packed inside the chosen rack.
- heterogeneity: the accelerator type on which the job runs fastest
  (Gavel, Narayanan et al. OSDI'20, rank by per-type throughput), packed in
  that pool, then the next fastest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sim.scheduling.policies import ClusterView, FirstFit

if TYPE_CHECKING:
    import numpy as np

    from sim.compute.training import Job

Placement = list[tuple[int, int]]

__all__ = ["FirstFit", "Heterogeneity", "Packed", "Random", "Spread", "Thermal", "Topology"]


def _best_fit_node(view: ClusterView, need: int, pool: int | None = None, exclude: Iterable[int] = ()) -> int | None:
    """The lowest-numbered node among the fullest that hold `need` (O(slots))."""
    ix = view.index
    buckets = ix.buckets if pool is None else ix.pool_buckets[pool]
    ex = set(exclude)
    for k in range(max(need, 1), ix.max_slots + 1):
        for i in buckets[k][: len(ex) + 1]:
            if i not in ex:
                return i
    return None


def _whole_in_group(view: ClusterView, g: int) -> list[int]:
    ix = view.index
    return [i for i in ix.group_members[g] if ix._free[i] == ix.slots[i]]


def _fill_remainder(view: ClusterView, out: Placement, need: int, prefer_group: int | None,
                    pool: int | None = None) -> Placement | None:
    """Put the last `need` accelerators on the fullest node that holds them."""
    if need == 0:
        return out
    ix = view.index
    taken = {i for i, _ in out}
    if prefer_group is not None:
        cands = [i for i in ix.group_members[prefer_group]
                 if i not in taken and ix._free[i] >= need and (pool is None or ix.pool_of[i] == pool)]
        if cands:
            out.append((min(cands, key=lambda i: (ix._free[i], i)), need))
            return out
    i = _best_fit_node(view, need, pool, taken)
    if i is None:
        return None
    out.append((i, need))
    return out


def packed_placement(view: ClusterView, job: Job, pool: int | None = None,
                     group_key=None) -> Placement | None:
    """Fewest nodes, same rack if possible (see module docstring)."""
    ix = view.index
    need = job.accelerators
    free_total = ix.total_free if pool is None else sum(
        k * len(b) for k, b in enumerate(ix.pool_buckets[pool]))
    if need > free_total:
        return None
    if group_key is not None and pool is None and need <= ix.max_free():
        # one node, in the best-ranked rack that has one with room (best fit inside it)
        for g in sorted((g for g, f in enumerate(ix.group_free) if f >= need), key=group_key):
            cands = [i for i in ix.group_members[g] if ix._free[i] >= need]
            if cands:
                return [(min(cands, key=lambda i: (ix._free[i], i)), need)]
    i = _best_fit_node(view, need, pool)
    if i is not None and need <= ix.slots[i]:
        return [(i, need)]
    whole = ix.whole if pool is None else ix.pool_whole[pool]
    if not whole:
        return None
    s = ix.slots[whole[0]]
    full, rem = divmod(need, s)
    if len(whole) < full:
        return None
    if pool is None:
        # racks that hold all the whole nodes; best fit (fewest spare whole nodes) unless a key ranks them
        fits = [g for g, w in enumerate(ix.group_whole) if w >= full and (rem == 0 or ix.group_free[g] >= need)]
        if fits:
            key = group_key or (lambda g: (ix.group_whole[g], g))
            g = min(fits, key=key)
            nodes = _whole_in_group(view, g)[:full]
            out = [(n, s) for n in nodes]
            res = _fill_remainder(view, out, rem, g)
            if res is not None:
                return res
        # across racks: take racks with the most whole nodes first (fewest racks)
        order = sorted((g for g, w in enumerate(ix.group_whole) if w), key=lambda g: (-ix.group_whole[g], g))
        out = []
        last = None
        for g in order:
            for n in _whole_in_group(view, g):
                if len(out) == full:
                    break
                out.append((n, s))
                last = g
            if len(out) == full:
                break
        if len(out) < full:
            return None
        return _fill_remainder(view, out, rem, last)
    out = [(n, s) for n in whole[:full]]
    return _fill_remainder(view, out, rem, None, pool)


class Packed:
    """Fewest nodes, then the same rack/leaf (best fit)."""

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        return packed_placement(view, job)


class Spread:
    """As many nodes as possible, the emptiest first, one accelerator each in turn."""

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        ix = view.index
        need = job.accelerators
        if need > ix.total_free:
            return None
        chosen: list[int] = []
        cap = 0
        for k in range(ix.max_slots, 0, -1):
            for i in ix.buckets[k]:
                if len(chosen) >= need:
                    break
                chosen.append(i)
                cap += k
            if len(chosen) >= need:
                break
        if cap < need:  # fewer nodes than accelerators and not enough room on them: take more nodes
            return None
        alloc = dict.fromkeys(chosen, 0)
        left = need
        while left:
            for i in chosen:
                if left and alloc[i] < ix._free[i]:
                    alloc[i] += 1
                    left -= 1
        return [(i, c) for i, c in alloc.items() if c]


class Topology:
    """Packed, choosing among racks the one that keeps the highest bottleneck bandwidth."""

    def __init__(self) -> None:
        self._bw_cache: dict[tuple[str, str], float] = {}

    def _bottleneck(self, view: ClusterView, nodes: list[int]) -> float:
        g = view.graph
        if g is None or len(nodes) < 2:
            return math.inf
        import networkx as nx

        a = view.host(nodes[0])
        worst = math.inf
        for n in nodes[1:]:
            b = view.host(n)
            key = (a, b)
            bw = self._bw_cache.get(key)
            if bw is None:
                path = nx.shortest_path(g, a, b)
                bw = min(g.edges[u, v].get("bandwidth_bytes_per_s", math.inf) for u, v in zip(path, path[1:]))
                self._bw_cache[key] = bw
            worst = min(worst, bw)
        return worst

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        ix = view.index

        def key(g: int) -> tuple[float, int, int]:
            members = _whole_in_group(view, g)[:2]
            return (-self._bottleneck(view, members), ix.group_whole[g], g)

        return packed_placement(view, job, group_key=key if view.graph is not None else None)


class Random:
    """Uniformly random nodes with room; seeded from the scenario seed."""

    def __init__(self) -> None:
        self._rng: np.random.Generator | None = None

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        ix = view.index
        if self._rng is None:
            self._rng = view.rng("placement-random")
        rng = self._rng
        need = job.accelerators
        if need > ix.total_free:
            return None
        sizes = [len(ix.buckets[k]) if k >= need else 0 for k in range(ix.max_slots + 1)]
        total = sum(sizes)
        if total and need <= ix.max_slots:
            r = int(rng.integers(total))
            for k, n in enumerate(sizes):
                if r < n:
                    return [(ix.buckets[k][r], need)]
                r -= n
        if not ix.whole:
            return None
        s = ix.slots[ix.whole[0]]
        full, rem = divmod(need, s)
        if len(ix.whole) < full:
            return None
        picks = rng.choice(len(ix.whole), size=full, replace=False)
        out = [(ix.whole[int(p)], s) for p in sorted(picks)]
        if rem:
            taken = {i for i, _ in out}
            cands = [i for k in range(rem, ix.max_slots + 1) for i in ix.buckets[k] if i not in taken]
            if not cands:
                return None
            out.append((cands[int(rng.integers(len(cands)))], rem))
        return out


class Thermal:
    """The rack in the coolest zone, then the least busy rack, that holds the job; packed inside it."""

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        ix = view.index

        def heat(g: int) -> tuple[float, float, int]:
            members = ix.group_members[g]
            size = sum(ix.slots[i] for i in members) or 1
            temps = [t for t in (view.zone_temp_c(members[0]), view.zone_temp_c(members[-1]))
                     if t is not None] if members else []
            return (max(temps) if temps else 0.0, ix.group_busy[g] / size, g)

        return packed_placement(view, job, group_key=heat)


class Heterogeneity:
    """The accelerator type on which the job runs fastest, packed; then the next."""

    def place(self, job: Job, view: ClusterView) -> Placement | None:
        ix = view.index
        pools = ix.pools
        if len(pools) == 1:
            return packed_placement(view, job)
        first = {p: ix.pool_of.index(p) for p in pools}
        speed = {p: view.flops_per_accelerator(job, first[p]) for p in pools}
        for p in sorted(pools, key=lambda p: (-speed[p], p)):
            out = packed_placement(view, job, pool=p)
            if out is not None:
                return out
        return None
