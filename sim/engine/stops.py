"""Why a run stopped before its end: the errors the event loop raises (sim/engine/environment.py).

Kept out of the compiled hot path (sim/compiled.py): mypyc does not compile a subclass of
`RuntimeError`, and callers catch these by class (`sim.engine.world` re-exports them).
"""

from __future__ import annotations


class RunTimeout(RuntimeError):
    """A run passed its wall-clock limit (`World.run(wall_limit_s=...)`)."""


class SameInstantLoop(RuntimeError):
    """Simulated time stopped advancing: one component keeps rescheduling itself at one instant."""
