"""The engine's event loop: SimPy's `run`, counted, with a wall-clock limit and a same-instant guard.

`CountingEnvironment` is the one SimPy environment a World runs on. Its `run` is SimPy's with
`step` inlined; it counts events, polls the wall clock every 256 (a limit, Ctrl-C, progress)
and turns a same-instant loop into `SameInstantLoop` (issue 15). Part of the compiled hot
path (sim/compiled.py): one pass of its loop per event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from heapq import heappop
from typing import Any

import simpy
from simpy.core import URGENT, EmptySchedule, StopSimulation
from simpy.events import EventPriority

from sim.engine.stops import RunTimeout, SameInstantLoop

#: Events at one simulated instant after which the guard starts looking for a loop: far
#: above a legitimate burst per job (a few events each), so the common path costs one compare.
SAME_INSTANT_EVENTS = 200_000
#: Times one (component, job) may be processed at one instant once the guard is looking.
SAME_INSTANT_REPEATS = 10_000


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes.

    With a wall-clock deadline it raises `RunTimeout` once the deadline has
    passed (or `interrupt()` was called); the clock is read every 256 events, so
    the check costs nothing and the run stops between two events, its books
    consistent. A guard turns a same-instant loop (time that stops advancing)
    into `SameInstantLoop` naming the component and the job.

    All of this is in `run` (the engine's only loop; `step()` by hand is SimPy's own).

    Progress: `on_progress(now_s, events)`, if set, is called from the same
    check at most every `progress_interval_s` of wall time (a progress bar,
    sim/cli/progress.py); it must not schedule events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0
        self.deadline = math.inf  # time.perf_counter() value
        self.on_progress: Callable[[float, int], None] | None = None
        self.progress_interval_s = 0.25
        self._next_progress = 0.0

        self.stop_reason = "timeout"
        self._instant = -math.inf
        self._at_instant = 0
        self._repeats: dict[str, int] = {}

    def clock(self) -> float:
        """The simulated time now (`now`, as a plain method: the ledger's clock, read at every booking)."""
        return self._now

    def interrupt(self) -> None:
        """Stop at the next check (Ctrl-C): `run` raises `RunTimeout` with stop_reason 'interrupted'."""
        self.stop_reason = "interrupted"
        self.deadline = -math.inf

    def run(self, until: float | simpy.Event | None = None) -> object:
        """`simpy.Environment.run` with `step` inlined (two frames per event less): the same
        events in the same order and the same stop on `until`, plus the counting, the wall-clock
        checks and the same-instant guard. They live here only, in the engine's one loop:
        SimPy's own `step()`, called by hand, is unguarded."""
        if until is not None:
            if not isinstance(until, simpy.Event):
                at = float(until)
                if at <= self._now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                stop_at = simpy.Event(self)
                stop_at._ok, stop_at._value = True, None
                self.schedule(stop_at, URGENT, at - self._now)
                until = stop_at
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue: list[tuple[float, int, int, Any]] = self._queue  # type: ignore[assignment]  # events: generic objects
        count = self.events_processed
        try:
            while True:
                try:
                    now, _, _, event = heappop(queue)
                except IndexError:
                    raise EmptySchedule from None
                count += 1
                if not count & 255:
                    self.events_processed = count
                    self.poll(now)
                if now == self._instant:
                    self._at_instant += 1
                    if self._at_instant > SAME_INSTANT_EVENTS:
                        self._now = now
                        self._check_loop(event)
                else:
                    self._instant = now
                    self._at_instant = 0
                    if self._repeats:
                        self._repeats.clear()
                self._now = now
                callbacks, event.callbacks = event.callbacks, None
                try:
                    for callback in callbacks:
                        callback(event)
                except StopSimulation:
                    event.callbacks = callbacks[callbacks.index(callback) + 1:]
                    self.schedule(event, EventPriority(-1))
                    raise
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            if until is not None:
                raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') \
                    from None
            return None
        finally:
            self.events_processed = count

    def poll(self, now: float | None = None) -> None:
        """Check the wall-clock limit and report progress; `now`: the simulated time reached,
        if ahead of the clock (the plant loop closes idle steps in a batch and polls every 256)."""
        wall = time.perf_counter()
        t = self.now if now is None else now
        if wall > self.deadline:
            what = "was interrupted" if self.stop_reason == "interrupted" else "passed its wall-clock limit"
            raise RunTimeout(f"the run {what} at simulated t = {t:.0f} s")
        if self.on_progress is not None and wall >= self._next_progress:
            self._next_progress = wall + self.progress_interval_s
            self.on_progress(float(t), self.events_processed)

    def _check_loop(self, event: simpy.Event) -> None:
        key = _describe_event(event)
        n = self._repeats[key] = self._repeats.get(key, 0) + 1
        if n > SAME_INSTANT_REPEATS:
            raise SameInstantLoop(
                f"simulated time stopped at t = {self._instant:.6g} s: {key} was rescheduled at the same "
                f"instant {n:,} times ({self._at_instant:,} events at this instant)")


def _describe_event(event: simpy.Event) -> str:
    """The component (class.method) and job an event's callbacks belong to."""
    names = []
    for cb in event.callbacks or ():
        func = getattr(cb, "func", cb)
        owner = getattr(func, "__self__", None)
        name = getattr(func, "__qualname__", type(func).__name__)
        if owner is not None and "." not in name:
            name = f"{type(owner).__name__}.{name}"
        job = next((a for a in getattr(cb, "args", ()) if hasattr(a, "remaining_flops")), None)
        names.append(name + (f" for job {job.id} ({job.name!r})" if job is not None else ""))
    return ", ".join(names) or f"a bare {type(event).__name__}"
