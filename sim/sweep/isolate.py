"""Run sweep runs in killable worker processes: Dask's failure semantics on a local pool.

A pool of worker processes (``multiprocessing`` "spawn", started once, the
engine imported once each) takes one run at a time through a pipe:

- a run that crashes its process (a segfault, ``os._exit``, the OOM killer) fails
  that run only, with the signal or exit status; the other runs go on and a
  fresh worker replaces the dead one (what Dask does with a lost worker's task);
- a run still going ``timeout_s + KILL_GRACE_S`` after it started is killed with
  its worker (SIGKILL: even a run blocked in C code or a sleep) and recorded as
  timed out; the engine's own check stops a run at ``timeout_s`` first when it can;
- workers die with the sweep: each asks the kernel (Linux ``PR_SET_PDEATHSIG``)
  for SIGKILL when the sweep process exits, even by SIGKILL, and a watchdog
  thread exits when the sweep's end of its pipe closes; a normal exit, an error
  or Ctrl-C in the sweep kills the workers before it returns;
- workers ignore SIGINT: Ctrl-C in a terminal reaches the whole process group,
  and the sweep, not each run, decides what to stop.

`run_isolated` does the same for one run inside a Dask worker (a pool of one,
kept for the worker's life), so a run that kills its process or hangs is
recorded the same way on Dask and on the pool.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from multiprocessing.connection import Connection, wait
from typing import Any

#: Seconds after `timeout_s` before a run is killed: room for the engine's own check
#: (every 256 events) to stop it cleanly and report where it was.
KILL_GRACE_S = 2.0
STATUS_TIMEOUT = "timeout"
STATUS_FAILED = "failed"

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _context() -> Any:
    return multiprocessing.get_context("spawn")


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent exits (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl: the parent watch still ends us
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch_parent(conn: Connection) -> None:
    """Exit when every writer of the task pipe is gone: the parent died (backs up PR_SET_PDEATHSIG)."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLHUP)  # data does not wake it; a hang-up does
    hung_up = False
    while not hung_up:  # poll() blocks until an event: no busy loop
        hung_up = any(ev & (select.POLLHUP | select.POLLERR) for _, ev in poller.poll())
    os._exit(1)


def _worker(tasks: Connection, results: Connection, fn: Callable[[Mapping[str, Any]], dict[str, Any]],
            parent_pid: int) -> None:
    die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(tasks,), daemon=True).start()
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            os._exit(0)
        if task is None:
            os._exit(0)
        try:
            out = fn(task)
        except BaseException as exc:  # noqa: BLE001 - the parent records it as this run's failure
            out = lost(task, f"{type(exc).__name__}: {exc}")
        results.send(out)


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


class _Worker:
    """One worker process and its pipes; `task` is the run it holds (None when idle)."""

    def __init__(self, ctx: Any, fn: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        task_r, self.task_w = ctx.Pipe(duplex=False)
        self.result_r, result_w = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker, args=(task_r, result_w, fn, os.getpid()), daemon=False)
        self.process.start()
        task_r.close()
        result_w.close()
        self.task: Mapping[str, Any] | None = None
        self.deadline = float("inf")

    def give(self, task: Mapping[str, Any]) -> None:
        self.task = task
        timeout = task.get("timeout_s")
        self.deadline = time.monotonic() + float(timeout) + KILL_GRACE_S if timeout else float("inf")
        self.task_w.send(task)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.task_w.close()
        self.result_r.close()

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not within a second."""
        with contextlib.suppress(OSError):  # the pipe is already closed: the worker is gone
            self.task_w.send(None)
        self.process.join(1.0)
        self.kill()


class IsolatedRunner:
    """At most `workers` runs at once, each in a worker process of its own; yields each outcome as it ends."""

    def __init__(self, workers: int, fn: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        self.size = max(1, workers)
        self.fn = fn
        self.ctx = _context()
        self.workers: list[_Worker] = []

    def _has_room(self) -> bool:
        return len(self.workers) < self.size or any(w.task is None for w in self.workers)

    def _idle(self) -> _Worker | None:
        for w in self.workers:
            if w.task is None:
                if w.process.is_alive():
                    return w
                w.kill()
                self.workers.remove(w)
                break
        if len(self.workers) < self.size:
            w = _Worker(self.ctx, self.fn)
            self.workers.append(w)
            return w
        return None

    def results(self, tasks: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        it = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and self._has_room():
                task = next(it, None)
                if task is None:
                    exhausted = True
                    break
                w = self._idle()
                assert w is not None
                w.give(task)
            busy = [w for w in self.workers if w.task is not None]
            if not busy:
                return
            next_deadline = min(w.deadline for w in busy)
            wait_s = None if next_deadline == float("inf") else max(next_deadline - time.monotonic(), 0.0)
            wait([w.result_r for w in busy] + [w.process.sentinel for w in busy], wait_s)
            for w in busy:
                outcome = self._poll(w)
                if outcome is not None:
                    yield outcome

    def _poll(self, w: _Worker) -> dict[str, Any] | None:
        task = w.task
        assert task is not None
        if w.result_r.poll():
            try:
                out = w.result_r.recv()
            except (EOFError, OSError):
                w.process.join()
                return self._drop(w, lost(task, _death(w.process.exitcode)))
            w.task, w.deadline = None, float("inf")
            return out
        if not w.process.is_alive():
            w.process.join()
            return self._drop(w, lost(task, _death(w.process.exitcode)))
        if time.monotonic() >= w.deadline:
            limit = float(task["timeout_s"])
            return self._drop(w, lost(task, f"timeout: killed after {limit:g} s (+{KILL_GRACE_S:g} s grace): the "
                                      "run did not stop at its limit (blocked outside the engine)", STATUS_TIMEOUT))
        return None

    def _drop(self, w: _Worker, outcome: dict[str, Any]) -> dict[str, Any]:
        """Kill a worker that died or overran; a fresh one takes its place when next needed."""
        w.kill()
        self.workers.remove(w)
        return outcome

    def close(self) -> None:
        """Stop idle workers and kill busy ones (the end, an error, Ctrl-C or an early stop in the sweep)."""
        for w in self.workers:
            if w.task is None and w.process.is_alive():
                w.stop()
            else:
                w.kill()
        self.workers.clear()


_DASK_RUNNER: IsolatedRunner | None = None
_DASK_LOCK = threading.Lock()


def run_isolated(fn: Callable[[Mapping[str, Any]], dict[str, Any]], task: Mapping[str, Any]) -> dict[str, Any]:
    """One run in a killable worker process of this (Dask worker) process; in-process where children are not allowed."""
    global _DASK_RUNNER
    if multiprocessing.current_process().daemon:  # a daemonic worker may not have children
        return fn(task)
    with _DASK_LOCK:
        if _DASK_RUNNER is None:
            _DASK_RUNNER = IsolatedRunner(1, fn)
        runner = _DASK_RUNNER
        return next(iter(runner.results([task])))  # the worker stays for this process's next run


__all__ = ["KILL_GRACE_S", "STATUS_TIMEOUT", "IsolatedRunner", "die_with_parent", "lost", "run_isolated"]
