"""How a training job is laid out on its accelerators, and what that costs.

Three kinds of parallelism (Narayanan et al., "Efficient large-scale language
model training on GPU clusters using Megatron-LM", SC'21):

* **tensor (t)**: each layer's matrices split over t accelerators of one
  node; 2 all-reduces of the layer's activations in the forward and 2 in
  the backward pass (Shoeybi et al. 2019, Megatron-LM, Fig. 4), each of
  s b h x 2 bytes for s tokens per sequence, b sequences per micro-batch,
  hidden size h. Kept inside a node (NVLink): Narayanan et al. takeaway 1.
* **pipeline (p)**: the layers split into p stages across nodes; each
  micro-batch sends its activations s b h x 2 bytes forward and its
  gradients back at every stage boundary. With m micro-batches per step
  the schedule (1F1B) idles a share (p - 1) / (m + p - 1) of the step, the
  pipeline bubble (Narayanan et al. SC'21, Sec. 2.2; GPipe, Huang et al. 2019).
* **data (d)**: the rest, d = accelerators / (t p). Gradients are
  all-reduced (2 Psi bytes of fp16 gradients per rank), or with ZeRO
  (Rajbhandari et al. 2020, Sec. 7) reduce-scattered and the updated
  weights all-gathered: the same volume for stages 1 and 2, and 1.5x for
  stage 3, which all-gathers the weights again in the backward pass.

Choice. `plan()` takes what the scenario gives (any of t, p, ZeRO stage,
micro-batch, recompute) and searches the rest; among the layouts that fit
in memory (`sim.compute.memory`) it takes, in this order of preference:
no activation recomputation (it costs a third more compute, Korthikanti et
al. 2022), no ZeRO stage 3, the fewest pipeline stages, the smallest tensor
degree, ZeRO stage 1 before 2 before none (`_ZERO_RANK`), the largest
micro-batch. If none fits the job
is refused with the memory arithmetic of the closest layout.

Step time on one accelerator (a roofline per step, Williams et al. 2009):

    t_mem  = (traffic_fb + traffic_opt) / (BW * ETA_HBM)
    t_step = max(F_step * r / (peak * mfu), t_mem) * (m + p - 1) / m

with r = 4/3 under full recomputation and (m + p - 1) / m the pipeline
bubble. The MFU of the catalog and presets is measured end to end on real
runs at their usual batch, so it already contains the optimizer step and
the memory-bound kernels; the HBM term only takes over when the bytes of a
step outweigh its FLOPs (small batches, large optimizer state per token),
where a job is memory-bound and the accelerator's bandwidth decides.

so a job whose per-accelerator batch is small is bound by HBM bandwidth and
runs faster on an H200 (4.8 TB/s) than on an H100 (3.35 TB/s) of the same
peak. Communication time is the network's business (`sim/network`): it
reads the per-step bytes of each collective from `Layout.collectives`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.catalog import Catalog, NodeType
from sim.compute.memory import (
    TransformerShape,
    activation_bytes,
    state_bytes,
    step_traffic_bytes,
    usable_bytes,
)
from sim.spec.workload import JobSpec, ParallelismSpec

#: share of HBM peak bandwidth that streaming kernels reach (M: STREAM-like
#: kernels reach ~90 % of the datasheet bandwidth on A100/H100; fused Adam and
#: element-wise kernels somewhat less)
ETA_HBM = 0.8

#: bytes per activation element on the wire (bf16/fp16)
ACT_BYTES = 2.0


#: ZeRO stages in order of preference when data-parallel ranks exist: stage 1
#: moves what an all-reduce moves and shards the Adam state, so it holds less
#: and each rank updates only 1/d of the weights (less HBM traffic); stage 2
#: also shards gradients; plain data parallelism only if neither is possible;
#: stage 3 last (1.5x the traffic). Megatron-LM's distributed optimizer is
#: ZeRO-1 (Narayanan et al. SC'21 codebase; Rajbhandari et al. 2020 Sec. 5).
_ZERO_RANK = {1: 0, 2: 1, 0: 2, 3: 3}


class LayoutError(ValueError):
    """No layout fits; the message carries the memory arithmetic."""


@dataclass(frozen=True)
class Collective:
    """One kind of collective in a training step, per accelerator.

    kind: "all-reduce" | "reduce-scatter" | "all-gather" | "send-recv";
    group: "data" | "tensor" | "pipeline" (which ranks take part);
    group_size: ranks in one group;
    bytes: payload per call per rank (the buffer size, before the algorithm's
        2(n-1)/n factor); calls: calls per step.
    """

    kind: str
    group: str
    group_size: int
    bytes: float
    calls: float

    @property
    def bytes_per_step(self) -> float:
        return self.bytes * self.calls


@dataclass(frozen=True)
class Layout:
    """Degrees of parallelism and the memory and communication they imply (per accelerator)."""

    tp: int
    pp: int
    dp: int
    zero_stage: int
    micro_batch: float  # sequences (or samples) per micro-batch
    micro_batches: int  # per step per pipeline
    recompute: bool
    params_per_accelerator: float
    state_bytes: float
    activation_bytes: float
    capacity_bytes: float
    collectives: tuple[Collective, ...] = field(default=())

    @property
    def memory_bytes(self) -> float:
        return self.state_bytes + self.activation_bytes

    @property
    def fits(self) -> bool:
        return self.memory_bytes <= self.capacity_bytes

    @property
    def bubble(self) -> float:
        """Idle share of a 1F1B pipeline step: (p - 1) / (m + p - 1)."""
        return (self.pp - 1) / (self.micro_batches + self.pp - 1)

    @property
    def compute_factor(self) -> float:
        """FLOPs done per useful FLOP: 4/3 with full recomputation (one more forward)."""
        return 4.0 / 3.0 if self.recompute else 1.0

    def bytes_per_step(self, group: str | None = None) -> float:
        return sum(c.bytes_per_step for c in self.collectives if group is None or c.group == group)

    def describe(self) -> str:
        gb = 1e9
        return (f"TP {self.tp} x PP {self.pp} x DP {self.dp}, ZeRO-{self.zero_stage}, "
                f"micro-batch {self.micro_batch:g} x {self.micro_batches}"
                f"{', recompute' if self.recompute else ''}: "
                f"state {self.state_bytes / gb:.1f} GB + activations {self.activation_bytes / gb:.1f} GB "
                f"= {self.memory_bytes / gb:.1f} GB of {self.capacity_bytes / gb:.1f} GB usable")


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _pow2_up_to(n: int) -> list[int]:
    out, k = [], 1
    while k <= n:
        out.append(k)
        k *= 2
    return out


def build_layout(parameters: float, shape: TransformerShape | None, accelerators: int, memory_bytes: float,
                 batch_per_replica: float, tp: int, pp: int, zero_stage: int, micro_batch: float,
                 recompute: bool, activation_bytes_per_sample: float = 0.0) -> Layout:
    """The layout of the given degrees (not checked for fit)."""
    dp = accelerators // (tp * pp)
    psi = parameters / (tp * pp)
    state = state_bytes(psi, zero_stage, dp)
    m = max(1, int(round(batch_per_replica / micro_batch)))
    if shape is not None:
        act = activation_bytes(shape, micro_batch, tp, recompute)
        if pp > 1:  # the first stage holds min(p, m) micro-batches of its L/p layers
            act *= min(pp, m) / pp
    else:
        act = activation_bytes_per_sample * micro_batch * (1.0 / 3.0 if recompute else 1.0)
    colls: list[Collective] = []
    grad = 2.0 * psi  # fp16 gradients
    if dp > 1:
        if zero_stage == 0:
            colls.append(Collective("all-reduce", "data", dp, grad, 1))
        else:
            colls.append(Collective("reduce-scatter", "data", dp, grad, 1))
            colls.append(Collective("all-gather", "data", dp, grad, 2 if zero_stage == 3 else 1))
    if shape is not None:
        sbh = shape.sequence_length * micro_batch * shape.hidden * ACT_BYTES
        layers_here = shape.layers / pp
        if tp > 1:
            per_layer = 6 if recompute else 4
            colls.append(Collective("all-reduce", "tensor", tp, sbh, per_layer * layers_here * m))
        if pp > 1:
            colls.append(Collective("send-recv", "pipeline", pp, sbh / tp, 2 * m))
    return Layout(tp=tp, pp=pp, dp=dp, zero_stage=zero_stage, micro_batch=micro_batch, micro_batches=m,
                  recompute=recompute, params_per_accelerator=psi, state_bytes=state, activation_bytes=act,
                  capacity_bytes=usable_bytes(memory_bytes), collectives=tuple(colls))


def plan(parameters: float, accelerators: int, accelerators_per_node: int, memory_bytes: float,
         global_batch: float, shape: TransformerShape | None = None, *, tp: int | None = None,
         pp: int | None = None, zero_stage: int | None = None, micro_batch: float | None = None,
         recompute: bool | None = None, activation_bytes_per_sample: float = 0.0,
         what: str = "job") -> Layout:
    """The layout of a job: what is given, the rest chosen (module doc); LayoutError if none fits.

    global_batch: sequences per step for a transformer (`shape` given), else samples.
    """
    if accelerators < 1:
        raise LayoutError(f"{what}: needs at least one accelerator, got {accelerators}")
    g = max(1, min(accelerators_per_node, accelerators))
    tps = [tp] if tp else [k for k in _pow2_up_to(g) if g % k == 0 and accelerators % k == 0]
    if shape is None:
        tps = [1] if not tp else [tp]
    problems = []
    for t in tps:
        if accelerators % t or (shape is None and t > 1):
            problems.append(f"tp {t} does not divide {accelerators} accelerators" if accelerators % t
                            else f"tp {t} needs a transformer shape")
        if t > accelerators_per_node:
            problems.append(f"tp {t} exceeds the {accelerators_per_node} accelerators of a node")
    if tp and problems:
        raise LayoutError(f"{what}: " + "; ".join(problems))
    candidates: list[Layout] = []
    for t in tps:
        rest = accelerators // t
        max_pp = shape.layers if shape is not None else 1
        pps = [pp] if pp else [k for k in _divisors(rest) if k <= max_pp]
        for p in pps:
            if rest % p:
                raise LayoutError(f"{what}: pp {p} does not divide {rest} accelerators (after tp {t})")
            if shape is not None and p > shape.layers:
                raise LayoutError(f"{what}: pp {p} exceeds the model's {shape.layers} layers")
            d = rest // p
            per_replica = max(global_batch / d, 1.0)
            zs = [zero_stage] if zero_stage is not None else ([0, 1, 2, 3] if d > 1 else [0])
            rcs = [recompute] if recompute is not None else [False, True]
            if micro_batch:
                mbs = [float(micro_batch)]
            elif p > 1:
                mbs = [1.0]
            else:
                mbs = sorted({per_replica, *(float(k) for k in _pow2_up_to(int(per_replica)))}, reverse=True)
            for z in zs:
                for r in rcs:
                    for mb in mbs:
                        candidates.append(build_layout(parameters, shape, accelerators, memory_bytes,
                                                       per_replica, t, p, z, mb, r, activation_bytes_per_sample))
    if not candidates:
        raise LayoutError(f"{what}: no layout of {accelerators} accelerators to consider")

    def preference(lay: Layout) -> tuple:
        return (lay.recompute, lay.zero_stage == 3, lay.pp, lay.tp, _ZERO_RANK[lay.zero_stage], -lay.micro_batch)

    fitting = [c for c in candidates if c.fits]
    if fitting:
        return min(fitting, key=preference)
    best = min(candidates, key=lambda c: c.memory_bytes)
    gb = 1e9
    raise LayoutError(
        f"{what}: does not fit in memory. {parameters:.3g} parameters x 16 B (mixed-precision Adam, "
        f"ZeRO paper) = {parameters * 16 / gb:,.0f} GB of model state; {accelerators} accelerators x "
        f"{usable_bytes(memory_bytes) / gb:.1f} GB usable = {accelerators * usable_bytes(memory_bytes) / gb:,.0f} GB. "
        f"Closest layout: {best.describe()}. Use more accelerators or larger ones.")


def step_time_s(layout: Layout, flops_per_step: float, peak_flops: float, mfu: float,
                bandwidth_bytes_per_s: float) -> tuple[float, float]:
    """(compute time of one step on one accelerator in s, its memory-bound share), by the roofline above.

    flops_per_step: useful FLOPs of one accelerator per step (recomputation is added here).
    """
    act_step = layout.activation_bytes * layout.micro_batches / max(1, min(layout.pp, layout.micro_batches))
    fb_bytes, opt_bytes = step_traffic_bytes(layout.params_per_accelerator, layout.zero_stage, layout.dp,
                                             act_step)
    bw = bandwidth_bytes_per_s * ETA_HBM
    t_flops = flops_per_step * layout.compute_factor / (peak_flops * mfu)
    t_mem = (fb_bytes + opt_bytes) / bw
    t = max(t_flops, t_mem) / (1.0 - layout.bubble)
    memory_bound = max(t_mem - t_flops, 0.0) / max(t_flops, t_mem)
    return t, memory_bound


def model_parallel_comm_s(layout: Layout, intra_bandwidth_bytes_per_s: float,
                          inter_bandwidth_bytes_per_s: float) -> float:
    """Time of one step's tensor- and pipeline-parallel traffic on one accelerator (s), not overlapped.

    Tensor all-reduces run on the intra-node fabric as rings, 2 (t - 1) / t of
    the buffer each (Patarasuk & Yuan, JPDC 2009); pipeline sends cross the
    node's scale-out link at `inter_bandwidth_bytes_per_s` per accelerator.
    The data-parallel collectives are the network model's (sim/network).
    """
    t = 0.0
    for c in layout.collectives:
        if c.group == "tensor" and c.group_size > 1:
            t += c.calls * 2.0 * (c.group_size - 1) / c.group_size * c.bytes / intra_bandwidth_bytes_per_s
        elif c.group == "pipeline":
            t += c.calls * c.bytes / inter_bandwidth_bytes_per_s
    return t


__all__ = ["ACT_BYTES", "Collective", "ETA_HBM", "Layout", "LayoutError", "build_layout",
           "model_parallel_comm_s", "plan", "step_time_s"]


# -- the layout of a scenario's job ------------------------------------------

#: default batch of a job written as `model: {parameters, tokens}`: one
#: 2,048-token sequence per accelerator per step (Llama 2: a 4M-token global
#: batch, Touvron et al. 2023b Sec. 2.2, on ~2,048 GPUs)
DEFAULT_TOKENS_PER_ACCELERATOR = 2048
DEFAULT_SEQUENCE_LENGTH = 2048


def job_layout(spec: JobSpec, catalog: Catalog, node_type: NodeType, what: str = "job") -> Layout | None:
    """The parallel layout of a model job on `node_type`'s accelerators; LayoutError if it cannot fit.

    None for jobs without a model (given as flops or a duration: no memory model).
    """
    if spec.model is None:
        return None
    acc = catalog.accelerator(node_type.accelerator)
    if isinstance(spec.model, str):
        preset = catalog.model(spec.model)
        params = preset.parameters
        batch = spec.batch_per_accelerator or preset.reference_batch_per_accelerator
        if preset.sample_unit == "token":
            seq = preset.sequence_length or DEFAULT_SEQUENCE_LENGTH
            shape = (TransformerShape(preset.layers, preset.hidden_size, preset.heads or max(1, preset.hidden_size // 128),
                                      seq)
                     if preset.layers and preset.hidden_size else TransformerShape.infer(params, seq))
            global_batch = max(spec.accelerators * batch / seq, 1.0)
        else:
            shape, global_batch = None, float(spec.accelerators * batch)
    else:
        params = spec.model.parameters
        batch = spec.batch_per_accelerator or DEFAULT_TOKENS_PER_ACCELERATOR
        shape = TransformerShape.infer(params, DEFAULT_SEQUENCE_LENGTH)
        global_batch = max(spec.accelerators * batch / DEFAULT_SEQUENCE_LENGTH, 1.0)
    p = spec.parallelism or ParallelismSpec()
    return plan(params, spec.accelerators, node_type.accelerators_per_node, acc.memory_bytes, global_batch, shape,
                tp=p.tensor, pp=p.pipeline, zero_stage=p.zero_stage, micro_batch=p.micro_batch,
                recompute=p.recompute, what=what)
