"""The scenario section `scheduler:`.

```yaml
scheduler:
  queue: las                       # fifo, sjf, srtf, easy-backfill, las, fair, or "pkg.mod:Class"
  queue_options: {thresholds: [3200, 36000], starvation_limit: 8h}
  placement: packed                # first-fit, packed, spread, topology, random, thermal, heterogeneity
  estimates: {kind: noisy, sigma: 0.5}
  preemption: {checkpoint_save: 60s, checkpoint_restore: 60s, first_start_cost: 0s}
  failures: {distribution: weibull, mtbf: 30d, shape: 0.8, repair: 2h}
  power_down: {idle_timeout: 15min, boot_time: 5min, spare_nodes: 2}
  controls:
    - {kind: carbon-defer}
    - {kind: power-envelope, limit_kw: 80}
    - {kind: "mypackage.controls:HoldAll", hold_s: 1800}   # a user's Control; other keys are its options
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag

from sim.spec.signals import SignalConfig
from sim.spec.types import (
    ControlName,
    Duration,
    NonNegative,
    PlacementName,
    Positive,
    PositiveDuration,
    QueueName,
    StrictModel,
)


class EstimateConfig(StrictModel):
    """How runtimes are estimated for SJF, SRTF and backfill.

    exact: the job's own `runtime_estimate` if it gives one, else its true
        runtime on the accelerators it would get at full speed.
    noisy: that figure times a lognormal error exp(N(0, sigma)), drawn once per
        job from the scenario seed (users over-/under-estimate: Tsafrir et al.
        2007 report estimates off by large factors on real HPC logs).
    """

    kind: Literal["exact", "noisy"] = "exact"
    sigma: NonNegative = 0.5


class PreemptionConfig(StrictModel):
    """What preempting and resuming a job costs: the job holds its accelerators
    at checkpoint power (idle + 15%, `sim.compute.node.WAIT_ACTIVITY`) while it saves
    its state, and again while it restores it on resumption."""

    checkpoint_save: Duration = Field(default=60.0, description="save time when preempted")
    checkpoint_restore: Duration = Field(default=60.0, description="restore time when resumed or restarted")
    min_run: Duration = Field(default=0.0, description="a job runs at least this long before it may be preempted")
    first_start_cost: Duration = Field(
        default=0.0, description="time a job's first start spends at checkpoint power before it "
        "progresses (loading, as a restore does on resumption); set it to checkpoint_restore to charge "
        "every start alike, as simulators that charge a start cost per scheduled job do")


class FailureTraceEntry(StrictModel):
    node: int = Field(ge=0)
    at: Duration
    repair: PositiveDuration


class FailureConfig(StrictModel):
    """Node failures: each node fails after a time to failure (exponential with
    mean `mtbf`, or Weibull with `shape` and mean `mtbf`), stays down for
    `repair` (fixed, or exponential with that mean), then fails again; or the
    failures listed in `trace`."""

    distribution: Literal["exponential", "weibull", "trace"] = "exponential"
    mtbf: PositiveDuration = Field(default=30 * 86400.0, description="mean time between failures of one node")
    shape: Positive = Field(default=1.0, description="Weibull shape k (k < 1: infant mortality)")
    repair: PositiveDuration = 3600.0
    repair_distribution: Literal["fixed", "exponential"] = "fixed"
    trace: list[FailureTraceEntry] = Field(default_factory=list)


class PowerDownConfig(StrictModel):
    """Idle nodes are switched off and booted again when work waits (the Helios
    "energy saver", Hu et al. SC'21), keeping a buffer of idle spares on."""

    idle_timeout: Duration = Field(default=900.0, description="idle this long before switching off")
    boot_time: Duration = Field(default=300.0, description="off -> available")
    spare_nodes: int = Field(default=1, ge=0, description="idle nodes always kept on")


class CarbonDeferConfig(StrictModel):
    """Start jobs that declare slack (or a deadline) when the forecast grid
    carbon intensity over their run is lowest, never so late that they would
    miss their deadline."""

    kind: Literal["carbon-defer"]
    resolution: PositiveDuration = Field(default=1800.0, description="candidate start times step")
    safety: Annotated[float, Field(ge=1.0)] = Field(
        default=1.1, description="runtime estimate is multiplied by this when planning (margin)")
    default_slack: Duration | None = Field(
        default=None, description="slack for jobs that declare none (None: such jobs are not deferred)")


class PowerEnvelopeConfig(StrictModel):
    """A site limit on cluster IT power (accelerators + hosts + network),
    enforced by a common accelerator power cap and by admission: a job starts
    only if the cluster stays under the limit at the lowest settable cap."""

    kind: Literal["power-envelope"]
    limit_kw: Positive | None = None
    limit: SignalConfig | None = Field(default=None, description="a signal in W (e.g. available renewables)")
    check_interval: PositiveDuration = Field(
        default=300.0, description="re-check a signal limit, or a site that also serves, this often")


class UserControlConfig(StrictModel):
    """A control named "package.module:Class" (or registered by a user module with
    `register_control`): the other keys of the entry are its options, passed as a dict."""

    model_config = ConfigDict(extra="allow")
    kind: ControlName

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


_BUILTIN_CONTROL_CONFIGS = {"carbon-defer", "power-envelope"}


def _control_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in _BUILTIN_CONTROL_CONFIGS else "user"


ControlConfig = Annotated[
    Annotated[CarbonDeferConfig, Tag("carbon-defer")]
    | Annotated[PowerEnvelopeConfig, Tag("power-envelope")]
    | Annotated[UserControlConfig, Tag("user")],
    Discriminator(_control_tag),
]


class SchedulerConfig(StrictModel):
    queue: QueueName = Field(default="fifo", description="registered name or 'pkg.module:Class'")
    placement: PlacementName = Field(default="first-fit", description="registered name or 'pkg.module:Class'")
    queue_options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the queue policy")
    placement_options: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of the placement policy")
    estimates: EstimateConfig = Field(default_factory=EstimateConfig)
    preemption: PreemptionConfig = Field(default_factory=PreemptionConfig)
    failures: FailureConfig | None = None
    power_down: PowerDownConfig | None = None
    controls: list[ControlConfig] = Field(default_factory=list)
    rack_nodes: int = Field(
        default=4, ge=1,
        description="nodes per rack when the world has no topology graph (DGX H100 SuperPOD: 4 per rack)")
    tick: PositiveDuration | None = Field(default=None, description="extra periodic decision pass")
