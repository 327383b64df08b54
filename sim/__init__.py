"""wattsim: a discrete-event simulator of AI datacenters.

    from sim import load_scenario, simulate
    r = simulate(load_scenario("scenarios/baseline.yaml", overrides={"cluster.nodes": 16}))
    r.summary, r.timeseries, r.jobs, r.nodes
    r.to_dir("runs/baseline"); Result.from_dir("runs/baseline")

The layers, one folder each (docs/engine.md draws the data flow):
spec (the scenario as data) -> engine (world, ledger, plant loop, run record)
-> results (Result) -> analysis (outside `sim`). Names here load on first use,
so `import sim` costs nothing until a name is asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sim.compiled import install as _install_compiled

_install_compiled()  # the compiled hot path, or its sources where it is stale (sim/compiled.py)

if TYPE_CHECKING:
    from sim.engine.checks import load_scenario
    from sim.engine.world import World, simulate
    from sim.results.result import Result
    from sim.spec.errors import ScenarioError
    from sim.spec.scenario import Scenario

_PUBLIC = {
    "Result": "sim.results.result",
    "Scenario": "sim.spec.scenario",
    "ScenarioError": "sim.spec.errors",
    "load_scenario": "sim.engine.checks",
    "World": "sim.engine.world",
    "simulate": "sim.engine.world",
}

__all__ = ["Result", "Scenario", "ScenarioError", "World", "load_scenario", "simulate"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(import_module(module), name)
