"""Import boundaries, read from the source (nothing is imported): frameworks only in their
adapter modules, and no import cycle in `citeline/` or `ingest/` (deferred imports inside
functions count: a cycle they hide is still one)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citeline", "ingest")

# framework -> the modules allowed to import it
ADAPTERS = {
    "chromadb": {"citeline.store.chroma", "citeline.chroma_client"},
    "sqlite3": {"citeline.store.catalog", "citeline.embcache"},
    "sentence_transformers": {"citeline.embeddings"},
    "langchain": {"citeline.answerers.llm"},
    "streamlit": {"citeline.ui"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, modules: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Every module named by an import statement anywhere in the file (absolute names). `from
    pkg import sub` names `pkg.sub` when that is one of `modules`, else `pkg` (a package's own
    initialisation is not counted as an edge to it: every submodule import runs it)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in modules else base)
                out.add(sub)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    names = set(mods)
    return {m: (_imports(m, p, names) & names) - {m} for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_import_boundaries_frameworks_only_in_their_adapters() -> None:
    wrong = []
    for name, path in _modules().items():
        for imported in _imports(name, path):
            top = imported.split(".")[0]
            framework = "langchain" if top.startswith("langchain") else top
            if framework in ADAPTERS and name not in ADAPTERS[framework]:
                wrong.append(f"{name} imports {imported}")
    assert not wrong, sorted(set(wrong))


def test_import_boundaries_no_cycle_in_citeline_or_ingest() -> None:
    graph = _graph()
    assert "citeline.store.base" in graph and "ingest.sync" in graph, "the graph reads the source"
    assert _cycles(graph) == []


def test_import_boundaries_the_checker_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
