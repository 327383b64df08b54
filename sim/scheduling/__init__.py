"""Scheduling: queue policies, placement policies and the scheduler process.

A policy has two small parts, each a class behind a Protocol and registered
by the name a scenario uses:

- a *queue policy* orders the waiting jobs (`order(queue, view)`), and says
  whether a job that does not fit blocks the ones behind it (`blocking`);
- a *placement policy* picks accelerators for one job (`place(job, view)`),
  returning [(node index, accelerators), ...] or None.

Policies see a read-only `ClusterView`. A user adds a policy without touching
the simulator: name it in the scenario as "mypackage.module:MyPolicy".
Energy-aware *controls* (`Control`: `hold_until(job)`, `admits(job, placement)`)
are found the same way, by `kind` (sim/scheduling/controls.py).
"""

from sim.scheduling.controls import CONTROLS, Control, register_control, resolve_control
from sim.scheduling.policies import (
    PLACEMENT_POLICIES,
    QUEUE_POLICIES,
    ClusterView,
    PlacementPolicy,
    QueuePolicy,
    check_policy_name,
    make_policy,
    register_placement,
    register_queue,
    resolve_policy,
)
from sim.scheduling.scheduler import Scheduler

__all__ = [
    "CONTROLS",
    "Control",
    "register_control",
    "resolve_control",
    "PLACEMENT_POLICIES",
    "QUEUE_POLICIES",
    "ClusterView",
    "PlacementPolicy",
    "QueuePolicy",
    "Scheduler",
    "check_policy_name",
    "make_policy",
    "register_placement",
    "register_queue",
    "resolve_policy",
]
