"""pyfastnn's modules import one another without a cycle.

The graph is read from the source with :mod:`ast` (nothing is imported): an
edge a -> b for every ``import`` in a of a module b of the package. Imports
are of three kinds: at module level, inside a function (lazy), and under
``if TYPE_CHECKING:`` (for type hints only). The package's parents are not
edges (``pyfastnn.backends.loop`` needs ``pyfastnn.backends`` first anyway).

Print the graph: ``python tests/test_import_graph.py`` (``--kind module``,
``function`` or ``typing`` for one kind).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pyfastnn"
KINDS = ("module", "function", "typing")


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> source file of every module of the package."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    for ext in root.glob("_native*.so"):  # the extension: a leaf
        names[f"{root.name}._native"] = ext
    names.setdefault(f"{root.name}._native", root / "_native.pyi")
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, kind))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "function" if kind == "module" else kind)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(tree, "module")
    return found


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_pkg: bool, known: set[str]):
    """Modules of the package that one import statement in module ``name`` loads."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in known:
                yield alias.name
        return
    if node.level:
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        if sub in known:
            yield sub
        elif source in known:
            yield source


def import_graph(root: Path = PACKAGE) -> dict[str, dict[str, set[str]]]:
    """kind -> module -> the package's modules it imports (parents excluded)."""
    names = module_names(root)
    known = set(names)
    graph: dict[str, dict[str, set[str]]] = {k: {n: set() for n in names} for k in KINDS}
    for name, path in names.items():
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_pkg = path.name == "__init__.py"
        for node, kind in _imports(tree):
            for target in _targets(node, name, is_pkg, known):
                if target != name and not name.startswith(target + "."):
                    graph[kind][name].add(target)
    return graph


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph (a list of modules, first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = walk(start)
            if cycle:
                return cycle
    return None


def merged(graph: dict[str, dict[str, set[str]]], kinds: tuple[str, ...]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for kind in kinds:
        for name, targets in graph[kind].items():
            out.setdefault(name, set()).update(targets)
    return out


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "pyfastnn.mlp" in graph["module"]["pyfastnn"]
    assert "pyfastnn.backends" in graph["module"]["pyfastnn.mlp"]
    assert "pyfastnn.backends.protocol" in graph["module"]["pyfastnn.backends.loop"]


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_cycle_among_module_level_imports() -> None:
    cycle = find_cycle(import_graph()["module"])
    assert cycle is None, "import cycle at module level: " + " -> ".join(cycle or [])


def test_no_cycle_with_lazy_imports() -> None:
    cycle = find_cycle(merged(import_graph(), ("module", "function")))
    assert cycle is None, "import cycle through a function-level import: " + " -> ".join(
        cycle or []
    )


def test_no_cycle_with_type_only_imports() -> None:
    cycle = find_cycle(merged(import_graph(), KINDS))
    assert cycle is None, "import cycle through a TYPE_CHECKING import: " + " -> ".join(cycle or [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=KINDS, action="append")
    parser.add_argument("--root", type=Path, default=PACKAGE)
    args = parser.parse_args()
    graph = import_graph(args.root)
    for kind in args.kind or KINDS:
        print(f"# {kind}-level imports")
        for name in sorted(graph[kind]):
            if graph[kind][name]:
                print(f"{name} -> {', '.join(sorted(graph[kind][name]))}")
    cycle = find_cycle(merged(graph, tuple(args.kind or KINDS)))
    print("cycle:", " -> ".join(cycle) if cycle else "none")


if __name__ == "__main__":
    main()
