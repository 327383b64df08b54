"""Load-time checks that need the engine's models, run before anything is simulated.

`sim.spec` checks the scenario as data (types, ranges, names, catalog
entries); what needs a model of the job (does it fit in HBM, can it be laid
out with tensor/pipeline/sharded data parallelism: `sim.compute.parallelism`)
is checked here, so the spec never imports the engine. `load_scenario` here
is the public one (`sim.load_scenario`, the CLI): the spec's loader, then these
checks, every problem one line with its dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.catalog import CatalogError, load_catalog
from sim.compute.parallelism import LayoutError, job_layout
from sim.spec.errors import ScenarioError
from sim.spec.scenario import Scenario
from sim.spec.scenario import load_scenario as load_document


def check_runnable(s: Scenario) -> None:
    """Raise ScenarioError naming every job that cannot be laid out on the cluster's first node type."""
    pools = s.cluster.node_pools()
    if not pools:
        return
    cat = load_catalog().with_extra(
        accelerators=s.catalog.accelerators, node_types=s.catalog.node_types, models=s.catalog.models)
    problems: list[str] = []
    for i, job in enumerate(s.workload.jobs):
        if job.model is None:
            continue
        try:  # memory and parallel layout on the cluster's first node type (sim/compute)
            job_layout(job, cat, cat.node_type(pools[0].node_type), f"workload.jobs.{i}")
        except LayoutError as exc:
            problems.append(str(exc))
        except CatalogError:
            continue  # the spec reported it
    if problems:
        raise ScenarioError("\n".join(problems))


def load_scenario(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, validate and check a scenario (see `sim.spec.scenario.load_scenario` for the arguments)."""
    s = load_document(source, overrides=overrides)
    check_runnable(s)
    return s
