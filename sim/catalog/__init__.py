"""Hardware and model catalog: accelerators, node types and training-model presets.

What is modelled: the handful of figures the engine needs to turn a training job
into power and time -- an accelerator's peak 16-bit FLOP/s, its power envelope
(idle, typical busy, board limit, lowest settable cap), memory; a node's host
power (everything but the accelerators) and its interconnect; a model's FLOPs
per sample, gradient size, typical utilisation and critical batch size.

The figures live in three YAML files next to this module (package data, read
with ``importlib.resources``); every number there carries its source and a
verification level (P primary, S secondary, M memory, D derived with the
arithmetic shown), as in ``data/README.md`` and ``data/reference/accelerators.csv``.

A scenario can add or override entries (``catalog: {accelerators: {...}}``)
through :meth:`Catalog.with_extra`; user entries are validated field by field
and a bad one raises ``ValueError`` naming the entry and the field.

All quantities are SI: W, FLOP/s, bytes, bytes/s.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

import yaml

#: libyaml's parser where PyYAML has it: the same values as the pure-Python SafeLoader (the
#: constructor and the resolvers, ours below included, are the same Python classes), 10x faster
#: (0.09 -> 0.01 s CPU for the three catalog files, a tenth of a scenario's load)
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = [
    "Accelerator",
    "NodeType",
    "ModelPreset",
    "Catalog",
    "CatalogError",
    "load_catalog",
]


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Accelerator:
    """One accelerator chip (GPU board or TPU chip).

    Power model the figures support: ``idle_w`` when nothing runs, ``busy_w``
    on average while the compute phase of large-model training runs at default
    clocks, never more than ``tdp_w`` (the default board power limit, i.e. the
    ceiling a power cap starts from), and a cap can be lowered to
    ``min_cap_w`` at the lowest.
    """

    key: str
    name: str
    peak_flops: float  # dense 16-bit tensor FLOP/s
    tdp_w: float  # board power limit at default (for TPUs: highest measured chip power)
    idle_w: float
    min_cap_w: float
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    default_mfu: float
    source: str
    # --- additions to the agreed API (all optional for user entries) ---
    busy_w: float = 0.0  # typical board power while training; 0 -> tdp_w (set in __post_init__)
    kind: str = "gpu"  # "gpu" | "tpu"
    published_tdp_w: float | None = None  # vendor TDP where it differs from tdp_w (TPUs)
    aliases: tuple[str, ...] = ()
    power_model: str = "phase"  # a registered sim.compute.node power model or "package.module:Class"

    def __post_init__(self) -> None:
        if not self.busy_w:
            object.__setattr__(self, "busy_w", self.tdp_w)


@dataclass(frozen=True)
class NodeType:
    """A server (or TPU host) holding ``accelerators_per_node`` accelerators.

    ``host_idle_w`` / ``host_busy_w`` are everything in the node except the
    accelerator boards: CPUs, DRAM, fans, NICs, NVSwitch chips, storage, PSU
    losses. System power per accelerator while training is therefore
    ``accelerator.busy_w + host_busy_w / accelerators_per_node``.
    """

    key: str
    name: str
    accelerator: str
    accelerators_per_node: int
    host_idle_w: float
    host_busy_w: float
    intra_node_bandwidth_bytes_per_s: float  # per accelerator, unidirectional
    nic_bandwidth_bytes_per_s: float  # whole node, scale-out
    source: str
    # --- additions ---
    rated_system_w: float | None = None  # nameplate maximum input power of the whole node
    aliases: tuple[str, ...] = ()
    nics: int | None = None  # scale-out NIC ports sharing nic_bandwidth_bytes_per_s; None = one
    # (sim/network/fabric.py: a job holding c of the node's accelerators gets ceil(c nics / accelerators) NICs)


@dataclass(frozen=True)
class ModelPreset:
    """A training workload: work per sample and how well it uses hardware.

    For language models a sample is a token and ``flops_per_sample = 6 N``
    (Kaplan et al. 2020); ``critical_batch`` is in the same unit as the sample.
    """

    key: str
    name: str
    parameters: float
    flops_per_sample: float
    sample_unit: str  # "token" | "image" | "sequence"
    gradient_bytes: float
    typical_mfu: float
    reference_batch_per_accelerator: int
    critical_batch: float
    source: str
    # --- additions ---
    sequence_length: int | None = None  # tokens per sequence where relevant
    aliases: tuple[str, ...] = ()
    # --- issue 13: power caps and memory (sim/compute) ---
    gamma: float | None = None  # compute-boundedness, speed = f^gamma under a cap (None: the default)
    layers: int | None = None  # transformer shape; None: inferred from the parameters (sim/compute/memory.py)
    hidden_size: int | None = None
    heads: int | None = None


class CatalogError(KeyError):
    """Unknown catalog key; the message lists the known keys."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------
# Validation of raw entries (YAML files and user additions)
# ---------------------------------------------------------------------------

_SAMPLE_UNITS = ("token", "image", "sequence")
_KINDS = ("gpu", "tpu", "other")

R = TypeVar("R", Accelerator, NodeType, ModelPreset)


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.name != "key"}


def _required(cls: type) -> list[str]:
    return [
        name
        for name, f in _fields(cls).items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


def _number(what: str, name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what}: field '{name}' must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{what}: field '{name}' must be a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise ValueError(f"{what}: field '{name}' must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what}: field '{name}' must be finite, got {value!r}")
    return value


def _positive(what: str, name: str, value: Any) -> float:
    v = _number(what, name, value)
    if v <= 0:
        raise ValueError(f"{what}: field '{name}' must be > 0, got {value!r}")
    return v


def _non_negative(what: str, name: str, value: Any) -> float:
    v = _number(what, name, value)
    if v < 0:
        raise ValueError(f"{what}: field '{name}' must be >= 0, got {value!r}")
    return v


def _fraction(what: str, name: str, value: Any) -> float:
    v = _number(what, name, value)
    if not 0 < v <= 1:
        raise ValueError(f"{what}: field '{name}' must be a fraction in (0, 1], got {value!r}")
    return v


def _pos_int(what: str, name: str, value: Any) -> int:
    v = _positive(what, name, value)
    if v != int(v):
        raise ValueError(f"{what}: field '{name}' must be a whole number, got {value!r}")
    return int(v)


def _text(what: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: field '{name}' must be a non-empty string, got {value!r}")
    return value.strip()


def _aliases(what: str, name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what}: field '{name}' must be a list of strings, got {value!r}")
    return tuple(_text(what, name, v) for v in value)


_CHECKS: dict[type, dict[str, Any]] = {
    Accelerator: {
        "name": _text,
        "peak_flops": _positive,
        "tdp_w": _positive,
        "idle_w": _non_negative,
        "min_cap_w": _positive,
        "memory_bytes": _positive,
        "memory_bandwidth_bytes_per_s": _positive,
        "default_mfu": _fraction,
        "source": _text,
        "busy_w": _non_negative,
        "kind": _text,
        "published_tdp_w": _positive,
        "aliases": _aliases,
        "power_model": _text,
    },
    NodeType: {
        "name": _text,
        "accelerator": _text,
        "accelerators_per_node": _pos_int,
        "host_idle_w": _non_negative,
        "host_busy_w": _non_negative,
        "intra_node_bandwidth_bytes_per_s": _non_negative,
        "nic_bandwidth_bytes_per_s": _positive,
        "source": _text,
        "rated_system_w": _positive,
        "aliases": _aliases,
        "nics": _pos_int,
    },
    ModelPreset: {
        "name": _text,
        "parameters": _positive,
        "flops_per_sample": _positive,
        "sample_unit": _text,
        "gradient_bytes": _positive,
        "typical_mfu": _fraction,
        "reference_batch_per_accelerator": _pos_int,
        "critical_batch": _positive,
        "source": _text,
        "sequence_length": _pos_int,
        "aliases": _aliases,
        "gamma": _fraction,
        "layers": _pos_int,
        "hidden_size": _pos_int,
        "heads": _pos_int,
    },
}

_LABEL = {Accelerator: "accelerator", NodeType: "node type", ModelPreset: "model"}


def _build(cls: type[R], key: str, raw: Any, *, user: bool) -> R:
    """Validate one raw mapping and make the record; errors name entry and field."""
    what = f"{_LABEL[cls]} '{key}'"
    if not isinstance(raw, dict):
        raise ValueError(f"{what}: expected a mapping of fields, got {raw!r}")
    allowed = _fields(cls)
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ValueError(
            f"{what}: unknown field {', '.join(repr(u) for u in unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )
    data = dict(raw)
    if user and "source" not in data:
        data["source"] = "user-defined"
    missing = [name for name in _required(cls) if name not in data]
    if missing:
        raise ValueError(f"{what}: missing field {', '.join(repr(m) for m in missing)}")
    checks = _CHECKS[cls]
    values: dict[str, Any] = {}
    for name, value in data.items():
        if value is None and allowed[name].default is None:
            values[name] = None
            continue
        values[name] = checks[name](what, name, value)
    record = cls(key=key, **values)
    _check_consistency(what, record)
    return record


def _check_consistency(what: str, r: Accelerator | NodeType | ModelPreset) -> None:
    if isinstance(r, Accelerator):
        if r.idle_w >= r.tdp_w:
            raise ValueError(f"{what}: field 'idle_w' ({r.idle_w} W) must be below 'tdp_w' ({r.tdp_w} W)")
        if r.min_cap_w > r.tdp_w:
            raise ValueError(f"{what}: field 'min_cap_w' ({r.min_cap_w} W) must not exceed 'tdp_w' ({r.tdp_w} W)")
        if not r.idle_w <= r.busy_w <= r.tdp_w:
            raise ValueError(
                f"{what}: field 'busy_w' ({r.busy_w} W) must lie between 'idle_w' ({r.idle_w} W) "
                f"and 'tdp_w' ({r.tdp_w} W)"
            )
        if r.kind not in _KINDS:
            raise ValueError(f"{what}: field 'kind' must be one of {', '.join(_KINDS)}, got {r.kind!r}")
    elif isinstance(r, NodeType):
        if r.host_idle_w > r.host_busy_w:
            raise ValueError(
                f"{what}: field 'host_idle_w' ({r.host_idle_w} W) must not exceed 'host_busy_w' ({r.host_busy_w} W)"
            )
    elif isinstance(r, ModelPreset):
        if r.sample_unit not in _SAMPLE_UNITS:
            raise ValueError(
                f"{what}: field 'sample_unit' must be one of {', '.join(_SAMPLE_UNITS)}, got {r.sample_unit!r}"
            )


# ---------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------


def _norm(key: str) -> str:
    return key.strip().lower()


def _compact(key: str) -> str:
    """'TPU v3', 'tpu_v3', 'TPUv3' and 'tpu-v3' all compact to 'tpuv3'."""
    return re.sub(r"[\s_\-./]", "", key.strip().lower())


class _Index:
    """Case-insensitive key + alias lookup for one table."""

    def __init__(self, label: str, table: dict[str, Any]) -> None:
        self.label = label
        self.table = table
        self.exact: dict[str, str] = {}
        self.loose: dict[str, str] = {}
        for key, rec in table.items():
            for name in (key, *rec.aliases):
                self._add(name, key)

    def _add(self, name: str, key: str) -> None:
        for index, form in ((self.exact, _norm(name)), (self.loose, _compact(name))):
            other = index.get(form)
            if other is not None and other != key:
                raise ValueError(f"{self.label} name {name!r} is used by both '{other}' and '{key}'")
            index[form] = key

    def get(self, key: str) -> Any:
        if not isinstance(key, str):
            raise CatalogError(f"{self.label} key must be a string, got {key!r}")
        found = self.exact.get(_norm(key)) or self.loose.get(_compact(key))
        if found is None:
            raise CatalogError(f"unknown {self.label} {key!r}; known: {', '.join(sorted(self.table))}")
        return self.table[found]


@dataclass
class Catalog:
    """Accelerators, node types and model presets, looked up by key or alias.

    Lookups are case-insensitive and ignore '-', '_', ' ', '.' and '/', so
    "H100", "h100-sxm", "TPUv3" and "tpu_v3" all resolve.
    """

    accelerators: dict[str, Accelerator]
    node_types: dict[str, NodeType]
    models: dict[str, ModelPreset]
    _indexes: dict[str, _Index] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._indexes = {
            "accelerator": _Index("accelerator", self.accelerators),
            "node type": _Index("node type", self.node_types),
            "model": _Index("model", self.models),
        }
        for nt in self.node_types.values():
            try:
                self._indexes["accelerator"].get(nt.accelerator)
            except CatalogError as e:
                raise ValueError(f"node type '{nt.key}': field 'accelerator': {e}") from None

    def accelerator(self, key: str) -> Accelerator:
        return self._indexes["accelerator"].get(key)

    def node_type(self, key: str) -> NodeType:
        return self._indexes["node type"].get(key)

    def model(self, key: str) -> ModelPreset:
        return self._indexes["model"].get(key)

    def node_accelerator(self, node_key: str) -> Accelerator:
        """The accelerator record of a node type."""
        return self.accelerator(self.node_type(node_key).accelerator)

    def system_power_per_accelerator_w(self, node_key: str, busy: bool = True) -> float:
        """Accelerator plus its share of host power, W (no PUE).

        Busy: ``busy_w + host_busy_w / n``; idle: ``idle_w + host_idle_w / n``.
        This is the quantity Patterson et al. 2021 report per chip.
        """
        nt = self.node_type(node_key)
        acc = self.accelerator(nt.accelerator)
        if busy:
            return acc.busy_w + nt.host_busy_w / nt.accelerators_per_node
        return acc.idle_w + nt.host_idle_w / nt.accelerators_per_node

    def with_extra(
        self,
        accelerators: dict[str, dict] | None = None,
        node_types: dict[str, dict] | None = None,
        models: dict[str, dict] | None = None,
    ) -> Catalog:
        """A new catalog with user entries added (same key: replaced).

        Fields are those of the YAML files; ``source`` defaults to
        "user-defined". An entry may say ``based_on: <existing key>`` to copy
        every field of a catalog entry and change only the ones it lists.
        Raises ValueError naming the entry and the field on any bad value.
        """
        accs = dict(self.accelerators)
        for key, raw in _items("accelerators", accelerators):
            accs[key] = _build(Accelerator, key, self._based_on(raw, self.accelerator, key), user=True)
        nts = dict(self.node_types)
        for key, raw in _items("node_types", node_types):
            nts[key] = _build(NodeType, key, self._based_on(raw, self.node_type, key), user=True)
        mods = dict(self.models)
        for key, raw in _items("models", models):
            mods[key] = _build(ModelPreset, key, self._based_on(raw, self.model, key), user=True)
        # Node types must name an accelerator that exists (canonical key stored).
        new = Catalog(accs, nts, mods)
        for key, nt in list(new.node_types.items()):
            canonical = new.accelerator(nt.accelerator).key
            if canonical != nt.accelerator:
                new.node_types[key] = dataclasses.replace(nt, accelerator=canonical)
        return Catalog(new.accelerators, new.node_types, new.models)

    @staticmethod
    def _based_on(raw: Any, lookup: Any, key: str) -> Any:
        if not isinstance(raw, dict) or "based_on" not in raw:
            return raw
        base_key = raw["based_on"]
        try:
            base = lookup(base_key)
        except CatalogError as e:
            raise ValueError(f"'{key}': field 'based_on': {e}") from None
        merged = {f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.name != "key"}
        merged["aliases"] = ()  # aliases name the base entry, not the copy
        merged["source"] = f"user-defined, based on '{base.key}' ({base.source})"
        merged.update({k: v for k, v in raw.items() if k != "based_on"})
        return merged


def _items(section: str, entries: dict[str, dict] | None) -> list[tuple[str, Any]]:
    if entries is None:
        return []
    if not isinstance(entries, dict):
        raise ValueError(f"catalog.{section}: expected a mapping of key -> fields, got {entries!r}")
    out = []
    for key, raw in entries.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"catalog.{section}: entry key must be a non-empty string, got {key!r}")
        out.append((key.strip(), raw))
    return out


# ---------------------------------------------------------------------------
# Loading the packaged YAML
# ---------------------------------------------------------------------------


class _Loader(_SafeLoader):
    """SafeLoader that also reads '989e12' (no dot, no exponent sign) as a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _read(filename: str) -> dict[str, Any]:
    text = resources.files("sim.catalog").joinpath(filename).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{filename}: expected a mapping of key -> fields")
    return data


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog (cached; treat it as read-only, use with_extra to add)."""
    accs = {k: _build(Accelerator, k, v, user=False) for k, v in _read("accelerators.yaml").items()}
    nts = {k: _build(NodeType, k, v, user=False) for k, v in _read("node_types.yaml").items()}
    mods = {k: _build(ModelPreset, k, v, user=False) for k, v in _read("models.yaml").items()}
    return Catalog(accs, nts, mods)
