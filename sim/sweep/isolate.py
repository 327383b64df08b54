"""Run each sweep run in its own killable process: Dask's failure semantics on a local pool.

Every run executes in a child process forked from a warm fork server
(``multiprocessing`` "forkserver", with the engine preloaded, so a run starts in
milliseconds and shares nothing with the others):

- a run that crashes its process (a segfault, ``os._exit``, the OOM killer) fails
  that run only, with the signal or exit status; the other runs go on and the
  next run gets a fresh process (what Dask does with a lost worker's task);
- a run still going ``timeout_s + KILL_GRACE_S`` after it started is killed
  (SIGKILL: even a run blocked in C code or a sleep) and recorded as timed out;
  the engine's own cooperative check stops a run at ``timeout_s`` first when it can;
- children die with the sweep: each asks the kernel (Linux ``PR_SET_PDEATHSIG``)
  for SIGKILL when its parent, the fork server, exits, and the fork server exits
  when the sweep process does, even on SIGKILL; a normal exit, an error or Ctrl-C
  in the sweep kills the running children before it returns;
- children ignore SIGINT: Ctrl-C in a terminal reaches the whole process group,
  and the sweep, not each run, decides what to stop.

`run_isolated` is the same for one run inside a Dask worker, so a run that kills
its process or hangs is recorded the same way on Dask and on the pool.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

#: Seconds after `timeout_s` before a run is killed: room for the engine's own check
#: (every 256 events) to stop it cleanly and report where it was.
KILL_GRACE_S = 2.0
STATUS_TIMEOUT = "timeout"
STATUS_FAILED = "failed"

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _context() -> Any:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["sim.sweep.execute"])
    return ctx


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent exits (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
        if os.getppid() == 1:  # orphaned before the request took effect
            os._exit(1)


def _child(conn: Connection, fn: Callable[[Mapping[str, Any]], dict[str, Any]], task: Mapping[str, Any]) -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        out = fn(task)
    except BaseException as exc:  # noqa: BLE001 - the parent records it as this run's failure
        out = lost(task, f"{type(exc).__name__}: {exc}")
    conn.send(out)
    conn.close()


def lost(task: Mapping[str, Any], why: str, status: str = STATUS_FAILED) -> dict[str, Any]:
    return {"run_id": task["run_id"], "status": status, "error": why, "summary": {}, "wall_s": float("nan")}


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the run's process was killed by {name} (a crash, the OOM killer or a kill)"
    return f"the run's process exited with status {exitcode} before reporting"


@dataclass
class _Slot:
    process: Any
    conn: Connection
    task: Mapping[str, Any]
    started: float
    deadline: float


class IsolatedRunner:
    """At most `workers` runs at once, each in its own child process; yields each outcome as it ends."""

    def __init__(self, workers: int, fn: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        self.workers = max(1, workers)
        self.fn = fn
        self.ctx = _context()
        self.running: list[_Slot] = []

    def _start(self, task: Mapping[str, Any]) -> None:
        recv, send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=_child, args=(send, self.fn, task), daemon=False)
        proc.start()
        send.close()
        now = time.monotonic()
        timeout = task.get("timeout_s")
        deadline = now + float(timeout) + KILL_GRACE_S if timeout else float("inf")
        self.running.append(_Slot(proc, recv, task, now, deadline))

    def results(self, tasks: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        it = iter(tasks)
        try:
            while True:
                while len(self.running) < self.workers:
                    task = next(it, None)
                    if task is None:
                        break
                    self._start(task)
                if not self.running:
                    return
                next_deadline = min(s.deadline for s in self.running)
                wait_s = None if next_deadline == float("inf") else max(next_deadline - time.monotonic(), 0.0)
                wait([s.conn for s in self.running] + [s.process.sentinel for s in self.running], wait_s)
                for slot in list(self.running):
                    outcome = self._poll(slot)
                    if outcome is not None:
                        self.running.remove(slot)
                        yield outcome
        finally:
            self.close()

    def _poll(self, slot: _Slot) -> dict[str, Any] | None:
        if slot.conn.poll():
            try:
                out = slot.conn.recv()
            except (EOFError, OSError):
                slot.process.join()
                return lost(slot.task, _death(slot.process.exitcode))
            slot.process.join()
            slot.conn.close()
            return out
        if not slot.process.is_alive():
            slot.process.join()
            slot.conn.close()
            return lost(slot.task, _death(slot.process.exitcode))
        if time.monotonic() >= slot.deadline:
            slot.process.kill()
            slot.process.join()
            slot.conn.close()
            limit = float(slot.task["timeout_s"])
            return lost(slot.task, f"timeout: killed after {limit:g} s (+{KILL_GRACE_S:g} s grace): the run "
                        "did not stop at its limit (blocked outside the engine)", STATUS_TIMEOUT)
        return None

    def close(self) -> None:
        """Kill every run still going (an error, Ctrl-C or an early stop in the sweep)."""
        for slot in self.running:
            if slot.process.is_alive():
                slot.process.kill()
            slot.process.join()
            slot.conn.close()
        self.running.clear()


def run_isolated(fn: Callable[[Mapping[str, Any]], dict[str, Any]], task: Mapping[str, Any]) -> dict[str, Any]:
    """One run in its own killable process (for a Dask worker); in-process where children are not allowed."""
    if multiprocessing.current_process().daemon:  # a daemonic worker may not have children
        return fn(task)
    runner = IsolatedRunner(1, fn)
    return next(iter(runner.results([task])))


__all__ = ["KILL_GRACE_S", "STATUS_TIMEOUT", "IsolatedRunner", "die_with_parent", "lost", "run_isolated"]
