"""The code's layout keeps its promises: read statically, nothing runs.

- no package imports one that imports it back (the import graph of ssd's packages and top-level
  modules has no cycle, function-level imports included);
- no module outside ssd/codeeval/benchmarks/ branches on a benchmark's name (the table decides);
- every file a docstring, comment, README or config names exists;
- every `from ssd... import name` in the tests and benchmarks resolves, the opt-in suites (vllm,
  gpu) included, which the default run never imports: a reorganisation cannot rot them silently.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

from helpers.support import REPO

SSD = REPO / "ssd"


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _unit(module: str) -> str:
    """A package (ssd.codeeval) or a top-level module (ssd.pipeline): the nodes of the graph."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ssd."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ssd."))
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_one_that_imports_it_back():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in _modules(SSD).items():
        for imported in _imports(path):
            if _unit(imported) != _unit(module):
                edges[_unit(module)].add(_unit(imported))
    assert _cycles(edges) == []


def _names_benchmark(node: ast.AST) -> bool:
    """`<x>.benchmark.name` or `bench.name`: an expression holding `eval.benchmark.name`."""
    if not (isinstance(node, ast.Attribute) and node.attr == "name"):
        return False
    owner = node.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "benchmark") or (
        isinstance(owner, ast.Name) and owner.id in ("bench", "benchmark")
    )


def test_only_the_benchmark_table_branches_on_a_benchmark_name():
    table = SSD / "codeeval" / "benchmarks"
    offenders = []
    for path in SSD.rglob("*.py"):
        if table in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                _names_benchmark(side) for side in [node.left, *node.comparators]
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


# A path a text names: under one of the project's top folders, ending in a file extension or "/".
PATH = re.compile(
    r"(?<![\w./-])((?:ssd|tests|conf|benchmarks|sweeps)/[\w./-]*?"
    r"(?:\.(?:py|yaml|md|sh|json|jsonl|txt|gz)|/))(?![\w])"
)


def test_every_file_a_text_names_exists():
    texts = [REPO / "README.md", REPO / "Makefile"]
    for top in ("ssd", "tests", "conf", "benchmarks", "sweeps"):
        texts += [p for p in (REPO / top).rglob("*") if p.suffix in (".py", ".yaml", ".md", ".sh")]
    missing = {
        f"{text.relative_to(REPO)}: {ref}"
        for text in texts
        for ref in PATH.findall(text.read_text(errors="ignore"))
        if not (REPO / ref).exists()
    }
    assert sorted(missing) == []


def test_every_project_import_of_the_tests_and_benchmarks_resolves():
    """Imports inside test functions too: the opt-in suites import lazily and never run in CI."""
    unresolved = []
    for top in ("tests", "benchmarks"):
        for path in (REPO / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ssd")):
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        try:  # a submodule: `from ssd.cli import signals`
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ModuleNotFoundError:
                            unresolved.append(
                                f"{path.relative_to(REPO)}:{node.lineno} {alias.name}"
                            )
    assert unresolved == []
