"""The scenario file: pydantic models, YAML/JSON in, dotted overrides.

A scenario is plain data, validated before anything runs. Unknown keys are
refused and every problem is reported on one line naming its dotted path, the
bad value and what is allowed (OpenDC's specs do the same):

    cluster.nodes: -4 is not allowed: Input should be greater than or equal to 1

Overrides (`cluster.nodes=128`, `workload.jobs.0.accelerators=16`) are applied
to the raw document before validation, so an override is checked exactly like
the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.registry import REGISTRIES
from sim.spec.cooling import ConstantPueConfig, CoolingConfig
from sim.spec.costs import CostsConfig
from sim.spec.errors import ScenarioError
from sim.spec.network import NetworkConfig, TopologyConfig
from sim.spec.scheduling import SchedulerConfig
from sim.spec.serving import ServingConfig
from sim.spec.site import SiteConfig
from sim.spec.supply import SupplyConfig
from sim.spec.types import Duration, Positive, PositiveDuration, PowerModelName, StrictModel
from sim.spec.workload import WorkloadConfig
from sim.units import parse_duration

# -- catalog additions -----------------------------------------------------


class CatalogAdditions(StrictModel):
    """User entries added to the bundled catalog (same fields as its YAML files)."""

    accelerators: dict[str, dict[str, Any]] = Field(default_factory=dict)
    node_types: dict[str, dict[str, Any]] = Field(default_factory=dict)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- cluster -----------------------------------------------------------------


class NodePool(StrictModel):
    """A group of identical nodes; a cluster may hold several (heterogeneous)."""

    node_type: str
    nodes: int = Field(ge=1)


class ClusterConfig(StrictModel):
    nodes: int = Field(default=16, ge=1, description="number of nodes of `node_type`")
    node_type: str = "dgx-h100"
    pools: list[NodePool] = Field(
        default_factory=list,
        description="heterogeneous cluster: a list of {node_type, nodes}; replaces nodes/node_type",
    )
    power_cap_w: Positive | None = Field(
        default=None, description="power limit of every accelerator (W); None = its TDP"
    )
    topology: TopologyConfig | None = Field(
        default=None, description="the network (sim/network/topology.py); None = no network model"
    )
    power_model: PowerModelName | None = Field(
        default=None,
        description="every accelerator's power model (cube-law, linear or 'package.module:Class'); "
        "None = each accelerator's catalog power_model",
    )


    def node_pools(self) -> list[NodePool]:
        return list(self.pools) if self.pools else [NodePool(node_type=self.node_type, nodes=self.nodes)]


# -- scheduler, plant, output -----------------------------------------------


class PlantConfig(StrictModel):
    step: PositiveDuration = Field(default=60.0, description="plant loop step")


class OutputConfig(StrictModel):
    interval: PositiveDuration = Field(default=900.0, description="time-series bin width")


# -- the scenario -----------------------------------------------------------


class Scenario(StrictModel):
    name: str = "scenario"
    start: datetime = datetime(2020, 6, 1, tzinfo=UTC)
    duration: Duration | Literal["until-done"] = 7 * 86400.0
    max_duration: PositiveDuration = Field(
        default=366 * 86400.0, description="horizon when duration is 'until-done'"
    )
    seed: int = 1
    site: SiteConfig | None = Field(default=None, description="where the datacenter is; else the weather file's site")
    catalog: CatalogAdditions = Field(default_factory=CatalogAdditions)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    cooling: CoolingConfig = Field(default_factory=ConstantPueConfig)
    supply: SupplyConfig = Field(default_factory=SupplyConfig)
    plant: PlantConfig = Field(default_factory=PlantConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    serving: ServingConfig | None = Field(default=None, description="an LLM inference deployment (docs/serving.md)")
    costs: CostsConfig = Field(default_factory=CostsConfig)

    @model_validator(mode="after")
    def _money_in_one_currency(self) -> Scenario:
        currency = self.supply.grid.currency
        unset = self.costs.usd_defaults_in_use()
        if currency.upper() != "USD" and unset:
            raise ValueError(
                f"costs: {', '.join(unset)} default to USD prices but supply.grid.currency is {currency!r};"
                f" give them in {currency}"
            )
        return self

    @model_validator(mode="after")
    def _async_needs_a_network(self) -> Scenario:
        # asynchronous jobs push gradients to parameter servers over the fabric
        # (sim/compute/async_training.py); without one they would silently run as sync
        if self.cluster.topology is not None:
            return self
        w = self.workload
        paths = [f"workload.jobs.{i}.mode" for i, j in enumerate(w.jobs) if j.mode == "async"]
        gens = ([("workload.generator", w.generator)] if w.generator is not None else []) + [
            (f"workload.generators.{i}", g) for i, g in enumerate(w.generators)]
        paths += [f"{where}.mode" for where, g in gens if getattr(g, "mode", "sync") == "async"]
        if w.trace is not None and w.trace.mode == "async":
            paths.append("workload.trace.mode")
        if paths:
            raise ValueError(
                f"{paths[0]}: 'async' needs cluster.topology (its parameter servers' traffic crosses "
                "the network); add cluster.topology, e.g. {kind: leaf-spine}, or use mode: sync"
            )
        return self

    @model_validator(mode="after")
    def _bins_close_on_plant_steps(self) -> Scenario:
        # supply, cooling and carbon are constant per plant step; a bin that ended inside a
        # step would mix exact IT energy with a step's mean and break the per-bin balance
        ratio = self.output.interval / self.plant.step
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"output.interval ({self.output.interval:g} s) must be a whole multiple of plant.step "
                f"({self.plant.step:g} s), so that every output bin closes on a plant step"
            )
        return self

    @field_validator("start", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value == "until-done":
            return value
        return parse_duration(value) if isinstance(value, (str, int, float)) else value

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start).tz_convert("UTC")

    @property
    def horizon_s(self) -> float:
        """The simulated period in seconds (the cap when running until done)."""
        return self.max_duration if self.duration == "until-done" else float(self.duration)

    def resolved(self) -> dict[str, Any]:
        """The whole scenario as plain data, defaults included (for the manifest)."""
        return self.model_dump(mode="json")


# -- loading ----------------------------------------------------------------


def read_document(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict; errors name the file."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"scenario file {str(p)!r} does not exist")
    text = p.read_text()
    try:
        doc = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ScenarioError(f"{p}: a scenario is a mapping of sections, got {type(doc).__name__}")
    return doc


def parse_override(text: str) -> tuple[str, Any]:
    """'cluster.nodes=128' -> ('cluster.nodes', 128); the value is read as YAML."""
    if "=" not in text:
        raise ScenarioError(f"override {text!r}: expected PATH=VALUE, e.g. cluster.nodes=128")
    path, raw = text.split("=", 1)
    return path.strip(), yaml.safe_load(raw)


def apply_overrides(doc: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set each dotted path in a deep copy of `doc`; list items by index."""
    out = json.loads(json.dumps(doc, default=str))
    for path, value in overrides.items():
        value = json.loads(json.dumps(value, default=str))  # never share (and mutate) the caller's objects
        keys = path.split(".")
        node: Any = out
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            where = ".".join(keys[: i + 1])
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ScenarioError(f"override {path}: {where} is not an index of a list of {len(node)}")
                key = int(key)  # type: ignore[assignment]
                if last:
                    node[key] = value
                else:
                    node = node[key]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
                    if node is None:
                        node = {}
            else:
                raise ScenarioError(f"override {path}: {'.'.join(keys[:i])} is a value, not a section")
    return out


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: dotted path, the value, what is allowed."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # drop the tag pydantic adds for discriminated unions / union members
        path = ".".join(p for p in loc if not p.startswith(("function-", "constrained-")))
        value = err.get("input")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key (value {value!r}); check the spelling against the docs")
        else:
            msg = msg.removeprefix("Value error, ")
            if isinstance(value, dict):  # a rule about a whole section: the rule says it all
                lines.append(f"{path}: {msg}" if path else msg)
            else:
                lines.append(f"{path or '<scenario>'}: {value!r} is not allowed: {msg}")
    return "\n".join(lines)


def validate_document(doc: dict[str, Any]) -> Scenario:
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc)) from None
    _check_against_catalog(scenario)
    return scenario


def load_scenario(
    source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Load and validate a scenario from a file or a dict, with dotted overrides."""
    doc = dict(source) if isinstance(source, Mapping) else read_document(source)
    if overrides:
        doc = apply_overrides(doc, overrides)
    from sim.spec.traces import scenario_dir  # relative trace paths resolve against the file's folder

    with scenario_dir(None if isinstance(source, Mapping) else Path(source).parent):
        return validate_document(doc)


def _check_against_catalog(s: Scenario) -> None:
    """Names that only the catalog can check: node types, models, job sizes."""
    from sim.catalog import CatalogError, load_catalog

    problems: list[str] = []
    try:
        cat = load_catalog().with_extra(
            accelerators=s.catalog.accelerators, node_types=s.catalog.node_types, models=s.catalog.models
        )
    except (ValueError, CatalogError) as exc:
        raise ScenarioError(f"catalog: {exc}") from None
    total = 0
    pools = s.cluster.node_pools()
    for i, pool in enumerate(pools):
        where = f"cluster.pools.{i}.node_type" if s.cluster.pools else "cluster.node_type"
        try:
            nt = cat.node_type(pool.node_type)
            total += nt.accelerators_per_node * pool.nodes
        except CatalogError as exc:
            problems.append(f"{where}: {_catalog_message(exc)}")
            continue
        acc = cat.accelerator(nt.accelerator)
        if s.cluster.power_model is None:

            try:
                REGISTRIES["power_model"].check(acc.power_model)
            except ValueError as exc:
                problems.append(f"catalog.accelerators.{acc.key}.power_model: {exc}")
    for i, job in enumerate(s.workload.jobs):
        where = f"workload.jobs.{i}"
        if total and job.accelerators > total:
            problems.append(
                f"{where}.accelerators: {job.accelerators} is not allowed: the cluster has {total} accelerators"
            )
        if isinstance(job.model, str):
            try:
                cat.model(job.model)
            except CatalogError as exc:
                problems.append(f"{where}.model: {_catalog_message(exc)}")
                continue
        if job.reference_accelerator is not None:
            try:
                cat.accelerator(job.reference_accelerator)
            except CatalogError as exc:
                problems.append(f"{where}.reference_accelerator: {_catalog_message(exc)}")
    if problems:
        raise ScenarioError("\n".join(problems))


def _catalog_message(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)
