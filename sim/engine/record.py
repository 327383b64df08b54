"""The run record: plain data the engine hands over when a run ends.

`World.run()` returns it; `sim.results.build_result(record)` turns it into the
`Result` (tables, summary, manifest). Nothing here is live: jobs (as columns) and
nodes are frozen snapshots, and the ledger is the closed `Meter` read through its
read methods only (`integral`, `cumulative_many`, `binned`, ...), so the Result never
touches the World, the scheduler or a SimPy object.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.meter import Meter
from sim.spec.scenario import Scenario

if TYPE_CHECKING:
    from sim.compute.training import Job

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
    nodes: list[tuple[str, ...]]
    """every node the job ran on, in order: the job's own tuple, not a copy (a million copies would
    cost 80 MB and the collector's passes over them)."""
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


#: job fields read in one pass each: a job's fields sit together in memory, so one pass over
#: a million jobs costs a cache miss per job, not one per job and field
_JOB_FLOATS = ("submit_s", "ready_s", "start_s", "end_s", "done_flops", "wasted_energy_j", "attained_service_s",
               "comm_wait_s", "it_energy_j")
_JOB_INTS = ("id", "accelerators", "preemptions", "restarts")
_WORK_FLOATS = ("work_flops", "flops_per_sample", "useful_flops")


def _rows(fields: tuple[str, ...], items: Sequence[Any], dtype: type) -> np.ndarray:
    """The `fields` of each item, one row per field (None -> NaN for floats), in one pass."""
    k, n = len(fields), len(items)
    flat: np.ndarray = np.fromiter(chain.from_iterable(map(attrgetter(*fields), items)), dtype=dtype, count=n * k)
    return flat.reshape(n, k).T.copy()


def _shared_rows(fields: tuple[str, ...], items: list[Any]) -> np.ndarray:
    """`_rows(fields, items, float)`, each distinct object read once: jobs share their `JobWork`
    (a trace repeats its (duration, size) pairs: 21,083 objects for Philly's 82,247 jobs)."""
    ids = np.fromiter(map(id, items), dtype=np.int64, count=len(items))
    _, first, at = np.unique(ids, return_index=True, return_inverse=True)
    return np.take(_rows(fields, [items[i] for i in first.tolist()], float), at, axis=1)


def job_columns(jobs: Sequence[Job], attributed_j: Mapping[Hashable, float], alone_s: np.ndarray) -> JobRecords:
    """`JobRecords` of the engine's jobs at the end of the run: `attributed_j` is the ledger's
    per-owner IT energy (switch shares; a job's own power history is its `it_energy_j`), `alone_s`
    each job's runtime alone (NaN unless completed)."""
    floats = _rows(_JOB_FLOATS, jobs, float)
    ints = _rows(_JOB_INTS, jobs, np.int64)
    work = _shared_rows(_WORK_FLOATS, [j.work for j in jobs])
    ids = ints[0]
    states = [j.state for j in jobs]
    value_of = {s: s.value for s in set(states)}
    return JobRecords(
        id=ids, name=[j.name for j in jobs], user=[j.user for j in jobs], mode=[j.mode for j in jobs],
        accelerators=ints[1], nodes=[j.node_names for j in jobs],
        submit_s=floats[0], ready_s=floats[1], start_s=floats[2], end_s=floats[3],
        state=[value_of[s] for s in states], reason=[j.reason for j in jobs],
        work_flops=work[0], done_flops=floats[4], flops_per_sample=work[1], useful_flops=work[2],
        attributed_it_j=floats[8] + np.fromiter(map(attributed_j.get, ids.tolist(), repeat(0.0)), dtype=float,
                                                count=len(jobs)),
        wasted_energy_j=floats[5], preemptions=ints[2], restarts=ints[3],
        attained_service_s=floats[6], comm_wait_s=floats[7], alone_s=alone_s,
    )


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
