"""The layers' "never"s, as import tests, and no import cycles.

The import graph is read from the source (every `import` / `from ... import`
at any depth, except those under `if TYPE_CHECKING:`), so a function-level
import cannot hide a cycle. Reproduce by hand:

    .venv/bin/python -m pytest tests/architecture -q
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules `path` imports at run time (any depth, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                found.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            for a in node.names:
                found.add(f"{base}.{a.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out = set()
    for name in found:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != me:
            out.add(name)
    return out


def import_graph() -> nx.DiGraph:
    files = [p for pkg in ("sim", "analysis") for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p) for p in files}
    g = nx.DiGraph()
    for p in files:
        me = _module_name(p)
        g.add_node(me)
        for dep in _imports(p, modules):
            g.add_edge(me, dep)
    return g


def _reaches(g: nx.DiGraph, src_prefix: str, dst_prefix: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in g.edges if a.startswith(src_prefix) and b.startswith(dst_prefix)]


GRAPH = import_graph()
ENGINE_SIDE = ("sim.engine", "sim.compute", "sim.network", "sim.scheduling", "sim.facility",
               "sim.workload", "sim.serving", "sim.sweep", "sim.cli", "sim.results")


def test_the_graph_is_read():
    assert ("sim.engine.world", "sim.engine.meter") in GRAPH.edges


def test_no_import_cycles():
    """Strongly connected components of the module graph, package __init__ re-exports excluded."""
    g = GRAPH.copy()
    # a package's __init__ re-exporting its own modules is not a cycle of concerns
    for node in list(g.nodes):
        for dep in list(g.successors(node)):
            if dep.startswith(node + "."):
                g.remove_edge(node, dep)
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert cycles == []


@pytest.mark.parametrize("engine", ENGINE_SIDE)
def test_spec_never_imports_the_engine(engine):
    assert _reaches(GRAPH, "sim.spec", engine) == []


def test_sim_never_imports_analysis():
    assert _reaches(GRAPH, "sim", "analysis") == []


@pytest.mark.parametrize("engine", [e for e in ENGINE_SIDE if e != "sim.results"])
def test_results_never_import_the_engine(engine):
    assert _reaches(GRAPH, "sim.results", engine) == []


def test_import_sim_loads_nothing_heavy():
    """`import sim` is lazy: no engine module, no SimPy, pandas or scipy until a name is used."""
    code = ("import sys, sim; heavy = [m for m in ('simpy', 'pandas', 'scipy', 'networkx', 'pyarrow', "
            "'sim.engine.world') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_every_builtin_plugin_resolves():
    """Each built-in name in the one registry imports to a class with its point's methods."""
    from sim.registry import REGISTRIES

    for point, reg in REGISTRIES.items():
        for name in reg.names():
            cls = reg.resolve(name)
            assert reg._check(cls) is None, (point, name)


def test_validate_loads_no_heavy_library():
    """`wattsim validate` (the spec and the load-time checks) runs without pandas, SimPy or SciPy."""
    code = ("import sys, sim.cli.run; heavy = [m for m in ('simpy', 'pandas', 'scipy', 'networkx', 'pyarrow') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""
