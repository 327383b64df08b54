"""The scenario section of a serving workload (pydantic; plain data, checked before anything runs).

```yaml
serving:
  model: llama-3.1-70b          # sim/serving/architectures.yaml (or serving.models)
  node_type: dgx-h100           # the catalog's node type: accelerator, host power
  replicas: 8
  tensor_parallel: 4            # accelerators per replica, inside one node
  requests: {trace: azure-conv} # or {generator: {kind: diurnal, rate_per_s: 5.4}}
  slo: {ttft_s: 2.0, tbt_s: 0.1}
  max_batch: auto               # the largest batch whose decode step meets slo.tbt_s
```

The efficiency defaults and their sources:

- ``prefill_mfu`` 0.5 (M): prefill of long prompts on A100/H100 in vLLM-class
  servers reaches about half of dense peak (Splitwise, Patel et al. ISCA'24,
  report prompt phases compute-bound near full power; the fraction is M);
- ``decode_mfu`` 0.5 (M): the same achieved fraction when a large batch makes
  decode compute-bound;
- ``memory_bandwidth`` 0.8 (M): decode kernels reach 70-85 % of HBM peak
  (the MBU of Databricks' "LLM Inference Performance Engineering" post, 2023,
  from memory);
- ``memory_fraction`` 0.9: vLLM's default ``gpu_memory_utilization``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.spec.types import Duration, Positive, PositiveDuration, StrictModel


class GeneratorConfig(StrictModel):
    kind: Literal["poisson", "diurnal"] = "poisson"
    rate_per_s: Positive = Field(description="mean arrival rate (requests/s)")
    lengths: str = Field(default="lognormal-conv",
                         description="prompt/output lengths: lognormal-conv|code or empirical-conv|code")
    amplitude: float = Field(default=0.6, ge=0, le=1, description="diurnal: relative day/night swing")
    peak_hour: float = Field(default=14.0, ge=0, lt=24, description="diurnal: hour of the daily peak (UTC)")
    weekend_factor: float = Field(default=0.8, ge=0, le=2, description="diurnal: rate factor on Sat/Sun")


class RequestsConfig(StrictModel):
    trace: str | None = Field(default=None, description="azure-conv, azure-code or a CSV path")
    time_scale: Positive = Field(default=1.0, description="trace: multiply arrival times (0.5 = twice the rate)")
    offset: Duration = Field(default=0.0, description="trace: first arrival at this time")
    generator: GeneratorConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> RequestsConfig:
        if (self.trace is None) == (self.generator is None):
            raise ValueError("give exactly one of trace or generator")
        return self


class SloConfig(StrictModel):
    ttft_s: Positive = Field(default=2.0, description="time-to-first-token target (s)")
    tbt_s: Positive = Field(default=0.1, description="mean time-between-tokens target per request (s)")


class AutoscaleConfig(StrictModel):
    min_replicas: int = Field(default=1, ge=0)
    interval: PositiveDuration = Field(default=60.0, description="how often the autoscaler decides")
    window: PositiveDuration = Field(default=300.0, description="arrival-rate window of a decision")
    boot_time: Duration = Field(default=120.0, description="power-on to serving (load weights)")
    target_concurrency: Positive = Field(default=32.0, description="requests in flight per replica it aims at")
    headroom: int = Field(default=1, ge=0, description="replicas kept on above the demand")


class ServingConfig(StrictModel):
    model: str = "llama-3.1-70b"
    node_type: str = "dgx-h100"
    replicas: int = Field(default=8, ge=1)
    tensor_parallel: int = Field(default=4, ge=1)
    precision: Literal["bf16", "fp16", "fp8", "int8"] = "bf16"
    kv_precision: Literal["bf16", "fp16", "fp8", "int8"] | None = Field(
        default=None, description="KV cache precision; None = precision")
    requests: RequestsConfig
    slo: SloConfig = Field(default_factory=SloConfig)
    max_batch: int | Literal["auto"] = Field(default=256, description="sequences per replica, or auto from slo.tbt_s")
    max_batched_tokens: int = Field(default=16384, ge=1, description="prompt tokens per prefill iteration")
    router: Literal["least-loaded", "round-robin"] = "least-loaded"
    autoscale: AutoscaleConfig | None = None
    prefill_power_cap_w: Positive | None = None
    decode_power_cap_w: Positive | None = None
    decode_clock_fraction: float = Field(default=1.0, gt=0, le=1)
    prefill_mfu: float = Field(default=0.5, gt=0, le=1)
    decode_mfu: float = Field(default=0.5, gt=0, le=1)
    memory_bandwidth: float = Field(default=0.8, gt=0, le=1)
    memory_fraction: float = Field(default=0.9, gt=0, le=1)
    models: dict[str, dict] = Field(default_factory=dict, description="extra serving models (architectures.yaml fields)")

    @model_validator(mode="after")
    def _batch(self) -> ServingConfig:
        if isinstance(self.max_batch, int) and self.max_batch < 1:
            raise ValueError(f"max_batch: {self.max_batch} is not allowed: use a whole number >= 1 or 'auto'")
        return self
