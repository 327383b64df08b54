"""A time-indexed scenario input (carbon intensity, price, a load): a number, a trace, a CSV or a profile, and how policies see its future.

Pure data; `sim.facility.signals` builds the signals.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sim.spec.types import Duration, NonNegative, StrictModel
from sim.units import DAY


class ForecastConfig(StrictModel):
    """How policies see the future of a signal."""

    kind: Literal["perfect", "persistence", "noisy"] = "persistence"
    """What an operator could have by default (day-ahead persistence); perfect only when asked for."""
    relative_error: NonNegative = 0.0
    period: Duration = DAY
    seed: int = 0


class SignalConfig(StrictModel):
    """A time-indexed input in a scenario: a number, a trace, a CSV or a profile."""

    constant: float | None = None
    trace: str | None = Field(default=None, description="bundled name (BUNDLED_TRACES) or a CSV path")
    csv: str | None = None
    profile: Literal["daily", "weekly"] | None = None
    values: list[float] | None = None
    column: str | list[str] | None = None
    time_column: str | None = None
    unit: str | None = None
    scale: float = 1.0
    wrap: bool = False
    interpolation: Literal["step", "linear"] = "step"
    tz: str = "UTC"
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)

    @model_validator(mode="before")
    @classmethod
    def _number_is_constant(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError(f"{data!r} is not a signal")  # noqa: TRY004 - pydantic reports ValueError
        if isinstance(data, (int, float)):
            return {"constant": data}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> SignalConfig:
        given = [k for k in ("constant", "trace", "csv", "profile") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of: a number, constant, trace (bundled name or CSV path), csv, profile;"
                f" got {given or 'none'}"
            )
        if self.profile is not None:
            need = 24 if self.profile == "daily" else 168
            if self.values is None or len(self.values) != need:
                got = 0 if self.values is None else len(self.values)
                raise ValueError(f"a {self.profile} profile needs {need} hourly values, got {got}")
        elif self.values is not None:
            raise ValueError("values is only for a profile")
        return self
