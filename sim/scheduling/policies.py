"""Policy protocols, the registry, the read-only cluster view, and the first policies."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sim.hardware import Node
    from sim.training import Job


class ClusterView:
    """What a policy may look at: free accelerators per node, sizes, time.

    It wraps the engine's nodes without exposing them; policies never change
    state, they return decisions.
    """

    __slots__ = ("_nodes", "_now")

    def __init__(self, nodes: Sequence[Node], now: Callable[[], float]):
        self._nodes = nodes
        self._now = now

    @property
    def now(self) -> float:
        return self._now()

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    def slots(self, i: int) -> int:
        return self._nodes[i].slots

    def free(self, i: int) -> int:
        n = self._nodes[i]
        return n.free if n.on else 0

    def free_total(self) -> int:
        return sum(n.free for n in self._nodes if n.on)

    def accelerator(self, i: int) -> str:
        return self._nodes[i].accelerator.key

    def pool(self, i: int) -> int:
        return self._nodes[i].pool


@runtime_checkable
class QueuePolicy(Protocol):
    #: a job that does not fit holds back every job behind it (strict order)
    blocking: bool

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]: ...


@runtime_checkable
class PlacementPolicy(Protocol):
    def place(self, job: Job, view: ClusterView) -> list[tuple[int, int]] | None: ...


QUEUE_POLICIES: dict[str, type] = {}
PLACEMENT_POLICIES: dict[str, type] = {}
_REGISTRIES = {"queue": QUEUE_POLICIES, "placement": PLACEMENT_POLICIES}


def register_queue(name: str):
    """Class decorator: make a queue policy available under `name`."""

    def deco(cls: type) -> type:
        QUEUE_POLICIES[name] = cls
        return cls

    return deco


def register_placement(name: str):
    """Class decorator: make a placement policy available under `name`."""

    def deco(cls: type) -> type:
        PLACEMENT_POLICIES[name] = cls
        return cls

    return deco


def resolve_policy(kind: str, name: str) -> type:
    """The class registered as `name`, or imported from 'pkg.module:Class'."""
    registry = _REGISTRIES[kind]
    if name in registry:
        return registry[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        return getattr(importlib.import_module(module), attr)
    raise KeyError(name)


def check_policy_name(kind: str, name: str) -> str | None:
    """None if `name` resolves, else a message listing what is allowed."""
    try:
        resolve_policy(kind, name)
        return None
    except (KeyError, ImportError, AttributeError) as exc:
        known = ", ".join(sorted(_REGISTRIES[kind]))
        why = f" ({type(exc).__name__}: {exc})" if ":" in name else ""
        return f"{name!r} is not a {kind} policy{why}; known: {known}, or 'package.module:Class'"


# -- the first policies -------------------------------------------------------


@register_queue("fifo")
class Fifo:
    """First come, first served, strictly: the head blocks the queue."""

    blocking = True

    def order(self, queue: Sequence[Job], view: ClusterView) -> list[Job]:
        return sorted(queue, key=lambda j: (j.submit_s, j.id))


@register_placement("first-fit")
class FirstFit:
    """The first nodes (in index order) with room.

    A job that fits in one node goes to the first node with enough free
    accelerators. A larger job takes whole free nodes first, then the rest on
    the first node with room for it; None when the cluster cannot hold it now.
    """

    def place(self, job: Job, view: ClusterView) -> list[tuple[int, int]] | None:
        need = job.accelerators
        if need > view.free_total():
            return None
        n = view.node_count
        for i in range(n):
            if view.free(i) >= need and need <= view.slots(i):
                return [(i, need)]
        out: list[tuple[int, int]] = []
        for i in range(n):
            if need == 0:
                break
            if view.free(i) == view.slots(i) and view.slots(i) <= need:
                out.append((i, view.slots(i)))
                need -= view.slots(i)
        if need:
            taken = {i for i, _ in out}
            for i in range(n):
                if i not in taken and view.free(i) >= need:
                    out.append((i, need))
                    need = 0
                    break
        return out if need == 0 else None
