"""Shared building blocks for the pydantic scenario models.

Every section model of the scenario derives from `StrictModel`, which refuses
unknown keys, so a typo in a scenario file is an error that names its dotted
path instead of a silent default. `Duration` accepts "7d", "90min", "3600s" or
seconds and stores float seconds.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sim.registry import REGISTRIES
from sim.units import parse_duration


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys are refused, every number is finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False)


def _duration(value: object) -> float:
    if isinstance(value, (str, int, float)):
        return parse_duration(value)
    raise ValueError(f"{value!r} is not a duration")


Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0)]
"""Seconds; accepts "7d", "90min", "3600s", "1h30min" or a number."""

PositiveDuration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


def plugin_name(point: str) -> AfterValidator:
    """A validator: the value names a plug-in of `point` (``sim.registry.REGISTRIES``), checked in one place."""

    def check(value: str) -> str:
        REGISTRIES[point].check(value)  # ValueError: what is wrong and what is allowed
        return value

    return AfterValidator(check)


QueueName = Annotated[str, plugin_name("queue")]
PlacementName = Annotated[str, plugin_name("placement")]
ControlName = Annotated[str, plugin_name("control")]
PowerModelName = Annotated[str, plugin_name("power_model")]
CoolingModelName = Annotated[str, plugin_name("cooling_model")]
SupplyModelName = Annotated[str, plugin_name("supply_model")]
DispatchName = Annotated[str, plugin_name("dispatch")]
