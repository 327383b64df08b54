"""Compile wattsim's hot path (sim.compiled.HOT_PATH) with mypyc, in place; `make` runs this.

Does nothing when the compiled copies match their sources (sim/_compiled.json). Otherwise it
removes the old copies first, so a failed build leaves the plain-Python sources running, then
compiles (mypyc ships with mypy, a dev dependency; the C compiler is the system's) and writes
the manifest last. Without mypyc or a C compiler it says so in one line and exits 0: wattsim
runs the same, slower. `--force` rebuilds; `--clean` removes the compiled copies.
Usage: python tools/compile_hot_path.py [--force | --clean | --list]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["WATTSIM_PURE"] = "1"  # importing sim.compiled must not load the copies being replaced

from sim.compiled import (  # noqa: E402
    GROUP,
    HOT_PATH,
    MANIFEST,
    PACKAGE_DIR,
    extension_paths,
    manifest_for,
    read_manifest,
    source_path,
    stale,
)


def _shared_libraries() -> list[Path]:
    return sorted(PACKAGE_DIR.glob(GROUP.rsplit(".", 1)[1] + "__mypyc.*"))


def clean() -> None:
    MANIFEST.unlink(missing_ok=True)
    for path in [p for m in HOT_PATH for p in extension_paths(m)] + _shared_libraries():
        path.unlink()


def build() -> str | None:
    """Compile in place; None on success, else why not (one line)."""
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError as exc:
        return f"mypyc or setuptools is missing ({exc})"
    os.chdir(ROOT)  # mypy reads [tool.mypy] from pyproject.toml here
    paths = [str(Path(*m.split(".")).with_suffix(".py")) for m in HOT_PATH]
    log = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="wattsim-mypyc-") as tmp:
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                extensions = mypycify(paths, opt_level="3", group_name=GROUP, target_dir=tmp, multi_file=True)
                for ext in extensions:  # mypyc writes a dotted group's header in its package folder
                    ext.include_dirs.append(os.path.join(tmp, *GROUP.split(".")[:-1]))
                # a bare Distribution: setup() would also parse pyproject.toml, which older
                # setuptools in a venv may not read; the extensions are all it needs
                dist = Distribution({"name": "wattsim-hot-path", "ext_modules": extensions})
                cmd = dist.get_command_obj("build_ext")
                cmd.inplace = True  # type: ignore[attr-defined]
                cmd.build_temp = os.path.join(tmp, "build")  # type: ignore[attr-defined]
                cmd.parallel = os.cpu_count() or 1  # type: ignore[attr-defined]
                dist.run_command("build_ext")
        except (Exception, SystemExit) as exc:  # a type error, no compiler, a failed link
            lines = [ln for ln in log.getvalue().splitlines() if "error" in ln.lower()] or [repr(exc)]
            return lines[0][:300]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--clean", action="store_true", help="remove the compiled copies and stop")
    parser.add_argument("--list", action="store_true", help="print the hot path's source files and stop")
    args = parser.parse_args(argv)
    if args.list:
        print(" ".join(str(source_path(m).relative_to(ROOT)) for m in HOT_PATH))
        return 0
    if args.clean:
        clean()
        return 0
    compiled = all(extension_paths(m) for m in HOT_PATH) and _shared_libraries()
    if compiled and not args.force and not stale(read_manifest(), HOT_PATH):
        return 0
    clean()
    t0 = time.perf_counter()
    print(f"compiling the hot path ({len(HOT_PATH)} modules) with mypyc ...", flush=True)
    why = build()
    if why is not None:
        clean()
        print(f"wattsim: the hot path was not compiled ({why}); it runs as plain Python (same results, slower)")
        return 0
    MANIFEST.write_text(json.dumps(manifest_for(HOT_PATH), indent=1) + "\n", encoding="utf-8")
    print(f"compiled in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
