"""Time and memory of `wattsim validate` on hostile and large inputs under 1 MB (issue 15).

Writes the inputs to a temporary folder, then for each reports the in-process
CPU time of `load_scenario` (imports done; CPU, not wall: the shared box is often
oversubscribed) and the whole CLI
(`python -m sim.cli validate`: wall, CPU user + system time, max RSS, from
/usr/bin/time). Run: `python benchmarks/bench_validate.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.spec.scenario import ScenarioError, load_scenario

MB = 1_000_000


def inputs(d: Path) -> dict[str, Path]:
    text = "duration: 1d\nworkload:\n jobs:\n"
    rows = []
    i = 0
    while len(text) + sum(map(len, rows)) + 60 < MB:
        rows.append(f"  - {{accelerators: 8, flops: 1.0e+18, submit: {i}}}\n")
        i += 1
    files = {
        "a one-line scenario (the floor: imports and the catalog)": ("tiny.yaml", "duration: 1h\n"),
        "1 MB of listed jobs (valid)": ("jobs.yaml", text + "".join(rows)),
        "alias bomb, 9 levels": ("bomb.yaml", "\n".join(
            ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
            + [f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 9)]) + "\n"),
        "unknown key, 1 MB value": ("unknown.yaml", "typo: [" + ",".join(str(k) for k in range(140_000)) + "]\n"),
        "400,000 nested brackets": ("deep.yaml", "cluster: " + "[" * 400_000 + "]" * 400_000 + "\n"),
        "1 MB of random bytes": ("binary.yaml", os.urandom(MB - 10)),
        "300,000 aliases of one list": ("manyalias.yaml", "x: &x [1,2,3]\ntypo: [" + ",".join(["*x"] * 300_000)
                                        + "]\n"),
        "60,000 unknown keys (JSON)": ("manykeys.json", json.dumps({f"k{k}": k for k in range(60000)})),
        # the YAML loader's slow path: every value a distinct scalar that needs the full resolver
        "1 MB of distinct dates and hex numbers": ("dates.yaml", "typo: [" + ",".join(
            f"{2000 + k % 100}-{1 + k // 100 % 12:02d}-{1 + k // 1200 % 28:02d}, 0x{k:x}" for k in range(52_500))
            + "]\n"),
        "1 MB, 18,500 anchors and aliases": ("anchors.yaml", "x:\n" + "".join(
            f" - &a{k} {{accelerators: 8, submit: {k}}}\n - *a{k}\n" for k in range(18_500))),
    }
    out = {}
    for label, (name, content) in files.items():
        p = d / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        out[label] = p
    return out


def main() -> None:
    d = Path(tempfile.mkdtemp())
    timer = shutil.which("time") or "/usr/bin/time"
    print("| input | bytes | load_scenario CPU s | CLI wall s | CLI user+sys s | CLI max RSS MB | outcome |")
    print("|---|---|---|---|---|---|---|")
    load_scenario({"duration": "1h"})  # imports and the catalog once
    for label, p in inputs(d).items():
        t0 = time.process_time()
        try:
            load_scenario(p)
            outcome = "valid"
        except ScenarioError as exc:
            outcome = str(exc).splitlines()[0][:70].replace("|", "/")
        dt = time.process_time() - t0
        cli = subprocess.run([timer, "-f", "%e %U %S %M", sys.executable, "-m", "sim.cli", "validate", str(p)],
                             capture_output=True, text=True)
        wall, user, system, rss = cli.stderr.strip().splitlines()[-1].split()
        print(f"| {label} | {p.stat().st_size:,} | {dt:.2f} | {wall} | {float(user) + float(system):.2f} "
              f"| {int(rss) / 1024:.0f} "
              f"| {outcome} |")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
