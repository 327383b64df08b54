"""The compiled hot path: which modules mypyc compiles, and a guard that never runs a stale copy.

`make` compiles the modules in `HOT_PATH` with mypyc (tools/compile_hot_path.py) into C
extensions beside their sources (``sim/engine/meter.cpython-311-x86_64-linux-gnu.so`` next to
``meter.py``, their shared code in ``sim/hotpath__mypyc.*.so``). Python imports an extension
before a source of the same name, so a run then executes the compiled code: the same
arithmetic on the same IEEE doubles, in the same order (results are identical to the bit,
which tests/test_compiled.py checks), without the interpreter's per-bytecode cost.

The build writes `MANIFEST`: each compiled source's SHA-256 and the interpreter it was
built for. On ``import sim``, `install()` reads it. If a source has changed since the build,
the interpreter differs, or ``WATTSIM_PURE=1`` is set, every hot-path module is loaded from
its source instead, all of them together (compiled modules call one another directly, so a
mix would still run the old code), and a changed source raises one `StaleCompiledWarning`.
Without a C compiler nothing is compiled and everything runs as plain Python. Profile with
``WATTSIM_PURE=1``: py-spy and cProfile do not see inside compiled functions.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

#: the modules on the per-job and per-change path (docs/engine.md, "Compiled hot path");
#: each must type-check cleanly (mypyc compiles what mypy infers)
HOT_PATH: tuple[str, ...] = (
    "sim.engine.environment",
    "sim.engine.meter",
    "sim.engine.caps",
    "sim.compute.power",
    "sim.compute.node",
    "sim.compute.training",
    "sim.network.power",
    "sim.network.flows",
    "sim.network.fabric",
    "sim.scheduling.policies",
    "sim.scheduling.scheduler",
    "sim.scheduling.controls",
    "sim.scheduling.control_api",
)
#: mypyc's shared library for the group: ``sim/hotpath__mypyc.<suffix>``
GROUP = "sim.hotpath"
PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / "_compiled.json"
PURE_ENV = "WATTSIM_PURE"


class StaleCompiledWarning(UserWarning):
    """The compiled hot path is older than its sources: the sources run instead."""


def source_path(module: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """``sim.engine.meter`` -> ``<package_dir>/engine/meter.py``."""
    head, *rest = module.split(".")
    if head != package_dir.name:
        raise ValueError(f"{module!r} is not in the package {package_dir.name!r}")
    return package_dir.joinpath(*rest).with_suffix(".py")


def extension_paths(module: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The compiled extension files of `module` (any interpreter's), beside its source."""
    src = source_path(module, package_dir)
    return sorted(p for p in src.parent.glob(src.stem + ".*")
                  if any(p.name.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_for(modules: Sequence[str], package_dir: Path = PACKAGE_DIR) -> dict[str, object]:
    """What the build records: the interpreter and each source's SHA-256."""
    return {"cache_tag": sys.implementation.cache_tag,
            "sources": {m: digest(source_path(m, package_dir)) for m in modules}}


def stale(manifest: dict[str, object] | None, modules: Sequence[str],
          package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Why the compiled copies cannot be trusted: [] when every one matches its source."""
    if manifest is None:
        return ["no build manifest"]
    if manifest.get("cache_tag") != sys.implementation.cache_tag:
        return [f"built for {manifest.get('cache_tag')}, running {sys.implementation.cache_tag}"]
    sources = manifest.get("sources")
    if not isinstance(sources, dict):
        return ["the build manifest lists no sources"]
    return [f"{source_path(m, package_dir).relative_to(package_dir.parent)} changed" for m in modules
            if sources.get(m) != digest(source_path(m, package_dir))]


def read_manifest(path: Path = MANIFEST) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads the hot-path modules from their .py files, ahead of any compiled copy."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


#: "compiled", or "pure: <why>" (read by `wattsim run --verbose` and the benchmarks)
STATUS = "pure: not installed yet"


def install() -> str:
    """Decide, once per process, whether the compiled hot path runs; returns the status."""
    global STATUS
    if any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
        return STATUS
    if not any(extension_paths(m) for m in HOT_PATH):
        STATUS = "pure: not compiled (`make` compiles it where a C compiler is present)"
        return STATUS
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        why = [f"{PURE_ENV} is set"]
    else:
        why = stale(read_manifest(), HOT_PATH)
        if why:
            warnings.warn(f"wattsim: the compiled hot path is older than its sources ({'; '.join(why)}): "
                          "running the sources instead (the same results, slower); `make` recompiles",
                          StaleCompiledWarning, stacklevel=2)
    if why:
        sys.meta_path.insert(0, _SourcesFirst(HOT_PATH))
        STATUS = "pure: " + "; ".join(why)
    else:
        STATUS = "compiled"
    return STATUS
