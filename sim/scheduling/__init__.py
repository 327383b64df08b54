"""Scheduling: queue policies, placement policies, controls and the scheduler process.

A policy has two small parts, each a class behind a Protocol and found by the
name a scenario uses through the one plug-in registry (`sim.registry`):

- a *queue policy* orders the waiting jobs (`order(queue, view)`), and says
  whether a job that does not fit blocks the ones behind it (`blocking`);
- a *placement policy* picks accelerators for one job (`place(job, view)`),
  returning [(node index, accelerators), ...] or None.

Policies see a read-only `ClusterView`. Energy-aware *controls* see a
`ControlContext` and read-only `JobView`s (`sim.scheduling.control_api`, the
documented API). A user adds any of them without touching the simulator:
name it in the scenario as "mypackage.module:MyClass".
"""

from sim.scheduling.control_api import (
    CONTROLS,
    Control,
    ControlContext,
    JobView,
    build_controls,
    register_control,
)
from sim.scheduling.policies import (
    PLACEMENTS,
    QUEUES,
    ClusterView,
    make_policy,
    register_placement,
    register_queue,
)
from sim.scheduling.policy_api import PlacementPolicy, QueuePolicy
from sim.scheduling.scheduler import Scheduler

__all__ = [
    "CONTROLS",
    "PLACEMENTS",
    "QUEUES",
    "ClusterView",
    "Control",
    "ControlContext",
    "JobView",
    "PlacementPolicy",
    "QueuePolicy",
    "Scheduler",
    "build_controls",
    "make_policy",
    "register_control",
    "register_placement",
    "register_queue",
]
