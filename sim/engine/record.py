"""The run record: plain data the engine hands over when a run ends.

`World.run()` returns it; `sim.results.build_result(record)` turns it into the
`Result` (tables, summary, manifest). Nothing here is live: jobs and nodes are
frozen snapshots, and the ledger is the closed `Meter` read through its
public query methods only (`sim.results.result.Ledger`), so the Result never
touches the World, the scheduler or a SimPy object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.engine.meter import Meter
from sim.spec.scenario import Scenario

#: the ledger categories that make up IT power (the rest is cooling and losses)
IT_CATEGORIES = ("accelerator", "host", "network", "background")


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job at the end of the run (times in s since the start; energies in J)."""

    id: int
    name: str
    user: str | None
    mode: str
    accelerators: int
    nodes: tuple[str, ...]
    submit_s: float
    ready_s: float | None
    start_s: float | None
    end_s: float | None
    state: str
    """pending, queued, running, completed or failed (`sim.compute.training.JobState` values)."""
    reason: str | None
    work_flops: float
    done_flops: float
    flops_per_sample: float | None
    useful_flops: float | None
    """the work the job needs to reach its goal (tokens or samples to converge), if known."""
    attributed_it_j: float
    """IT energy the ledger credited to the job (its share of accelerators, hosts, switches)."""
    wasted_energy_j: float
    preemptions: int
    restarts: int
    attained_service_s: float
    """accelerator-seconds held."""
    comm_wait_s: float
    alone_s: float | None
    """its run time alone at full speed (the scheduler's exact estimate); None unless completed."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One node's totals at the end of the run."""

    name: str
    node_type: str
    accelerator: str
    pool: int
    accelerators: int
    accelerator_energy_j: float
    host_energy_j: float
    busy_accelerator_s: float


@dataclass(frozen=True)
class RunRecord:
    """Everything a Result is built from."""

    scenario: Scenario
    ledger: Meter
    end_s: float
    wall_s: float
    events: int
    jobs: list[JobRecord]
    nodes: list[NodeRecord]
    components: dict[str, Any]
    """the resolved configuration of the cooling and supply models."""
    supply_summary: dict[str, float] | None = None
    it_capacity_w: float = 0.0
    """IT nameplate: accelerators at TDP + hosts busy (sizes the facility's capital cost)."""
    it_categories: tuple[str, ...] = IT_CATEGORIES
    stopped: str = ""
    """why the run ended early ('timeout' or 'interrupted', its books closed at that instant), else empty."""
    serving: Any = None
    """the closed serving engine (`sim.serving.engine.ServingEngine`) of a run with a `serving:` section;
    `sim.results.serving` reads its request arrays and ledger channels."""
