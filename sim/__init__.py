"""wattsim: a discrete-event simulator of AI datacenters.

    from sim import load_scenario, simulate
    r = simulate(load_scenario("scenarios/baseline.yaml", overrides={"cluster.nodes": 16}))
    r.summary, r.timeseries, r.jobs, r.nodes
    r.to_dir("runs/baseline"); Result.from_dir("runs/baseline")
"""

from sim.results import Result
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.world import World, simulate

__all__ = ["Result", "Scenario", "ScenarioError", "World", "load_scenario", "simulate"]
__version__ = "0.1.0"
