"""The control plug-in protocol and the job view a control reads (documented in
`sim.scheduling.control_api`, which re-exports both).

Kept out of the compiled hot path (sim/compiled.py) so that `Control` stays a runtime-checkable
protocol (``isinstance(obj, Control)`` checks a user's class) and `JobView` a plain dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as a control sees it (read-only; times in s since the scenario start)."""

    id: int
    name: str
    accelerators: int
    submit_s: float
    ready_s: float | None
    """when its predecessors had completed (its submit time without any)."""
    start_s: float | None
    runtime_estimate_s: float | None
    """the scenario's estimate, if it gave one (see `ControlContext.runtime_estimate_s`)."""
    deadline_s: float | None
    slack_s: float | None
    running: bool
    preemptible: bool
    """running and not busy saving or restoring a checkpoint."""


@runtime_checkable
class Control(Protocol):
    """Holds jobs at submission and/or vetoes starts; `after_change()` is a third, optional hook."""

    def hold_until(self, job: JobView) -> float | None: ...

    def admits(self, job: JobView, placement: list[tuple[int, int]]) -> bool: ...
