"""Cooling and power-distribution overhead of the facility, stepped by the plant loop.

Models, chosen by the scenario key ``cooling.model``:

``constant-pue``
    Published accounting: the overhead of a step is ``(pue - 1) x IT energy``,
    nothing physical. Google fleet 1.10 (Google 2024 Environmental Report, P),
    industry average 1.58 (Uptime Institute 2023, P); see
    ``data/reference/cooling_and_grid.md`` section 1. ``loss_fraction`` books a
    share of that overhead as distribution losses instead of cooling.

The contract with the engine is ``sim.plant_api.CoolingModel``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import pandas as pd
from pydantic import Field

from sim.plant_api import CoolingModel, CoolingStep
from sim.schema import Fraction, StrictModel

if TYPE_CHECKING:
    from sim.weather import Weather


class ConstantPueConfig(StrictModel):
    """Overhead = (pue - 1) x IT energy of each step."""

    model: Literal["constant-pue"] = "constant-pue"
    # Google fleet 1.10 (Google 2024 Environmental Report, P); industry 1.58 (Uptime 2023, P).
    pue: float = Field(1.1, ge=1.0)
    # Share of the overhead booked as distribution losses instead of cooling;
    # published PUE accounting folds both together, so 0 by default (D).
    loss_fraction: Fraction = 0.0


class ConstantPue:
    """Constant-PUE overhead: cooling + losses = (pue - 1) x IT power of the step."""

    def __init__(self, config: ConstantPueConfig) -> None:
        self._config = config
        self._overhead_per_it = config.pue - 1.0
        self._cooling_share = 1.0 - config.loss_fraction

    def step(self, t0: float, t1: float, it_energy_j: float) -> CoolingStep:
        dt_s = t1 - t0
        it_power_w = it_energy_j / dt_s if dt_s > 0 else 0.0
        overhead_w = self._overhead_per_it * it_power_w
        return CoolingStep(
            power_w={"overhead": overhead_w * self._cooling_share},
            losses_w=overhead_w * self._config.loss_fraction,
        )

    def config(self) -> dict[str, Any]:
        return self._config.model_dump()


CoolingConfig = Annotated[Union[ConstantPueConfig], Field(discriminator="model")]  # noqa: UP007
"""The scenario section ``cooling:``; ``model`` selects the variant."""


def build_cooling(
    config: ConstantPueConfig,
    start: pd.Timestamp,
    duration_s: float,
    step_s: float,
    it_capacity_w: float,
    weather: Callable[[], Weather] | None,
) -> CoolingModel:
    """Build the cooling model a scenario's ``cooling:`` section asks for.

    start, duration_s, step_s: the run's plant-step grid (weather is sampled on it).
    it_capacity_w: nameplate IT power of the cluster; sizes the plant by default.
    weather: lazily loads the scenario's weather on the same grid, or None.
    """
    if isinstance(config, ConstantPueConfig):
        return ConstantPue(config)
    raise TypeError(f"unknown cooling config {type(config).__name__}")
