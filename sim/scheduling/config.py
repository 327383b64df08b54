"""The scenario section `scheduler:`."""

from __future__ import annotations

from pydantic import Field

from sim.schema import StrictModel


class SchedulerConfig(StrictModel):
    queue: str = Field(default="fifo", description="registered name or 'pkg.module:Class'")
    placement: str = Field(default="first-fit", description="registered name or 'pkg.module:Class'")
