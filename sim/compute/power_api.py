"""The power-model protocol: what a plug-in accelerator power model provides (docs/engine.md).

Kept out of the compiled hot path (sim/compiled.py) so that it stays a runtime-checkable
protocol: ``isinstance(model, PowerModel)`` checks a user's class.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class PowerModel(Protocol):
    """Power and speed of one accelerator under a power cap (W; None: no cap).

    `idle_w` is drawn with nothing running. The engine calls `speed` (relative
    throughput, 1 uncapped) and `power_w` (mean power at a compute share);
    `compute_power_w` is the power while computing, the top of `power_w`.

    A model whose power follows the job's utilisation sets the class attribute
    `follows_utilisation = True`; the engine then passes `mfu=` (the job's
    model-FLOPs utilisation at full clock) to all three methods.
    """

    idle_w: float

    def compute_power_w(self, cap_w: float | None) -> float: ...

    def speed(self, cap_w: float | None, gamma: float = 1.0) -> float: ...

    def power_w(self, compute_share: float, cap_w: float | None) -> float: ...
