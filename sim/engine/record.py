"""The run record: plain data the engine hands over when a run ends.

`World.run()` returns it; `sim.results.build_result(record)` turns it into the
`Result` (tables, summary, manifest). Nothing here is live: jobs (as columns) and
nodes are frozen snapshots, and the ledger is the closed `Meter` read through its
read methods only (`integral`, `cumulative_many`, `binned`, ...), so the Result never
touches the World, the scheduler or a SimPy object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.meter import Meter
from sim.spec.scenario import Scenario

#: the ledger categories that make up IT power (the rest is cooling and losses)
IT_CATEGORIES = ("accelerator", "host", "network", "background")


@dataclass(frozen=True, slots=True)
class JobRecords:
    """Every job at the end of the run, as columns: row i of each column is one job, in the
    order the World holds them (times in s since the start; energies in J).

    Columns, not one object per job: a year of a large cluster has about a million
    jobs, and the jobs table is built from whole columns (issue 14). Numeric columns
    are numpy arrays, NaN where the job has no such figure; text columns are lists.
    """

    id: np.ndarray
    """int64 job ids."""
    name: list[str]
    user: list[str | None]
    mode: list[str]
    accelerators: np.ndarray
    """int64 accelerators requested."""
    nodes: list[list[str]]
    """every node the job ran on, in order: the job's own list, not a copy (the run has ended, so
    it no longer changes; a million copies would cost 80 MB and the collector's passes over them)."""
    submit_s: np.ndarray
    ready_s: np.ndarray
    """when it entered the queue; NaN if it never did."""
    start_s: np.ndarray
    """first start; NaN if never started."""
    end_s: np.ndarray
    """end; NaN if not ended."""
    state: list[str]
    """pending, queued, running, completed or failed (`sim.compute.training.JobState` values)."""
    reason: list[str | None]
    work_flops: np.ndarray
    done_flops: np.ndarray
    flops_per_sample: np.ndarray
    """NaN where unknown."""
    useful_flops: np.ndarray
    """the work the job needs to reach its goal (tokens or samples to converge); NaN where unknown."""
    attributed_it_j: np.ndarray
    """IT energy the ledger credited to the job (its share of accelerators, hosts, switches)."""
    wasted_energy_j: np.ndarray
    preemptions: np.ndarray
    """int64."""
    restarts: np.ndarray
    """int64."""
    attained_service_s: np.ndarray
    """accelerator-seconds held."""
    comm_wait_s: np.ndarray
    alone_s: np.ndarray
    """its run time alone at full speed (the scheduler's exact estimate); NaN unless completed."""

    def __len__(self) -> int:
        return len(self.id)


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
    jobs: JobRecords
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
