"""Helpers of the serving tests: a replica's figures and an engine over explicit requests."""

from __future__ import annotations

import math

import numpy as np

from sim.engine.meter import Meter
from sim.serving.deployment import make_perf
from sim.serving.engine import ServingEngine
from sim.serving.perf import ReplicaPerf
from sim.serving.requests import RequestStream
from sim.spec.serving import ServingConfig


def config(**kw) -> ServingConfig:
    doc = {"requests": {"generator": {"rate_per_s": 1.0}}, **kw}
    return ServingConfig.model_validate(doc)


def perf(**kw) -> ReplicaPerf:
    return make_perf(config(**kw))


def run_requests(p: ReplicaPerf, arrivals, prompts, outputs, replicas: int = 1, max_batch: int = 256,
                 max_batched_tokens: int = 1 << 30, until: float = math.inf) -> tuple[ServingEngine, Meter]:
    stream = RequestStream(np.asarray(arrivals, dtype=np.float64), np.asarray(prompts, dtype=np.int64),
                           np.asarray(outputs, dtype=np.int64))
    clock = [0.0]
    meter = Meter(lambda: clock[0])
    eng = ServingEngine(p, stream, replicas, meter, max_batch=max_batch, max_batched_tokens=max_batched_tokens)
    eng.run(until)
    clock[0] = eng.now
    meter.close_all(eng.now)
    return eng, meter
