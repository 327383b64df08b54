"""The scenario's ``workload:`` section: explicit jobs, generators and a trace.

Pure data; `sim.workload.jobs` turns it into jobs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from sim.spec.traces import ModelRule, TraceConfig
from sim.spec.types import Duration, Fraction, Positive, PositiveDuration, StrictModel


class ModelSpec(StrictModel):
    """An explicit model instead of a catalog preset."""

    parameters: Positive
    tokens: Positive | None = Field(default=None, description="training tokens; FLOPs = 6 N D")
    flops_per_sample: Positive | None = None
    gradient_bytes: Positive | None = None


class ParallelismSpec(StrictModel):
    """How a job is laid out (sim/compute/parallelism.py); what is not given is chosen."""

    tensor: int | None = Field(default=None, ge=1, description="tensor-parallel degree, inside a node")
    pipeline: int | None = Field(default=None, ge=1, description="pipeline stages, across nodes")
    zero_stage: Literal[0, 1, 2, 3] | None = Field(default=None, description="ZeRO stage of data parallelism")
    micro_batch: int | None = Field(default=None, ge=1, description="sequences (samples) per micro-batch")
    recompute: bool | None = Field(default=None, description="full activation recomputation")


class JobSpec(StrictModel):
    """One training job. Give its work in exactly one way:

    - `flops`: total training FLOPs;
    - `model` (preset name or {parameters, tokens}) with `samples` or `tokens`;
    - `duration`: its runtime on `reference_accelerator` (trace replay), which
      becomes FLOPs = duration x accelerators x peak x MFU of that hardware.
    """

    name: str | None = None
    submit: Duration = 0.0
    accelerators: int = Field(ge=1)
    mode: Literal["sync", "async"] = "sync"
    model: str | ModelSpec | None = None
    samples: Positive | None = None
    tokens: Positive | None = None
    flops: Positive | None = None
    duration: PositiveDuration | None = None
    reference_accelerator: str | None = None
    achieved_flops_per_accelerator: Positive | None = None
    mfu: Fraction | None = Field(default=None, description="model-FLOPs utilisation; default per accelerator")
    batch_per_accelerator: int | None = Field(default=None, ge=1)
    batch_scaling: bool = Field(
        default=False, description="preset jobs: MFU rises with the batch, samples/tokens given are S_min "
        "and the work grows as (1 + global batch / critical batch) (sim/compute/batch_size.py)")
    checkpoint_interval: PositiveDuration | None = None
    checkpoint_time: Duration = 0.0
    power_cap_w: Positive | None = None
    gamma: float | None = Field(
        default=None, ge=0.0, le=1.0, description="compute-boundedness: speed = f^gamma under a power cap "
        "(sim/compute/power.py); default: the model preset's, else 0.3")
    parallelism: ParallelismSpec | None = Field(
        default=None, description="tensor/pipeline/ZeRO layout; default: chosen to fit in memory")
    user: str | None = None
    vc: str | None = Field(default=None, description="virtual cluster or group, for fair share by vc")
    priority: int = 0
    runtime_estimate: PositiveDuration | None = Field(
        default=None, description="the user's runtime estimate (SJF, SRTF, backfill); default: exact")
    slack: Duration | None = Field(
        default=None, description="may finish this much later than if started at once (carbon-aware deferral)")
    deadline: Duration | None = Field(default=None, description="latest completion, since the scenario start")
    after: list[str] = Field(
        default_factory=list, description="names of jobs in workload.jobs that must complete before this one "
        "enters the queue (a job without a name is job-<index>)")

    @model_validator(mode="after")
    def _one_kind_of_work(self) -> JobSpec:
        kinds = [
            self.flops is not None,
            self.duration is not None,
            self.model is not None
            and (self.samples is not None or self.tokens is not None
                 or (isinstance(self.model, ModelSpec) and self.model.tokens is not None)),
        ]
        if sum(kinds) != 1:
            raise ValueError(
                "give the job's work in exactly one way: flops, duration, or model with samples/tokens"
            )
        if self.batch_scaling and not (isinstance(self.model, str) and kinds[2]):
            raise ValueError("batch_scaling needs a catalog model preset with samples or tokens")
        return self


class SizeChoice(StrictModel):
    accelerators: int = Field(ge=1)
    weight: Positive


class GeneratorConfig(StrictModel):
    """Synthetic arrivals: Poisson in time, sizes and durations from distributions."""

    kind: Literal["poisson"] = "poisson"
    rate_per_hour: Positive = 6.0
    count: int | None = Field(default=None, ge=0, description="stop after this many jobs")
    start: Duration = 0.0
    stop: Duration | None = Field(default=None, description="no arrivals after this time")
    mean_duration: PositiveDuration = 4 * 3600.0
    duration_distribution: Literal["exponential", "lognormal", "loguniform", "philly"] = "exponential"
    duration_sigma: Positive = 1.0
    min_duration: PositiveDuration = 60.0
    max_duration: PositiveDuration = 30 * 86400.0
    sizes: list[SizeChoice] = Field(
        default_factory=lambda: [
            SizeChoice(accelerators=1, weight=0.70),
            SizeChoice(accelerators=2, weight=0.10),
            SizeChoice(accelerators=4, weight=0.08),
            SizeChoice(accelerators=8, weight=0.09),
            SizeChoice(accelerators=16, weight=0.02),
            SizeChoice(accelerators=32, weight=0.01),
        ]
    )
    mode: Literal["sync", "async"] = "sync"
    checkpoint_interval: PositiveDuration | None = 3600.0
    diurnal_amplitude: Fraction = Field(default=0.0, description="A in rate x (1 + A cos(2 pi (h - peak) / 24))")
    peak_hour: float = Field(default=14.0, ge=0, lt=24, description="hour of the day (UTC) of the highest rate")
    reference_accelerator: str | None = Field(
        default=None, description="durations are on this hardware; default the cluster's first accelerator"
    )
    models: list[ModelRule] | None = Field(default=None, description="give jobs catalog models by size/duration")


class DiurnalGeneratorConfig(GeneratorConfig):
    """Poisson arrivals whose rate follows the day (cosine, peak at `peak_hour`)."""

    kind: Literal["diurnal"] = "diurnal"  # type: ignore[assignment]
    diurnal_amplitude: Fraction = 0.5


#: Philly arrivals: 82,247 jobs from 2017-09-04 10:30 to 2017-12-22 08:02 (108.9 d)
PHILLY_RATE_PER_HOUR = 82247 / (108.897 * 24)


class PhillyGeneratorConfig(GeneratorConfig):
    """Sizes, durations and rate fitted to the Philly trace (P100-era work)."""

    kind: Literal["philly"] = "philly"  # type: ignore[assignment]
    rate_per_hour: Positive = PHILLY_RATE_PER_HOUR
    duration_distribution: Literal["exponential", "lognormal", "loguniform", "philly"] = "philly"
    min_duration: PositiveDuration = 1.0
    max_duration: PositiveDuration = 4628226.0
    sizes: list[SizeChoice] = Field(
        default_factory=lambda: [SizeChoice(accelerators=k, weight=v) for k, v in PHILLY_SIZE_SHARES.items()]
    )
    reference_accelerator: str | None = "p100"


class ResampleGeneratorConfig(GeneratorConfig):
    """Poisson (or diurnal) arrivals; size and duration drawn together from a trace's rows."""

    kind: Literal["resample"] = "resample"  # type: ignore[assignment]
    trace: TraceConfig
    rate_per_hour: Positive | None = Field(  # type: ignore[assignment]
        default=None, description="default: the trace's own mean arrival rate"
    )


class LLMCampaignConfig(StrictModel):
    """A large pretraining run, evaluation jobs during it, fine-tuning jobs after it.

    Submit times of the evaluations and fine-tunes come from the pretraining
    run's expected length on the cluster (work / (accelerators x peak x MFU)).
    Evaluations keep that schedule. Fine-tune i is submitted at the expected
    end + i x `finetune_gap` and depends on the pretraining job (`after`): it
    enters the queue at the later of its submit time and the actual end, so a
    slower run (checkpoints, caps, throttling, queueing) delays its fine-tunes
    instead of overlapping them, and a failed one fails them.
    """

    kind: Literal["llm-campaign"] = "llm-campaign"
    name: str = "campaign"
    submit: Duration = 0.0
    model: str | ModelSpec = "llama-7b"
    tokens: Positive = 1.0e12
    accelerators: int = Field(default=256, ge=1)
    mfu: Fraction | None = None
    checkpoint_interval: PositiveDuration | None = 3600.0
    checkpoint_time: Duration = 120.0
    eval_every: PositiveDuration = 86400.0
    eval_accelerators: int = Field(default=8, ge=1)
    eval_duration: PositiveDuration = 3600.0
    finetunes: int = Field(default=4, ge=0)
    finetune_accelerators: int = Field(default=32, ge=1)
    finetune_tokens: Positive = 2.0e10
    finetune_gap: Duration = 3600.0


def _default_kind(value: Any) -> Any:
    if isinstance(value, dict) and "kind" not in value:
        return {**value, "kind": "poisson"}
    return value


class WorkloadConfig(StrictModel):
    jobs: list[JobSpec] = Field(default_factory=list)
    generator: AnyGenerator | None = None
    generators: list[AnyGenerator] = Field(default_factory=list, description="several generators at once")
    trace: TraceConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _kinds(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "generator" in data:
                data["generator"] = _default_kind(data["generator"])
            if isinstance(data.get("generators"), list):
                data["generators"] = [_default_kind(g) for g in data["generators"]]
        return data

    def all_generators(self) -> list[Any]:
        return ([self.generator] if self.generator is not None else []) + list(self.generators)

    @model_validator(mode="after")
    def _dependencies(self) -> WorkloadConfig:
        """`after` names jobs of this list, each name once, without cycles (errors at jobs.N.after)."""
        if any(spec.after for spec in self.jobs):
            problems = dependency_problems(self.jobs)
            if problems:
                raise ValidationError.from_exception_data("WorkloadConfig", [
                    InitErrorDetails(type=PydanticCustomError("dependency", msg), loc=("jobs", i, "after"),
                                     input=self.jobs[i].after)
                    for i, msg in problems
                ])
        return self


def job_name(index: int, spec: JobSpec) -> str:
    """The name of `workload.jobs[index]`, as `job_from_spec` gives it."""
    return spec.name or f"job-{index}"


def dependency_problems(specs: list[JobSpec]) -> list[tuple[int, str]]:
    """(index, message) for each `after` that names no job, an ambiguous name, or closes a cycle."""
    index: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        index.setdefault(job_name(i, spec), []).append(i)
    problems: list[tuple[int, str]] = []
    preds: dict[int, list[int]] = {}
    for i, spec in enumerate(specs):
        preds[i] = []
        for name in spec.after:
            where = index.get(name, [])
            if not where:
                problems.append((i, f"no job named {name!r} in workload.jobs"))
            elif len(where) > 1:
                problems.append((i, f"job name {name!r} is used by jobs {where}: names in after must be unique"))
            else:
                preds[i].append(where[0])
    # cycles: depth-first search; a back edge closes one (reported once, at its first job)
    state = dict.fromkeys(preds, 0)  # 0 new, 1 on the path, 2 done
    path: list[int] = []

    def visit(i: int) -> None:
        state[i] = 1
        path.append(i)
        for p in preds[i]:
            if state[p] == 1:
                cycle = path[path.index(p):] + [p]
                first = min(cycle)
                names = " -> ".join(repr(job_name(k, specs[k])) for k in cycle)
                problems.append((first, f"dependency cycle: {names} (each waits for the next)"))
            elif state[p] == 0:
                visit(p)
        path.pop()
        state[i] = 2

    for i in preds:
        if state[i] == 0:
            visit(i)
    return sorted(problems)


#: Philly job sizes, share of 82,247 jobs (data/traces/philly.csv, counted here)
PHILLY_SIZE_SHARES: dict[int, float] = {
    1: 0.93167, 2: 0.02210, 4: 0.02274, 8: 0.01998, 12: 0.00009, 16: 0.00242,
    24: 0.00009, 32: 0.00081, 64: 0.00007, 128: 0.00004,
}


AnyGenerator = Annotated[
    GeneratorConfig | DiurnalGeneratorConfig | PhillyGeneratorConfig | ResampleGeneratorConfig | LLMCampaignConfig,
    Field(discriminator="kind"),
]
