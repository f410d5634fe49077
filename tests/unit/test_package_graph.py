"""The packages of repolens depend on each other in one direction: no cycle,
counting every import, including those inside functions."""

from __future__ import annotations

import ast
import graphlib
import itertools
from collections import defaultdict
from pathlib import Path

import repolens

SOURCE = Path(repolens.__file__).parent


def unit(module: str, source: Path = SOURCE) -> str | None:
    """The package (or top-level module) of repolens that MODULE belongs to;
    None for anything else (another library, a name such as `__version__`)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "repolens":
        return None
    found = (source / parts[1]).is_dir() or (source / f"{parts[1]}.py").is_file()
    return parts[1] if found else None


def imported(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += names if node.module == "repolens" else [node.module]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def package_graph(source: Path = SOURCE) -> dict[str, dict[str, set[str]]]:
    """Each package's dependencies, each with the modules that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in source.rglob("*.py"):
        module = ".".join(("repolens", *path.relative_to(source).with_suffix("").parts))
        importer = unit(module, source)
        for target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            needed = unit(target, source)
            if importer and needed and needed not in (importer, "__init__"):
                graph[importer][needed].add(module)
    return graph


def cycle(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    """A cycle of packages, as the imports that make it; empty when there is none."""
    try:
        graphlib.TopologicalSorter({name: set(needs) for name, needs in graph.items()}).prepare()
    except graphlib.CycleError as exc:
        ring = exc.args[1]
        # Each node of the ring is needed by the next one.
        return [
            f"{b} -> {a} ({', '.join(sorted(graph[b][a]))})" for a, b in itertools.pairwise(ring)
        ]
    return []


def test_no_package_of_repolens_imports_one_that_imports_it_back() -> None:
    assert cycle(package_graph()) == []


def test_the_check_names_the_imports_of_a_cycle_it_finds(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "jobs").mkdir()
    (tmp_path / "api" / "routes.py").write_text("from repolens.jobs import queue\n")
    (tmp_path / "jobs" / "queue.py").write_text("def later():\n    import repolens.api.routes\n")

    found = cycle(package_graph(tmp_path))

    assert sorted(found) == [
        "api -> jobs (repolens.api.routes)",
        "jobs -> api (repolens.jobs.queue)",
    ]
