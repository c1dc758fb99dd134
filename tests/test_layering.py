"""The package's modules depend on each other one way: spec at the bottom, arith above it, the faces above
arith, report and command line on top. Read from the source with ``ast`` (imports inside functions count too)."""

import ast
import pathlib

import kexue_hw

PKG = pathlib.Path(kexue_hw.__file__).resolve().parent


def _name(path: pathlib.Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PKG.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """Package modules that ``name`` imports (``from .x import y`` counts ``.x.y`` when that is a module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    assert "kexue_hw.spec" in GRAPH["kexue_hw.arith"]
    assert "kexue_hw.hdl.blocks" in GRAPH["kexue_hw.hdl.datapaths"]  # from . import blocks
    assert "kexue_hw.metrics_analytic" in GRAPH["kexue_hw.metrics"]  # an import inside a function


def test_no_import_cycle():
    assert _cycles() == []


def test_the_cycle_finder_finds_cycles():
    saved = {k: set(v) for k, v in GRAPH.items()}
    try:
        GRAPH["kexue_hw.spec"].add("kexue_hw.arith")
        assert any("kexue_hw.spec" in c and "kexue_hw.arith" in c for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_spec_is_the_bottom_and_arith_sits_on_it():
    assert GRAPH["kexue_hw.spec"] == set()
    assert GRAPH["kexue_hw.registry"] == {"kexue_hw.spec"}
    for name in MODULES:
        if _within(name, ("kexue_hw.arith",)):
            outside = {m for m in GRAPH[name] if not _within(m, ("kexue_hw.spec", "kexue_hw.registry", "kexue_hw.arith"))}
            assert not outside, f"{name} imports {outside}"


def test_only_the_top_imports_the_command_line_and_the_report():
    top = {"kexue_hw.cli", "kexue_hw.report", "kexue_hw.arith_cli", "kexue_hw.cli_options"}
    top |= {n for n in MODULES if n.endswith((".cli", ".report"))}
    for name in sorted(set(MODULES) - top):
        assert not GRAPH[name] & top, f"{name} imports {GRAPH[name] & top}"
