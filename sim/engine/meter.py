"""The ledger: exact integrals of piecewise-constant rates.

Every consumer (an accelerator, a host, a switch, the chillers) owns a
*channel*. A component calls `Meter.set(ch, value)` whenever its draw changes;
the ledger closes the previous constant segment exactly (E += P * dt) and logs
the change. Energy is never estimated by sampling (the SimGrid energy plugin
does the same).

The same machinery integrates any piecewise-constant rate, so a channel has a
`quantity`: `power_w` for consumers (the facility total is the sum of these),
`flow_w` for supply flows that are not consumption (grid import, PV output),
`rate` for other rates (carbon g/s, money/s) and `level` for states whose time
mean is wanted (busy accelerators, hall temperature, queue length).

Memory: the change log is three flat `array.array` columns (time, channel,
delta), 18 bytes per change (20 beyond 32,767 channels), never a Python object per change point.

Time series come out by exact integration into bins: the changes of a group of
channels are sorted by time, the group's value after each change is a
cumulative sum of deltas, the integral at each change point a cumulative sum of
value x dt, and the integral at each bin edge is the one at the last change
before it plus value x (edge - change time). Vectorised with numpy; many
groups at once come out of one pass over the log (`cumulative_many`, `LogGroups`).

Plant channels are booked for a step that has just closed, so `set` takes an
optional time `t` in the past; a channel's own times must never go backwards.
Running per-category integrals stay exact under such back-dating: a change of
`delta` at `t` <= the category clock adds `delta * (clock - t)`.

Zones: a channel tagged `zone` (the nodes of a plant with several thermal
zones) also feeds a running integral of its (category, zone) group, kept
exactly like the per-category ones, so the plant reads a zone's IT energy per
step in O(1) (`group_index`, `group_integrals`) without touching channels.

Attribution: a channel may have owners (job ids with shares). Each closed
segment's integral is credited to them; what has no owner is unattributed.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

QUANTITIES = ("power_w", "flow_w", "rate", "level")

#: log changes sorted together when a read picks groups out of the log (`LogGroups`): bounds the
#: sort's int64 positions to 32 MiB
_SORT_CHUNK = 1 << 22

_INT16_MAX = 32767

#: counter bumps held before the ledger books them in bulk (`Meter.bump`)
PENDING_MAX = 1 << 16

Owners = tuple[tuple[Hashable, float], ...]


@dataclass(frozen=True)
class Channel:
    """What a channel is: its name, quantity and tags (category, node, ...)."""

    index: int
    name: str
    category: str
    quantity: str = "power_w"
    tags: dict[str, object] = field(default_factory=dict)


class MeterError(ValueError):
    """A booking that would break the ledger (time going backwards, NaN)."""


class Meter:
    """Piecewise-constant rates in, exact integrals and binned time series out."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self.channels: list[Channel] = []
        self._by_name: dict[str, int] = {}
        # per-channel state, as lists: scalar access is faster than numpy here
        self._value: list[float] = []
        self._since: list[float] = []
        self._integral: list[float] = []
        self._cat_of: list[int] = []
        self._owners: list[Owners] = []
        # per-category running integrals (exact, O(1) per change)
        self.categories: list[str] = []
        self._cat_index: dict[str, int] = {}
        self._cat_value: list[float] = []
        self._cat_clock: list[float] = []
        self._cat_integral: list[float] = []
        # per-(category, zone) running integrals of channels tagged `zone` (-1: untagged)
        self._grp_of: list[int] = []
        self._grp_index: dict[tuple[str, object], int] = {}
        self._grp_value: list[float] = []
        self._grp_clock: list[float] = []
        self._grp_integral: list[float] = []
        # the change log
        self._log_t = array("d")
        # channel indices as int16 while fewer than 32,768 channels are open (2 bytes a change less),
        # widened to int32 once when more are (`channel`)
        self._log_ch = array("h")
        self._log_delta = array("d")
        # attribution: owner -> integral of the power_w it was credited with
        self.attributed_j: dict[Hashable, float] = {}
        # counters (`counter`, `bump`): changes logged in O(1), booked in bulk when read (`_settle`)
        self._counters: set[int] = set()
        self._counter_cats: set[str] = set()
        self._booked: dict[int, float] = {}  # counter -> value booked in the ledger so far
        self._series_memo: tuple[np.ndarray, float, np.ndarray] | None = None  # (starts, end, dts)
        self._pend_t = array("d")
        self._pend_ch = array("i")
        self._pend_delta = array("d")

    # -- channels ---------------------------------------------------------
    def channel(
        self,
        name: str,
        category: str,
        quantity: str = "power_w",
        initial: float = 0.0,
        t: float | None = None,
        tags: dict[str, object] | None = None,
    ) -> int:
        """Open a channel and return its index; `initial` holds from `t` (default now) on."""
        if name in self._by_name:
            raise MeterError(f"channel {name!r} already exists")
        if quantity not in QUANTITIES:
            raise MeterError(f"quantity {quantity!r} is not one of {QUANTITIES}")
        if category not in self._cat_index:
            self._cat_index[category] = len(self.categories)
            self.categories.append(category)
            self._cat_value.append(0.0)
            self._cat_clock.append(self._clock())
            self._cat_integral.append(0.0)
        idx = len(self.channels)
        if idx > _INT16_MAX and self._log_ch.typecode == "h":
            self._log_ch = array("i", self._log_ch)
        self.channels.append(Channel(idx, name, category, quantity, dict(tags or {})))
        self._by_name[name] = idx
        now = self._clock() if t is None else t
        self._value.append(0.0)
        self._since.append(now)
        self._integral.append(0.0)
        self._cat_of.append(self._cat_index[category])
        self._grp_of.append(self.group_index(category, tags["zone"]) if tags and "zone" in tags else -1)
        self._owners.append(())
        if initial:
            self.set(idx, initial, now)
        return idx

    def counter(self, name: str, category: str, tags: dict[str, object] | None = None) -> int:
        """Open a `level` channel that only `bump` changes (a count: jobs queued, running).

        A bump is logged in O(1) (time, delta); the ledger books a counter's pending
        bumps in bulk (`set_series`, exact: the values are sums of integers) when any
        reader needs it: its integral or value, its category's, the log, or `close_all`.
        Bumps at one instant are booked as one change (the instant's last value: they hold
        for no time), so `delta`s must be whole numbers (counts) for the sums to stay exact.
        Nothing else may `set` a counter, nor a channel of a counter's category.
        """
        ch = self.channel(name, category, "level", tags=tags)
        self._counters.add(ch)
        self._counter_cats.add(category)
        self._booked[ch] = 0.0
        return ch

    def bump(self, ch: int, delta: float, t: float) -> None:
        """Change counter `ch` by `delta` at time `t` (not before its last bump)."""
        self._pend_t.append(t)
        self._pend_ch.append(ch)
        self._pend_delta.append(delta)
        self._value[ch] += delta
        if len(self._pend_t) >= PENDING_MAX:  # bounded memory: book them now
            self._settle(t)

    def _settle(self, t: float | None = None) -> None:
        """Book the counters' pending bumps into the ledger, through `t` (default now)."""
        if not self._pend_t:
            return
        times = np.frombuffer(self._pend_t, dtype=np.float64)
        chans = np.frombuffer(self._pend_ch, dtype=np.int32)
        deltas = np.frombuffer(self._pend_delta, dtype=np.float64)
        end = max(self._clock() if t is None else t, float(times[-1]))
        for ch in np.unique(chans).tolist():
            mask = chans == ch
            at = times[mask]
            values = self._booked[ch] + np.cumsum(deltas[mask])
            # bumps at one instant (a job ends, the next starts) hold for no time: only the
            # instant's last value is booked (exact: counts are integers, their sums exact)
            last = np.empty(len(at), dtype=bool)
            np.not_equal(at[1:], at[:-1], out=last[:-1])
            last[-1] = True
            self._value[ch] = self._booked[ch]  # set_series starts from the booked value
            self.set_series(ch, at[last], values[last], end)
            self._booked[ch] = self._value[ch]
        self._pend_t = array("d")
        self._pend_ch = array("i")
        self._pend_delta = array("d")

    @property
    def changes(self) -> int:
        """Changes in the log (counter bumps once booked)."""
        return len(self._log_t)

    def now(self) -> float:
        """The ledger's clock (the simulation's now)."""
        return self._clock()

    def index(self, name: str) -> int:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    # -- booking ----------------------------------------------------------
    def set(self, ch: int, value: float, t: float | None = None) -> None:
        """From time `t` (default: now) on, channel `ch` holds `value`."""
        now = self._clock() if t is None else t
        since = self._since[ch]
        old = self._value[ch]
        if now > since:  # close the segment [since, now) (inline `_close`: the hot path)
            seg = old * (now - since)
            self._integral[ch] += seg
            owners = self._owners[ch]
            if owners and seg:
                att = self.attributed_j
                for owner, share in owners:
                    att[owner] = att.get(owner, 0.0) + seg * share
            self._since[ch] = now
        elif now < since:
            raise MeterError(
                f"channel {self.channels[ch].name!r}: time {now} is before its last change {since}"
            )
        if value == old:
            return
        if value != value:
            raise MeterError(f"channel {self.channels[ch].name!r}: value is NaN")
        delta = value - old
        self._value[ch] = value
        c = self._cat_of[ch]
        clock = self._cat_clock[c]
        if now >= clock:
            self._cat_integral[c] += self._cat_value[c] * (now - clock)
            self._cat_clock[c] = now
        else:  # back-dated: the category was integrated with the old value
            self._cat_integral[c] += delta * (clock - now)
        self._cat_value[c] += delta
        g = self._grp_of[ch]
        if g >= 0:
            self._group_change(g, now, delta)
        self._log_t.append(now)
        self._log_ch.append(ch)
        self._log_delta.append(delta)

    def set_series(self, ch: int, starts: np.ndarray, values: np.ndarray, end: float) -> None:
        """Book a whole step series at once: `values[i]` holds on [starts[i], starts[i+1]).

        The plant loop keeps its per-step values in arrays during the run and
        books them here when it closes the books: exact, vectorised, and
        equal to calling `set` at every step. The series must start at or
        after the channel's last change, and nothing else may book the
        channel's category meanwhile (the plant's categories are its own).
        """
        starts = np.asarray(starts, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if len(starts) == 0:
            return
        if starts[0] < self._since[ch] or end < starts[-1]:
            raise MeterError(f"channel {self.channels[ch].name!r}: series times go backwards")
        memo = self._series_memo  # the plant books many channels on one step grid: check it once
        if memo is not None and memo[0] is starts and memo[1] == end:
            dts = memo[2]
        else:
            if np.any(np.diff(starts) < 0):
                raise MeterError(f"channel {self.channels[ch].name!r}: series times go backwards")
            dts = np.diff(np.append(starts, end))
            self._series_memo = (starts, end, dts)
        if np.isnan(values).any():
            raise MeterError(f"channel {self.channels[ch].name!r}: value is NaN")
        old = self._value[ch]
        self._close(ch, float(starts[0]), old, self._since[ch])
        # a numpy sum, not np.dot: BLAS splits a long dot product across threads (a second core
        # busy for nothing here, and last bits that would depend on the machine's thread count)
        area = float(np.sum(values * dts))
        self._integral[ch] += area
        deltas = np.diff(values, prepend=old)
        keep = deltas != 0
        n = int(np.count_nonzero(keep))
        if n:
            self._log_t.frombytes(starts[keep].tobytes())
            self._log_ch.frombytes(np.full(n, ch, dtype=self._log_ch.typecode).tobytes())
            self._log_delta.frombytes(deltas[keep].tobytes())
        c = self._cat_of[ch]
        clock = self._cat_clock[c]
        last = float(values[-1])
        # bring the category to `end`: the old value up to the series start, then the series
        self._cat_integral[c] += self._cat_value[c] * (end - clock) + area - old * (end - float(starts[0]))
        self._cat_clock[c] = end
        self._cat_value[c] += last - old
        g = self._grp_of[ch]
        if g >= 0:  # the same for the channel's zone group
            self._grp_integral[g] += self._grp_value[g] * (end - self._grp_clock[g]) + area \
                - old * (end - float(starts[0]))
            self._grp_clock[g] = end
            self._grp_value[g] += last - old
        self._value[ch] = last
        self._since[ch] = end

    def add(self, ch: int, delta: float, t: float | None = None) -> None:
        """Change a channel by `delta` (for levels such as counters)."""
        self.set(ch, self._value[ch] + delta, t)

    def assign(self, ch: int, owners: Owners, t: float | None = None) -> None:
        """Credit the channel's integral from `t` on to `owners` ((id, share), ...)."""
        now = self._clock() if t is None else t
        self._close(ch, now, self._value[ch], self._since[ch])
        self._owners[ch] = owners

    def _group_change(self, g: int, now: float, delta: float) -> None:
        """A change of `delta` at `now` in zone group g (exact under back-dating, as categories)."""
        clock = self._grp_clock[g]
        if now >= clock:
            self._grp_integral[g] += self._grp_value[g] * (now - clock)
            self._grp_clock[g] = now
        else:
            self._grp_integral[g] += delta * (clock - now)
        self._grp_value[g] += delta

    def _close(self, ch: int, now: float, value: float, since: float) -> None:
        if now > since:
            seg = value * (now - since)
            self._integral[ch] += seg
            owners = self._owners[ch]
            if owners and seg:
                att = self.attributed_j
                for owner, share in owners:
                    att[owner] = att.get(owner, 0.0) + seg * share
        self._since[ch] = now

    # -- reading ----------------------------------------------------------
    def value(self, ch: int) -> float:
        return self._value[ch]

    def integral(self, ch: int, t: float | None = None) -> float:
        """Exact integral of a channel from its opening to `t` (default now)."""
        now = self._clock() if t is None else t
        if ch in self._counters:
            self._settle(now)
        return self._integral[ch] + self._value[ch] * (now - self._since[ch])

    def category_integral(self, category: str, t: float | None = None) -> float:
        """Exact integral of a category to `t`; 0 for a category never opened."""
        c = self._cat_index.get(category)
        if c is None:
            return 0.0
        now = self._clock() if t is None else t
        if category in self._counter_cats:
            self._settle(now)
        return self._cat_integral[c] + self._cat_value[c] * (now - self._cat_clock[c])

    def group_index(self, category: str, zone: object) -> int:
        """Index of the running integral of channels of `category` tagged `zone=zone` (opened if new)."""
        key = (category, zone)
        g = self._grp_index.get(key)
        if g is None:
            g = self._grp_index[key] = len(self._grp_value)
            self._grp_value.append(0.0)
            self._grp_clock.append(self._clock())
            self._grp_integral.append(0.0)
        return g

    def group_integrals(self, groups: list[int], t: float | None = None) -> list[float]:
        """Exact integrals to `t` of the given (category, zone) groups, in one call."""
        now = self._clock() if t is None else t
        gi, gv, gc = self._grp_integral, self._grp_value, self._grp_clock
        return [gi[g] + gv[g] * (now - gc[g]) for g in groups]

    def category_value(self, category: str) -> float:
        c = self._cat_index.get(category)
        return 0.0 if c is None else self._cat_value[c]

    def close_all(self, t: float) -> None:
        """Close every segment at `t` so per-channel and per-owner integrals are final."""
        self._settle(t)
        for ch in range(len(self.channels)):
            if self._since[ch] < t:
                self._close(ch, t, self._value[ch], self._since[ch])
        for c in range(len(self.categories)):
            if self._cat_clock[c] < t:
                self._cat_integral[c] += self._cat_value[c] * (t - self._cat_clock[c])
                self._cat_clock[c] = t
        for g in range(len(self._grp_value)):
            if self._grp_clock[g] < t:
                self._grp_integral[g] += self._grp_value[g] * (t - self._grp_clock[g])
                self._grp_clock[g] = t

    def totals(self) -> pd.DataFrame:
        """One row per channel: name, category, quantity, tags, integral."""
        self._settle()
        rows = []
        for c in self.channels:
            rows.append(
                {"channel": c.name, "category": c.category, "quantity": c.quantity,
                 **c.tags, "integral": self._integral[c.index]}
            )
        return pd.DataFrame(rows)

    # -- binned time series --------------------------------------------------
    def log_since(self, pos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The changes from position `pos` of the log on (time, channel, delta), as copies: what a
        reader takes while the run goes on. A view of the log (`log`) held anywhere, even by a
        frame another thread has captured (a Dask worker's profiler samples its task's frames),
        would make the log's next append fail (an exported buffer cannot be resized)."""
        self._settle()
        return (np.array(self._log_t[pos:], dtype=np.float64),
                np.array(self._log_ch[pos:], dtype=self._log_ch.typecode),
                np.array(self._log_delta[pos:], dtype=np.float64))

    def log(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The change log as numpy arrays (time, channel, delta); views, no copy: for reading a
        closed ledger (while views are alive the log cannot grow; during a run, `log_since`)."""
        self._settle()
        return (
            np.frombuffer(self._log_t, dtype=np.float64) if len(self._log_t) else np.empty(0),
            np.frombuffer(self._log_ch, dtype=self._log_ch.typecode) if len(self._log_ch)
            else np.empty(0, dtype=self._log_ch.typecode),
            np.frombuffer(self._log_delta, dtype=np.float64) if len(self._log_delta) else np.empty(0),
        )

    def binned(self, edges: np.ndarray, groups: dict[str, Iterable[int]]) -> dict[str, np.ndarray]:
        """Exact integral of each group of channels over each bin [edges[i], edges[i+1]).

        Returns, per group name, an array of len(edges) - 1 integrals.
        """
        cums = self.cumulative_many([(chans, edges) for chans in groups.values()])
        return {name: np.diff(cum) for name, cum in zip(groups, cums, strict=True)}

    def cumulative(self, channels: Iterable[int], edges: np.ndarray) -> np.ndarray:
        """Exact integral of the sum of `channels` from 0 to each edge (J for power channels)."""
        return self.cumulative_many([(channels, edges)])[0]

    def cumulative_many(self, queries: Iterable[tuple[Iterable[int], np.ndarray]]) -> list[np.ndarray]:
        """`cumulative(channels, edges)` of each query, all from one pass over the change log.

        The channel groups may overlap (`LogGroups`); a group asked at several edges is
        summed up once. Each answer equals its own `cumulative` call to the bit.
        """
        asked = [(list(dict.fromkeys(chans)), np.asarray(edges, dtype=np.float64)) for chans, edges in queries]
        index: dict[tuple[int, ...], int] = {}  # a channel set -> its group
        for chans, _ in asked:
            index.setdefault(tuple(sorted(chans)), len(index))
        read = LogGroups(self, [list(k) for k in index])
        wanted: dict[int, list[int]] = {}  # group -> the queries that ask for it
        for q, (chans, _) in enumerate(asked):
            wanted.setdefault(index[tuple(sorted(chans))], []).append(q)
        out: list[np.ndarray] = [np.zeros(0)] * len(asked)
        for g, qs in wanted.items():
            run = read.running(g)  # one group's sums at a time: a million-change log is not held twice
            for q in qs:
                out[q] = _running_at(run, asked[q][1])
        return out

    def groups_by(self, key: str, quantity: str | None = "power_w") -> dict[str, list[int]]:
        """Channel indices grouped by `category` or a tag, for `binned`."""
        groups: dict[str, list[int]] = {}
        for c in self.channels:
            if quantity is not None and c.quantity != quantity:
                continue
            label = c.category if key == "category" else c.tags.get(key)
            if label is None:
                continue
            groups.setdefault(str(label), []).append(c.index)
        return groups


class LogGroups:
    """Groups of a ledger's channels picked out of its change log in one pass.

    The groups (lists of channel indices; they may overlap) split the channels into
    atoms: the channels that belong to exactly the same groups. A stable radix sort
    of the log by atom (int8 keys up to 127 atoms, int16 up to 32,767; `_SORT_CHUNK`
    changes at a time, positions kept as int32) gives each atom's changes in log
    order; a group of several atoms merges theirs back into log order (a merge of
    sorted runs). A group's changes are thus the same, in the same order, as a mask
    of the log would give, and `cumulative_at` of them is bit-equal.
    """

    def __init__(self, meter: Meter, groups: list[list[int]]) -> None:
        t, ch, delta = meter.log()
        self._t, self._delta = t, delta
        member: dict[int, list[int]] = {}  # channel -> the groups it is in
        for g, chans in enumerate(groups):
            for c in dict.fromkeys(chans):
                member.setdefault(c, []).append(g)
        atom_of_sig: dict[tuple[int, ...], int] = {}
        atom = np.full(len(meter.channels), -1, dtype=np.int64)
        for c, sig in member.items():
            atom[c] = atom_of_sig.setdefault(tuple(sig), len(atom_of_sig))
        n = len(atom_of_sig)
        self._atoms: list[list[int]] = [[] for _ in groups]
        for key_sig, a in atom_of_sig.items():
            for g in key_sig:
                self._atoms[g].append(a)
        key_type = np.int8 if n < 128 else np.int16 if n < 32768 else np.int32  # radix sort up to 16 bits
        atom_key = atom.astype(key_type)
        pos_type = np.int32 if len(ch) < 2**31 else np.int64  # half the memory of int64 positions
        # each atom's positions in log order: a stable sort of the keys, a chunk of the log at a
        # time, so the sort's int64 positions never exist for the whole log at once
        parts: list[list[np.ndarray]] = [[] for _ in range(n)]
        for s in range(0, len(ch), _SORT_CHUNK):
            key = atom_key[ch[s:s + _SORT_CHUNK]]
            order = np.argsort(key, kind="stable")
            bounds = np.searchsorted(key[order], np.arange(n + 1), side="left")
            order = (order + s).astype(pos_type)
            for a in range(n):
                parts[a].append(order[bounds[a]:bounds[a + 1]])
            del key, order
        self._by_atom: list[np.ndarray] = []
        for a in range(n):
            self._by_atom.append(np.concatenate(parts[a]) if parts[a] else np.zeros(0, dtype=pos_type))
            parts[a] = []

    def positions(self, g: int) -> np.ndarray:
        """Positions in the log of the changes of group `g`, in log order."""
        parts = [self._by_atom[a] for a in self._atoms[g]]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return np.zeros(0, dtype=np.intp)
        return np.sort(np.concatenate(parts), kind="stable")  # timsort: merges the atoms' sorted runs

    def running(self, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group `g`'s running sums (`_running`), to read at any edges with `_running_at`."""
        pos = self.positions(g)
        changes = [self._t[pos], self._delta[pos]]
        del pos
        return _running(changes)


def _running(changes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(change times in order, value from each change on, integral up to each change) of
    the step function sum(delta_i * H(x - t_i)), from `changes` = [t, delta] (emptied:
    a group of millions of changes is not held twice)."""
    t, delta = changes
    changes.clear()
    if len(t) > 1 and bool((t[1:] < t[:-1]).any()):  # the log is in time order except back-dated bookings
        order = np.argsort(t, kind="stable")
        t, delta = t[order], delta[order]
        del order
    value = np.cumsum(delta)  # value on [t_i, t_{i+1})
    del delta
    cum = np.zeros(len(t) + 1)  # integral up to t_i: 0, then the running sum of value x dt
    if len(t) > 1:
        seg = cum[1:-1]
        np.subtract(t[1:], t[:-1], out=seg)
        seg *= value[:-1]
        np.cumsum(cum[1:], out=cum[1:])
    return t, value, cum


def _running_at(run: tuple[np.ndarray, np.ndarray, np.ndarray], edges: np.ndarray) -> np.ndarray:
    """The integral from -inf to each edge, read off `_running`."""
    t, value, cum = run
    if len(t) == 0:
        return np.zeros(len(edges))
    j = np.searchsorted(t, edges, side="right") - 1  # last change <= edge
    res = np.zeros(len(edges))
    ok = j >= 0
    jj = j[ok]
    res[ok] = cum[jj] + value[jj] * (edges[ok] - t[jj])
    return res


def cumulative_at(t: np.ndarray, delta: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral from -inf to each edge of the step function sum(delta_i * H(x - t_i))."""
    if len(t) == 0:
        return np.zeros(len(edges))
    return _running_at(_running([t, delta]), edges)
