"""Operations: node failures and repairs, idle-node power-down.

Failures. Each node draws its time to failure from an exponential
distribution (constant hazard) or a Weibull distribution with shape k and the
same mean (scale = MTBF / Gamma(1 + 1/k); k < 1 models infant mortality, as
field studies of HPC/GPU clusters find: Schroeder & Gibson, DSN'06), stays
down for the repair time, then draws again. Or failures come from a trace of
(node, at, repair). Only nodes that are up fail; a failed node draws nothing.
Every node has its own random stream from the scenario seed.

Power-down (the Helios "energy saver", Hu et al., "Characterization and
Prediction of Deep Learning Workloads in Large-Scale GPU Datacenters",
SC'21): a node idle for `idle_timeout` is switched off unless that would leave
fewer than `spare_nodes` idle nodes on; when jobs wait for more accelerators
than are free (and booting), enough off nodes are booted; a booting node draws
idle power for `boot_time` and takes jobs only after it.
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scheduling.policies import BOOTING, OFF, UP
from sim.spec.scheduling import FailureConfig, PowerDownConfig

if TYPE_CHECKING:
    from sim.scheduling.scheduler import Scheduler


class EnergySaver:
    """Switches idle nodes off and boots them when work waits."""

    def __init__(self, sched: Scheduler, config: PowerDownConfig) -> None:
        self.s = sched
        self.cfg = config
        self.idle_since: dict[int, float] = {}
        self._token: dict[int, int] = {}
        self.booting: set[int] = set()
        self.boots = 0
        self.power_offs = 0
        for i in range(len(sched.nodes)):
            self.node_changed(i)

    def _is_idle(self, i: int) -> bool:
        n = self.s.nodes[i]
        return self.s.node_state[i] == UP and not n.jobs and n.free == n.slots

    def node_changed(self, i: int) -> None:
        if self._is_idle(i):
            if i not in self.idle_since:
                now = self.s.env.now
                self.idle_since[i] = now
                tok = self._token.get(i, 0) + 1
                self._token[i] = tok
                self.s.env.timeout(self.cfg.idle_timeout).callbacks.append(partial(self._check, i, tok))
        else:
            self.idle_since.pop(i, None)

    def _check(self, i: int, token: int, _event: object = None) -> None:
        if self._token.get(i) != token or i not in self.idle_since or not self._is_idle(i):
            return
        if len(self.idle_since) <= self.cfg.spare_nodes or self._needed(i):
            # keep it as a spare (or for waiting work that `after_pass` would boot it
            # right back for: off/boot flapping, a spin at one instant with zero
            # timeouts) for now; look again after another timeout. With a zero
            # timeout every node that turns idle is checked at once, so nothing is missed
            # without a re-check, and re-checking after 0 s would spin at one instant forever
            if self.cfg.idle_timeout > 0:
                self.s.env.timeout(self.cfg.idle_timeout).callbacks.append(partial(self._check, i, token))
            return
        del self.idle_since[i]
        self.s.set_node_state(i, OFF)
        self.s.nodes[i].power_off()
        self.power_offs += 1

    def _needed(self, i: int) -> bool:
        """Would switching node i off leave waiting jobs short, so that `after_pass` boots a node?"""
        s = self.s
        demand = sum(j.accelerators for j in s.queue)
        booting_acc = sum(s.nodes[k].slots for k in self.booting)
        return demand - (s.index.total_free - s.nodes[i].free) - booting_acc > 0

    def after_pass(self) -> None:
        s = self.s
        if self.cfg.idle_timeout == 0:  # nodes kept on are not re-checked by a timeout
            for i in list(self.idle_since):
                self._check(i, self._token[i])
        demand = sum(j.accelerators for j in s.queue)
        booting_acc = sum(s.nodes[i].slots for i in self.booting)
        deficit = demand - s.index.total_free - booting_acc
        off = [i for i, st in enumerate(s.node_state) if st == OFF]
        if not off:
            return
        want = 0
        if deficit > 0:
            want = math.ceil(deficit / max(s.index.max_slots, 1))
        spares_short = self.cfg.spare_nodes - len(self.idle_since) - len(self.booting)
        want = max(want, spares_short if demand else 0)
        for i in off[:want]:
            self.boot(i)

    def boot(self, i: int) -> None:
        s = self.s
        self.booting.add(i)
        self.boots += 1
        s.nodes[i].power_on()  # a booting server draws about its idle power
        s.set_node_state(i, BOOTING)
        s.env.timeout(self.cfg.boot_time).callbacks.append(partial(self._booted, i))

    def _booted(self, i: int, _event: object = None) -> None:
        self.booting.discard(i)
        if self.s.node_state[i] == BOOTING:
            self.s.set_node_state(i, UP)


class FailureProcess:
    """Fails and repairs nodes (one SimPy process per node, or from a trace)."""

    def __init__(self, sched: Scheduler, config: FailureConfig, horizon_s: float) -> None:
        self.s = sched
        self.cfg = config
        self.count = 0
        self.log: list[tuple[float, int, float]] = []  # (time, node, repair s)
        env = sched.env
        if config.distribution == "trace":
            for e in config.trace:
                if e.node < len(sched.nodes):
                    env.process(self._scripted(e.node, e.at, e.repair))
        else:
            for i in range(len(sched.nodes)):
                env.process(self._node(i))

    def _draw_ttf(self, rng: np.random.Generator) -> float:
        c = self.cfg
        if c.distribution == "weibull":
            scale = c.mtbf / math.gamma(1.0 + 1.0 / c.shape)
            return float(scale * rng.weibull(c.shape))
        return float(rng.exponential(c.mtbf))

    def _draw_repair(self, rng: np.random.Generator) -> float:
        c = self.cfg
        return float(rng.exponential(c.repair)) if c.repair_distribution == "exponential" else c.repair

    def _fail(self, i: int, repair: float) -> bool:
        if self.s.node_state[i] != UP:
            return False
        self.count += 1
        self.log.append((float(self.s.env.now), i, repair))
        self.s.fail_node(i)
        return True

    def _node(self, i: int) -> Any:
        rng = np.random.default_rng([self.s.seed, 0xFA11, i])
        env = self.s.env
        while True:
            yield env.timeout(self._draw_ttf(rng))
            repair = self._draw_repair(rng)
            if self._fail(i, repair):
                yield env.timeout(repair)
                self.s.repair_node(i)

    def _scripted(self, i: int, at: float, repair: float) -> Any:
        env = self.s.env
        yield env.timeout(at)
        if self._fail(i, repair):
            yield env.timeout(repair)
            self.s.repair_node(i)
