"""Model architectures for serving: the shapes that set inference cost.

Training needs a model's FLOPs per token; serving also needs its layers,
attention heads, key/value heads and head dimension (the KV cache), its
context window and the precision of weights and cache. The figures live in
``architectures.yaml`` next to this module, each with its source; a scenario
can add its own entries (``serving.models``), validated field by field.

KV cache bytes per token (Kwon et al. 2023, vLLM, section 2):

    kv_bytes_per_token = 2 x layers x kv_heads x head_dim x kv_bytes

e.g. Llama 2/3 70B in 16-bit: 2 x 80 x 8 x 128 x 2 = 327,680 B = 320 KiB.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

#: bytes per value of each precision name (weights or KV cache)
PRECISION_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}


class ServingModelError(ValueError):
    """An unknown or malformed serving model entry; the message names the entry and field."""


@dataclass(frozen=True)
class ServingModel:
    """A decoder-only transformer as the serving engine sees it."""

    key: str
    name: str
    parameters: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    context_tokens: int
    source: str
    catalog_model: str | None = None
    aliases: tuple[str, ...] = ()

    def kv_bytes_per_token(self, kv_bytes: float) -> float:
        """Bytes of K and V cached per token over all layers."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * kv_bytes

    def weight_bytes(self, weight_bytes: float) -> float:
        return self.parameters * weight_bytes

    @property
    def attention_width(self) -> int:
        """heads x head_dim: the width of Q (and of the attention output)."""
        return self.heads * self.head_dim


_INT_FIELDS = ("layers", "hidden", "heads", "kv_heads", "head_dim", "context_tokens")
_REQUIRED = ("name", "parameters", *_INT_FIELDS)
_ALLOWED = (*_REQUIRED, "source", "catalog_model", "aliases")


def build_model(key: str, raw: Any, where: str = "serving.models") -> ServingModel:
    """Validate one raw entry; errors name `where.key.field` and the value."""
    path = f"{where}.{key}"
    if not isinstance(raw, dict):
        raise ServingModelError(f"{path}: expected a mapping of fields, got {str(raw)[:60]!r}")
    unknown = sorted(set(raw) - set(_ALLOWED))
    if unknown:
        raise ServingModelError(f"{path}.{unknown[0]}: unknown field; allowed: {', '.join(_ALLOWED)}")
    missing = [f for f in _REQUIRED if f not in raw]
    if missing:
        raise ServingModelError(f"{path}.{missing[0]}: missing; a serving model needs {', '.join(_REQUIRED)}")
    values: dict[str, Any] = {}
    for f in ("parameters", *_INT_FIELDS):
        v = raw[f]
        if isinstance(v, str):  # YAML 1.1 reads 6.74e9 (no sign in the exponent) as a string
            with contextlib.suppress(ValueError):  # not a number: refused just below
                v = float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ServingModelError(f"{path}.{f}: {str(v)[:40]!r} is not allowed: must be a number > 0")
        if f in _INT_FIELDS:
            if v != int(v):
                raise ServingModelError(f"{path}.{f}: {v!r} is not allowed: must be a whole number")
            v = int(v)
        values[f] = float(v) if f == "parameters" else v
    if values["heads"] % values["kv_heads"]:
        raise ServingModelError(
            f"{path}.kv_heads: {values['kv_heads']} is not allowed: must divide heads ({values['heads']})")
    aliases = raw.get("aliases") or ()
    return ServingModel(
        key=key, name=str(raw["name"]), source=str(raw.get("source", "user-defined")),
        catalog_model=raw.get("catalog_model"), aliases=tuple(str(a) for a in aliases), **values,
    )


@lru_cache(maxsize=1)
def bundled_models() -> dict[str, ServingModel]:
    text = resources.files("sim.serving").joinpath("architectures.yaml").read_text()
    return {k: build_model(k, v, "sim/serving/architectures.yaml") for k, v in yaml.safe_load(text).items()}


def _norm(key: str) -> str:
    return key.strip().lower().replace("_", "-")


def find_model(key: str, extra: dict[str, ServingModel] | None = None,
               where: str = "serving.model") -> ServingModel:
    """A model by key or alias (user entries first); the error lists the known keys."""
    table = {**bundled_models(), **(extra or {})}
    k = _norm(key)
    for m in table.values():
        if _norm(m.key) == k or k in (_norm(a) for a in m.aliases):
            return m
    raise ServingModelError(
        f"{where}: {key!r} is not a known serving model; known: {', '.join(sorted(table))} "
        "(or add one under serving.models)")
