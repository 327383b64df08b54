"""The serving engine: continuous batching on replicas, fluid between events.

Each replica runs vLLM-style iteration-level batching (Yu et al., Orca,
OSDI'22; Kwon et al., vLLM, SOSP'23) with prefill first: whenever a waiting
request can be admitted, the next iteration is a prefill of as many waiting
requests as fit (first come, first served; at most `max_batch` sequences in
the batch, `max_batched_tokens` prompt tokens per prefill, and the KV cache
reserved for each admitted request's prompt + output). The decode batch
pauses during a prefill (no chunked prefill). Otherwise the iteration is a
decode step of the whole batch.

Events happen only when something changes: an arrival, the end of a prefill,
the step at which the next request of the batch finishes, a step boundary
at which a new arrival can join, a boot, an autoscaler decision. Between them
the batch is constant and the decode steps follow `DecodeRun` in closed form:
a replica's next event is `t0 + run.time(n)` with n the steps until its next
request finishes (each request in the batch finishes at a known global step
count, kept in a heap). An arrival that can be admitted while a replica
decodes stops the run at the first step boundary after the arrival
(`run.steps_within`); the batch never changes mid-step. There is no
approximation in the stepping itself: tokens are whole, times are exact sums
of the step-time model (tests/serving check a hand-computed case to 1e-9).

Power goes to the ledger (`Meter.set` at each change, exact integrals): per
replica an accelerator channel (category ``accelerator``) and a host channel
(category ``host``), so a facility model sees serving like any IT load, and
two level channels (batch size, reserved KV tokens) for the per-bin means.

Energy of each iteration is credited to the requests in it: a prefill by
their share of its FLOPs, a decode run equally per batch member (one token
each per step), in O(1) per event with a running per-member share.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from sim.serving.perf import DecodeRun, ReplicaPerf
from sim.serving.requests import RequestStream
from sim.spec.serving import AutoscaleConfig

OFF, BOOTING, IDLE, PREFILL, DECODE = range(5)
STATE_NAMES = ("off", "booting", "idle", "prefill", "decode")

_REPLICA, _BOOT, _SCALE = 0, 1, 2


class Ledger(Protocol):
    """What the engine needs of `sim.engine.meter.Meter`: open a channel, book a value from a time on."""

    def channel(self, name: str, category: str, quantity: str = ..., initial: float = ...,
                t: float | None = ..., tags: dict[str, object] | None = ...) -> int: ...

    def set(self, ch: int, value: float, t: float | None = None) -> None: ...


class Replica:
    __slots__ = ("idx", "state", "draining", "queue", "queued_tokens", "reserved", "batch", "kv", "steps",
                 "finish", "share", "t0", "run", "n_end", "version", "group", "group_flops", "power_w",
                 "ch_acc", "ch_host", "ch_batch", "ch_kv", "ch_on", "on", "active_j", "prefill_tokens", "booked")

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.state = OFF
        self.draining = False
        self.queue: deque[int] = deque()  # waiting request ids
        self.queued_tokens = 0  # prompt + output of the waiting requests
        self.reserved = 0  # KV tokens reserved by admitted requests (prompt + output each)
        self.batch = 0  # requests in the decode batch
        self.kv = 0.0  # KV tokens held by the decode batch at t0
        self.steps = 0  # decode steps done (global counter, at t0)
        self.finish: list[tuple[int, int]] = []  # (step count at which it finishes, request id)
        self.share = 0.0  # decode energy per batch member so far (J)
        self.t0 = 0.0  # start of the current iteration / run
        self.run: DecodeRun | None = None
        self.n_end = 0  # steps of the current decode run
        self.version = 0
        self.group: list[tuple[int, float]] = []  # prefill group: (request id, FLOPs)
        self.group_flops = 0.0
        self.power_w = 0.0  # accelerator power of the replica now (all tp boards)
        self.on = 0.0  # 1 while powered (booting included)
        self.booked = [0.0, 0.0, 0.0, 0.0]  # last values booked: accelerators, host, batch, KV
        self.active_j = 0.0  # accelerator energy while prefilling or decoding
        self.prefill_tokens = 0

    @property
    def load(self) -> int:
        return self.reserved + self.queued_tokens

    @property
    def empty(self) -> bool:
        return self.batch == 0 and not self.queue and not self.group


class ServingEngine:
    """Replicas of one deployment fed by a request stream; books power to a ledger.

    Standalone: `run(until)`. Inside a SimPy world: `env.process(engine.process(env))`.
    """

    def __init__(self, perf: ReplicaPerf, stream: RequestStream, replicas: int, ledger: Ledger, *,
                 max_batch: int, max_batched_tokens: int, router: str = "least-loaded",
                 autoscale: AutoscaleConfig | None = None, name: str = "serving",
                 clock: Callable[[], float] | None = None) -> None:
        self.perf = perf
        self.name = name
        self.stream = stream
        self.max_batch = max_batch
        self.max_batched_tokens = max_batched_tokens
        self.router = router
        self.autoscale = autoscale
        self.ledger = ledger
        n = len(stream)
        self._arr = stream.arrival_s.tolist()
        self._p = stream.prompt_tokens.tolist()
        self._o = stream.output_tokens.tolist()
        self.replica_of = [-1] * n
        self.start_s = [math.nan] * n  # prefill start
        self.first_s = [math.nan] * n  # first token
        self.end_s = [math.nan] * n
        self.energy_j = [0.0] * n
        self._join_share = [0.0] * n
        self._next = 0  # next arrival
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._rr = 0
        self.held: deque[int] = deque()  # arrivals while no replica is serving
        self.completed = 0
        self.now = 0.0
        self.horizon = math.inf  # the autoscaler ticks until here (inf: while work is left)
        self.events = 0
        self._recent: deque[tuple[float, float]] = deque()  # (end, end - arrival) of recent completions
        self._recent_sum = 0.0
        self.replicas = [Replica(i) for i in range(replicas)]
        tp = perf.tp
        per_node = perf.node_type.accelerators_per_node // tp
        on = replicas  # all up at the start; an autoscaler's first decision comes after one interval
        for r in self.replicas:
            node = f"{name}-n{r.idx // per_node}"
            tags = {"node": node, "node_type": perf.node_type.key, "serving": name, "replica": r.idx}
            r.ch_acc = ledger.channel(f"acc:{name}-r{r.idx}", "accelerator", t=0.0, tags=tags)
            r.ch_host = ledger.channel(f"host:{name}-r{r.idx}", "host", t=0.0, tags=tags)
            r.ch_batch = ledger.channel(f"batch:{name}-r{r.idx}", "serving_batch", quantity="level", t=0.0, tags=tags)
            r.ch_kv = ledger.channel(f"kv:{name}-r{r.idx}", "serving_kv", quantity="level", t=0.0, tags=tags)
            r.ch_on = ledger.channel(f"on:{name}-r{r.idx}", "serving_on", quantity="level", t=0.0, tags=tags)
            if r.idx < on:
                r.state = IDLE
                self._book(r, 0.0)
        if autoscale is not None:
            self._push(autoscale.interval, _SCALE, 0, 0)

    @property
    def capacity_w(self) -> float:
        """Nameplate IT power of the deployment: every replica's boards at TDP + its host share, busy."""
        p = self.perf
        return len(self.replicas) * (p.tp * p.accelerator.tdp_w + p.host_busy_w)

    # -- event queue ------------------------------------------------------------
    @property
    def it_power_w(self) -> float:
        """The deployment's IT power now: accelerators + hosts of every replica, as booked (W)."""
        return float(sum(r.booked[0] + r.booked[1] for r in self.replicas))

    def _push(self, t: float, kind: int, idx: int, version: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, idx, version))

    def next_time(self) -> float:
        """Time of the next event (inf: nothing left)."""
        h = self._heap
        while h and h[0][2] == _REPLICA and h[0][4] != self.replicas[h[0][3]].version:
            heapq.heappop(h)
        th = h[0][0] if h else math.inf
        ta = self._arr[self._next] if self._next < len(self._arr) else math.inf
        if th == math.inf and ta == math.inf:
            return math.inf
        if self.autoscale is not None and ta == math.inf and self.horizon == math.inf and self._all_idle():
            return math.inf  # only autoscaler ticks are left, and no horizon to tick to
        return min(th, ta)

    def _all_idle(self) -> bool:
        return not self.held and all(r.empty for r in self.replicas)

    def step(self, t: float | None = None) -> float:
        """Process the next event (at `t` = `next_time()` if known); returns its time."""
        if t is None:
            t = self.next_time()
        h = self._heap
        self.events += 1
        if h and h[0][0] <= t and (self._next >= len(self._arr) or h[0][0] <= self._arr[self._next]):
            _, _, kind, idx, _ = heapq.heappop(h)
            self.now = t
            if kind == _REPLICA:
                self._replica_event(self.replicas[idx], t)
            elif kind == _BOOT:
                self._booted(self.replicas[idx], t)
            else:
                self._scale(t)
        else:
            rid = self._next
            self._next += 1
            self.now = t
            self._route(rid, t)
        return t

    def run(self, until: float = math.inf) -> ServingEngine:
        """Standalone: process every event up to `until` (inf: until every request has ended)."""
        self.horizon = until
        while True:
            t = self.next_time()
            if t == math.inf or t > until:
                break
            self.step(t)
        self.close(until if until < math.inf else self.now)
        return self

    def process(self, env: Any) -> Iterator[Any]:
        """A SimPy process driving the engine on the world's clock."""
        while True:
            t = self.next_time()
            if t == math.inf:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            self.step(t)

    def close(self, t: float) -> None:
        """Credit the active energy of iterations still running at `t` (not to any request)."""
        for r in self.replicas:
            if r.state in (PREFILL, DECODE) and t > r.t0:
                r.active_j += r.power_w * (t - r.t0)
        self.now = t

    # -- routing -----------------------------------------------------------------
    def _route(self, rid: int, t: float) -> None:
        cands = [r for r in self.replicas if r.state >= IDLE and not r.draining]
        if not cands:
            self.held.append(rid)
            return
        if self.router == "round-robin":
            r = cands[self._rr % len(cands)]
            self._rr += 1
        else:
            r = min(cands, key=lambda x: x.load)
        self.replica_of[rid] = r.idx
        r.queue.append(rid)
        r.queued_tokens += self._p[rid] + self._o[rid]
        if r.state == IDLE:
            self._schedule(r, t)
        elif r.state == DECODE and self._admissible(r, r.queue[0]):
            # stop the run at the first step boundary at or after t
            run = r.run
            dt = t - r.t0
            n = run.steps_within(dt)
            if run.time(n) < dt:
                n += 1
            if n < r.n_end:
                r.n_end = n
                r.version += 1
                self._push(r.t0 + run.time(n), _REPLICA, r.idx, r.version)
        else:
            self._book(r, t)  # host busy from the first waiting request

    def _admissible(self, r: Replica, rid: int) -> bool:
        return (r.batch + len(r.group) < self.max_batch
                and r.reserved + self._p[rid] + self._o[rid] <= self.perf.kv_capacity_tokens)

    # -- replica iterations -----------------------------------------------------------
    def _replica_event(self, r: Replica, t: float) -> None:
        if r.state == PREFILL:
            self._end_prefill(r, t)
        elif r.state == DECODE:
            self._end_run(r, t)
        self._schedule(r, t)

    def _end_prefill(self, r: Replica, t: float) -> None:
        e = r.power_w * (t - r.t0)
        r.active_j += e
        per_flop = e / r.group_flops if r.group_flops > 0 else 0.0
        for rid, fl in r.group:
            self.energy_j[rid] += fl * per_flop
            self.first_s[rid] = t
            p, o = self._p[rid], self._o[rid]
            if o == 1:
                self._done(r, rid, t)
            else:
                heapq.heappush(r.finish, (r.steps + o - 1, rid))
                r.batch += 1
                r.kv += p + 1
                self._join_share[rid] = r.share
        r.group = []
        r.group_flops = 0.0

    def _end_run(self, r: Replica, t: float) -> None:
        n = r.n_end
        if r.batch:
            e = r.power_w * (t - r.t0)
            r.active_j += e
            r.share += e / r.batch
        r.steps += n
        r.kv += r.batch * n
        fin = r.finish
        while fin and fin[0][0] <= r.steps:
            _, rid = heapq.heappop(fin)
            self.energy_j[rid] += r.share - self._join_share[rid]
            r.batch -= 1
            r.kv -= self._p[rid] + self._o[rid]
            self._done(r, rid, t)

    def _done(self, r: Replica, rid: int, t: float) -> None:
        self.end_s[rid] = t
        r.reserved -= self._p[rid] + self._o[rid]
        self.completed += 1
        if self.autoscale is not None:
            lat = t - self._arr[rid]
            self._recent.append((t, lat))
            self._recent_sum += lat

    def _schedule(self, r: Replica, t: float) -> None:
        """Choose the replica's next iteration at t and book its power."""
        perf = self.perf
        if r.queue and self._admissible(r, r.queue[0]):
            tokens = 0
            flops = 0.0
            group = r.group
            while r.queue:
                rid = r.queue[0]
                p = self._p[rid]
                if group and (tokens + p > self.max_batched_tokens or not self._admissible(r, rid)):
                    break
                r.queue.popleft()
                need = p + self._o[rid]
                r.queued_tokens -= need
                r.reserved += need
                fl = perf.prefill_flops(p)
                group.append((rid, fl))
                flops += fl
                tokens += p
                self.start_s[rid] = t
            r.group_flops = flops
            r.prefill_tokens = tokens
            r.state = PREFILL
            r.t0 = t
            r.version += 1
            self._push(t + perf.prefill_time(flops, tokens), _REPLICA, r.idx, r.version)
        elif r.batch:
            r.state = DECODE
            r.t0 = t
            r.run = perf.decode_run(r.batch, r.kv)
            r.n_end = r.finish[0][0] - r.steps
            r.version += 1
            self._push(t + r.run.time(r.n_end), _REPLICA, r.idx, r.version)
        elif r.draining and not r.queue:
            r.state = OFF
            r.draining = False
        else:
            r.state = IDLE
        self._book(r, t)

    def _book(self, r: Replica, t: float) -> None:
        perf = self.perf
        s = r.state
        if s == PREFILL:
            acc = perf.tp * perf.prefill_w
        elif s == DECODE:
            acc = perf.tp * perf.decode_power_w(r.batch)
        elif s == OFF:
            acc = 0.0
        else:
            acc = perf.tp * perf.idle_w
        r.power_w = acc
        if s == OFF:
            host = 0.0
        elif s == BOOTING or r.empty:
            host = perf.host_idle_w
        else:
            host = perf.host_busy_w
        led = self.ledger
        last = r.booked
        batch = float(r.batch + len(r.group))
        kv = float(r.reserved)
        if acc != last[0]:  # an unchanged value would only close a segment of the same value
            last[0] = acc
            led.set(r.ch_acc, acc, t)
        if host != last[1]:
            last[1] = host
            led.set(r.ch_host, host, t)
        if batch != last[2]:
            last[2] = batch
            led.set(r.ch_batch, batch, t)
        if kv != last[3]:
            last[3] = kv
            led.set(r.ch_kv, kv, t)
        on = 0.0 if s == OFF else 1.0
        if on != r.on:
            r.on = on
            led.set(r.ch_on, on, t)

    # -- autoscaling -------------------------------------------------------------------
    def _booted(self, r: Replica, t: float) -> None:
        r.state = IDLE
        self._book(r, t)
        while self.held:
            self._route(self.held.popleft(), t)

    def _scale(self, t: float) -> None:
        a = self.autoscale
        assert a is not None
        window = min(a.window, t)  # the first decisions see only the time since the start
        lo = int(np.searchsorted(self.stream.arrival_s, t - window, side="right"))
        rate = (min(self._next, len(self._arr)) - lo) / window
        rec = self._recent
        while rec and rec[0][0] < t - window:
            self._recent_sum -= rec.popleft()[1]
        in_flight = len(self.held) + sum(r.batch + len(r.group) + len(r.queue) for r in self.replicas)
        latency = self._recent_sum / len(rec) if rec else 0.0
        demand = max(in_flight, rate * latency)  # Little's law on the recent window
        want = math.ceil(demand / a.target_concurrency) + a.headroom if demand > 0 else a.headroom
        want = min(max(want, a.min_replicas), len(self.replicas))
        serving = [r for r in self.replicas if r.state != OFF and not r.draining]
        if want > len(serving):
            need = want - len(serving)
            for r in self.replicas:
                if need and r.draining:
                    r.draining = False
                    need -= 1
            for r in self.replicas:
                if need and r.state == OFF:
                    r.state = BOOTING
                    self._book(r, t)
                    self._push(t + a.boot_time, _BOOT, r.idx, 0)
                    need -= 1
        elif want < len(serving):
            # drain the least-loaded replicas that are up (booting ones are kept: they were wanted)
            up = sorted((r for r in serving if r.state >= IDLE), key=lambda x: (x.load, -x.idx))
            for r in up[: len(serving) - want]:
                r.draining = True
                if r.empty:
                    r.state = OFF
                    r.draining = False
                    self._book(r, t)
        if t + a.interval <= self.horizon or self._next < len(self._arr) or not self._all_idle():
            self._push(t + a.interval, _SCALE, 0, 0)
