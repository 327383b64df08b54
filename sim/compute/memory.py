"""Accelerator memory of a training job: model state, activations, HBM traffic.

What is modelled, per accelerator, in bytes (Psi = parameters held by one
accelerator after tensor and pipeline parallelism, Psi = N / (t p)):

Model state, mixed-precision Adam (Rajbhandari et al. 2020, "ZeRO: memory
optimizations toward training trillion parameter models", SC'20, Sec. 3.1):
fp16 weights 2 Psi + fp16 gradients 2 Psi + optimizer state K Psi with
K = 12 (fp32 master weights, momentum, variance): 16 B per parameter.
ZeRO partitions them over the d data-parallel ranks (same paper, Fig. 1):

    stage 0   (2 + 2 + K) Psi
    stage 1   (2 + 2) Psi + K Psi / d
    stage 2   2 Psi + (2 + K) Psi / d
    stage 3   (2 + 2 + K) Psi / d

Activations of a transformer layer (Korthikanti et al. 2022, "Reducing
activation recomputation in large transformer models", Sec. 4.1-4.2), for s
the sequence length, b the micro-batch in sequences, h the hidden size, a the
attention heads, t the tensor-parallel degree, in bytes (16-bit):

    no recompute, TP + sequence parallel:  s b h (34 + 5 a s / h) / t
    full recompute:                        2 s b h / t   (the layer input only)

With FlashAttention (Dao et al. 2022) the attention scores are not stored,
so the 5 a s / h term is dropped (`flash_attention`, default true). Under
1F1B pipelining the first stage stashes the activations of p micro-batches
of its L/p layers (Narayanan et al. SC'21, Sec. 2.2.2), i.e. L layers' worth:
the peak per accelerator is L x (one layer's activations) whatever p.

Shapes. A dense decoder has N ~ 12 L h^2 (Kaplan et al. 2020, Table 1). When
a preset gives no shape, h is inferred with h / L = 128 (Llama-7B: 4096 / 32,
GPT-3: 12288 / 96): L = round((128 N / 12)^(1/3) / 128), h = 128 L, a = h / 128.

Capacity: a job may use `USABLE_SHARE` of the HBM (the rest is the CUDA
context, NCCL buffers and allocator fragmentation).

HBM traffic per step (for the roofline of `sim.compute.parallelism`): the
weights are read in the forward and twice in the backward pass (input and
weight gradients) and the gradients written once, 2 Psi each, and the Adam
step reads and writes the fp32 master weights, momentum and variance and
reads the gradients: 2 x 12 Psi + 2 Psi + writes 2 Psi of fp16 weights
(the fused Adam kernel of apex/DeepSpeed, one pass). Activations are written
in the forward and read in the backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

#: bytes of model state per parameter, mixed-precision Adam (ZeRO paper, Sec. 3.1)
WEIGHT_BYTES = 2.0
GRADIENT_BYTES = 2.0
OPTIMIZER_BYTES = 12.0  # K: fp32 master weights + momentum + variance
STATE_BYTES_PER_PARAM = WEIGHT_BYTES + GRADIENT_BYTES + OPTIMIZER_BYTES

#: share of HBM a job may fill (M: PyTorch/NCCL context ~1-3 GB and
#: fragmentation; Megatron and DeepSpeed users budget ~90 %)
USABLE_SHARE = 0.9

#: hidden size over layers for inferred shapes (Llama-7B 4096/32, GPT-3 12288/96)
ASPECT = 128.0

ZERO_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True)
class TransformerShape:
    """Layers, hidden size, heads and sequence length of a dense transformer."""

    layers: int
    hidden: int
    heads: int
    sequence_length: int

    @classmethod
    def infer(cls, parameters: float, sequence_length: int = 2048) -> TransformerShape:
        """From N ~ 12 L h^2 with h / L = ASPECT (see module doc)."""
        hidden = (ASPECT * parameters / 12.0) ** (1.0 / 3.0)
        layers = max(1, round(hidden / ASPECT))
        hidden_i = int(ASPECT) * layers
        return cls(layers=layers, hidden=hidden_i, heads=max(1, hidden_i // 128),
                   sequence_length=sequence_length)


def state_bytes(params_per_accelerator: float, zero_stage: int, dp: int) -> float:
    """Model-state bytes on one accelerator (ZeRO paper, Fig. 1)."""
    if zero_stage not in ZERO_STAGES:
        raise ValueError(f"zero_stage must be one of {ZERO_STAGES}, got {zero_stage!r}")
    if dp < 1:
        raise ValueError(f"data-parallel degree must be >= 1, got {dp}")
    p = params_per_accelerator
    if zero_stage == 0:
        return STATE_BYTES_PER_PARAM * p
    if zero_stage == 1:
        return (WEIGHT_BYTES + GRADIENT_BYTES) * p + OPTIMIZER_BYTES * p / dp
    if zero_stage == 2:
        return WEIGHT_BYTES * p + (GRADIENT_BYTES + OPTIMIZER_BYTES) * p / dp
    return STATE_BYTES_PER_PARAM * p / dp


def activation_bytes_per_layer(shape: TransformerShape, micro_batch: float, tp: int = 1,
                               recompute: bool = False, flash_attention: bool = True) -> float:
    """Activation bytes of one layer for `micro_batch` sequences (Korthikanti et al. 2022)."""
    s, h, a = shape.sequence_length, shape.hidden, shape.heads
    sbh = s * micro_batch * h
    if recompute:
        return 2.0 * sbh / tp
    per = 34.0 + (0.0 if flash_attention else 5.0 * a * s / h)
    return sbh * per / tp


def activation_bytes(shape: TransformerShape, micro_batch: float, tp: int = 1, recompute: bool = False,
                     flash_attention: bool = True) -> float:
    """Peak activation bytes on one accelerator (first pipeline stage under 1F1B: L layers' worth)."""
    return shape.layers * activation_bytes_per_layer(shape, micro_batch, tp, recompute, flash_attention)


def usable_bytes(memory_bytes: float) -> float:
    return USABLE_SHARE * memory_bytes


def step_traffic_bytes(params_per_accelerator: float, zero_stage: int, dp: int,
                       activations_per_step: float) -> tuple[float, float]:
    """(HBM bytes of the forward/backward pass, of the optimizer step) per accelerator per step.

    Forward + backward: weights read three times and gradients written once
    (2 B each), activations written and read once. Optimizer: fused Adam
    reads and writes 12 B of fp32 state and reads 2 B of gradient and writes
    2 B of fp16 weights per parameter it owns (1/d of them from ZeRO stage 1).
    """
    p = params_per_accelerator
    fwd_bwd = 3.0 * WEIGHT_BYTES * p + GRADIENT_BYTES * p + 2.0 * activations_per_step
    owned = p / dp if zero_stage >= 1 else p
    optimizer = (2.0 * OPTIMIZER_BYTES + GRADIENT_BYTES + WEIGHT_BYTES) * owned
    return fwd_bwd, optimizer


__all__ = ["ASPECT", "OPTIMIZER_BYTES", "STATE_BYTES_PER_PARAM", "TransformerShape", "USABLE_SHARE",
           "ZERO_STAGES", "activation_bytes", "activation_bytes_per_layer", "state_bytes",
           "step_traffic_bytes", "usable_bytes"]
