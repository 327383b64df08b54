"""Run issue 15's hostile inputs through two checkouts of wattsim and tabulate what each does.

    python tools/hostile_before_after.py OLD_CHECKOUT [NEW_CHECKOUT]

Each case is a scenario text and a command (`validate`, `run`, `published`), run as
`python -m sim.cli ...` with the checkout first on PYTHONPATH, under a wall-clock
limit (20 s) and an address-space limit (2 GiB). The table says, per checkout:
the exit status (or "hang" / "memory"), whether a traceback was printed, the number
of lines on stderr, and the first line. It is evidence for issue 15's "fails on the
old main, passes after", for cases the old code can still be asked through its CLI
(the test files themselves import the new layout, so they cannot run on the old one).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BASE = """name: h
start: 2020-06-01T00:00:00Z
duration: {duration}
seed: 1
cluster: {{nodes: {nodes}, node_type: dgx-h100}}
{workload}
cooling: {cooling}
plant: {{step: 60s}}
output: {{interval: 15min}}
"""
JOB = "workload:\n  jobs:\n    - {name: j, submit: 0, accelerators: 8, flops: 1.0e18}"


def scenario(duration="1h", nodes=1, workload=JOB, cooling="{model: constant-pue, pue: 1.1}") -> str:
    return BASE.format(duration=duration, nodes=nodes, workload=workload, cooling=cooling)


def alias_bomb(levels: int) -> str:
    lines = ['a0: ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: [" + ",".join([f"*a{i - 1}"] * 9) + "]")
        lines[-2] = lines[-2].replace(f"a{i - 1}:", f"a{i - 1}: &a{i - 1}", 1)
    return "\n".join(lines) + "\n"


CASES: list[tuple[str, str, str | bytes, dict[str, str]]] = [
    ("alias bomb, 9 levels", "validate", alias_bomb(9), {}),
    ("binary file", "validate", os.urandom(4096), {}),
    ("deeply nested brackets", "validate", "a: " + "[" * 100_000 + "]" * 100_000 + "\n", {}),
    ("pue: .inf", "run", scenario(cooling="{model: constant-pue, pue: .inf}"), {}),
    ("duration: .inf", "run", scenario(duration=".inf"), {}),
    ("tokens: .inf", "run", scenario(workload="workload:\n  jobs:\n    - {name: j, submit: 0, accelerators: 8, "
                                    "model: {parameters: 7.0e9, tokens: .inf}}"), {}),
    ("nodes: 100000000", "validate", scenario(nodes=100_000_000), {}),
    ("nodes: a 400-digit integer", "validate", scenario(nodes=int("9" * 400)), {}),
    ("empty file", "validate", "", {}),
    ("cooling.model: magic-cooling", "validate", scenario(cooling="{model: magic-cooling}"), {}),
    ("a job's model: not a preset", "validate",
     scenario(workload="workload:\n  jobs:\n    - {name: j, submit: 0, accelerators: 8, model: {parameters: -1}}"), {}),
    ("YAML syntax error", "validate", "name: h\ncluster: {nodes: 1\n  node_type: x\n", {}),
    ("duration: 6M (months or minutes?)", "validate", scenario(duration="6M"), {}),
    ("trace with the wrong columns", "run", scenario(workload="workload:\n  trace: {format: philly, path: TRACE}"),
     {"TRACE": "a,b\n1,2\n"}),
    ("published for a run not in the table", "published", scenario(), {}),
]


def limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run(checkout: Path, command: str, path: Path, tmp: Path) -> tuple[str, bool, int, str]:
    args = [sys.executable, "-m", "sim.cli", command, str(path)]
    if command == "run":
        args += ["--out", str(tmp / "out")]
    env = dict(os.environ, PYTHONPATH=str(checkout))
    try:
        p = subprocess.run(args, cwd=checkout, env=env, capture_output=True, timeout=20, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return "hang (> 20 s)", False, 0, ""
    err = p.stderr.decode(errors="replace").strip().splitlines()
    out = p.stdout.decode(errors="replace").strip().splitlines()
    tb = any("Traceback" in line for line in err)
    mem = any("MemoryError" in line for line in err)
    status = "memory (> 2 GiB)" if mem else f"exit {p.returncode}"
    lines = err or out or [""]
    first = (lines[-1] if tb else lines[0])[:100]
    return status, tb, len(err), first


def main() -> None:
    old = Path(sys.argv[1]).resolve()
    new = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parents[1]).resolve()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("| case | command | old: outcome | old: traceback | old: stderr lines | old: last line | new: outcome "
              "| new: traceback | new: stderr lines | new: message |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for i, (name, command, text, files) in enumerate(CASES):
            path = tmp / f"case{i}.yaml"
            for key, content in files.items():
                f = tmp / f"case{i}_{key.lower()}.csv"
                f.write_text(content)
                text = text.replace(key, str(f)) if isinstance(text, str) else text
            path.write_bytes(text.encode() if isinstance(text, str) else text)
            o = run(old, command, path, tmp)
            n = run(new, command, path, tmp)
            msg = n[3].replace("|", "\\|").replace(str(tmp), "…")
            omsg = o[3].replace("|", "\\|").replace(str(tmp), "…")
            print(f"| {name} | {command} | {o[0]} | {'yes' if o[1] else 'no'} | {o[2]} | {omsg} | {n[0]} "
                  f"| {'yes' if n[1] else 'no'} | {n[2]} | {msg} |", flush=True)


if __name__ == "__main__":
    main()
