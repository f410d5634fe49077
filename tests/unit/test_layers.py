"""Which modules may import which: the core names no plugin, and the analyzers
depend on nothing built on top of them."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
BUILTIN = "repolens.analyzers.builtin"
ABOVE_THE_ANALYZERS = ("scan", "jobs", "api", "storage", "realtime", "reports", "security", "cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module PATH imports, absolute, with each `from x import y` also as x.y
    (y may be a module)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def modules() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in sorted((SRC / "repolens").rglob("*.py"))}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_only_the_registry_imports_the_builtin_analyzers() -> None:
    offenders = {
        name: sorted(m for m in imported if within(m, BUILTIN))
        for name, imported in modules().items()
        if not within(name, BUILTIN) and name != "repolens.analyzers.registry"
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_analyzers_import_nothing_built_on_top_of_them() -> None:
    above = tuple(f"repolens.{name}" for name in ABOVE_THE_ANALYZERS)
    offenders = {
        name: sorted(m for m in imported if any(within(m, a) for a in above))
        for name, imported in modules().items()
        if within(name, "repolens.analyzers")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_import_walk_sees_what_the_core_imports() -> None:
    imported = modules()
    assert "repolens.skills.model.SkillSet" in imported["repolens.reports.model"]
    assert "repolens.analyzers.base" in imported["repolens.analyzers.runner"]
