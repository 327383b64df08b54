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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

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
from sim.spec.yaml_load import depth_message, load_yaml
from sim.units import parse_duration, short_repr

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
        import pandas as pd  # pandas loads on first use: `wattsim validate` stays light

        return pd.Timestamp(self.start).tz_convert("UTC")

    @property
    def horizon_s(self) -> float:
        """The simulated period in seconds (the cap when running until done)."""
        return self.max_duration if self.duration == "until-done" else float(self.duration)

    def resolved(self) -> dict[str, Any]:
        """The whole scenario as plain data, defaults included (for the manifest)."""
        return self.model_dump(mode="json")


# -- loading ----------------------------------------------------------------


#: Largest scenario file read (bytes), checked before parsing. A scenario lists its jobs;
#: bigger workloads belong in a trace (`workload.trace`), which is read as a table.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
#: Deepest nesting of sections and lists (the deepest scenario key is about 6 levels).
MAX_DEPTH = 32
#: Nodes that YAML aliases (`*name`) may add beyond those written in the file.
MAX_ALIAS_NODES = 100_000


def read_document(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict; every problem is one line naming the file.

    Hostile input is refused before it costs anything: the size is checked before
    reading, the bytes must be UTF-8 text, YAML is parsed with safe construction only
    (no tags that build Python objects), the nesting depth is bounded and aliases may
    not expand the document by more than `MAX_ALIAS_NODES` nodes (an alias bomb).
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"scenario file {short_repr(str(p))} does not exist")
    size = p.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise ScenarioError(f"{p}: {size:,} bytes is too large for a scenario file (limit "
                            f"{MAX_DOCUMENT_BYTES:,}); put long job lists in a trace (workload.trace)")
    raw = p.read_bytes()
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ScenarioError(f"{p}: a binary file (a NUL byte at offset {nul}), not a YAML or JSON scenario")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{p}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                            "save the scenario as UTF-8") from None
    is_json = p.suffix.lower() == ".json"
    try:
        doc = _parse_json(text) if is_json else _parse_yaml(text)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ScenarioError(f"{p}: a scenario is a mapping of sections, got {type(doc).__name__}")
    return doc


def _parse_yaml(text: str) -> Any:
    """Safe YAML from libyaml's events (`sim.spec.yaml_load`), depth bounded as it is built; a
    document with aliases then has its expansion bounded (`_check_value_graph`)."""
    try:
        doc, aliased = load_yaml(text, MAX_DEPTH)  # safe: core tags only; depth checked as it builds
    except ScenarioError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ScenarioError(f"not valid YAML{where}: {_cut(what, 200)}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {_cut(str(exc).splitlines()[0], 200)}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError(f"not a valid scenario value: {_cut(str(exc), 120)}") from None
    if aliased:  # shared values: bound what the aliases expand to (the depth is already checked)
        _check_value_graph(doc)
    return doc


def _cut(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _check_value_graph(root: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and aliases that expand past MAX_ALIAS_NODES.

    YAML aliases make the loaded value a DAG whose shared lists and mappings are one
    object each: the expanded size is computed once per container (memoised by
    identity), iteratively, visiting containers only, so the check costs O(containers
    written) and never expands anything.
    """
    size: dict[int, int] = {}  # expanded values under a container, itself included
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    written = 0
    while stack:
        value, level, done = stack.pop()
        if level > MAX_DEPTH:
            raise ScenarioError(depth_message(MAX_DEPTH))
        kids = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else None
        if kids is None or (id(value) in size and not done):
            continue
        if not done:
            written += 1 + len(kids)
            stack.append((value, level, True))
            stack.extend((k, level + 1, False) for k in kids if isinstance(k, (dict, list)) and id(k) not in size)
            continue
        total = 1 + sum(size.get(id(k), 1) for k in kids)
        size[id(value)] = total
        if total > written + MAX_ALIAS_NODES:
            raise ScenarioError(f"YAML aliases expand the document to at least {total:,} values (aliases may "
                                f"add at most {MAX_ALIAS_NODES:,})")


def _parse_json(text: str) -> Any:
    try:
        doc = json.loads(text, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep; a scenario needs about 6") from None
    _check_value_graph(doc)
    return doc


def _json_constant(name: str) -> float:
    raise ScenarioError(f"not valid JSON: {name} is not a number JSON allows (every number must be finite)")


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


#: pydantic error types that only say "the input is not of this union member's type"
_WRONG_TYPE = ("_type", "_parsing", "literal_error", "model_attributes_type")
_MISSING = object()


def format_validation_error(exc: ValidationError, doc: Any = _MISSING) -> str:
    """One line per problem: dotted path, the value (truncated), what is allowed.

    With the raw document `doc`, the path is cleaned of what pydantic adds for unions
    (a member's type or class name, a discriminator tag: ``model.ModelSpec.parameters``
    becomes ``model.parameters``), and of a union's members only those that match the
    kind of value given are reported (a mapping is not "not a valid string"); when no
    member matches, one line says what the union accepts.
    """
    errors = exc.errors()
    cleaned = [_clean_path(err["loc"], doc, err["type"]) for err in errors]
    groups: dict[str, dict[str, list[int]]] = {}  # union path -> member -> error indices
    for k, (_, members) in enumerate(cleaned):
        for where, tag in members:
            groups.setdefault(where, {}).setdefault(tag, []).append(k)
    drop: set[int] = set()
    merged: dict[int, str] = {}  # first error index of a union none of whose members matched -> line
    for where, by_tag in groups.items():
        if len(by_tag) < 2:
            continue
        real = {t for t, ks in by_tag.items() if any(not errors[k]["type"].endswith(_WRONG_TYPE) for k in ks)}
        if real:
            drop.update(k for t, ks in by_tag.items() if t not in real for k in ks)
        else:
            ks = sorted(k for ks in by_tag.values() for k in ks)
            kinds = dict.fromkeys(_expected(errors[k]) for k in ks)
            merged[ks[0]] = (f"{where or '<scenario>'}: {short_repr(errors[ks[0]].get('input'))} is not allowed: "
                             f"expected {' or '.join(kinds)}")
            drop.update(ks[1:])
    lines = []
    for k, err in enumerate(errors):
        if k in merged:
            lines.append(merged[k])
        elif k not in drop:
            lines.append(_problem_line(cleaned[k][0], err))
    lines = list(dict.fromkeys(lines))
    if len(lines) > MAX_PROBLEMS:
        lines = [*lines[:MAX_PROBLEMS], f"… and {len(lines) - MAX_PROBLEMS:,} more problems"]
    return "\n".join(lines)


#: Problems listed at most (one line each); the rest are counted
MAX_PROBLEMS = 20

_EXPECTED = {"string_type": "a string", "model_type": "a mapping of keys", "dict_type": "a mapping of keys",
             "model_attributes_type": "a mapping of keys", "int_type": "an integer", "int_parsing": "an integer",
             "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
             "bool_parsing": "true or false", "list_type": "a list", "none_required": "null"}


def _expected(err: Any) -> str:
    return _EXPECTED.get(err["type"], str(err["msg"]).removeprefix("Input should be "))


def _clean_path(loc: tuple[Any, ...], doc: Any, kind: str) -> tuple[str, list[tuple[str, str]]]:
    """The dotted path a user wrote, and the (path, member) of each union member pydantic put in `loc`."""
    parts: list[str] = []
    members: list[tuple[str, str]] = []
    node = doc
    for n, part in enumerate(loc):
        text = str(part)
        if text.startswith(("function-", "constrained-")):
            continue
        if doc is _MISSING:
            parts.append(text)
            continue
        last = n == len(loc) - 1
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and last and kind in ("missing", "extra_forbidden"):
            node = _MISSING
        elif not isinstance(node, (dict, list)) and not last and kind in ("missing", "extra_forbidden"):
            parts.append(text)  # below a value that is not a section: keep the path as pydantic gives it
            continue
        else:  # not a key of the document: a union member's name or a discriminator tag
            members.append((".".join(parts), text))
            continue
        parts.append(text)
    return ".".join(parts), members


def _problem_line(path: str, err: Any) -> str:
    value = err.get("input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{path}: unknown key (value {short_repr(value)}); check the spelling against the docs"
    if err["type"] == "cooling_model":  # the discriminator: name the bad value, at cooling.model
        model = value.get("model") if isinstance(value, dict) else value
        return (f"{path}.model: {short_repr(model)} is not allowed: give 'constant-pue', 'plant' or a "
                "'package.module:Class' of your own")
    if err["type"] == "finite_number":
        return f"{path or '<scenario>'}: {short_repr(value)} is not allowed: every number must be finite"
    if err["type"] in _EXPECTED:
        return f"{path or '<scenario>'}: {short_repr(value)} is not allowed: expected {_EXPECTED[err['type']]}"
    if isinstance(value, dict) and err["type"] != "missing":  # a rule about a whole section: the rule says it all
        return f"{path}: {msg}" if path else msg
    if err["type"] == "missing":
        return f"{path}: missing; this key is required"
    return f"{path or '<scenario>'}: {short_repr(value)} is not allowed: {msg}"


def validate_document(doc: dict[str, Any]) -> Scenario:
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, doc)) from None
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
    problems.extend(memory_problems(s))
    if problems:
        raise ScenarioError("\n".join(problems))


def _catalog_message(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


# -- what a scenario costs, and what it leaves out ------------------------------

#: Peak memory per simulated node: 15.2 kB per node measured (tracemalloc peak, 2,048 x
#: dgx-h100, 1 d, no jobs: world + run + Result), rounded up.
MEMORY_PER_NODE_B = 16_000
#: Peak memory per job: 5.0 kB measured (tracemalloc peak, 101,210 generated jobs on 16
#: nodes, 7 d: world + run + Result), rounded up.
MEMORY_PER_JOB_B = 5_000
#: Share of the machine's memory a run may plan to use.
MEMORY_SHARE = 0.8


def physical_memory_b() -> int:
    """This machine's memory (bytes); 16 GiB where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 16 * 1024**3


def expected_jobs(s: Scenario) -> int:
    """Jobs listed plus the expected arrivals of every generator over the horizon (a trace's rows not counted)."""
    total = len(s.workload.jobs)
    for gen in s.workload.all_generators():
        if getattr(gen, "kind", None) == "llm-campaign":
            total += 1 + gen.finetunes + int(min(s.horizon_s / gen.eval_every, 1e12))
            continue
        stop = min(gen.stop if gen.stop is not None else s.horizon_s, s.horizon_s)
        rate = gen.rate_per_hour if gen.rate_per_hour is not None else 0.0
        arrivals = rate * max(stop - gen.start, 0.0) / 3600.0 * (1 + gen.diurnal_amplitude)
        total += int(min(arrivals, gen.count if gen.count is not None else math.inf, 1e15))
    return total


def memory_problems(s: Scenario) -> list[str]:
    """A cluster and workload whose estimated memory exceeds this machine's: refused with the estimate."""
    nodes = sum(pool.nodes for pool in s.cluster.node_pools())  # a Python int: never overflows
    jobs = expected_jobs(s)
    need = nodes * MEMORY_PER_NODE_B + jobs * MEMORY_PER_JOB_B
    have = physical_memory_b()
    if need <= MEMORY_SHARE * have:
        return []
    where = "cluster.pools" if s.cluster.pools else "cluster.nodes"
    return [f"{where}: {_count(nodes)} nodes and about {_count(jobs)} jobs need about {_bytes(need)} of memory "
            f"to simulate ({MEMORY_PER_NODE_B / 1000:g} kB per node, {MEMORY_PER_JOB_B / 1000:g} kB per job, "
            f"measured); this machine has {_bytes(have)}"]


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10^{int(n.bit_length() * 0.30103)}"


def _bytes(n: int) -> str:
    if n.bit_length() > 80:
        return f"10^{int(n.bit_length() * 0.30103)} bytes"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"


def scenario_warnings(s: Scenario) -> list[str]:
    """Things a valid scenario leaves out that a user probably did not mean to (printed, not refused)."""
    out = []
    w = s.workload
    if not (w.jobs or w.all_generators() or w.trace is not None):
        horizon = "until every job is done (none)" if s.duration == "until-done" else f"{s.horizon_s / 86400:g} d"
        out.append(f"workload: the scenario has no jobs (no workload.jobs, generator(s) or trace): the run "
                   f"simulates an idle cluster of {sum(p.nodes for p in s.cluster.node_pools()):,} nodes for {horizon}")
    sup = s.supply
    needs_weather = [name for name, on in (("supply.pv", sup.pv.capacity_kw > 0 and sup.pv.trace is None),
                                           ("supply.wind", (sup.wind.capacity_kw > 0 or sup.wind.turbines > 0)
                                            and sup.wind.trace is None))
                     if on]
    if sup.model is None and needs_weather and sup.weather is None and getattr(s.cooling, "weather", None) is None:
        out.append(f"{' and '.join(needs_weather)}: generation from weather, but no supply.weather is given: "
                   "using the bundled tmy3-greensboro-nc (set supply.weather to your site)")
    return out
