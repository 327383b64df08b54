"""A run you can watch: a progress bar on simulated time and an overload warning.

`run_with_progress(scenario)` runs a scenario like `simulate` and, when
stderr is a terminal, shows a tqdm bar over simulated time (the horizon, or
`max_duration` for `duration: until-done`) with events/s and the time left.
Piped, it shows nothing. Either way it warns once on stderr when the queue
grows without bound (the cluster is overloaded), with the figure.

The bar is fed by the engine's progress callback
(`CountingEnvironment.on_progress`), called at most 4 times a second of
wall time, so it costs nothing per event.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from sim.engine.world import World
from sim.spec.scenario import Scenario

#: a queue at least this long that keeps growing is reported as unbounded
OVERLOAD_MIN_QUEUE = 1000
#: ... when it is at least this many times what it was at half the elapsed simulated time
OVERLOAD_GROWTH = 1.5


class OverloadWatch:
    """Tells when the queue grows without bound, from samples (t, queue length).

    The queue is called unbounded when it holds at least `OVERLOAD_MIN_QUEUE`
    jobs and at least `OVERLOAD_GROWTH` times as many as at half the elapsed
    simulated time: a stable (even if busy) cluster's queue does not keep
    growing in proportion to the time run. Warns once.
    """

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._samples: list[tuple[float, int]] = []
        self.warned = False

    def sample(self, t: float, queued: int) -> None:
        self._samples.append((t, queued))
        if self.warned or queued < OVERLOAD_MIN_QUEUE or t <= 0:
            return
        half = t / 2
        # the last sample at or before half the elapsed time (samples are in time order)
        past = next((s for s in reversed(self._samples) if s[0] <= half), None)
        if past is None or queued < OVERLOAD_GROWTH * max(past[1], 1):
            return
        rate_per_day = (queued - past[1]) / max(t - past[0], 1e-9) * 86400.0
        self.warned = True
        self._warn(f"warning: the queue grows without bound: {queued:,} jobs waiting at simulated "
                   f"t = {t / 86400:.1f} d, up {rate_per_day:,.0f} jobs/day since t = {past[0] / 86400:.1f} d "
                   f"({past[1]:,} waiting): the cluster is overloaded")


@contextlib.contextmanager
def watching(world: World, stream: IO[str] | None = None, bar: bool | None = None) -> Iterator[None]:
    """While the block runs `world`: a bar on a terminal (`bar`: None = when `stream` is one),
    an overload warning always."""
    stream = stream if stream is not None else sys.stderr
    show = stream.isatty() if bar is None else bar
    scenario = world.scenario
    horizon = float(scenario.horizon_s)
    watch = OverloadWatch(lambda line: print(line, file=stream, flush=True))
    queue = world.scheduler.queue_length
    pbar = None
    if show:
        from tqdm import tqdm

        pbar = tqdm(total=round(horizon / 86400, 2), unit="d", desc=f"{scenario.name}", file=stream,
                    dynamic_ncols=True, bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} d "
                    "[{elapsed}<{remaining}{postfix}]")
    start = time.perf_counter()

    def on_progress(now: float, events: int) -> None:
        watch.sample(now, queue())
        if pbar is not None:
            elapsed = max(time.perf_counter() - start, 1e-9)
            pbar.n = round(min(now, horizon) / 86400, 2)
            pbar.set_postfix_str(f"{events / elapsed:,.0f} events/s, {queue():,} queued", refresh=False)
            pbar.refresh()

    world.env.on_progress = on_progress
    try:
        yield
    finally:
        if pbar is not None:
            pbar.close()
        world.env.on_progress = None
    watch.sample(world.end_s, queue())


def run_with_progress(scenario: Scenario, stream: IO[str] | None = None, bar: bool | None = None) -> Any:
    """Run `scenario` and return its Result; a bar on a terminal, an overload warning always.

    `bar`: None shows it when `stream` (default stderr) is a terminal.
    """
    world = World(scenario)
    with watching(world, stream, bar):
        world.run()
    return world.result()


__all__ = ["OverloadWatch", "run_with_progress", "watching"]
