"""Batch size: compute efficiency rises with the per-accelerator batch, work with the global batch.

Two published effects pull in opposite directions, so an energy-optimal batch
size emerges from the model instead of being configured (Zeus, You et al.,
NSDI'23, tunes batch size and power limit together for this reason):

1. Efficiency saturates with the per-accelerator batch b. Small batches leave
   the accelerator under-occupied (kernel launch and memory-bound layers
   dominate); large ones approach a ceiling. We use a saturating form

       MFU(b) = MFU_max * b / (b + b_half)

   with the preset's ``typical_mfu`` reached at its
   ``reference_batch_per_accelerator`` b_ref, taken to be 90 % of saturation
   (``SATURATION_AT_REFERENCE``): b_half = b_ref (1 - 0.9) / 0.9 = b_ref / 9,
   MFU_max = typical_mfu / 0.9. Check (M): ResNet-50 AMP on a V100 runs about
   800 img/s at b = 32 and 1,300 img/s at b = 256 (NVIDIA DeepLearningExamples
   tables), ratio 0.62; the form gives (32/60.4) / (256/284.4) = 0.59. Latif et
   al. 2025 report that raising a ResNet batch from 512 to 4096 cut training
   energy about 4x, the direction of this effect. Communication per sample
   also falls as 1/b: a step moves the same gradient bytes for b samples.

2. A larger global batch B needs more samples to reach the same loss, by the
   gradient-noise-scale law of McCandlish et al. 2018 ("An empirical model of
   large-batch training", eq. 2.11), used by Pollux (Qiao et al., OSDI'21) to
   pick batch sizes:

       samples_needed = S_min * (1 + B / B_crit)

   with B_crit the preset's ``critical_batch`` (same unit as a sample: images,
   sequences or tokens). With ``batch_scaling: true`` a job's given samples or
   tokens are read as S_min, the samples needed at a batch far below B_crit.

Energy per job then goes as (1 + N b / B_crit)(1 + (b_half + c) / b) for N
accelerators and c the communication term, with its minimum near
b* = sqrt((b_half + c) B_crit / N): ~240 images for ResNet-50 on 8 GPUs.
"""

from __future__ import annotations

#: b_ref / (b_ref + b_half): the preset's reference batch reaches this share of
#: the saturated efficiency (M, checked against ResNet-50 throughput above)
SATURATION_AT_REFERENCE = 0.9


def mfu_at_batch(mfu_at_reference: float, batch: float, reference_batch: float,
                 saturation: float = SATURATION_AT_REFERENCE) -> float:
    """MFU(b) = MFU_max b / (b + b_half), equal to `mfu_at_reference` at `reference_batch`."""
    if batch <= 0 or reference_batch <= 0:
        raise ValueError(f"batch sizes must be positive, got {batch} and {reference_batch}")
    b_half = reference_batch * (1.0 - saturation) / saturation
    mfu_max = mfu_at_reference / saturation
    return min(mfu_max * batch / (batch + b_half), 1.0)


def samples_to_converge(min_samples: float, global_batch: float, critical_batch: float) -> float:
    """S_min (1 + B / B_crit): McCandlish et al. 2018, eq. 2.11."""
    if critical_batch <= 0:
        return min_samples
    return min_samples * (1.0 + global_batch / critical_batch)


__all__ = ["SATURATION_AT_REFERENCE", "mfu_at_batch", "samples_to_converge"]
