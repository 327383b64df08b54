"""The scenario's ``workload.trace``: which job trace, its filter, and the rules that give trace rows a model.

Pure data plus path resolution (relative paths resolve against the scenario file's folder);
the readers live in `sim.workload.traces`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from sim.paths import data_path
from sim.spec.types import Duration, Positive, StrictModel
from sim.units import parse_duration, short_repr

#: bundled trace names -> (file under data/traces, format)
BUNDLED: dict[str, tuple[str, str]] = {
    "philly": ("philly.csv", "philly"),
    "openb": ("openb_pod_list_default.csv", "alibaba-gpu-2023"),
    "alibaba-gpu-2023": ("openb_pod_list_default.csv", "alibaba-gpu-2023"),
}


#: fields of the generic CSV reader; `mapping` gives the column for each
GENERIC_FIELDS = ("job_id", "submit", "duration", "start", "end", "accelerators",
                  "gpu_fraction", "cluster", "user", "state", "gpu_type")


class TraceError(ValueError):
    """A trace that cannot be read; the message names the file and line."""


_SCENARIO_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("scenario_dir", default=None)


@contextlib.contextmanager
def scenario_dir(path: str | Path | None) -> Iterator[None]:
    """While validating a scenario file, relative trace paths resolve against its folder."""
    token = _SCENARIO_DIR.set(Path(path).resolve() if path is not None else None)
    try:
        yield
    finally:
        _SCENARIO_DIR.reset(token)


def data_dir() -> Path:
    """The project's `data/` folder (next to `sim/`)."""
    return data_path()


def resolve_trace_path(path: str, base: Path | None = None) -> Path:
    """Find a trace: absolute; else the scenario's folder, the working directory,
    `data/`, `data/traces/`; or a bundled name (`philly`, `openb`)."""
    if path in BUNDLED:
        return data_dir() / "traces" / BUNDLED[path][0]
    p = Path(path).expanduser()
    candidates = [p] if p.is_absolute() else [
        *( [base / p] if base is not None else []), Path.cwd() / p, data_dir() / p, data_dir() / "traces" / p,
    ]
    for c in candidates:
        try:
            if c.is_file():  # a regular file: not a device, a FIFO or a folder
                return c.resolve()
        except OSError:  # a name too long for the file system, a loop of links
            continue
    looked = ", ".join(short_repr(str(c.parent)) for c in candidates)
    raise ValueError(f"trace file {short_repr(path)} not found (looked in: {looked}; bundled names: {sorted(BUNDLED)})")


def infer_format(path: str) -> str:
    if path in BUNDLED:
        return BUNDLED[path][1]
    name = Path(path).name.lower()
    if name.endswith(".swf") or name.endswith(".swf.gz"):
        return "swf"
    if name.endswith(".json"):
        return "philly-json"
    if name.startswith("openb_pod"):
        return "alibaba-gpu-2023"
    if name.startswith("pai_task"):
        return "alibaba-pai-2020"
    if name.startswith("cluster_log"):
        return "helios"
    if name.startswith("philly"):
        return "philly"
    raise ValueError(f"cannot tell the format of {path!r}: give workload.trace.format")


def _time_or_offset(value: object) -> object:
    """A window bound: a timestamp ("2017-10-16") or an offset ("10d", 3600)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):  # YAML reads 2017-10-16 as a date
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a duration: try a timestamp next
            return parse_duration(value)
        import pandas as pd  # pandas loads on first use: `wattsim validate` stays light

        try:
            ts = pd.Timestamp(value)
        except ValueError:
            raise ValueError(f"{value!r} is neither a timestamp nor a duration") from None
        return ts.tz_localize(UTC).to_pydatetime() if ts.tzinfo is None else ts.to_pydatetime()
    raise ValueError(f"{value!r} is neither a timestamp nor a duration")


class TraceFilter(StrictModel):
    """Which rows of a trace to keep. Times: a timestamp, or an offset from the trace's first submit."""

    start: WindowBound = None
    end: WindowBound = None
    cluster: str | list[str] | None = Field(default=None, description="virtual cluster(s) to keep")
    user: str | list[str] | None = None
    states: list[str] | None = Field(default=None, description="final states to keep, e.g. [Pass, Killed]")
    min_accelerators: int = Field(default=1, ge=0)
    max_accelerators: int | None = Field(default=None, ge=1)
    min_duration: Duration = 0.0
    max_duration: Duration | None = None
    max_gpu_time: Duration | None = Field(default=None, description="accelerator-seconds, e.g. 1000 GPU-h = 3.6e6")
    max_jobs: int | None = Field(default=None, ge=1, description="keep the first N after the other filters")

    @field_validator("cluster", "user", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"{value!r} was read as a number: quote it, e.g. cluster: \"6214e9\"")
        return value


class ModelRule(StrictModel):
    """Which catalog model a trace row becomes: the first rule whose bounds hold wins.

    `model` is a preset name or a mix {name: weight} drawn with the scenario's seed.
    """

    model: str | dict[str, Positive]
    min_accelerators: int = Field(default=1, ge=0)
    max_accelerators: int | None = None
    min_duration: Duration = 0.0
    max_duration: Duration | None = None

    def matches(self, accelerators: int, duration_s: float) -> bool:
        return (accelerators >= self.min_accelerators
                and (self.max_accelerators is None or accelerators <= self.max_accelerators)
                and duration_s >= self.min_duration
                and (self.max_duration is None or duration_s <= self.max_duration))


#: default model mix of trace rows (docs/workloads.md): big and long jobs are
#: language models, 2-8 GPU jobs a mix, single-GPU jobs mostly vision.
DEFAULT_MODEL_RULES: tuple[ModelRule, ...] = (
    ModelRule(model="bert-large", min_accelerators=16),
    ModelRule(model={"transformer-big": 0.5, "bert-base": 0.5}, min_accelerators=2, min_duration=6 * 3600.0),
    ModelRule(model={"resnet50": 0.6, "transformer-big": 0.4}, min_accelerators=2),
    ModelRule(model={"resnet50": 0.8, "bert-base": 0.2}),
)


class TraceConfig(StrictModel):
    """Scenario section `workload.trace`: replay a real trace as training jobs."""

    path: str = Field(description="file path (scenario folder, cwd, data/ searched) or bundled name")
    format: TraceFormat | None = Field(default=None, description="inferred from the name when omitted")
    filter: TraceFilter = Field(default_factory=TraceFilter)
    time_scale: Positive = Field(
        default=1.0, description="multiplies submit times: 0.5 packs arrivals twice as densely"
    )
    skip_malformed: bool = False
    mapping: dict[str, str] = Field(default_factory=dict, description="generic CSV: field -> column")
    time_unit: Duration = Field(default=1.0, description="generic CSV/SWF: seconds per time unit")
    processors_per_accelerator: Positive = Field(default=1.0, description="SWF: processors that make one accelerator")
    reference_accelerator: str | None = Field(
        default=None, description="hardware the trace ran on; default per format (docs/workloads.md)"
    )
    models: list[ModelRule] | None = Field(default=None, description="row -> model rules; default mix if None")
    mode: Literal["sync", "async"] = "sync"
    checkpoint_interval: Duration | None = None

    @field_validator("path")
    @classmethod
    def _exists(cls, value: str) -> str:
        resolve_trace_path(value, _SCENARIO_DIR.get())
        return value

    _resolved: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _format_known(self) -> TraceConfig:
        self._resolved = resolve_trace_path(self.path, _SCENARIO_DIR.get())
        if self.format is None:
            self.__dict__["format"] = infer_format(self.path)
        if self.format == "csv":
            missing = [f for f in ("submit", "accelerators") if f not in self.mapping]
            if "duration" not in self.mapping and not {"start", "end"} <= set(self.mapping):
                missing.append("duration (or start and end)")
            if missing:
                raise ValueError(f"format csv needs mapping for: {', '.join(missing)}")
            unknown = sorted(set(self.mapping) - set(GENERIC_FIELDS))
            if unknown:
                raise ValueError(f"mapping: unknown field(s) {unknown}; allowed: {list(GENERIC_FIELDS)}")
        return self

    def resolved_path(self) -> Path:
        """The file, found when the scenario was validated (relative to its folder)."""
        return self._resolved or resolve_trace_path(self.path, _SCENARIO_DIR.get())


TraceFormat = Literal["philly", "philly-json", "alibaba-gpu-2023", "alibaba-pai-2020", "helios", "swf", "csv"]


WindowBound = Annotated[datetime | float | None, BeforeValidator(_time_or_offset)]
