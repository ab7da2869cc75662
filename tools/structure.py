"""The package's shape, checked: the import graph of `amr/` (every import statement, function-
level ones too) has no cycle, and no module is longer than the limit.

    python tools/structure.py            # prints the modules by size and any cycle; exit 1 on one
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "amr"
MAX_LINES = 400


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every .py file of the package."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """module → the package modules it imports. `from a.b import c` names module a.b.c when
    that is a module, else a.b."""
    graph: dict[str, set[str]] = {name: set() for name in found}
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in found else base
                    for alias in node.names
                ]
            else:
                continue
            graph[name].update(t for t in targets if t in found and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def long_modules(found: dict[str, Path], limit: int = MAX_LINES) -> dict[str, int]:
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in found.items()
    }
    return {name: n for name, n in lengths.items() if n > limit}


def main() -> int:
    found = modules()
    graph = import_graph(found)
    loops = cycles(graph)
    too_long = long_modules(found)
    edges = sum(len(v) for v in graph.values())
    print(f"{len(found)} modules, {edges} import edges inside {PACKAGE}/")
    for loop in loops:
        print("import cycle: " + " -> ".join(loop))
    for name, n in sorted(too_long.items(), key=lambda kv: -kv[1]):
        print(f"over {MAX_LINES} lines: {name} ({n})")
    if not loops and not too_long:
        print(f"no import cycle; no module over {MAX_LINES} lines")
    return 1 if loops or too_long else 0


if __name__ == "__main__":
    sys.exit(main())
