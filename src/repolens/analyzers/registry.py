"""Which analyzers exist: the built-ins plus the `repolens.analyzers`
entry-point group."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from repolens.analyzers.base import Analyzer
from repolens.errors import UnknownAnalyzerError

ENTRY_POINT_GROUP = "repolens.analyzers"
BUILTIN = {
    "ruff": "repolens.analyzers.builtin.ruff:RuffAnalyzer",
    "bandit": "repolens.analyzers.builtin.bandit:BanditAnalyzer",
    "secrets": "repolens.analyzers.builtin.secrets:SecretsAnalyzer",
    "complexity": "repolens.analyzers.builtin.complexity:ComplexityAnalyzer",
    "semgrep": "repolens.analyzers.builtin.semgrep:SemgrepAnalyzer",
    "oxlint": "repolens.analyzers.builtin.oxlint:OxlintAnalyzer",
    "shellcheck": "repolens.analyzers.builtin.shellcheck:ShellcheckAnalyzer",
    "hadolint": "repolens.analyzers.builtin.hadolint:HadolintAnalyzer",
    "zizmor": "repolens.analyzers.builtin.zizmor:ZizmorAnalyzer",
    "plan": "repolens.analyzers.builtin.plan:PlanAnalyzer",
    "skills": "repolens.analyzers.builtin.skills:SkillsAnalyzer",
}


class Registry:
    """Analyzer classes by name, instantiated on demand."""

    def __init__(self, classes: dict[str, Any]) -> None:
        self._classes = dict(classes)

    @classmethod
    def discover(cls) -> Registry:
        classes: dict[str, Any] = {name: _load(target) for name, target in BUILTIN.items()}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            classes[point.name] = point.load()
        return cls(classes)

    def names(self) -> list[str]:
        return list(self._classes)

    def create(self, name: str) -> Analyzer[Any]:
        try:
            analyzer: Analyzer[Any] = self._classes[name]()
        except KeyError:
            known = ", ".join(self._classes)
            raise UnknownAnalyzerError(f"unknown analyzer {name!r} (known: {known})") from None
        return analyzer

    def select(self, names: Iterable[str] | None = None) -> list[Analyzer[Any]]:
        return [self.create(name) for name in (self.names() if names is None else names)]


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)
