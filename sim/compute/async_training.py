"""Asynchronous data-parallel training: sharded parameter servers, ASP or SSP, staleness cost.

What is modelled
----------------
W workers each compute a gradient on their own batch, push it to the
parameter servers and pull fresh parameters, without waiting for the others (Dean et al., "Large scale distributed deep networks"
(DistBelief, Downpour SGD), NIPS 2012; Li et al., "Scaling distributed machine
learning with the parameter server", OSDI 2014). The parameters are sharded
over K servers co-located with the workers (MXNet KVStore, BytePS: Jiang et
al., OSDI 2020), so each worker host exchanges S/K bytes with every shard and
no single server link carries W S (the flows and their shares are
`sim.network.fabric.NetworkComm`'s; K is ``network.parameter_servers``).
A worker is the job's accelerators on one host, a model replica (DistBelief's
replicas; BytePS sums the GPUs of a machine over NVLink before pushing): they
all-reduce inside the host, so W is the number of hosts, and a one-host async
job has no staleness. (Each GPU a worker would push 8x the bytes of an
all-reduce per DGX host, which no deployed parameter server does.)

Per worker i (its accelerators' FLOP/s p_i each, batch b per accelerator,
step compute time t_c = b F / p_i, all-reduce + push + pull time t_w from the
network, overlap o):

    step time  T_i = t_c + max(0, t_w - o t_c),   update rate u_i = 1 / T_i

ASP (fully asynchronous, ``staleness_bound`` unset): workers run at their own
speed. While worker i computes one step, the others apply R - u_i updates per
second, so its update is tau_i = (R - u_i) / u_i updates stale, R = sum u_j
(W - 1 with equal speeds: the expected staleness of Dutta et al., "Slow and
stale gradients can win the race", AISTATS 2018, and of Lian et al., NeurIPS
2015, for W workers).

SSP (Ho et al., "More effective distributed ML via a stale synchronous
parallel parameter server", NIPS 2013; ``staleness_bound`` s >= 1): no worker
may be more than s clocks ahead of the slowest. Speeds are constant between
events in the fluid model, so the s-clock slack only absorbs transients: in
the long run every worker advances at the slowest one's rate (the fast ones
wait, drawing waiting power), and every update is tau = W - 1 stale.

Staleness cost. An update tau steps stale is worth 1 / f(tau) of a fresh one
(the samples to converge grow by f):

    f(tau) = 1 + (F - 1) tau / (tau + tau_h),   tau_h = (F - 1) / kappa

with kappa = ``network.staleness_penalty`` (slope at tau = 0, default 0.03)
and F = ``network.staleness_max_factor`` (default 2). Sources:
* small staleness: Dai et al., "Toward understanding the impact of staleness
  in distributed machine learning", ICLR 2019, measured SGD needing about
  1.1-1.4x the batches at staleness 4-16; the defaults give f(4) = 1.11,
  f(16) = 1.32 (calibration, M: the constants are fitted to that range).
* saturation: the cost does not grow without bound. Dean et al. 2012 trained
  with Downpour SGD (Adagrad) on up to 200 replicas, reaching a given accuracy
  faster in wall-clock time than with fewer replicas: a linear cost
  1 + 0.02 x 199 = 5x per sample would have cancelled most of that gain.
  Mitliagkas et al., "Asynchrony begets momentum" (Allerton 2016), show
  asynchrony with W workers acts as an implicit momentum 1 - 1/W, which
  approaches a fixed value as W grows (and can be compensated by tuning the
  explicit momentum); Chen et al., "Revisiting distributed synchronous SGD"
  (2016), found async at 50-100 workers converging slower and to a slightly
  worse accuracy than sync, not orders of magnitude slower. F = 2 (at most
  twice the samples of a fresh-gradient run) is a modelling choice (M) inside
  those findings.
The useful rate of the job is sum_i c_i p_i s_i / f(tau_i) (ASP), with c_i
the worker's accelerators and s_i the compute share of its step; SSP gives
sum_i c_i u_min b F / f(W - 1).

Without a network model (``network.model: off``) the push/pull is free but
staleness is still charged; without ``cluster.topology`` an async job is
refused at load time (sim/spec/scenario.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.spec.network import NetworkConfig

if TYPE_CHECKING:
    from sim.compute.node import Node
    from sim.compute.training import Job

_DEFAULTS = NetworkConfig()
#: (kappa, max factor, SSP bound) of the scenario defaults; `build_network` sets the scenario's
DEFAULT_STALENESS: tuple[float, float, int | None] = (
    _DEFAULTS.staleness_penalty, _DEFAULTS.staleness_max_factor, _DEFAULTS.staleness_bound)


def staleness_factor(tau: float, kappa: float, max_factor: float) -> float:
    """f(tau) = 1 + (F - 1) tau / (tau + (F - 1) / kappa): work multiplier of a tau-stale update."""
    a = max_factor - 1.0
    if tau <= 0 or a <= 0 or kappa <= 0:
        return 1.0
    return 1.0 + a * tau / (tau + a / kappa)


def async_rates(
    job: Job,
    per_accelerator_flops: Sequence[float],
    worker_comm_s: Callable[[Node], float],
    overlap: float,
    kappa: float,
    max_factor: float,
    staleness_bound: int | None,
) -> tuple[float, float]:
    """(useful FLOP/s of the job, mean compute share of its accelerators), as the module docstring gives.

    ``per_accelerator_flops`` follows ``job.placement``; ``worker_comm_s(node)``
    is the push + pull time of one step of a worker on that node (0 without a
    network model).
    """
    w = job.work
    step_flops = (w.batch_per_accelerator or 0) * (w.flops_per_sample or 0.0)
    counts = [c for _, c in job.placement]
    accelerators = sum(counts)
    if accelerators == 0:
        return 0.0, 0.0
    if step_flops <= 0:  # no step model (totals only): workers compute all the time, no staleness known
        return sum(p * c for p, c in zip(per_accelerator_flops, counts)), 1.0
    shares: list[float] = []
    updates: list[float] = []  # steps per second of each worker (host)
    for p, (node, _) in zip(per_accelerator_flops, job.placement):
        t_c = step_flops / p
        t_w = worker_comm_s(node)
        t_step = t_c + max(0.0, t_w - overlap * t_c)
        shares.append(t_c / t_step)
        updates.append(1.0 / t_step)
    workers = len(updates)
    if staleness_bound is not None:  # SSP: everyone at the slowest worker's pace
        u_min = min(updates)
        f = staleness_factor(workers - 1, kappa, max_factor)
        busy = sum(c * s * u_min / u for c, s, u in zip(counts, shares, updates))
        return accelerators * u_min * step_flops / f, busy / accelerators
    total_updates = sum(updates)
    rate = 0.0
    for c, u in zip(counts, updates):
        tau = (total_updates - u) / u
        rate += c * u * step_flops / staleness_factor(tau, kappa, max_factor)
    busy = sum(c * s for c, s in zip(counts, shares))
    return rate, busy / accelerators
