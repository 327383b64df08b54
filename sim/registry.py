"""The one plug-in mechanism: every point where a scenario names a class.

A scenario names a built-in by its short name ("fifo", "plant",
"self-consumption", ...) or a user's own class as 'package.module:Class'; the
simulator needs no edit (STYLE.md: register by name, next to the class; no
string switches). Every plug-in point is a `Registry` in `REGISTRIES`:

| point | scenario key | protocol |
|---|---|---|
| queue | scheduler.queue | `sim.scheduling.policies.QueuePolicy` |
| placement | scheduler.placement | `sim.scheduling.policies.PlacementPolicy` |
| control | scheduler.controls[].kind | `sim.scheduling.control_api.Control` |
| power model | catalog accelerator `power_model` | `sim.compute.node.PowerModel` |
| cooling model | cooling.model | `sim.engine.contracts.CoolingModel` |
| supply model | supply.model | `sim.engine.contracts.SupplyModel` |
| dispatch | supply.battery.dispatch | `sim.facility.dispatch.Dispatch` |
| trace format | workload.trace.format | a reader `(path, skip) -> DataFrame` |

Built-ins are listed here as 'module:Class' strings and imported on first use,
so the scenario schema (`sim.spec`) checks every name in one place without
importing the engine. `Registry.check(name)` is that one check: a known name
passes at once; 'package.module:Class' is imported and its class checked
against the point's protocol, so a bad plug-in is refused when the scenario
loads, with one message (pydantic adds the dotted path), never mid-run.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

#: 'package.module:Name'
PLUGIN_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_plugin_name(name: object) -> bool:
    return isinstance(name, str) and bool(PLUGIN_PATTERN.match(name))


def import_object(name: str) -> Any:
    """The object 'package.module:Name' names; ValueError saying why it cannot be loaded."""
    if not is_plugin_name(name):
        raise ValueError(f"{name!r} is not of the form 'package.module:Name'")
    module, _, attr = name.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"{name!r}: module {module!r} cannot be imported ({exc})") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ValueError(f"{name!r}: module {module!r} has no {attr!r}") from None


def has_methods(*methods: str, protocol: str) -> Callable[[Any], str | None]:
    """A check: None when the class has every method, else what it lacks (naming the protocol)."""

    def check(cls: Any) -> str | None:
        missing = [m for m in methods if not callable(getattr(cls, m, None))]
        return f"has no {', '.join(missing)} ({protocol})" if missing else None

    return check


def has_any_method(*methods: str, protocol: str) -> Callable[[Any], str | None]:
    """A check: None when the class has at least one of the methods."""

    def check(cls: Any) -> str | None:
        if any(callable(getattr(cls, m, None)) for m in methods):
            return None
        return f"has none of {', '.join(methods)} ({protocol})"

    return check


class Registry:
    """The classes one plug-in point finds by name.

    `builtins` maps a short name to 'module:Class' (imported on first use);
    `register(name)` adds a class in-process (a decorator, for a user's class
    defined in a notebook or test); 'package.module:Class' is imported on
    demand. `check(cls)` says what a user's class lacks (None when it will do).
    """

    def __init__(self, point: str, noun: str, check: Callable[[Any], str | None],
                 builtins: dict[str, str] | None = None) -> None:
        self.point = point
        self.noun = noun
        self._check = check
        self._builtins = dict(builtins or {})
        self._loaded: dict[str, Any] = {}

    # -- names ---------------------------------------------------------------
    def names(self) -> list[str]:
        """The short names a scenario may use (built-ins and registered classes)."""
        return sorted(set(self._builtins) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._builtins or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> Any:
        if name not in self:
            raise KeyError(name)
        return self.resolve(name)

    def items(self) -> list[tuple[str, Any]]:
        return [(n, self.resolve(n)) for n in self.names()]

    def values(self) -> list[Any]:
        return [self.resolve(n) for n in self.names()]

    # -- adding and finding ----------------------------------------------------
    def register(self, name: str) -> Callable[[Any], Any]:
        """Class decorator: make the class available under `name`."""

        def deco(cls: Any) -> Any:
            self._loaded[name] = cls
            return cls

        return deco

    def _unknown(self, name: object) -> str:
        shown = repr(name)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"{shown} is not a {self.noun}; known: {', '.join(self.names())}, or 'package.module:Class'"

    def check(self, name: object) -> None:
        """Raise ValueError unless `name` resolves: what is wrong and what is allowed, in one line
        that does not repeat the value (the scenario's error line shows it with its dotted path)."""
        if isinstance(name, str) and name in self:
            return
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"not a {self.noun}; known: {', '.join(self.names())}, or 'package.module:Class'")
        try:
            cls = import_object(name)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix(f"{name!r}: ")) from None
        problem = self._check(cls)
        if problem:
            raise ValueError(problem)

    def resolve(self, name: str) -> Any:
        """The class registered as `name`, a built-in, or imported from 'package.module:Class'."""
        if name in self._loaded:
            return self._loaded[name]
        if name in self._builtins:
            cls = import_object(self._builtins[name])
            self._loaded[name] = cls
            return cls
        if ":" not in name:
            raise ValueError(self._unknown(name))
        cls = import_object(name)
        problem = self._check(cls)
        if problem:
            raise ValueError(f"{name!r} {problem}")
        return cls


REGISTRIES: dict[str, Registry] = {
    "queue": Registry(
        "queue", "queue policy",
        has_methods("order", protocol="sim.scheduling.policies.QueuePolicy"),
        {
            "fifo": "sim.scheduling.policies:Fifo",
            "sjf": "sim.scheduling.queues:Sjf",
            "srtf": "sim.scheduling.queues:Srtf",
            "easy-backfill": "sim.scheduling.queues:EasyBackfill",
            "las": "sim.scheduling.queues:Las",
            "fair": "sim.scheduling.queues:FairShare",
        },
    ),
    "placement": Registry(
        "placement", "placement policy",
        has_methods("place", protocol="sim.scheduling.policies.PlacementPolicy"),
        {
            "first-fit": "sim.scheduling.policies:FirstFit",
            "packed": "sim.scheduling.placement:Packed",
            "spread": "sim.scheduling.placement:Spread",
            "topology": "sim.scheduling.placement:Topology",
            "random": "sim.scheduling.placement:Random",
            "thermal": "sim.scheduling.placement:Thermal",
            "heterogeneity": "sim.scheduling.placement:Heterogeneity",
        },
    ),
    "control": Registry(
        "control", "control",
        has_any_method("hold_until", "admits", "after_change", protocol="sim.scheduling.control_api.Control"),
        {
            "carbon-defer": "sim.scheduling.controls:CarbonDefer",
            "power-envelope": "sim.scheduling.controls:PowerEnvelope",
        },
    ),
    "power_model": Registry(
        "power_model", "power model",
        has_methods("of", "compute_power_w", "speed", "power_w",
                    protocol="sim.compute.node.PowerModel; build: Class.of(accelerator)"),
        {
            "cube-law": "sim.compute.node:PowerCurve",
            "linear": "sim.compute.node:LinearPowerCurve",
            "phase": "sim.compute.power:PhasePower",
        },
    ),
    "cooling_model": Registry(
        "cooling_model", "cooling model",
        has_methods("step", "config", protocol="sim.engine.contracts.CoolingModel"),
        {
            "constant-pue": "sim.facility.cooling:ConstantPue",
            "plant": "sim.facility.cooling:PlantCooling",
        },
    ),
    "supply_model": Registry(
        "supply_model", "supply model",
        has_methods("step", "config", protocol="sim.engine.contracts.SupplyModel"),
        {"default": "sim.facility.supply:Supply"},
    ),
    "dispatch": Registry(
        "dispatch", "dispatch policy",
        has_methods("decide", protocol="sim.facility.dispatch.Dispatch"),
        {
            "self-consumption": "sim.facility.dispatch:SelfConsumption",
            "peak-shaving": "sim.facility.dispatch:PeakShaving",
            "carbon-aware": "sim.facility.dispatch:CarbonAware",
        },
    ),
}


def registry(point: str) -> Registry:
    """The registry of one plug-in point (a key of `REGISTRIES`)."""
    return REGISTRIES[point]
