"""A cooling model that injects faults into a run, for the sweep fault-injection tests.

``cooling: {model: "fault_models:Faulty", options: {fault: ..., pid_dir: ...}}``:
each run writes its process id to `pid_dir` when built, then at its first plant
step does what `fault` says: ``crash`` raises, ``hang`` blocks in a C-level sleep
(outside the engine, so only a kill stops it), ``kill`` SIGKILLs its own process
(a segfault or the OOM killer look the same to the sweep); anything else (``ok-N``)
runs normally with PUE 1.1.
"""

import os
import signal
import time
from pathlib import Path

from sim.engine.contracts import CoolingStep


class Faulty:
    def __init__(self, options, start, duration_s, step_s, it_capacity_w, weather):
        self.fault = options.get("fault", "ok")
        pid_dir = options.get("pid_dir")
        if pid_dir:
            (Path(pid_dir) / f"{os.getpid()}.pid").write_text(self.fault)

    def step(self, t0, t1, it_energy_j):
        if self.fault == "crash":
            raise RuntimeError("injected crash")
        if self.fault == "hang":
            time.sleep(3600)
        if self.fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return CoolingStep(power_w={"overhead": 0.1 * it_energy_j / (t1 - t0)})

    def config(self):
        return {"model": "faulty", "fault": self.fault}
