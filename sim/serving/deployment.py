"""From a `ServingConfig` to a running engine: catalog look-ups, the stream, checks, the batch limit.

Checks, each one line with its dotted path:

- the model fits the replica's memory (`ReplicaPerf.build`);
- no request is longer than the model's context window
  (``serving.requests.trace[i]``, prompt + output tokens);
- no request needs more KV cache than a whole replica holds (it could never run).

``max_batch: auto`` (a latency target turned into a batch limit): the largest
batch B whose decode step, with each sequence holding the stream's mean
context (mean prompt + half the mean output), is at most ``slo.tbt_s``:

    t_step(B, B x (p + o / 2)) <= tbt_s

The step time rises with B (more KV to read, then more FLOPs), so B is found
by bisection; it is capped by the KV capacity at that context. Prefill pauses
add to the time between tokens on top of the step, so the limit aims at the
mean, and the attainment is measured per request.
"""

from __future__ import annotations

import math

import numpy as np

from sim.catalog import Catalog, load_catalog
from sim.serving.architectures import PRECISION_BYTES, ServingModel, build_model, find_model
from sim.serving.engine import Ledger, ServingEngine
from sim.serving.perf import DeploymentError, Efficiency, ReplicaPerf
from sim.serving.requests import (
    RequestStream,
    StreamError,
    diurnal_arrivals,
    draw_lengths,
    poisson_arrivals,
    read_trace,
)
from sim.spec.serving import ServingConfig


def make_perf(cfg: ServingConfig, catalog: Catalog | None = None, where: str = "serving") -> ReplicaPerf:
    catalog = catalog or load_catalog()
    extra = {k: build_model(k, v, f"{where}.models") for k, v in cfg.models.items()}
    model = find_model(cfg.model, extra, f"{where}.model")
    try:
        node = catalog.node_type(cfg.node_type)
    except KeyError as exc:
        raise DeploymentError(f"{where}.node_type: {exc}") from None
    acc = catalog.accelerator(node.accelerator)
    eff = Efficiency(cfg.prefill_mfu, cfg.decode_mfu, cfg.memory_bandwidth, cfg.memory_fraction)
    return ReplicaPerf.build(
        model, acc, node, cfg.tensor_parallel, PRECISION_BYTES[cfg.precision],
        PRECISION_BYTES[cfg.kv_precision or cfg.precision], eff, cfg.prefill_power_cap_w,
        cfg.decode_power_cap_w, cfg.decode_clock_fraction, where)


def make_stream(cfg: ServingConfig, horizon_s: float, seed: int, model: ServingModel,
                start_hour: float = 0.0, start_weekday: int = 0, where: str = "serving") -> RequestStream:
    """The request stream up to `horizon_s`, seeded; checked against the model's context window."""
    rq = cfg.requests
    if rq.trace is not None:
        stream = read_trace(rq.trace, rq.time_scale, rq.offset).until(horizon_s)
        label = f"{where}.requests.trace"
    else:
        g = rq.generator
        assert g is not None
        rng = np.random.default_rng(seed)
        if g.kind == "poisson":
            t = poisson_arrivals(rng, g.rate_per_s, horizon_s)
        else:
            t = diurnal_arrivals(rng, g.rate_per_s, horizon_s, g.amplitude, g.peak_hour, g.weekend_factor,
                                 start_hour, start_weekday)
        try:
            p, o = draw_lengths(rng, len(t), g.lengths, model.context_tokens // 2)
        except StreamError as exc:
            raise StreamError(str(exc).replace("serving.requests.lengths", f"{where}.requests.generator.lengths")) \
                from None
        stream = RequestStream(t, p, o)
        label = f"{where}.requests.generator"
    total = stream.prompt_tokens + stream.output_tokens
    too_long = np.flatnonzero(total > model.context_tokens)
    if len(too_long):
        i = int(too_long[0])
        raise StreamError(
            f"{label}[{i}]: prompt {stream.prompt_tokens[i]} + output {stream.output_tokens[i]} = {total[i]} tokens "
            f"is not allowed: longer than the context window of {model.key} ({model.context_tokens} tokens; "
            f"{len(too_long)} such requests)")
    return stream


def auto_batch(perf: ReplicaPerf, stream: RequestStream, tbt_s: float) -> int:
    """The largest batch whose decode step at the stream's mean context meets `tbt_s` (at least 1)."""
    ctx = float(np.mean(stream.prompt_tokens) + np.mean(stream.output_tokens) / 2) if len(stream) else 1.0
    hi = max(1, int(perf.kv_capacity_tokens // max(ctx, 1.0)))
    if perf.step_time(1, ctx) > tbt_s:
        return 1
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if perf.step_time(mid, mid * ctx) <= tbt_s:
            lo = mid
        else:
            hi = mid - 1
    return lo


def build_engine(cfg: ServingConfig, ledger: Ledger, horizon_s: float, seed: int = 1,
                 catalog: Catalog | None = None, start_hour: float = 0.0, start_weekday: int = 0,
                 where: str = "serving") -> ServingEngine:
    perf = make_perf(cfg, catalog, where)
    stream = make_stream(cfg, horizon_s, seed, perf.model, start_hour, start_weekday, where)
    if len(stream):
        need = stream.prompt_tokens + stream.output_tokens
        i = int(np.argmax(need))
        if need[i] > perf.kv_capacity_tokens:
            raise DeploymentError(
                f"{where}.requests[{i}]: {need[i]} tokens is not allowed: a replica's KV cache holds "
                f"{perf.kv_capacity_tokens} tokens ({where}.tensor_parallel = {cfg.tensor_parallel})")
    max_batch = auto_batch(perf, stream, cfg.slo.tbt_s) if cfg.max_batch == "auto" else int(cfg.max_batch)
    engine = ServingEngine(perf, stream, cfg.replicas, ledger, max_batch=max_batch,
                           max_batched_tokens=cfg.max_batched_tokens, router=cfg.router,
                           autoscale=cfg.autoscale, name=where.rsplit(".", 1)[-1])
    engine.horizon = horizon_s if math.isfinite(horizon_s) else math.inf
    return engine
